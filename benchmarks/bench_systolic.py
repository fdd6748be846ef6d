"""Speed of the systolic array model: per-cycle (real data) and tile (closed form) modes.

Run from the repository root: ``python benchmarks/bench_systolic.py``. Prints wall time, PE-cycles
stepped per second, and the ratio to SCALE-Sim 3.0.0's 21–34 s for one 512³ GEMM on a 32×32 array
(docs/references.md#peer-tools; measured on a different 2-core machine, so the ratio is indicative only).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.pe import systolic_array as sa  # noqa: E402

SCALESIM_512_SECONDS = (21.0, 34.0)  # docs/references.md#peer-tools


def main() -> None:
    rng = np.random.default_rng(0)
    sa.per_cycle("os", np.ones((2, 2)), np.ones((2, 2)), 2, 2, 2)  # compile / load the Numba cache
    size, rows, cols = 512, 32, 32
    a = rng.integers(-128, 128, size=(size, size)).astype(np.float64)
    w = rng.integers(-8, 8, size=(size, size)).astype(np.float64)
    for dataflow in sa.DATAFLOWS:
        t0 = time.perf_counter()
        _, cycles, _, hazards = sa.per_cycle(dataflow, a, w, size, rows, cols)
        dt = time.perf_counter() - t0
        t1 = time.perf_counter()
        tile_cycles, _ = sa.tile_timing(dataflow, size, size, size, size, rows, cols)
        dt_tile = time.perf_counter() - t1
        lo, hi = SCALESIM_512_SECONDS
        print(f"{dataflow}: 512^3 on 32x32, per-cycle {cycles:,} cycles in {dt:.2f} s "
              f"({cycles * rows * cols / dt / 1e6:.0f} M PE-cycles/s, hazards {hazards}); "
              f"tile {tile_cycles:,} cycles in {dt_tile * 1e6:.0f} us; "
              f"SCALE-Sim / per-cycle = {lo / dt:.1f}-{hi / dt:.1f}x")


if __name__ == "__main__":
    main()
