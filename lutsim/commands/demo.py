"""``lutsim demo``: the built-in default job of the README's first command.

1. End to end: Llama-2-7B, W4A16 (INT4, groups of 128), one decode token with a 1024-token KV cache,
   compiled for and simulated on the ``lut-tc-28nm`` preset (``lutsim simulate`` with these defaults).
2. A correctness check: a small mpGEMM run cycle by cycle with real data on the LUT Tensor Core's
   M2N64K4 unit and compared bit for bit with the reference mpGEMM.
"""

from __future__ import annotations

import numpy as np

NAME = "demo"
HELP = "run the built-in default job: Llama-2-7B W4A16 decode on lut-tc-28nm, plus a bit-exact LUT mpGEMM check"

DEFAULT = {"arch": "lut-tc-28nm", "model": "llama-2-7b", "quant": "w4a16-g128", "phase": "decode", "kv_len": 1024}


def add_arguments(p) -> None:
    p.add_argument("--seed", type=int, default=0, help="random seed of the mpGEMM check (default 0)")
    p.add_argument("--json", action="store_true", help="print JSON")


def checked_lut_gemm(seed: int, m: int = 8, n: int = 256, k: int = 1024, g: int = 128) -> dict:
    """int4 (groups of ``g``) x int8 mpGEMM on the default LUT unit, per cycle, vs sim.reference."""
    from sim import formats, pe
    from sim.pe.base import GemmProblem

    rng = np.random.default_rng(seed)
    lut = pe.get("lut-tc")
    problem = GemmProblem(m, n, k, "int4", "int8", g)
    cfg = lut.resolve(None)
    a = rng.integers(-128, 128, size=(m, k)).astype(np.float64)
    qw = formats.get("int4").quantize(rng.normal(size=(n, k)), group_size=g)
    res = lut.run(problem, cfg, "per-cycle", a, qw)
    return {"m": m, "n": n, "k": k, "weights": f"int4/g{g}", "acts": "int8", "tile": list(cfg.tile),
            "cycles": res.cycles, "utilization": res.utilization,
            "exact": bool(np.array_equal(res.out, lut.expected(problem, cfg, a, qw)))}


def run(args) -> int:
    from lutsim.output import print_json, working
    from lutsim.pipeline import simulate
    from lutsim.results import DemoResult, LutGemmCheck, SimResult

    from .simulate import print_stats

    with working("demo: simulating Llama-2-7B decode on lut-tc-28nm, then a per-cycle LUT mpGEMM check"):
        stats = simulate(DEFAULT["arch"], DEFAULT["model"], DEFAULT["quant"], DEFAULT["phase"],
                         kv_len=DEFAULT["kv_len"]).to_dict()
        check = checked_lut_gemm(args.seed)
    if args.json:
        print_json(DemoResult(SimResult.from_dict(stats), LutGemmCheck(**check)).to_dict())
    else:
        print_stats(stats)
        t = check["tile"]
        print(f"check: LUT Tensor Core M{t[0]}N{t[1]}K{t[2]}, mpGEMM M={check['m']} N={check['n']} K={check['k']} "
              f"{check['weights']} x {check['acts']}, per cycle: {check['cycles']} cycles, output "
              f"{'bit-exact with' if check['exact'] else 'DIFFERS from'} the reference mpGEMM")
    return 0 if check["exact"] else 1
