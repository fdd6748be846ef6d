"""Quantization error of one linear layer in one format: weight SQNR, GEMM output error, bits per element.

The quantizers are the hardware model's own (``sim.formats.get(name).quantize``, with BitMoD's per-group
datatype choice, NF4's table and any4's learned codebooks), so the error measured here belongs to the very
codes the cycle model runs on. Weights ``W`` are ``(out_features, in_features)`` (Hugging Face layout) and are
grouped along ``in_features``, the GEMM's reduction axis; activations ``X`` are ``(tokens, in_features)``,
grouped along ``in_features`` per token (the activation format's default group; per token when it has none).

Metrics (float64 sums over float32 tensors):

* weight SQNR (dB) = ``10·log10(Σ W² / Σ (W − Q(W))²)``; ``inf`` when the format holds ``W`` exactly;
* output relative error = ``‖Q(X)·Q(W)ᵀ − X·Wᵀ‖_F / ‖X·Wᵀ‖_F`` (FP32 reference);
* bits per element = ``Format.bits_per_element(group_size)`` (codes plus per-group metadata).

Large tensors are quantized in blocks of rows (about ``CHUNK_ELEMENTS`` elements each) so that a
format's temporaries stay small. Each block carries one extra row holding the tensor's largest-magnitude
element, so a format whose scale depends on the tensor's absmax (NVFP4's FP32 tensor scale) sees the
same absmax as for the whole tensor; tests check that blocked and whole-tensor codes agree for every
registered format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim import formats
from sim.errors import InputError
from sim.pairwise_sum import sum_of_squared_differences, sum_of_squares

CHUNK_ELEMENTS = 1 << 20  # elements per quantized block of rows (BitMoD's search holds 16 float64 per element)
_FUSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def dequantized(fmt: str, x: np.ndarray, group_size: int | None = None) -> np.ndarray:
    """``x`` (2-D, groups along the last axis) after quantizing to ``fmt`` and back, float32."""
    f = formats.get(fmt)
    x = np.asarray(x)
    rows, cols = x.shape
    step = max(1, CHUNK_ELEMENTS // max(cols, 1))
    if rows <= step:
        return f.dequantize(f.quantize(x, group_size=group_size, axis=-1)).astype(np.float32)
    flat = np.abs(x).argmax()
    peak = np.zeros((1, cols), dtype=x.dtype)
    peak[0, 0] = x.flat[flat]
    out = np.empty((rows, cols), dtype=np.float32)
    for start in range(0, rows, step):
        block = np.concatenate([x[start:start + step], peak])
        out[start:start + step] = f.dequantize(f.quantize(block, group_size=group_size, axis=-1))[:-1]
    return out


def _fusable(*arrays: np.ndarray) -> bool:
    """Whether the fused sums of :mod:`sim.pairwise_sum` read these arrays in numpy's own order (C-contiguous
    float32/float64 arrays of one shape)."""
    return all(a.dtype in _FUSED_DTYPES and a.flags.c_contiguous and a.shape == arrays[0].shape for a in arrays)


def sqnr_db(x: np.ndarray, xq: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio in dB; ``inf`` for an exact copy, ``-inf`` for an all-zero ``x``.

    Both sums are ``np.sum`` of float64 squares; for C-contiguous float arrays they are computed without
    the float64 temporaries, in numpy's summation order (the same float64)."""
    x, xq = np.asarray(x), np.asarray(xq)
    if _fusable(x, xq):
        signal = float(sum_of_squares(x.reshape(-1)))
        noise = float(sum_of_squared_differences(x.reshape(-1), xq.reshape(-1)))
    else:
        signal = float(np.sum(np.square(x, dtype=np.float64)))
        noise = float(np.sum(np.square(np.asarray(x, np.float64) - xq, dtype=np.float64)))
    if noise == 0.0:
        return math.inf
    return 10.0 * math.log10(signal / noise) if signal > 0 else -math.inf


def relative_frobenius_error(ref: np.ndarray, approx: np.ndarray) -> float:
    """``‖approx − ref‖_F / ‖ref‖_F`` (0 for equal arrays; inf when ``ref`` is zero and they differ)."""
    diff = float(np.linalg.norm(np.asarray(approx, np.float64) - ref))
    norm = float(np.linalg.norm(np.asarray(ref, np.float64)))
    if diff == 0.0:
        return 0.0
    return diff / norm if norm > 0 else math.inf


@dataclass(frozen=True)
class LayerError:
    """Error of one layer in one weight format (dB, ratio, bits)."""

    format: str
    group_size: int | None
    bits_per_element: float
    weight_sqnr_db: float
    output_rel_error: float


def check_group(fmt: str, group_size: int | None, in_features: int, layer: str) -> None:
    """An InputError naming ``--group-size`` when the group does not divide the layer's in_features."""
    g = group_size if group_size is not None else formats.get(fmt).default_group_size
    if g is not None and in_features % g:
        raise InputError("--group-size", f"{g} (format {fmt}) does not divide in_features={in_features} of "
                         f"layer {layer}", "a divisor of every layer's in_features")


def layer_error(w: np.ndarray, x: np.ndarray, weight_format: str, group_size: int | None = None,
                act_format: str = "fp16", reference: np.ndarray | None = None,
                xq: np.ndarray | None = None) -> LayerError:
    """Error of ``Q(X)·Q(W)ᵀ`` against ``X·Wᵀ`` for one layer; ``reference`` / ``xq`` may be passed precomputed
    (they do not depend on the weight format)."""
    wq = dequantized(weight_format, w, group_size)
    if xq is None:
        xq = dequantized(act_format, x)
    if reference is None:
        reference = x @ w.T
    f = formats.get(weight_format)
    return LayerError(format=f.name, group_size=group_size, bits_per_element=float(f.bits_per_element(group_size)),
                      weight_sqnr_db=sqnr_db(w, wq), output_rel_error=relative_frobenius_error(reference, xq @ wq.T))
