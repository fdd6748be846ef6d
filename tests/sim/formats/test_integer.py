import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim import formats
from sim.formats import FormatError

INT_NAMES = [f"int{b}" for b in range(2, 9)] + [f"int{b}_asym" for b in range(1, 9)] + ["ternary", "binary"]


@st.composite
def tensors(draw):
    rows = draw(st.integers(1, 4))
    groups = draw(st.integers(1, 4))
    g = draw(st.sampled_from([1, 2, 4, 8, 32]))
    elems = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)
    x = draw(hnp.arrays(np.float64, (rows, groups * g), elements=elems))
    return x, g


@pytest.mark.parametrize("name", INT_NAMES)
@settings(max_examples=40, deadline=None)
@given(data=tensors())
def test_quantize_is_idempotent_and_in_range(name, data):
    x, g = data
    f = formats.get(name)
    q = f.quantize(x, group_size=g)
    assert q.codes.min() >= 0 and q.codes.max() < (1 << f.code_bits)
    d = f.dequantize(q)
    q2 = f.quantize(d, group_size=g)
    if name.endswith("_asym"):
        # min-max asymmetric quantization is not idempotent in general (the rounded zero point
        # moves the grid, as in GPTQ/AWQ); it is within half a step of its input both times.
        step = np.repeat(q.scales, g, axis=1)
        assert (np.abs(d - x) <= step / 2 * (1 + 1e-9) + 1e-300).all()
    elif name in ("ternary", "binary"):
        np.testing.assert_array_equal(q2.codes, q.codes)  # absmean scale moves; the signs do not
    else:
        np.testing.assert_array_equal(q2.codes, q.codes)
        np.testing.assert_array_equal(f.dequantize(q2), d)
    planes = f.bit_planes(q)
    assert planes.shape == (f.code_bits,) + x.shape
    np.testing.assert_array_equal(f.from_bit_planes(planes), q.codes)


def test_symmetric_int4_levels_and_most_negative_code():
    f = formats.get("int4")
    q = f.quantize(np.array([[-7.0, -3.5, 0.0, 7.0]]), group_size=4)
    assert q.scales[0, 0] == 1.0 and q.zeros[0, 0] == 8
    np.testing.assert_array_equal(q.codes, [[1, 4, 8, 15]])  # -3.5 rounds half to even: -4
    # the most negative code (0 = -8) is representable and dequantizes to -8 * scale
    q0 = formats.QuantizedTensor("int4", np.zeros((1, 4), np.uint8), q.scales, q.zeros, 4, 1)
    np.testing.assert_array_equal(f.dequantize(q0), -8.0)


def test_all_zero_group_gives_zero_scale_and_zero_values():
    f = formats.get("int4_asym")
    q = f.quantize(np.zeros((2, 8)), group_size=4)
    assert (q.scales == 0).all()
    assert (f.dequantize(q) == 0).all()


def test_bits_per_element_counts_scale_and_zero_point():
    assert formats.get("int4").bits_per_element(128) == 4 + 16 / 128
    assert formats.get("int4_asym").bits_per_element(128) == 4 + 20 / 128
    assert formats.get("int8").bits_per_element(None) == 8


def test_ternary_is_absmean_and_three_levels():
    x = np.array([[0.1, -2.0, 0.9, 0.0]])
    f = formats.get("ternary")
    q = f.quantize(x, group_size=4)
    assert q.scales[0, 0] == np.float16(np.abs(x).mean())
    np.testing.assert_array_equal(f.dequantize(q) / q.scales[0, 0], [[0, -1, 1, 0]])


@pytest.mark.parametrize("bad,msg", [
    (np.array([[1.0, np.nan]]), "NaN"),
    (np.array([[1.0, np.inf]]), "inf"),
])
def test_non_finite_input_is_rejected(bad, msg):
    with pytest.raises(FormatError, match=msg):
        formats.get("int4").quantize(bad)


def test_group_size_must_divide_axis():
    with pytest.raises(FormatError, match="does not divide"):
        formats.get("int4").quantize(np.ones((2, 10)), group_size=4)


def test_unknown_format_lists_allowed_names():
    with pytest.raises(FormatError, match="allowed: .*int4"):
        formats.get("int42")
