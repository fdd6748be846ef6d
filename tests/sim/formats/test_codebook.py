import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim import formats, reference
from sim.formats import FormatError, QuantizedTensor
from sim.formats.codebook import NF4_LEVELS
from sim.formats.olive import decode_pairs, encode_pairs

TABLE_NAMES = ["flint4", "nf4", "olive4"]


@st.composite
def tensors(draw, even=False):
    rows = draw(st.integers(1, 4))
    groups = draw(st.integers(1, 3))
    g = draw(st.sampled_from([2, 4, 8, 32] if even else [1, 2, 4, 8, 32]))
    elems = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)
    x = draw(hnp.arrays(np.float64, (rows, groups * g), elements=elems))
    return x, g


@pytest.mark.parametrize("name", TABLE_NAMES)
@settings(max_examples=40, deadline=None)
@given(data=tensors(even=True))
def test_quantize_is_idempotent_on_values_and_codes_in_range(name, data):
    x, g = data
    f = formats.get(name)
    q = f.quantize(x, group_size=g)
    assert q.codes.dtype == np.uint8 and q.codes.max() < 16
    d = f.dequantize(q)
    q2 = f.quantize(d, group_size=g)
    np.testing.assert_array_equal(f.dequantize(q2), d)
    if name != "olive4":  # olive's scale search may pick another exact scale (same values)
        np.testing.assert_array_equal(q2.codes, q.codes)
    # the reference oracle sees the same weights
    a = np.arange(x.shape[1]).reshape(1, -1) % 7 - 3
    np.testing.assert_allclose(reference.mpgemm(a, q), reference.dequant_matmul(a, q), rtol=1e-12, atol=1e-9)


def test_flint4_value_table_and_sign_magnitude_codes():
    f = formats.get("flint4")
    mags = [0, 1, 2, 3, 4, 6, 8, 16]  # docs/references.md#baselines: FLINT4 magnitudes x4
    np.testing.assert_array_equal(f.values, mags + [-m for m in mags])
    q = f.quantize(np.array([[16.0, -16.0, 5.0, -7.0, 12.0, -2.5, 0.0, -0.4]]))
    assert q.scales[0, 0] == 1.0
    # 5 -> 4 (tie between 4 and 6 goes towards zero); -7 -> -6 (code 8|5); 12 -> 8 (tie); -2.5 -> -2
    np.testing.assert_array_equal(q.codes, [[7, 15, 4, 13, 6, 10, 0, 0]])


def test_flint4_most_negative_code_and_negative_zero():
    f = formats.get("flint4")
    q = QuantizedTensor("flint4", np.array([[15, 8]], np.uint8), np.array([[0.5]]), None, 2, 1)
    np.testing.assert_array_equal(f.dequantize(q), [[-8.0, 0.0]])


def test_nf4_levels_and_block_of_64():
    f = formats.get("nf4")
    np.testing.assert_array_equal(f.values, NF4_LEVELS)
    assert f.values[7] == 0 and f.values[0] == -1 and f.values[15] == 1
    x = np.linspace(-3, 2, 128).reshape(1, 128)
    q = f.quantize(x)
    assert q.group_size == 64 and q.scales.shape == (1, 2)
    assert q.scales[0, 0] == np.float32(3.0) and q.codes[0, 0] == 0


def test_olive_outlier_victim_pairs():
    # in scale units: (96, 3) keeps 96 and victimizes 3; (-20, 50) keeps 50 (nearest outlier 48)
    # and victimizes -20; (7, -7.5) stays normal (-7.5 ties to even: -8 clips to -7);
    # (0, -9) keeps -9 as the outlier -8 (code 0b1001) in slot 1, the identifier in slot 0.
    y = np.array([[96.0, 3.0, -20.0, 50.0, 7.0, -7.5, 0.0, -9.0]])
    c = encode_pairs(y)
    np.testing.assert_array_equal(c, [[0b0111, 8, 8, 0b0101, 7, 0b1001, 8, 0b1001]])
    np.testing.assert_array_equal(decode_pairs(c), [[96, 0, 0, 48, 7, -7, 0, -8]])


def test_olive_scale_search_is_no_worse_than_absmax_scale():
    f = formats.get("olive4")
    x = np.array([[96.0, 3.0, -20.0, 50.0, 7.0, -7.5, 0.0, -9.0]])
    q = f.quantize(x)
    err = ((f.dequantize(q) - x) ** 2).sum()
    err_absmax = ((decode_pairs(encode_pairs(x)) - x) ** 2).sum()  # scale 1 = absmax / 96
    assert err <= err_absmax and q.scales[0, 0] != 1.0


