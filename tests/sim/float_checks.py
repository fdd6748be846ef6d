"""Shared checks of the float and block format tests.

Exact reference rounding (independent of ml_dtypes), a hypothesis strategy for tensors whose groups
span huge, tiny, subnormal and all-zero magnitudes, and the properties every format must have.
"""

import numpy as np
from hypothesis import strategies as st


def ref_round(x, mant_bits: int, emin: int, max_value: float) -> np.ndarray:
    """Round float64 ``x`` to the binary format with ``mant_bits`` explicit mantissa bits, smallest
    normal exponent ``emin`` and subnormals: nearest, ties to even, saturating to ±max_value.
    Exact: scaling by powers of two and ``rint`` do not round."""
    x = np.asarray(x, dtype=np.float64)
    _, e = np.frexp(x)  # |x| = m · 2^e, m in [0.5, 1): leading bit at 2^(e − 1)
    quantum = np.maximum(e - 1, emin) - mant_bits  # exponent of one unit in the last place
    r = np.ldexp(np.rint(np.ldexp(x, -quantum)), quantum)
    r = np.where(x == 0, x, r)
    return np.clip(r, -max_value, max_value)


MAGNITUDES = [0.0, 1e-300, 1e-42, 2.0**-30, 1e-6, 1e-3, 1.0, 300.0, 6e4, 1e30, 1e300]


@st.composite
def grouped_tensors(draw, group_sizes=(1, 2, 3, 8, 32)):
    """(x, group_size, axis): a 2-D or 3-D tensor whose groups each get their own magnitude."""
    g = draw(st.sampled_from(group_sizes))
    n_groups = draw(st.integers(1, 3))
    lead = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))
    axis = draw(st.integers(0, len(lead)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = lead[:axis] + [n_groups * g] + lead[axis:]
    x = np.moveaxis(rng.normal(size=lead + [n_groups, g]), (-2, -1), (axis, axis + 1)).reshape(shape)
    mags = rng.choice(MAGNITUDES, size=lead[:axis] + [n_groups] + lead[axis:])
    x = x * np.repeat(mags, g, axis=axis)
    x[rng.random(x.shape) < 0.1] = 0.0
    return x, g, axis


def assert_quantization_properties(f, x, g, axis, **kw):
    """Codes in range, finite values, idempotence, bit planes round trip; returns (q, dequantized)."""
    q = f.quantize(x, group_size=g, axis=axis, **kw)
    assert q.codes.shape == x.shape and q.group_size == g and q.axis == axis % x.ndim
    assert q.codes.dtype == (np.uint8 if f.code_bits <= 8 else np.uint16)
    assert int(q.codes.max()) < (1 << f.code_bits)
    d = f.dequantize(q)
    assert np.isfinite(d).all()
    q2 = f.quantize(d, group_size=g, axis=axis, **kw)
    np.testing.assert_array_equal(f.dequantize(q2), d)  # idempotent
    planes = f.bit_planes(q)
    assert planes.shape == (f.code_bits,) + x.shape and planes.max() <= 1
    np.testing.assert_array_equal(f.from_bit_planes(planes), q.codes)
    return q, d
