"""Speed of the processing-element models. Run: ``python benchmarks/bench_pe.py``.

Prints (a) tile-mode cycles of a 4096³ GEMM on every registered PE and the time per call (median of 20 after
a first call; target < 10 ms); (b) per-cycle functional throughput of the LUT Tensor Core in lookups/s, whole
call (weight layout, precompute, unit, epilogue; Numba loaded by a first call; target ≥ 5e7 on one core);
(c) JIT compile time of every PE's kernels, cold (fresh NUMBA_CACHE_DIR in a subprocess) and warm (cache hit),
no target. The SCALE-Sim comparison runs SCALE-Sim itself: ``benchmarks/bench_systolic.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.timing import Timing, Verdicts, fmt_s, repeat  # noqa: E402
from sim import formats, pe  # noqa: E402
from sim.pe.base import ACTIVATION_FORMATS, GemmProblem, PEConfig  # noqa: E402

TILE_CALL_TARGET_S = 10e-3
LOOKUPS_PER_S_TARGET = 5e7
PREFERRED = [("int4", "int8"), ("int4", "fp16"), ("int8", "int8"), ("int8", "fp16")]


def pick_problem(model, m: int, n: int, k: int, config: PEConfig | None = None) -> GemmProblem:
    """The first (weights, acts) pair the PE accepts, preferring W4A8."""
    pairs = PREFERRED + [(w, a) for w in formats.names() for a in ACTIVATION_FORMATS]
    for w, a in pairs:
        prob = GemmProblem(m, n, k, w, a)
        try:
            model.check(prob, model.resolve(config))
            return prob
        except ValueError:
            continue
    raise RuntimeError(f"{model.name}: no weight/activation format pair accepted")


def median_time(fn, repeats: int, includes: str) -> Timing:
    fn()  # the first call (JIT load, caches) is not counted
    return repeat(fn, repeats, includes)[0]


def bench_tile_mode(v: Verdicts) -> None:
    print("(a) tile mode, 4096x4096x4096 GEMM")
    for name in pe.names():
        model = pe.get(name)
        if "tile" not in model.modes:
            print(f"  {name:16s} no tile mode")
            continue
        prob = pick_problem(model, 4096, 4096, 4096)
        res = model.run(prob, PEConfig(), "tile")
        t = median_time(lambda: model.run(prob, PEConfig(), "tile"), 20, "one call after a first")  # noqa: B023
        print(f"  {name:16s} {prob.weights}x{prob.acts}: {res.cycles:>14,d} cycles, util {res.utilization:.3f}, {t}")
        v.check(f"{name} tile-mode call < 10 ms", t.median < TILE_CALL_TARGET_S, fmt_s(t.median))


def bench_lut_per_cycle(v: Verdicts) -> None:
    print("(b) LUT Tensor Core per-cycle functional throughput (one core)")
    model = pe.get("lut-tc")
    rng = np.random.default_rng(0)
    m, n, k = 16, 1024, 1024
    qw = formats.get("int4").quantize(rng.normal(size=(n, k)), 128)
    for acts in ("int8", "fp16"):
        a = rng.integers(-128, 128, size=(m, k)) if acts == "int8" else rng.normal(size=(m, k)).astype(np.float16)
        prob = GemmProblem(m, n, k, "int4", acts, 128)
        res = model.run(prob, PEConfig(), "per-cycle", a, qw)
        t = median_time(lambda: model.run(prob, PEConfig(), "per-cycle", a, qw), 3,  # noqa: B023
                        "whole call incl. weight layout, precompute and epilogue, after a first call")
        rate = res.events["lookups"] / t.median
        print(f"  W4 x {acts}, {m}x{n}x{k}: {res.events['lookups']:,d} lookups, {t}: {rate:.3g} lookups/s")
        v.check(f"lut-tc per-cycle W4 x {acts} >= 5e7 lookups/s", rate >= LOOKUPS_PER_S_TARGET, f"{rate:.3g}")


_COMPILE_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
import numpy as np
from sim import formats, pe
from sim.pe.base import PEConfig
sys.path.insert(0, {bench!r})
from bench_pe import pick_problem
from lutsim.commands.gemm import random_activations
t1 = time.perf_counter()
times = {{}}
for name in pe.names():
    model = pe.get(name)
    if "per-cycle" not in model.modes:
        continue
    prob = pick_problem(model, 3, 9, 16)
    rng = np.random.default_rng(0)
    qw = formats.get(prob.weights).quantize(rng.normal(size=(9, 16)), None)
    a = random_activations(prob.acts, 3, 16, rng)
    t = time.perf_counter()
    model.run(prob, PEConfig(), "per-cycle", a, qw)
    if prob.acts != "fp16":  # also the FP path where the PE has one
        try:
            model.run(prob.__class__(3, 9, 16, prob.weights, "fp16"), PEConfig(), "per-cycle",
                      random_activations("fp16", 3, 16, rng), qw)
        except ValueError:
            pass
    times[name] = time.perf_counter() - t
print(json.dumps({{"import_s": t1 - t0, "first_calls_s": times}}))
"""


def bench_compile() -> None:
    print("(c) JIT compile time of the per-cycle kernels (first tiny per-cycle GEMM per PE, in a subprocess)")
    script = _COMPILE_SCRIPT.format(root=str(ROOT), bench=str(Path(__file__).resolve().parent))
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold (empty cache)", "warm (cache hit) "):
            out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            per = ", ".join(f"{k} {v:.2f} s" for k, v in r["first_calls_s"].items())
            print(f"  {label}: total {sum(r['first_calls_s'].values()):.2f} s ({per}); imports {r['import_s']:.2f} s")


def main() -> int:
    v = Verdicts("bench_pe")
    bench_tile_mode(v)
    bench_lut_per_cycle(v)
    bench_compile()
    return v.exit_code()


if __name__ == "__main__":
    sys.exit(main())
