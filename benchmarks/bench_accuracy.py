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
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.quant_error import layer_error  # noqa: E402
from workloads.synthetic import synthetic_activations, synthetic_weights  # noqa: E402

SHAPES = {"q_proj": (4096, 4096), "gate_proj": (11008, 4096), "down_proj": (4096, 11008)}  # Llama-2-7B
FORMATS = ["int4", "int4_asym", "mxfp4", "nvfp4", "nf4", "bitmod_fp4", "any4"]
BYTES_PER_WEIGHT = 2  # bf16/fp16 checkpoint storage


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
    print(f"{'format':<12}{'s/run':>18}{'tensors/s':>22}{'MB/s':>24}")
    for fmt in args.formats.split(","):
        run_once(layers[:1], fmt)  # warm-up: Numba compilation, caches
        times = [run_once(layers, fmt) for _ in range(args.repeats)]
        med, lo, hi = statistics.median(times), min(times), max(times)
        n = len(layers)
        print(f"{fmt:<12}{med:>8.2f} [{lo:.2f}, {hi:.2f}]"
              f"{n / med:>10.2f} [{n / hi:.2f}, {n / lo:.2f}]"
              f"{mb / med:>10.0f} [{mb / hi:.0f}, {mb / lo:.0f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
