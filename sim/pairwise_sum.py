"""numpy's float summation order in Numba, so that fused kernels report the very sums numpy would.

``np.sum`` of a float array along a contiguous axis (or of a whole C-contiguous array) is not a plain loop:
it is ``pairwise_sum`` of numpy's ``numpy/_core/src/umath/loops_utils.h.src`` — below 8 terms a plain loop;
up to 128 terms eight interleaved partial sums combined as a tree, then the remainder one by one; a longer
run split in two halves (the first a multiple of 8 long) whose sums are added. A naive loop differs in the
last bits; these functions give the same float64, bit for bit (tests compare them with ``np.sum``).
"""

from __future__ import annotations

import numpy as np

from .jit import njit

BLOCK = 128          # numpy's PW_BLOCKSIZE: longest run summed without splitting
_PLAIN, _SQUARES, _SQUARED_DIFFERENCES = 0, 1, 2   # what the terms of a sum are (see _leaf_sum)
_MAX_DEPTH = 64      # halving from 2**63 elements down to BLOCK takes fewer levels


@njit(cache=True)
def block_sum(a, lo, n):
    """``a[lo:lo + n].sum()`` for ``n <= BLOCK``, in numpy's order."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = lo + 8
    end = lo + n - n % 8
    while i < end:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < lo + n:
        res += a[i]
        i += 1
    return res


@njit(cache=True)
def _leaf_sum(x, y, terms, lo, n, buf):
    """Sum of ``n <= BLOCK`` terms from ``lo``: ``x[i]``, ``float64(x[i])²`` or ``(float64(x[i]) − float64(y[i]))²``."""
    if terms == _PLAIN:
        return block_sum(x, lo, n)
    for i in range(n):
        v = np.float64(x[lo + i])
        if terms == _SQUARED_DIFFERENCES:
            v -= np.float64(y[lo + i])
        buf[i] = v * v
    return block_sum(buf, 0, n)


@njit(cache=True)
def _tree_sum(x, y, terms, n):
    """The pairwise sum of ``n`` terms (see :func:`_leaf_sum`), walked with an explicit stack."""
    buf = np.empty(BLOCK)
    if n <= BLOCK:
        return _leaf_sum(x, y, terms, 0, n, buf)
    los = np.empty(_MAX_DEPTH, dtype=np.int64)
    ns = np.empty(_MAX_DEPTH, dtype=np.int64)
    stage = np.empty(_MAX_DEPTH, dtype=np.int64)
    left = np.empty(_MAX_DEPTH)
    depth = 0
    los[0], ns[0], stage[0] = 0, n, 0
    result = 0.0
    while depth >= 0:
        lo, m = los[depth], ns[depth]
        if m <= BLOCK:
            result = _leaf_sum(x, y, terms, lo, m, buf)
            depth -= 1
            continue
        half = m // 2
        half -= half % 8
        if stage[depth] == 0:          # descend into the first half
            stage[depth] = 1
            depth += 1
            los[depth], ns[depth], stage[depth] = lo, half, 0
        elif stage[depth] == 1:        # first half done: descend into the second
            left[depth] = result
            stage[depth] = 2
            depth += 1
            los[depth], ns[depth], stage[depth] = lo + half, m - half, 0
        else:                          # both halves done
            result = left[depth] + result
            depth -= 1
    return result


@njit(cache=True)
def pairwise_sum(a, n):
    """``a[:n].sum()`` of a 1-D float64 array, as numpy sums it."""
    if n <= BLOCK:
        return block_sum(a, 0, n)    # no scratch buffer: cheap enough to call once per group
    return _tree_sum(a, a, _PLAIN, n)


@njit(cache=True)
def sum_of_squares(x):
    """``np.sum(np.square(x, dtype=np.float64))`` of a 1-D float32/float64 array, without the temporary."""
    return _tree_sum(x, x, _SQUARES, x.size)


@njit(cache=True)
def sum_of_squared_differences(x, y):
    """``np.sum(np.square(np.asarray(x, np.float64) - y))`` of 1-D float32/float64 arrays of one length."""
    return _tree_sum(x, y, _SQUARED_DIFFERENCES, x.size)
