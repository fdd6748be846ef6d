"""IEEE binary floating-point rounding inside Numba kernels.

A value format is three int64 numbers ``(man_bits, emin, emax)``: fraction bits, smallest normal
exponent, largest exponent (IEEE 754-2008 binary16: 10, −14, 15; binary32: 23, −126, 127).
``man_bits = EXACT_INT[0] = −1`` means "exact integer datapath": no rounding at all.

:func:`round_float` rounds a float64 to the format, round-to-nearest-even with gradual underflow and
overflow to ±inf, the same result as numpy's / ml_dtypes' casts (tested against them).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# (fraction bits, emin, emax) — IEEE 754-2008 Table 3.5 (binary16, binary32).
FP16 = (10, -14, 15)
FP32 = (23, -126, 127)
EXACT_INT = (-1, 0, 0)
VALUE_FORMATS = {"fp16": FP16, "fp32": FP32, "int32": EXACT_INT}


@njit(cache=True)
def round_float(x, man_bits, emin, emax):
    """``x`` (float64) rounded to the format (RNE, subnormals, overflow to inf); float64 back."""
    if man_bits < 0 or x == 0.0 or not math.isfinite(x):
        return x
    ax = abs(x)
    _, e = math.frexp(ax)  # ax = f·2^e with f in [0.5, 1): the leading bit has weight 2^(e−1)
    lead = max(e - 1, emin)  # subnormals share the ulp of the smallest binade
    ulp = math.ldexp(1.0, lead - man_bits)
    r = np.rint(ax / ulp) * ulp
    top = math.ldexp(2.0 - math.ldexp(1.0, -man_bits), emax)
    if r > top:
        r = np.inf
    return r if x > 0 else -r
