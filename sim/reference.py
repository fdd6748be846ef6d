"""The oracle mpGEMM: ``A · dequant(W)ᵀ``, computed exactly, plus rounding emulators.

Every processing-element model and every RTL test is checked against this module.

Shapes: activations ``a`` are (M, K); weights ``qw`` are a :class:`QuantizedTensor` of shape
(N, K) quantized along K (``axis`` = 1), groups of ``G = K / group_size``. Results are (M, N).

Exactness:
* :func:`group_partial_sums` returns ``P[m, n, g] = Σ_{k∈g} a[m,k]·(decode(q[n,k]) − z[n,g])``.
  When ``a`` and the decoded weights are integers this is int64 arithmetic (exact); otherwise
  float64, exact whenever the products and their sums fit 53 significant bits (always true for
  FP16/BF16/FP8 activations times ≤8-bit weight values with groups ≤ 4096).
* :func:`mpgemm` then applies the group scales: ``Σ_g s[n,g]·t·P[m,n,g]`` in float64, in
  increasing ``g`` — the "per-group mpGEMM, then one dequantization" order (MixPE, LUT TC).
* :func:`mpgemm_rounded` is that order with an epilogue unit's roundings (FP32 terms and accumulator, an
  FP16 result by default): what the RTL's dequantization unit (rtl/gateware/dequant_unit.py) computes.
* :func:`dequant_matmul` is the textbook order (dequantize each weight, then matmul) for
  cross-checking; it agrees with :func:`mpgemm` to float64 rounding.
"""

from __future__ import annotations

import numpy as np

from .formats import FormatError, QuantizedTensor, get
from .formats.elements import scalar_type

_INT_KINDS = "iu"


def _check_operands(a: np.ndarray, qw: QuantizedTensor) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2:
        raise FormatError(f"activations must be 2-D (M, K), got shape {a.shape}")
    if qw.codes.ndim != 2 or qw.axis != 1:
        raise FormatError("weights must be a 2-D (N, K) tensor quantized along K (axis=1); "
                          f"got shape {qw.codes.shape}, axis {qw.axis}")
    if a.shape[1] != qw.codes.shape[1]:
        raise FormatError(f"K mismatch: activations have K={a.shape[1]}, weights K={qw.codes.shape[1]}")
    if a.dtype.kind not in _INT_KINDS and not np.isfinite(a.astype(np.float64)).all():
        raise FormatError("activations contain NaN or inf")
    return a


def weight_levels(qw: QuantizedTensor) -> np.ndarray:
    """Per-element ``decode(code) − zero`` (float64), shape (N, K): the weight before scaling."""
    v = get(qw.fmt).levels(qw)
    if qw.zeros is not None:
        v = v - qw.expand(qw.zeros)
    return v


def _is_integral(x: np.ndarray) -> bool:
    return bool(np.all(np.asarray(x) == np.rint(x)))


def group_partial_sums(a: np.ndarray, qw: QuantizedTensor) -> np.ndarray:
    """Exact per-group partial sums, shape (M, N, G); int64 when everything is integral."""
    a = _check_operands(a, qw)
    w = weight_levels(qw)
    n, k = w.shape
    g = qw.group_size
    groups = k // g
    a_int = a.dtype.kind in _INT_KINDS or _is_integral(a)
    if a_int and _is_integral(w):
        aw = a.astype(np.int64).reshape(a.shape[0], groups, g)
        ww = np.rint(w).astype(np.int64).reshape(n, groups, g)
        return np.einsum("mgk,ngk->mng", aw, ww)
    af = a.astype(np.float64).reshape(a.shape[0], groups, g)
    wf = w.reshape(n, groups, g)
    return np.einsum("mgk,ngk->mng", af, wf)


def group_scales(qw: QuantizedTensor) -> np.ndarray:
    """Scale of every (n, g) group including the tensor scale, float64, shape (N, G)."""
    n = qw.codes.shape[0]
    s = np.ones((n, qw.n_groups)) if qw.scales is None else np.asarray(qw.scales, dtype=np.float64)
    return s * qw.tensor_scale


