"""OliVe 4-bit outlier–victim pairs (Guo et al., ISCA'23, arXiv 2304.07493; docs/references.md#baselines).

Adjacent pairs along the quantization axis: a normal pair holds two INT4 values (−7…7); an outlier pair
holds the identifier ``0b1000`` (read as 0) and an outlier in a biased E2M1 code (magnitudes 8…96), in
units of the group's FP16 scale, which is searched for the least squared error. Encoding, decoding and
the quantization rule: docs/formats.md, "OliVe outlier-victim pairs".
"""

from __future__ import annotations

import numpy as np

from ._tables import nearest_level
from .base import (
    Format,
    FormatError,
    QuantizedTensor,
    check_finite,
    grouped,
    per_group_to_axis,
    resolve_groups,
    round_half_even,
    ungrouped,
)
from .scales import round_scale

IDENTIFIER = 0b1000
INT4_MAX = 7  # normal values: INT4 without −8, which is the identifier
# OCP MX v1.0 E2M1 magnitudes {0.5, 1, 1.5, 2, 3, 4, 6} (docs/references.md#baselines) ×16, indexed by the
# 3-bit exponent/mantissa field 1..7 (field 0 is E2M1's zero, unused for outliers).
OUTLIER_MAGNITUDES = np.array([0, 8, 16, 24, 32, 48, 64, 96], dtype=np.float64)
SCALE_TARGETS = np.concatenate([np.arange(1.0, INT4_MAX + 1), OUTLIER_MAGNITUDES[1:]])

# Value of a code in a normal slot (two's complement; the identifier's entry is never used).
NORMAL_VALUES = np.array([c - 16 if c >= 8 else c for c in range(16)], dtype=np.float64)
# Value of a code in an outlier slot.
OUTLIER_VALUES = np.concatenate([OUTLIER_MAGNITUDES, 0.0 - OUTLIER_MAGNITUDES])


def decode_pairs(codes: np.ndarray) -> np.ndarray:
    """Element values of OliVe codes paired along the last axis (even length), float64."""
    c = np.asarray(codes).astype(np.int64)
    if c.shape[-1] % 2:
        raise FormatError(f"olive4 pairs elements along the last axis; its length {c.shape[-1]} is odd")
    if c.size and (c.min() < 0 or c.max() > 15):
        raise FormatError("olive4 codes must be in 0..15")
    c0, c1 = c[..., 0::2], c[..., 1::2]
    v0 = np.where(c0 == IDENTIFIER, 0.0, np.where(c1 == IDENTIFIER, OUTLIER_VALUES[c0], NORMAL_VALUES[c0]))
    v1 = np.where(c0 == IDENTIFIER, OUTLIER_VALUES[c1], np.where(c1 == IDENTIFIER, 0.0, NORMAL_VALUES[c1]))
    out = np.empty(c.shape, dtype=np.float64)
    out[..., 0::2], out[..., 1::2] = v0, v1
    return out


def encode_pairs(y: np.ndarray) -> np.ndarray:
    """Codes of ``y`` (values in scale units) paired along the last axis (even length), int64."""
    y0, y1 = y[..., 0::2], y[..., 1::2]
    normal = np.clip(round_half_even(y), -INT4_MAX, INT4_MAX).astype(np.int64) & 0xF
    first = np.abs(y0) >= np.abs(y1)
    big = np.where(first, y0, y1)
    field = nearest_level(np.abs(big), OUTLIER_MAGNITUDES[1:]) + 1
    outlier_code = np.where(big < 0, 8, 0) + field
    has_outlier = np.maximum(np.abs(y0), np.abs(y1)) > INT4_MAX + 0.5
    c0 = np.where(has_outlier, np.where(first, outlier_code, IDENTIFIER), normal[..., 0::2])
    c1 = np.where(has_outlier, np.where(first, IDENTIFIER, outlier_code), normal[..., 1::2])
    codes = np.empty(y.shape, dtype=np.int64)
    codes[..., 0::2], codes[..., 1::2] = c0, c1
    return codes


class Olive4Format(Format):
    """OliVe outlier–victim pair 4-bit format with an FP16 scale per group (per channel by default)."""

    name = "olive4"
    family = "codebook"
    code_bits = 4
    scale_format = "fp16"
    default_group_size = None

    def quantize(self, x, group_size=None, axis=-1, per_tensor=False) -> QuantizedTensor:
        x = check_finite(x)
        axis, g = resolve_groups(x.shape, group_size, axis)
        if g % 2:
            raise FormatError(f"olive4 needs an even group size (elements come in pairs), got {g}")
        xg = grouped(x, axis, g)
        amax = np.abs(xg).max(axis=-1)
        if per_tensor:
            amax = np.full_like(amax, amax.max())
        best_err = np.full(amax.shape, np.inf)
        best_s = np.zeros(amax.shape)
        best_codes = np.zeros(xg.shape, dtype=np.int64)
        for t in SCALE_TARGETS:
            s = round_scale(amax / t, self.scale_format)
            safe = np.where(s > 0, s, 1.0)[..., None]
            codes = np.where((s > 0)[..., None], encode_pairs(xg / safe), 0)
            err = ((decode_pairs(codes) * s[..., None] - xg) ** 2).sum(axis=-1)
            better = err < best_err
            best_err = np.where(better, err, best_err)
            best_s = np.where(better, s, best_s)
            best_codes = np.where(better[..., None], codes, best_codes)
        return QuantizedTensor(self.name, ungrouped(best_codes, axis).astype(np.uint8),
                               per_group_to_axis(best_s, axis), None, g, axis)

    def decode(self, codes, tags=None):
        """Values of codes paired along the *last* axis; use :meth:`levels` for other axes."""
        return decode_pairs(codes)

    def levels(self, q: QuantizedTensor) -> np.ndarray:
        return np.moveaxis(decode_pairs(np.moveaxis(q.codes, q.axis, -1)), -1, q.axis)


REGISTRY = {"olive4": Olive4Format}
