"""``lutsim demo``: the built-in default job of the README's first command.

A small mpGEMM (int4 weights in groups of 128 × int8 activations) on the LUT Tensor Core's default
M2N64K4 unit, run cycle by cycle with real data and checked bit for bit against the reference
mpGEMM; then the same GEMM's cycle count on every registered PE (tile mode) for comparison.
"""

from __future__ import annotations

import numpy as np

NAME = "demo"
HELP = "run the built-in default job (a checked LUT Tensor Core mpGEMM) and print its result"


# The weight/activation formats each PE is built for (the demo's comparison row); others use int4 x int8.
NATIVE_FORMATS = {"bitmod": ("bitmod_fp4", "fp16"), "olive": ("olive4", "int8"), "fp16-mac": ("int4", "fp16")}


def add_arguments(p) -> None:
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="print JSON")


def run(args) -> int:
    from lutsim.output import print_json, print_table
    from sim import formats, pe
    from sim.pe.base import GemmProblem

    rng = np.random.default_rng(args.seed)
    m, n, k, g = 8, 256, 1024, 128
    lut = pe.get("lut-tc")
    problem = GemmProblem(m, n, k, "int4", "int8", g)
    cfg = lut.resolve(None)
    a = rng.integers(-128, 128, size=(m, k)).astype(np.float64)
    qw = formats.get("int4").quantize(rng.normal(size=(n, k)), group_size=g)
    res = lut.run(problem, cfg, "per-cycle", a, qw)
    exact = bool(np.array_equal(res.out, lut.expected(problem, cfg, a, qw)))
    rows = []
    for name in pe.names():
        model = pe.get(name)
        weights, acts = NATIVE_FORMATS.get(name, ("int4", "int8"))
        t = model.run(GemmProblem(m, n, k, weights, acts, g), model.resolve(None), "tile")
        rows.append({"pe": name, "weights": weights, "acts": acts, "cycles": t.cycles,
                     "utilization": round(t.utilization, 4)})
    summary = {"gemm": {"m": m, "n": n, "k": k, "weights": "int4/g128", "acts": "int8"},
               "lut_tc": {"tile": list(cfg.tile), "cycles": res.cycles, "utilization": res.utilization,
                          "exact": exact, "events": res.events},
               "all_pes_tile_mode": rows}
    if args.json:
        print_json(summary)
    else:
        print(f"LUT Tensor Core M{cfg.tile[0]}N{cfg.tile[1]}K{cfg.tile[2]}, mpGEMM M={m} N={n} K={k}, int4 (g128) x "
              f"int8: {res.cycles} cycles, utilization {res.utilization:.3f}, output "
              f"{'bit-exact with' if exact else 'DIFFERS from'} the reference mpGEMM")
        print_table("The same GEMM on every PE (tile mode, default arrays)", rows)
    return 0 if exact else 1
