"""SCALE-Sim 3.0.0, the peer of the systolic-array models, run here from its own venv (``make peers``).

:func:`run` times one GEMM as a fresh ``python`` process of that venv (process start and SCALE-Sim's imports
included, as a user runs it) and returns its cycle count, read from SCALE-Sim's ``COMPUTE_REPORT.csv``. The
config, the GEMM topology and the layout CSV (SCALE-Sim reads one even with custom layouts off) are written to
a temporary directory; traces are not saved (``save_disk_space=True``), the fastest way SCALE-Sim runs.
"""

from __future__ import annotations

import csv
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.timing import SCALESIM_PYTHON, Timing

DATAFLOW = {"os": "os", "ws": "ws", "is": "is"}
# SCALE-Sim's own defaults (its configs/scale.cfg) for everything the GEMM cycle count does not depend on
CONFIG = """[general]
run_name = bench

[architecture_presets]
ArrayHeight = {rows}
ArrayWidth = {cols}
IfmapSramSzkB = 6144
FilterSramSzkB = 6144
OfmapSramSzkB = 2048
IfmapOffset = 0
FilterOffset = 10000000
OfmapOffset = 20000000
Bandwidth = 10
Dataflow = {dataflow}
MemoryBanks = 1
ReadRequestBuffer = 32
WriteRequestBuffer = 32

[layout]
IfmapCustomLayout = False
IfmapSRAMBankBandwidth = 10
IfmapSRAMBankNum = 10
IfmapSRAMBankPort = 2
FilterCustomLayout = False
FilterSRAMBankBandwidth = 10
FilterSRAMBankNum = 10
FilterSRAMBankPort = 2

[sparsity]
SparsitySupport = false
SparseRep = ellpack_block
OptimizedMapping = false
BlockSize = 8
RandomNumberGeneratorSeed = 40

[run_presets]
InterfaceBandwidth = CALC
UseRamulatorTrace = False
"""
LAYOUT_HEADER = ("Layer name, IFMAP Height Intraline Factor, IFMAP Width Intraline Factor, Filter Height Intraline "
                 "Factor, Filter Width Intraline Factor, Channel Intraline Factor, Num Filter Intraline Factor, IFMAP "
                 "Height Intraline Order, IFMAP Width Intraline Order, Channel Intraline Order, IFMAP Height Interline "
                 "Order, IFMAP Width Interline Order, Channel Interline Order, Num Filter Intraline Order, Channel "
                 "Intraline Order, Filter Height Intraline Order, Filter Width Intraline Order, Num Filter Interline "
                 "Order, Channel Interline Order, Filter Height Interline Order, Filter Width Interline Order,")
LAYOUT_ROW = "gemm, 1, 1, 1, 1, 1, 1, 0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 0, 1, 2, 3,"
SCRIPT = ("from scalesim.scale_sim import scalesim; import sys; "
          "s = scalesim(save_disk_space=True, verbose=False, config=sys.argv[1], topology=sys.argv[2], "
          "layout=sys.argv[3], input_type_gemm=True); s.run_scale(top_path=sys.argv[4])")


def available() -> str | None:
    """None when the peer venv is installed, else what to run."""
    return None if SCALESIM_PYTHON.exists() else f"{SCALESIM_PYTHON} is missing: run `make peers`"


def run(m: int, n: int, k: int, rows: int, cols: int, dataflow: str, runs: int) -> tuple[Timing, int]:
    """(wall time of ``runs`` SCALE-Sim processes on the GEMM M×K · K×N, its total cycles)."""
    samples, cycles = [], None
    with tempfile.TemporaryDirectory(prefix="scalesim-") as tmp:
        d = Path(tmp)
        (d / "bench.cfg").write_text(CONFIG.format(rows=rows, cols=cols, dataflow=DATAFLOW[dataflow]))
        (d / "gemm.csv").write_text(f"Layer, M, N, K,\ngemm, {m}, {n}, {k},\n")
        (d / "layout.csv").write_text(LAYOUT_HEADER + "\n" + LAYOUT_ROW + "\n")
        for i in range(runs):
            out = d / f"out{i}"
            t0 = time.perf_counter()
            res = subprocess.run([str(SCALESIM_PYTHON), "-c", SCRIPT, str(d / "bench.cfg"), str(d / "gemm.csv"),
                                  str(d / "layout.csv"), str(out)], capture_output=True, text=True, cwd=d)
            samples.append(time.perf_counter() - t0)
            if res.returncode != 0:
                raise RuntimeError(f"SCALE-Sim failed: {res.stderr.strip()[-2000:]}")
            report = next(out.rglob("COMPUTE_REPORT.csv"))
            with report.open() as f:
                row = next(csv.DictReader(f, skipinitialspace=True))
            cycles = int(float(row["Total Cycles"]))
    return Timing(tuple(samples), "process start, imports, SCALE-Sim's run; no trace files"), cycles
