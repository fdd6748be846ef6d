"""``lutsim demo``: the built-in default job of the README's first command."""

from __future__ import annotations

import numpy as np

NAME = "demo"
HELP = "run the built-in default job (a small checked mpGEMM) and print its result"


def add_arguments(p) -> None:
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def run(args) -> int:
    from sim import formats, reference

    rng = np.random.default_rng(args.seed)
    m, n, k = 8, 64, 256
    a = rng.integers(-128, 128, size=(m, k))
    w = formats.get("int4").quantize(rng.normal(size=(n, k)), group_size=128)
    out = reference.mpgemm(a, w)
    ok = np.allclose(out, reference.dequant_matmul(a, w), rtol=1e-12, atol=1e-9)
    print(f"mpGEMM M={m} N={n} K={k}, int4 weights (group 128) x int8 activations: "
          f"reference {'matches' if ok else 'DIFFERS FROM'} dequantize-then-matmul")
    return 0 if ok else 1
