"""IEEE binary floating-point rounding inside Numba kernels.

A value format is three int64 numbers ``(man_bits, emin, emax)``: fraction bits, smallest normal
exponent, largest exponent (IEEE 754-2008 binary16: 10, −14, 15; binary32: 23, −126, 127).
``man_bits = EXACT_INT[0] = −1`` means "exact integer datapath": no rounding at all.

:func:`round_float` rounds a float64 to the format, round-to-nearest-even with gradual underflow and
overflow to ±inf, the same result as numpy's / ml_dtypes' casts (tested against them).
"""

from __future__ import annotations

import numpy as np

from ..jit import njit

# (fraction bits, emin, emax) — IEEE 754-2008 Table 3.5 (binary16, binary32); bfloat16: binary32's exponent
# range with 7 fraction bits (Intel, BFLOAT16 - Hardware Numerics Definition, 2018).
FP16 = (10, -14, 15)
FP32 = (23, -126, 127)
BF16 = (7, -126, 127)
EXACT_INT = (-1, 0, 0)
VALUE_FORMATS = {"fp16": FP16, "bf16": BF16, "fp32": FP32, "int32": EXACT_INT}


@njit(cache=True, inline="always")
def _pow2(e):
    """2.0**e for a float64 normal exponent e (built from the IEEE bit fields)."""
    return np.int64((e + 1023) << 52).view(np.float64)


@njit(cache=True)
def round_float(x, man_bits, emin, emax):
    """``x`` (float64) rounded to the format (RNE, subnormals, overflow to inf); float64 back."""
    if man_bits < 0:
        return x
    exp_field = (np.float64(x).view(np.int64) >> 52) & 0x7FF
    if exp_field == 0x7FF or x == 0.0:  # inf, NaN, ±0 pass through
        return x
    lead = max(exp_field - 1023, emin)  # weight of the leading bit; subnormals share the lowest binade's ulp
    r = np.rint(abs(x) * _pow2(man_bits - lead)) * _pow2(lead - man_bits)
    top = np.int64(((emax + 1023) << 52) | (((1 << man_bits) - 1) << (52 - man_bits))).view(np.float64)
    if r > top:
        r = np.inf
    return r if x > 0 else -r
