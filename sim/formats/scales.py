"""Rounding of scale factors to the format they are stored in.

Scales are kept as float64 numbers that are *exactly* representable in their storage format, so
that dequantization with the float64 scale equals what hardware computes with the stored scale.
Rounding is round-to-nearest-even, done by ml_dtypes / numpy casts (IEEE 754 binary16/32,
bfloat16, OCP FP8 E4M3 "fn" and E8M0 as specified in OCP MX v1.0), not by hand.
"""

from __future__ import annotations

import numpy as np

from .base import FormatError
from .elements import BF16, E4M3, FP16, FP32, round_down

#: the float scale formats, as element types (their ``dtype`` brings in ml_dtypes when first used)
_FLOAT_SCALE_ELEMENTS = {"fp16": FP16, "fp32": FP32, "bf16": BF16, "e4m3": E4M3}

SCALE_FORMATS = ("fp16", "fp32", "bf16", "e4m3", "e8m0", "int8")


def round_scale(s: np.ndarray, fmt: str) -> np.ndarray:
    """Round non-negative scales ``s`` to storage format ``fmt``; returns float64.

    Values beyond the format's range saturate to its largest finite value (a scale must stay
    finite); positive values that would round to zero become the smallest positive value, so a
    non-zero group never gets a zero scale. Zero stays zero (an all-zero group).
    """
    s = np.asarray(s, dtype=np.float64)
    if fmt in _FLOAT_SCALE_ELEMENTS:
        dt = _FLOAT_SCALE_ELEMENTS[fmt].dtype
        if dt in (np.float16, np.float32):
            info = np.finfo(dt)
        else:
            import ml_dtypes  # loaded by ``dtype`` already (not at module import: it takes about 0.45 s)

            info = ml_dtypes.finfo(dt)
        top = float(info.max)
        tiny = float(info.smallest_subnormal)
        with np.errstate(over="ignore", invalid="ignore"):
            r = np.minimum(s, top).astype(dt).astype(np.float64)
        return np.where((s > 0) & (r == 0), tiny, r)
    if fmt == "e8m0":
        # E8M0 holds 2^e for e in [-127, 127] (OCP MX v1.0, Table 1); callers pick the exponent.
        with np.errstate(divide="ignore"):
            e = np.clip(np.round(np.log2(np.where(s > 0, s, 1.0))), -127, 127)
        return np.where(s > 0, np.exp2(e), 0.0)
    if fmt == "int8":
        return np.clip(np.rint(s), 0, 127)
    raise FormatError(f"unknown scale format {fmt!r}; allowed: {', '.join(SCALE_FORMATS)}")


def round_scale_covering(needed: np.ndarray, fmt: str) -> np.ndarray:
    """Round scales to ``fmt`` like :func:`round_scale`, but never below ``needed``.

    Used where rounding a scale down would clip the group's extreme element (notably in the
    subnormal range of FP16, where the relative step is large): such scales move up to the next
    representable value of the storage format.
    """
    r = round_scale(needed, fmt)
    if fmt not in _FLOAT_SCALE_ELEMENTS:
        return r
    el = _FLOAT_SCALE_ELEMENTS[fmt]
    dt = el.dtype
    low = r < np.asarray(needed, dtype=np.float64)
    if low.any():
        bits = r[low].astype(dt).view(el.uint) + 1  # next float up: positive values only
        bumped = bits.view(dt).astype(np.float64)
        r = r.copy()
        r[low] = np.where(np.isfinite(bumped), bumped, r[low])
    return r


def round_scale_down(needed: np.ndarray, fmt: str) -> np.ndarray:
    """The largest value of scale format ``fmt`` not above ``needed`` (absmax scales).

    With ``scale = round_scale_down(amax / qmax)`` the group's absmax lands on the largest code, so
    quantize -> dequantize is idempotent (rounding to nearest is not, in FP16's subnormal range). A
    non-zero group whose scale would round to 0 gets the smallest positive value instead.
    """
    if fmt not in _FLOAT_SCALE_ELEMENTS:
        return round_scale(needed, fmt)
    el = _FLOAT_SCALE_ELEMENTS[fmt]
    needed = np.asarray(needed, dtype=np.float64)
    r = round_down(needed, el)
    return np.where((needed > 0) & (r == 0), el.min_subnormal, r)
