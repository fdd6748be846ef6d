"""Speed of quantize-and-measure (``lutsim accuracy``). Run: ``python benchmarks/bench_accuracy.py [--repeats N]``.

Workload: a synthetic Llama-2-7B-like layer set (:func:`workloads.synthetic.synthetic_weights`), one layer of
each distinct shape of a 7B decoder block — 4096×4096 (q/k/v/o_proj), 11008×4096 (gate/up_proj) and
4096×11008 (down_proj), 123.7 M weights in all — with 128 synthetic tokens of activations per layer.

Per weight format, one timed run measures every layer of the set: quantize and dequantize the weights with the
hardware model's quantizer (``sim.formats``, blocked as in :func:`sim.quant_error.dequantized`), the weight
SQNR, and the output error ``Q(X)·Q(W)ᵀ`` against ``X·Wᵀ`` (the FP32 reference product and the activation
quantization are included too, as :func:`sim.quant_error.layer_error` computes them when not given).
Not included: reading a checkpoint from disk and making the synthetic tensors. Printed: the median time of
``--repeats`` runs (after one warm-up run that also compiles Numba kernels) with min and max, as tensors/s and
MB/s of weights, counting 2 bytes per weight (the bf16/fp16 size of a checkpoint).

Also printed: the load average (the machine is shared; wall-clock rates fall with load), and per format a
*projection* (not a measurement) of the time for Llama-2-7B's linear layers (12.95 GB of fp16 weights), the
bytes divided by the measured median MB/s. Target, per format: at least ``TARGET_MB_S`` MB/s, i.e. a 7B
checkpoint in about 11 min per format (PASS/FAIL; the exit status is 1 on any FAIL).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.timing import Verdicts  # noqa: E402
from sim.quant_error import layer_error  # noqa: E402
from workloads.models import get_model  # noqa: E402
from workloads.synthetic import synthetic_activations, synthetic_weights  # noqa: E402

SHAPES = {"q_proj": (4096, 4096), "gate_proj": (11008, 4096), "down_proj": (4096, 11008)}  # Llama-2-7B
FORMATS = ["int4", "int4_asym", "mxfp4", "nvfp4", "nf4", "bitmod_fp4", "any4"]
BYTES_PER_WEIGHT = 2  # bf16/fp16 checkpoint storage
TARGET_MB_S = 20.0    # per format: Llama-2-7B's 12.95 GB in about 11 min
PROJECTED_MODEL = "llama-2-7b"


def model_mb(name: str = PROJECTED_MODEL) -> float:
    """MB of the decoder blocks' linear-layer weights of zoo model ``name`` at BYTES_PER_WEIGHT."""
    m = get_model(name)
    return m.layers * sum(s.out_features * s.in_features for s in m.linear_layers()) * BYTES_PER_WEIGHT / 1e6


def load_average() -> str:
    return ", ".join(f"{v:.1f}" for v in os.getloadavg())


def layer_set():
    return [(synthetic_weights(n, *s), synthetic_activations(n, s[1])) for n, s in SHAPES.items()]


def run_once(layers, fmt: str) -> float:
    t = time.perf_counter()
    for w, x in layers:
        layer_error(w, x, fmt, act_format="fp16")
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per format (default 3)")
    ap.add_argument("--formats", default=",".join(FORMATS), help="comma-separated weight formats")
    args = ap.parse_args(argv)
    layers = layer_set()
    weights = sum(w.size for w, _ in layers)
    mb = weights * BYTES_PER_WEIGHT / 1e6
    print(f"layer set: {', '.join(f'{n} {s[0]}x{s[1]}' for n, s in SHAPES.items())}; {weights / 1e6:.1f} M weights "
          f"({mb:.0f} MB at {BYTES_PER_WEIGHT} B/weight); 128 tokens; median of {args.repeats} runs [min, max]")
    full = model_mb()
    print(f"load average (1, 5, 15 min) at start: {load_average()} on {os.cpu_count()} CPUs")
    print(f"{'format':<12}{'s/run':>18}{'tensors/s':>22}{'MB/s':>24}"
          f"{f'projected {PROJECTED_MODEL} (from MB/s)':>36}")
    verdicts = Verdicts("bench_accuracy")
    rates = {}
    for fmt in args.formats.split(","):
        run_once(layers[:1], fmt)  # warm-up: Numba compilation, caches
        times = [run_once(layers, fmt) for _ in range(args.repeats)]
        med, lo, hi = statistics.median(times), min(times), max(times)
        n = len(layers)
        print(f"{fmt:<12}{med:>8.2f} [{lo:.2f}, {hi:.2f}]"
              f"{n / med:>10.2f} [{n / hi:.2f}, {n / lo:.2f}]"
              f"{mb / med:>10.1f} [{mb / hi:.1f}, {mb / lo:.1f}]"
              f"{full / (mb / med) / 60:>16.1f} min projected")
        rates[fmt] = mb / med
    print(f"load average at end: {load_average()}")
    for fmt, rate in rates.items():
        verdicts.check(f"{fmt} quantize-and-measure >= {TARGET_MB_S:.0f} MB/s", rate >= TARGET_MB_S,
                       f"{rate:.1f} MB/s; {PROJECTED_MODEL} ({full / 1e3:.2f} GB) projected at "
                       f"{full / rate / 60:.1f} min")
    return verdicts.exit_code()


if __name__ == "__main__":
    sys.exit(main())
