"""Systolic-array models against SCALE-Sim 3.0.0, run here in the same benchmark run (``make peers``).

Run from the repository root: ``python benchmarks/bench_systolic.py [--runs 3]``. For each GEMM shape and
dataflow, with the same cycle count required of both:

* SCALE-Sim: a fresh process of its venv (process start, imports and its run; :mod:`benchmarks.scalesim_peer`);
* ``lutsim gemm --mode scalesim``: a fresh process of this checkout (process start, imports, the model);
* the same model called in this process (after one call: imports excluded), for context;
* on 512³, the per-cycle systolic model (real data through the array; Numba kernel loaded by a first call).

Targets (issue 20): the cycles agree with SCALE-Sim on every shape; ``lutsim gemm --mode scalesim`` as a
command is faster than SCALE-Sim on every shape; the per-cycle model is faster than SCALE-Sim on 512³.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import scalesim_peer  # noqa: E402
from benchmarks.timing import Verdicts, lutsim, process, repeat  # noqa: E402
from sim.pe import PEConfig, get  # noqa: E402
from sim.pe import systolic_array as sa  # noqa: E402
from sim.pe.base import GemmProblem  # noqa: E402

PE = "int8-systolic"
SHAPES = [  # (M, N, K, rows, cols, dataflow, what)
    (512, 512, 512, 32, 32, "os", "512^3 (SCALE-Sim's own scale)"),
    (512, 512, 512, 32, 32, "ws", "512^3"),
    (512, 512, 512, 32, 32, "is", "512^3"),
    (1, 1024, 128, 32, 32, "os", "decode attention QK, one head, KV 1024"),
    (1, 128, 1024, 32, 32, "ws", "decode attention SV, one head, KV 1024"),
    (20, 12, 30, 8, 8, "os", "tiny"),
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="runs per figure (median, min, max)")
    args = ap.parse_args(argv)
    v = Verdicts("bench_systolic")
    missing = scalesim_peer.available()
    if missing:
        v.missing("lutsim gemm --mode scalesim vs SCALE-Sim", missing)
        return v.exit_code()
    model = get(PE)
    for m, n, k, rows, cols, df, what in SHAPES:
        label = f"{m}x{n}x{k} on {rows}x{cols} {df} ({what})"
        peer, peer_cycles = scalesim_peer.run(m, n, k, rows, cols, df, args.runs)
        cmd, out = process(lutsim("gemm", "--pe", PE, "--m", str(m), "--n", str(n), "--k", str(k),
                                  "--array", f"{rows}x{cols}", "--dataflow", df, "--mode", "scalesim", "--json"),
                           args.runs, "process start, imports, the model")
        ours = json.loads(out)["cycles"]
        prob, cfg = GemmProblem(m, n, k, "int4", "int8"), PEConfig(array=(rows, cols), dataflow=df)
        model.run(prob, cfg, "scalesim")
        call, _ = repeat(lambda p=prob, c=cfg: model.run(p, c, "scalesim"), max(args.runs, 5),
                         "the model call alone, after a first call")
        print(f"{label}\n  SCALE-Sim:                     {peer}\n  lutsim gemm --mode scalesim:   {cmd}\n"
              f"  model call in-process:         {call}")
        v.check(f"{label}: cycles equal SCALE-Sim's", ours == peer_cycles, f"lutsim {ours}, SCALE-Sim {peer_cycles}")
        v.check(f"{label}: lutsim command faster than SCALE-Sim", cmd.median < peer.median,
                f"{peer.median / cmd.median:.2f}x (medians)")
        if (m, n, k) == (512, 512, 512):
            rng = np.random.default_rng(0)
            a = rng.integers(-128, 128, size=(m, k)).astype(np.float64)
            w = rng.integers(-8, 8, size=(n, k)).astype(np.float64)
            sa.per_cycle(df, np.ones((2, 2)), np.ones((2, 2)), 2, 2, 2)  # load the Numba kernel
            pc, res = repeat(lambda a=a, w=w, df=df, k=k, r=rows, c=cols: sa.per_cycle(df, a, w, k, r, c), args.runs,
                             "the per-cycle kernel with data, Numba kernel loaded by a first call")
            print(f"  per-cycle model (real data):   {pc}, {res[1]:,} cycles")
            v.check(f"{label}: per-cycle model faster than SCALE-Sim", pc.median < peer.median,
                    f"{peer.median / pc.median:.1f}x (medians)")
    return v.exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
