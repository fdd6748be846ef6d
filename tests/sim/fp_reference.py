"""Exact reference rounding for the float-format tests (independent of ml_dtypes).

``ref_round(x, mant_bits, emin, max_value)``: round float64 ``x`` to the binary format with
``mant_bits`` explicit mantissa bits, smallest normal exponent ``emin`` and subnormals, to nearest with
ties to even, saturating to ±max_value. Exact: scaling by powers of two and ``rint`` do not round.
"""

import numpy as np


def ref_round(x, mant_bits: int, emin: int, max_value: float) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    _, e = np.frexp(x)  # |x| = m · 2^e, m in [0.5, 1): leading bit at 2^(e − 1)
    quantum = np.maximum(e - 1, emin) - mant_bits  # exponent of one unit in the last place
    r = np.ldexp(np.rint(np.ldexp(x, -quantum)), quantum)
    r = np.where(x == 0, x, r)
    return np.clip(r, -max_value, max_value)