def mpgemm(a: np.ndarray, qw: QuantizedTensor) -> np.ndarray:
    """``A · dequant(W)ᵀ`` (M, N) float64: exact group sums, then one rescale per group."""
    p = group_partial_sums(a, qw).astype(np.float64)
    s = group_scales(qw)
    out = np.zeros(p.shape[:2])
    for gi in range(p.shape[2]):  # fixed order: deterministic, matches the epilogue hardware
        out += p[:, :, gi] * s[None, :, gi]
    return out


def mpgemm_rounded(a: np.ndarray, qw: QuantizedTensor, acc: str = "fp32", out: str = "fp16") -> np.ndarray:
    """:func:`mpgemm` as an epilogue unit computes it: every group's ``P·s`` rounded to ``acc``, summed in
    increasing ``g`` in an ``acc`` register (:func:`sequential_sum`), the total rounded to ``out``; (M, N)
    float64 holding ``out`` values. ``P·s`` is exact in float64 (≤ 53 significant bits), so each term is
    rounded once; float64 sums of two FP32 values round FP32-correctly (53 ≥ 2·24 + 2, double rounding
    is innocuous)."""
    p = group_partial_sums(a, qw).astype(np.float64)
    acc_t = acc_dtype(acc)
    terms = round_to(p * group_scales(qw)[None], acc_t)
    return round_to(sequential_sum(terms, acc_t), acc_dtype(out))


def dequant_matmul(a: np.ndarray, qw: QuantizedTensor) -> np.ndarray:
    """Textbook order: dequantize every weight, then a float64 matmul."""
    a = _check_operands(a, qw)
    return a.astype(np.float64) @ get(qw.fmt).dequantize(qw).T


# ---------------------------------------------------------------------------------------------
# Rounding emulation for floating-point datapaths.

#: accumulator format -> name of its numpy / ml_dtypes scalar type (:func:`~sim.formats.elements.scalar_type`)
ACC_DTYPES = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32", "fp64": "float64"}


def acc_dtype(name: str):
    """numpy dtype of an accumulator format name (fp16, bf16, fp32, fp64)."""
    try:
        return scalar_type(ACC_DTYPES[name])
    except KeyError:
        raise FormatError(f"unknown accumulator format {name!r}; allowed: {', '.join(ACC_DTYPES)}") from None


def round_to(x: np.ndarray, dtype) -> np.ndarray:
    """Round float64 values to ``dtype`` (RNE, with overflow to inf as IEEE does); float64 back."""
    with np.errstate(over="ignore"):
        return np.asarray(x, dtype=np.float64).astype(dtype).astype(np.float64)


def sequential_sum(terms: np.ndarray, dtype, init: np.ndarray | None = None, axis: int = -1) -> np.ndarray:
    """Sum ``terms`` along ``axis`` in index order, rounding after every add to ``dtype``.

    This is a single accumulator register of format ``dtype`` fed one term per cycle.
    ``init`` is the accumulator's starting value (e.g. a partial sum from the previous tile).
    """
    t = np.moveaxis(np.asarray(terms, dtype=np.float64), axis, -1)
    acc = np.zeros(t.shape[:-1]) if init is None else round_to(init, dtype)
    for i in range(t.shape[-1]):
        acc = round_to(acc + t[..., i], dtype)
    return acc


def tree_sum(terms: np.ndarray, dtype, axis: int = -1) -> np.ndarray:
    """Binary adder tree along ``axis`` (length padded with zeros to a power of two), rounding
    every adder's output to ``dtype``; adjacent pairs (0+1, 2+3, …) are added first."""
    t = np.moveaxis(np.asarray(terms, dtype=np.float64), axis, -1)
    n = t.shape[-1]
    width = 1 << max(0, (n - 1).bit_length())
    if width != n:
        t = np.concatenate([t, np.zeros(t.shape[:-1] + (width - n,))], axis=-1)
    while t.shape[-1] > 1:
        t = round_to(t[..., 0::2] + t[..., 1::2], dtype)
    return t[..., 0]
