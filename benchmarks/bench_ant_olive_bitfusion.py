"""Speed of the ANT / OliVe / BitFusion models: per-cycle simulation rate and tile-mode cost.

Run: ``python benchmarks/bench_ant_olive_bitfusion.py``. Prints, per PE, the GEMM, the cycles, the
wall time of both modes, simulated PE-steps per second in per-cycle mode, and whether the
per-cycle output equals sim.reference.mpgemm bit for bit (the target, PASS/FAIL per PE; with per-cycle cycles
equal to tile mode's). Times: median of 3 runs in this process (Numba loaded by a first tiny call), min-max
in brackets.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from benchmarks.timing import Verdicts, fmt_s, repeat  # noqa: E402
from sim import formats, pe, reference  # noqa: E402
from sim.pe import GemmProblem, PEConfig  # noqa: E402

CASES = [  # (pe, weights, acts, M, N, K, group)
    ("ant", "flint4", "int8", 64, 256, 256, 128),
    ("olive", "olive4", "int8", 64, 256, 256, 128),
    ("bitfusion", "int4", "int8", 64, 256, 256, 128),
    ("ant", "int4", "int8", 1, 4096, 4096, 128),
]


def main() -> int:
    v = Verdicts("bench_ant_olive_bitfusion")
    rng = np.random.default_rng(0)
    # warm the numba cache so compile time is not counted
    w = pe.get("ant")
    p0 = GemmProblem(2, 2, 4, "int4", "int8", None)
    w.run(p0, PEConfig(), "per-cycle", np.ones((2, 4), np.int64), formats.get("int4").quantize(np.ones((2, 4))))
    print(f"{'pe':10} {'W x A':14} {'M x N x K':18} {'cycles':>10} {'per-cycle s':>11} {'tile ms':>8} "
          f"{'PE-steps/s':>11} exact")
    for name, weights, acts, m, n, k, g in CASES:
        model = pe.get(name)
        problem = GemmProblem(m, n, k, weights, acts, g)
        a = rng.integers(-128, 128, size=(m, k))
        qw = formats.get(weights).quantize(rng.normal(size=(n, k)), group_size=g)
        t_pc, res = repeat(lambda: model.run(problem, PEConfig(), "per-cycle", a, qw), 3,  # noqa: B023
                           "one call, Numba loaded")
        t_tile, tile = repeat(lambda: model.run(problem, PEConfig(), "tile"), 3, "one call")  # noqa: B023
        steps = res.events["reg_reads"] // 2
        exact = bool(np.array_equal(res.out, reference.mpgemm(a, qw)))
        print(f"{name:10} {weights + ' x ' + acts:14} {f'{m}x{n}x{k}':18} {res.cycles:>10} {t_pc.median:>11.3f} "
              f"{t_tile.median * 1e3:>8.3f} {steps / t_pc.median:>11.3g} {exact}   per-cycle "
              f"[{fmt_s(t_pc.min)}, {fmt_s(t_pc.max)}]")
        v.check(f"{name} {weights} x {acts}: per-cycle exact, cycles == tile mode", exact and tile.cycles == res.cycles)
    return v.exit_code()


if __name__ == "__main__":
    sys.exit(main())
