import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim import formats
from sim.formats import FormatError, QuantizedTensor

NAMES = ["bitmod_fp3", "bitmod_fp4"]


def test_value_tables_match_the_bitmod_paper():
    f3, f4 = formats.get("bitmod_fp3"), formats.get("bitmod_fp4")
    base3 = {0, 1, -1, 2, -2, 4, -4}
    base4 = {0, 1, -1, 2, -2, 3, -3, 4, -4, 6, -6, 8, -8, 12, -12}
    for tag, special in enumerate([3, -3, 6, -6]):       # ER+, ER-, EA+, EA-
        assert set(f3.variant_values(tag)) == base3 | {special}
        assert f3.variant_values(tag)[4] == special        # the -0 code holds it
    for tag, special in enumerate([10, -10, 16, -16]):
        assert set(f4.variant_values(tag)) == base4 | {special}
        assert f4.variant_values(tag)[8] == special
    assert f3.code_bits == 3 and f4.code_bits == 4


def test_bits_per_element_counts_the_8_bit_group_byte():
    assert formats.get("bitmod_fp3").bits_per_element(128) == 3.0625
    assert formats.get("bitmod_fp4").bits_per_element(128) == 4.0625
    assert formats.get("bitmod_fp4").bits_per_element(None) == 4.0625  # default group 128


def _variant(q):
    return formats.get(q.fmt).variant_of(q.tags)


@pytest.mark.parametrize("name,group,expect", [
    ("bitmod_fp3", [6, 4, 2, 1, 0, -1, -2, -4], "EA+"),
    ("bitmod_fp3", [-6, 4, 2, 1, 0, -1, -2, -4], "EA-"),
    ("bitmod_fp3", [3, 4, 2, 1, 0, -1, -2, -4], "ER+"),
    ("bitmod_fp3", [-3, -3, 4, 2, 0, -1, -2, -4], "ER-"),
    ("bitmod_fp4", [16, 12, 8, 6, 4, 3, 2, 1, 0, -1, -2, -3, -4, -6, -8, -12], "EA+"),
    ("bitmod_fp4", [-16, 12, 8, 6, 4, 3, 2, 1, 0, -1, -2, -3, -4, -6, -8, -12], "EA-"),
    ("bitmod_fp4", [10, 12, 8, 6, 4, 3, 2, 1, 0, -1, -2, -3, -4, -6, -8, -12], "ER+"),
    ("bitmod_fp4", [-10, 12, 8, 6, 4, 3, 2, 1, 0, -1, -2, -3, -4, -6, -8, -12], "ER-"),
])
def test_hand_built_groups_pick_the_variant_that_represents_them(name, group, expect):
    from sim.formats.bitmod import TAG_NAMES
    f = formats.get(name)
    x = np.array([group], dtype=np.float64)
    q = f.quantize(x, group_size=x.shape[1])
    assert TAG_NAMES[int(_variant(q)[0, 0])] == expect
    # within one step of the 6-bit group scale (q >= 63 * v_min / v_max = 47): 1/47 < 3 %
    np.testing.assert_allclose(f.dequantize(q), x, rtol=0.03)


def test_ties_keep_the_lowest_tag():
    f = formats.get("bitmod_fp3")
    q = f.quantize(np.array([[4.0, 2.0, 1.0, -4.0]]), group_size=4)  # no special value needed
    assert _variant(q)[0, 0] == 0                                     # every variant exact: ER+


def _brute_sse(f, xg, s_c, tag):
    """Squared error of variant ``tag`` on one group, by brute force over its value table."""
    from sim.formats.bitmod import GROUP_SCALE_MAX
    amax = np.abs(xg).max()
    if amax == 0:
        return 0.0
    q = min(GROUP_SCALE_MAX, max(1, int(np.ceil(amax / np.abs(f.variant_values(tag)).max() / s_c))))
    vals = f.variant_values(tag) * s_c * q
    return float(sum(np.min((v - vals) ** 2) for v in xg))


