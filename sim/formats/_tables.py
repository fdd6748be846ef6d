"""Shared machinery of table formats: a fixed value per code, one absmax scale per group.

Quantization picks the nearest table value to ``x / scale``; a value exactly halfway between two
table values goes to the one of smaller magnitude (towards zero), so rounding is sign-symmetric.
"""

from __future__ import annotations

import numpy as np

from ..jit import njit
from .base import (
    Format,
    FormatError,
    QuantizedTensor,
    check_finite,
    code_dtype,
    grouped,
    per_group_to_axis,
    resolve_groups,
    ungrouped,
)
from .scales import round_scale


@njit(cache=True)
def _count_midpoints_below(y, mid, out):
    """out[i] = #(mid < y[i]) for y[i] >= 0, #(mid <= y[i]) otherwise (NaN: len(mid)); binary search."""
    n = mid.size
    for i in range(y.size):
        v = y[i]
        if v != v:
            out[i] = n
            continue
        lo, hi = 0, n
        while lo < hi:
            m = (lo + hi) // 2
            if mid[m] < v or (v < 0 and mid[m] == v):
                lo = m + 1
            else:
                hi = m
        out[i] = lo


def nearest_level(y: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Index of the nearest entry of ascending ``levels`` for every ``y`` (ties towards zero).

    A ``y`` on a midpoint stays on the lower level when ``y >= 0`` and takes the upper one otherwise, i.e.
    ``searchsorted(mid, y, "left")`` for ``y >= 0`` and ``searchsorted(mid, y, "right")`` below (one Numba pass).
    """
    y = np.asarray(y, dtype=np.float64)
    mid = (np.asarray(levels, dtype=np.float64)[:-1] + np.asarray(levels, dtype=np.float64)[1:]) / 2
    out = np.empty(y.size, dtype=np.int64)
    _count_midpoints_below(np.ascontiguousarray(y).reshape(-1), mid, out)
    return out.reshape(y.shape)


class TableFormat(Format):
    """A format whose codes index a fixed table ``VALUES`` and whose group scale is absmax-based.

    ``scale = absmax / max|VALUES|``, rounded to ``scale_format``. Codes that share a value
    (e.g. +0 and −0) quantize to the smallest such code.
    """

    VALUES: np.ndarray = np.zeros(0)
    family = "codebook"

    def __init__(self):
        values = np.asarray(self.VALUES, dtype=np.float64)
        if values.shape != (1 << self.code_bits,):
            raise FormatError(f"{self.name}: table needs {1 << self.code_bits} values, has {values.shape}")
        self._values = values
        levels, first_code = np.unique(values, return_index=True)  # first_code: smallest code per value
        self._levels = levels
        self._level_code = first_code.astype(np.int64)
        self._top = float(np.abs(values).max())

    @property
    def values(self) -> np.ndarray:
        return self._values.copy()

    def encode(self, y: np.ndarray) -> np.ndarray:
        """Codes of the table values nearest to ``y`` (already divided by the scale)."""
        return self._level_code[nearest_level(y, self._levels)]

    def quantize(self, x, group_size=None, axis=-1, per_tensor=False) -> QuantizedTensor:
        x = check_finite(x)
        if group_size is None:
            group_size = self.default_group_size
        axis, g = resolve_groups(x.shape, group_size, axis)
        xg = grouped(x, axis, g)
        amax = np.abs(xg).max(axis=-1)
        if per_tensor:
            amax = np.full_like(amax, amax.max())
        s = round_scale(amax / self._top, self.scale_format)
        safe = np.where(s > 0, s, 1.0)[..., None]
        codes = np.where((s > 0)[..., None], self.encode(xg / safe), self.encode(np.zeros(1))[0])
        return QuantizedTensor(self.name, ungrouped(codes, axis).astype(code_dtype(self.code_bits)),
                               per_group_to_axis(s, axis), None, g, axis)

    def decode(self, codes, tags=None):
        c = np.asarray(codes).astype(np.int64)
        if c.size and (c.min() < 0 or c.max() >= self._values.size):
            raise FormatError(f"{self.name} codes must be in 0..{self._values.size - 1}")
        return self._values[c]
