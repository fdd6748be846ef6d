"""Speed of the BitMoD and MixPE models: per-cycle (numba, with data) vs tile (closed form) and
vs the numpy ``expected()`` emulation. Prints seconds (median of 3 runs in this process, Numba loaded by a
first tiny call; min and max in brackets), simulated MACs per second and ratios. Targets: per-cycle output
equals ``expected()`` bit for bit and per-cycle cycles equal tile mode's.

Run: ``python benchmarks/bench_bitserial_pe.py [M N K]`` (default 32 128 1024).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout: import its sim

from benchmarks.timing import Verdicts, fmt_s, repeat  # noqa: E402
from sim import formats  # noqa: E402
from sim.pe import GemmProblem, PEConfig, get  # noqa: E402

CASES = [("bitmod", "bitmod_fp4", "fp16"), ("bitmod", "bitmod_fp3", "fp16"), ("bitmod", "int8", "fp16"),
         ("mixpe", "int4", "int8"), ("mixpe", "int4", "fp16")]


def _timed(fn, *args, runs=3):
    t, out = repeat(lambda: fn(*args), runs, "one call, Numba loaded")
    return t, out


def main(m: int, n: int, k: int) -> int:
    v = Verdicts("bench_bitserial_pe")
    rng = np.random.default_rng(0)
    print(f"GEMM M={m} N={n} K={k}, group 128, default arrays")
    print(f"{'pe':8s} {'weights':11s} {'acts':5s} {'cycles':>9s} {'per-cycle s':>11s} {'MMAC/s':>8s} "
          f"{'expected s':>10s} {'tile s':>9s} {'per-cycle/tile':>14s}")
    for pe_name, w, acts in CASES:
        pe = get(pe_name)
        p = GemmProblem(m, n, k, w, acts, 128)
        qw = formats.get(w).quantize(rng.standard_normal((n, k)), group_size=128)
        if acts == "int8":
            a = rng.integers(-128, 128, size=(m, k)).astype(np.float64)
        else:
            a = rng.standard_normal((m, k)).astype(np.float16).astype(np.float64)
        pe.run(GemmProblem(1, 1, 128, w, acts, 128), PEConfig(), "per-cycle", a[:1, :128],
               formats.get(w).quantize(rng.standard_normal((1, 128)), group_size=128))   # compile / load cache
        tt_pc, r = _timed(pe.run, p, PEConfig(), "per-cycle", a, qw)
        tt_ex, e = _timed(pe.expected, p, PEConfig(), a, qw)
        tt_tile, t = _timed(pe.run, p, PEConfig(), "tile")
        t_pc, t_ex, t_tile = tt_pc.median, tt_ex.median, tt_tile.median
        print(f"{pe_name:8s} {w:11s} {acts:5s} {r.cycles:9d} {t_pc:11.3f} {m * n * k / t_pc / 1e6:8.1f} "
              f"{t_ex:10.3f} {t_tile:9.6f} {t_pc / t_tile:14.0f}   per-cycle [{fmt_s(tt_pc.min)}, {fmt_s(tt_pc.max)}]")
        v.check(f"{pe_name} {w} x {acts}: per-cycle output == expected(), cycles == tile mode",
                bool(np.array_equal(r.out, e)) and r.cycles == t.cycles)
    return v.exit_code()


if __name__ == "__main__":
    dims = [int(v) for v in sys.argv[1:4]] if len(sys.argv) >= 4 else [32, 128, 1024]
    sys.exit(main(*dims))
