"""Codebook formats: QLoRA's NormalFloat4 (fixed table) and any4 (a learned table per group).

* ``nf4``: the 16 NF4 levels published with QLoRA (Dettmers et al., arXiv 2305.14314, appendix;
  the same constants as bitsandbytes), code = index of the level in ascending order (code 7 = 0).
  One absmax scale per block of 64 stored as FP32: QLoRA's block size and its 32/64 = 0.5 bits per
  parameter of constants without double quantization (arXiv 2305.14314, §3).
* ``any4``: 16 values per group (per row by default) learned by one-dimensional k-means (Lloyd's
  algorithm) on that group's weights, after Elhoushi et al., "any4: Learned 4-bit Numeric
  Representation for LLMs" (arXiv 2507.04610). Our fit, fully deterministic: the 16 centroids start
  at the quantiles (j + ½)/16, j = 0…15, of the group (numpy's linear interpolation); then
  ``LLOYD_ITERATIONS`` rounds of (assign each value to its nearest centroid, ties to the lower one;
  move every non-empty cluster's centroid to its members' mean; an empty cluster keeps its
  centroid). The codebook is stored as FP16 (rounded to nearest, ascending), and codes index it.
  There is no separate scale: the codebook carries the magnitude.
"""

from __future__ import annotations

import numpy as np

from ..jit import njit
from ._tables import TableFormat
from .base import (
    Format,
    FormatError,
    QuantizedTensor,
    check_finite,
    grouped,
    resolve_groups,
    ungrouped,
)

# QLoRA NF4 levels (arXiv 2305.14314, appendix; identical to bitsandbytes' NF4 table).
NF4_LEVELS = np.array([
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
    -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
    0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
    0.7229568362236023, 1.0,
])
NF4_BLOCK = 64  # QLoRA's block size for the absmax constants (arXiv 2305.14314, §3)

ANY4_ENTRIES = 16
LLOYD_ITERATIONS = 20  # a choice: enough for 1-D k-means on one row to settle in our tests
FP16_MAX = 65504.0  # largest finite IEEE 754 binary16 value


class NF4Format(TableFormat):
    """QLoRA NormalFloat4: 16 fixed levels in [−1, 1], FP32 absmax per block of 64."""

    name = "nf4"
    code_bits = 4
    scale_format = "fp32"
    default_group_size = NF4_BLOCK
    VALUES = NF4_LEVELS


@njit(cache=True)
def _lloyd_sorted(xs, init, iterations):
    """1-D k-means on each row of ``xs`` (rows sorted ascending) from ascending ``init``.

    Clusters of sorted data are runs between centroid midpoints, so each round needs only a
    binary search per centroid and prefix sums. Returns the centroids, shape of ``init``.
    """
    rows, n = xs.shape
    k = init.shape[1]
    cent = init.copy()
    prefix = np.zeros(n + 1)
    for r in range(rows):
        for i in range(n):
            prefix[i + 1] = prefix[i] + xs[r, i]
        for _ in range(iterations):
            start = 0
            for j in range(k):
                if j == k - 1:
                    stop = n
                else:
                    mid = 0.5 * (cent[r, j] + cent[r, j + 1])
                    stop = np.searchsorted(xs[r], mid, side="right")  # ties stay with the lower centroid
                if stop > start:
                    cent[r, j] = (prefix[stop] - prefix[start]) / (stop - start)
                start = max(start, stop)
    return cent


@njit(cache=True)
def _assign(x, cent):
    """Index of the nearest centroid (ascending per row, ties to the lower) for each x[r, i]."""
    rows, n = x.shape
    k = cent.shape[1]
    codes = np.zeros((rows, n), dtype=np.int64)
    for r in range(rows):
        for i in range(n):
            c = 0
            while c < k - 1 and x[r, i] > 0.5 * (cent[r, c] + cent[r, c + 1]):
                c += 1
            codes[r, i] = c
    return codes


def _to_fp16(v: np.ndarray) -> np.ndarray:
    return np.clip(v, -FP16_MAX, FP16_MAX).astype(np.float16).astype(np.float64)


class Any4Format(Format):
    """any4: a 16-entry FP16 codebook per group (per row by default), learned by k-means."""

    name = "any4"
    code_bits = 4
    scale_format = None
    default_group_size = None
    family = "codebook"

    def metadata_bits_per_group(self) -> int:
        return ANY4_ENTRIES * 16  # 16 FP16 codebook entries

    def fit_codebook(self, groups: np.ndarray) -> np.ndarray:
        """FP16 codebooks (rows, 16), ascending, for the rows of ``groups`` (rows, g)."""
        xs = np.sort(groups, axis=1)
        init = np.quantile(xs, (np.arange(ANY4_ENTRIES) + 0.5) / ANY4_ENTRIES, axis=1).T
        return _to_fp16(_lloyd_sorted(xs, np.ascontiguousarray(init), LLOYD_ITERATIONS))

    def encode(self, groups: np.ndarray, codebook: np.ndarray) -> np.ndarray:
        """Codes (rows, g) of ``groups`` against ascending ``codebook`` (rows, 16)."""
        return _assign(np.ascontiguousarray(groups, dtype=np.float64), np.ascontiguousarray(codebook))

    def quantize(self, x, group_size=None, axis=-1, per_tensor=False) -> QuantizedTensor:
        if per_tensor:
            raise FormatError("any4 learns one codebook per group; per_tensor is not supported")
        x = check_finite(x)
        axis, g = resolve_groups(x.shape, group_size, axis)
        xg = grouped(x, axis, g)
        flat = xg.reshape(-1, g)
        book = self.fit_codebook(flat)
        codes = self.encode(flat, book).reshape(xg.shape)
        book = book.reshape(xg.shape[:-1] + (ANY4_ENTRIES,))
        return QuantizedTensor(self.name, ungrouped(codes, axis).astype(np.uint8), None, None, g, axis,
                               codebook=_book_to_axis(book, axis))

    def decode(self, codes, tags=None):
        raise FormatError("any4 values live in the tensor's codebook: use levels(q) or dequantize(q)")

    def levels(self, q: QuantizedTensor) -> np.ndarray:
        if q.codebook is None:
            raise FormatError("any4 tensor has no codebook")
        book = _book_from_axis(q.codebook, q.axis)            # (..., n_groups, 16)
        codes = grouped(np.asarray(q.codes).astype(np.int64), q.axis, q.group_size)
        return ungrouped(np.take_along_axis(book, codes, axis=-1), q.axis)


def _book_to_axis(book: np.ndarray, axis: int) -> np.ndarray:
    """(..., n_groups, 16) → codebook with the group axis at ``axis`` and entries last."""
    return np.moveaxis(book, -2, axis)


def _book_from_axis(book: np.ndarray, axis: int) -> np.ndarray:
    return np.moveaxis(book, axis, -2)


REGISTRY = {"nf4": NF4Format, "any4": Any4Format}