def test_olive_decode_is_total_and_identifier_is_unambiguous():
    # every pair of codes decodes; a pair with an identifier has exactly one non-zero at most
    c = np.array([[a, b] for a in range(16) for b in range(16)])
    v = decode_pairs(c)
    ident = (c == 8).any(axis=1)
    assert ((v[ident] != 0).sum(axis=1) <= 1).all()
    normal = v[~ident]
    assert np.abs(normal).max() == 7 and set(np.unique(normal)) == set(range(-7, 8))
    outl = np.abs(v[ident]).ravel()
    assert set(np.unique(outl)) == {0, 8, 16, 24, 32, 48, 64, 96}


def test_olive_needs_even_groups():
    with pytest.raises(FormatError, match="even"):
        formats.get("olive4").quantize(np.ones((2, 6)), group_size=3)


@settings(max_examples=30, deadline=None)
@given(data=tensors())
def test_any4_codes_are_fixed_points_of_their_codebook(data):
    x, g = data
    f = formats.get("any4")
    q = f.quantize(x, group_size=g)
    assert q.codebook.shape == q.codes.shape[:1] + (x.shape[1] // g, 16)
    assert q.codes.max() < 16
    book = q.codebook.reshape(-1, 16)
    assert (np.diff(book, axis=1) >= 0).all()  # ascending
    np.testing.assert_array_equal(book.astype(np.float16).astype(np.float64), book)  # FP16 exact
    d = f.dequantize(q)
    codes2 = f.encode(d.reshape(-1, g), book)
    np.testing.assert_array_equal(np.take_along_axis(book, codes2, axis=1).reshape(x.shape), d)


def test_any4_recovers_sixteen_equally_frequent_values_exactly():
    rng = np.random.default_rng(1)
    levels = np.sort(rng.normal(size=16)).astype(np.float16).astype(np.float64)
    x = rng.permutation(np.repeat(levels, 8)).reshape(1, -1)
    f = formats.get("any4")
    q = f.quantize(x)
    np.testing.assert_array_equal(q.codebook[0, 0], levels)
    np.testing.assert_array_equal(f.dequantize(q), x)


def test_any4_beats_its_quantile_start():
    rng = np.random.default_rng(2)
    x = rng.standard_t(3, size=(4, 256))
    f = formats.get("any4")
    err = ((f.dequantize(f.quantize(x)) - x) ** 2).sum()
    init = np.quantile(x, (np.arange(16) + 0.5) / 16, axis=1).T.astype(np.float16).astype(np.float64)
    err0 = ((np.take_along_axis(init, f.encode(x, init), axis=1) - x) ** 2).sum()
    assert err < err0


def test_any4_is_deterministic():
    x = np.random.default_rng(3).normal(size=(3, 64))
    f = formats.get("any4")
    a, b = f.quantize(x), f.quantize(x)
    np.testing.assert_array_equal(a.codes, b.codes)
    np.testing.assert_array_equal(a.codebook, b.codebook)


def test_bits_per_element_counts_scales_and_codebooks():
    # 4-bit codes plus per-group metadata amortised over the group
    assert formats.get("flint4").bits_per_element(128) == 4 + 16 / 128      # FP16 scale
    assert formats.get("olive4").bits_per_element(128) == 4 + 16 / 128      # identifier lives in the codes
    assert formats.get("nf4").bits_per_element() == 4.5                       # FP32 per 64: QLoRA's 0.5 bit
    assert formats.get("any4").bits_per_element(4096) == 4 + 16 * 16 / 4096  # 16 FP16 entries per row
    assert formats.get("any4").bits_per_element() == 4  # per row of unknown length: not counted


def test_all_zero_groups_quantize_to_zero():
    for name in ["flint4", "nf4", "olive4", "any4"]:
        f = formats.get(name)
        x = np.zeros((2, 8))
        x[1] = np.arange(8) - 3.0
        q = f.quantize(x, group_size=8)
        d = f.dequantize(q)
        assert (d[0] == 0).all(), name


@pytest.mark.parametrize("name", ["flint4", "nf4", "olive4", "any4"])
def test_quantizing_along_axis_0_is_the_transpose(name):
    x = np.random.default_rng(4).standard_t(3, size=(5, 16))
    f = formats.get(name)
    q1 = f.quantize(x, group_size=8, axis=1)
    q0 = f.quantize(x.T, group_size=8, axis=0)
    np.testing.assert_array_equal(q0.codes, q1.codes.T)
    np.testing.assert_array_equal(f.dequantize(q0), f.dequantize(q1).T)