@st.composite
def tensors(draw):
    rows = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    g = draw(st.sampled_from([1, 2, 4, 8, 128]))
    elems = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=16)
    return draw(hnp.arrays(np.float64, (rows, groups * g), elements=elems)), g


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None)
@given(data=tensors())
def test_quantize_keeps_the_lowest_error_variant_and_codes_in_range(name, data):
    x, g = data
    f = formats.get(name)
    q = f.quantize(x, group_size=g)
    assert q.codes.min() >= 0 and q.codes.max() < (1 << f.code_bits)
    assert q.tags.shape == q.scales.shape
    d = f.dequantize(q)
    s_c = f.channel_scales(q)
    for r in range(x.shape[0]):
        for gi in range(x.shape[1] // g):
            xg, dg = x[r, gi * g:(gi + 1) * g], d[r, gi * g:(gi + 1) * g]
            sse = [_brute_sse(f, xg, s_c[r, 0], t) for t in range(4)]
            got = float(((xg - dg) ** 2).sum())
            assert got == pytest.approx(min(sse), rel=1e-12, abs=1e-300)
            assert int(f.variant_of(q.tags[r, gi])) == int(np.argmin(sse))  # first minimum = lowest tag
    # the covering scale never clips a group's largest element: scale * v_max >= absmax
    vmax = f.v_max[f.variant_of(q.tags)]
    amax = np.abs(x).reshape(x.shape[0], -1, g).max(axis=-1)
    assert (q.scales * vmax >= amax).all()
    planes = f.bit_planes(q)
    np.testing.assert_array_equal(f.from_bit_planes(planes), q.codes)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_on_grid_tensor_is_a_fixed_point(name, data):
    """A tensor already on the grid (power-of-two channel scale, the largest group at q = 63 with
    an ER value at its maximum, every group holding its variant's extreme) quantizes to itself."""
    f = formats.get(name)
    g = data.draw(st.sampled_from([4, 8, 16]))
    groups = data.draw(st.integers(1, 4))
    s_c = 2.0 ** data.draw(st.integers(-10, 4))
    codes = np.array(data.draw(st.lists(st.integers(0, (1 << f.code_bits) - 1), min_size=g * groups,
                                        max_size=g * groups)), dtype=np.uint8).reshape(1, -1)
    tags = np.array(data.draw(st.lists(st.integers(0, 3), min_size=groups, max_size=groups)))
    qs = np.array(data.draw(st.lists(st.integers(1, 63), min_size=groups, max_size=groups)))
    tags[0], qs[0] = 0, 63
    qs = np.minimum(qs, (63 * f.v_min // f.v_max[tags]).astype(int))  # group 0 stays the largest
    for gi in range(groups):   # put the variant's largest value in each group
        table = f.variant_values(int(tags[gi]))
        codes[0, gi * g] = int(np.argmax(np.abs(table)))
    meta = ((qs << 2) | tags).astype(np.uint8)[None]
    qt = QuantizedTensor(name, codes, s_c * qs[None].astype(float), None, g, 1, meta)
    x = f.dequantize(qt)
    q2 = f.quantize(x, group_size=g)
    np.testing.assert_array_equal(f.dequantize(q2), x)
    np.testing.assert_array_equal(f.channel_scales(q2), [[s_c]])


def test_all_zero_group_and_default_group_fallback():
    f = formats.get("bitmod_fp4")
    x = np.zeros((2, 256))
    x[1, 130] = 5.0
    q = f.quantize(x)
    assert q.group_size == 128
    assert (f.dequantize(q)[0] == 0).all() and (f.group_scale_of(q.tags)[0] == 0).all()
    assert f.dequantize(q)[1, 130] == pytest.approx(5.0, rel=0.1)
    assert f.quantize(np.ones((1, 260))).group_size == 260   # 128 does not divide: per channel
    with pytest.raises(FormatError, match="does not divide"):
        f.quantize(np.ones((1, 260)), group_size=128)


def test_decode_rejects_codes_out_of_range():
    with pytest.raises(FormatError, match="codes"):
        formats.get("bitmod_fp3").decode(np.array([8]))
