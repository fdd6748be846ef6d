import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import formats, reference
from sim.formats import FormatError
from sim.formats.elements import BF16, E2M1, E2M3, E3M2, E4M3, E5M2, FP16, FP32, round_down
from tests.sim.float_checks import assert_quantization_properties, grouped_tensors, ref_round

FLOAT_NAMES = ["fp4_e2m1", "fp6_e3m2", "fp6_e2m3", "fp8_e4m3", "fp8_e5m2", "fp16", "bf16"]
GROUP_SCALED = ["fp4_e2m1", "fp6_e3m2", "fp6_e2m3"]
ELEMENTS = [E2M1, E3M2, E2M3, E4M3, E5M2, FP16, BF16]

# Spec values: (element, max finite, smallest subnormal, ml_dtypes type).
# OCP MX v1.0 FP6/FP4 element types (E2M1, E3M2, E2M3); OCP OFP8 rev 1.0 (E4M3, E5M2); IEEE 754 binary16; bfloat16.
SPEC = [
    (E2M1, 6.0, 0.5, ml_dtypes.float4_e2m1fn),
    (E3M2, 28.0, 0.0625, ml_dtypes.float6_e3m2fn),
    (E2M3, 7.5, 0.125, ml_dtypes.float6_e2m3fn),
    (E4M3, 448.0, 2.0**-9, ml_dtypes.float8_e4m3fn),
    (E5M2, 57344.0, 2.0**-16, ml_dtypes.float8_e5m2),
    (FP16, 65504.0, 2.0**-24, np.float16),
    (BF16, 3.3895313892515355e38, 2.0**-133, ml_dtypes.bfloat16),
]


@pytest.mark.parametrize("elem,top,tiny,dtype", SPEC, ids=[s[0].name for s in SPEC])
def test_element_constants_match_spec_and_ml_dtypes(elem, top, tiny, dtype):
    assert elem.max == top and elem.min_subnormal == tiny
    info = np.finfo(dtype) if dtype is np.float16 else ml_dtypes.finfo(dtype)
    assert float(info.max) == top and float(info.smallest_subnormal) == tiny
    # the largest finite value, the smallest subnormal and saturation, through the codes
    assert elem.round(np.array([top, -top, tiny, 1e300, -1e300])).tolist() == [top, -top, tiny, top, -top]


def test_e2m1_value_set_is_the_ocp_one():
    mags = [0, 0.5, 1, 1.5, 2, 3, 4, 6]  # OCP MX v1.0 FP4 element type, docs/references.md#baselines
    v = formats.get("fp4_e2m1").values
    np.testing.assert_array_equal(v, mags + [-m for m in mags])
    assert np.signbit(v[8])  # code 0b1000 is −0


def test_value_tables_of_the_8_bit_and_6_bit_formats():
    e4m3 = formats.get("fp8_e4m3").values
    assert len(e4m3) == 256 and e4m3[0x7E] == 448 and e4m3[0xFE] == -448 and e4m3[0x01] == 2.0**-9
    assert np.isnan(e4m3[0x7F]) and np.isnan(e4m3[0xFF]) and np.isfinite(np.delete(e4m3, [0x7F, 0xFF])).all()
    e5m2 = formats.get("fp8_e5m2").values
    assert e5m2[0x7B] == 57344 and e5m2[0x7C] == np.inf and np.isnan(e5m2[0x7D])
    e3m2 = formats.get("fp6_e3m2").values
    assert len(e3m2) == 64 and e3m2[0x1F] == 28 and e3m2[0x01] == 0.0625 and e3m2[0x04] == 0.25
    e2m3 = formats.get("fp6_e2m3").values
    assert len(e2m3) == 64 and e2m3[0x1F] == 7.5 and e2m3[0x01] == 0.125 and e2m3[0x08] == 1.0
    # every value table is the reference rounding's fixed points: positive half sorted, no duplicates
    for name in GROUP_SCALED + ["fp8_e4m3", "fp8_e5m2"]:
        v = formats.get(name).values
        pos = v[: len(v) // 2]
        pos = pos[np.isfinite(pos)]
        assert (np.diff(pos) > 0).all()
    assert formats.get("fp16").values is None and formats.get("bf16").values is None


# Hand-worked round-to-nearest-even cases: (element, input, expected).
RNE_CASES = [
    (E2M1, 0.25, 0.0), (E2M1, 0.75, 1.0), (E2M1, 1.25, 1.0), (E2M1, 1.75, 2.0), (E2M1, 2.5, 2.0),
    (E2M1, 3.5, 4.0), (E2M1, 5.0, 4.0), (E2M1, -5.0, -4.0), (E2M1, 7.0, 6.0), (E2M1, 1e9, 6.0),
    (E2M1, 2.5 + 2.0**-40, 3.0), (E2M1, 5.0 + 2.0**-40, 6.0),  # just above a tie: no double rounding
    (E3M2, 26.0, 24.0), (E3M2, 30.0, 28.0), (E3M2, 0.03125, 0.0), (E3M2, 0.09375, 0.125),
    (E2M3, 7.25, 7.0), (E2M3, 0.0625, 0.0), (E2M3, 0.1875, 0.25),
    (E4M3, 1.0625, 1.0), (E4M3, 1.1875, 1.25), (E4M3, 464.0, 448.0), (E4M3, 1e6, 448.0),
    (E4M3, 1.0625 + 2.0**-30, 1.125), (E4M3, 2.0**-10, 0.0), (E4M3, 3 * 2.0**-10, 2.0**-8),
    (E5M2, 1.125, 1.0), (E5M2, 61440.0, 57344.0), (E5M2, 1e9, 57344.0),
    (FP16, 2049.0, 2048.0), (FP16, 2051.0, 2052.0), (FP16, 65520.0, 65504.0), (FP16, 2.0**-25, 0.0),
    (BF16, 1 + 2.0**-8, 1.0), (BF16, 1 + 3 * 2.0**-8, 1 + 2.0**-6), (BF16, 1 + 2.0**-8 + 2.0**-40, 1 + 2.0**-7),
]


@pytest.mark.parametrize("elem,x,want", RNE_CASES)
def test_hand_worked_round_to_nearest_even(elem, x, want):
    assert elem.round(np.array([x]))[0] == want


def _near_ties(rng, elem, n):
    """Values at, just above and just below midpoints of adjacent representable values."""
    e = rng.integers(elem.emin - elem.mant_bits - 2, elem.emax + 2, size=n)
    m = rng.integers(0, 1 << (elem.mant_bits + 1), size=n) + 0.5
    mid = np.ldexp(m, e - elem.mant_bits)
    nudge = rng.choice([-1.0, 0.0, 1.0], size=n) * np.ldexp(mid, -45)
    return rng.choice([-1.0, 1.0], size=n) * (mid + nudge)


@pytest.mark.parametrize("elem", ELEMENTS, ids=[e.name for e in ELEMENTS])
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_encode_matches_exact_reference_rounding(elem, seed):
    rng = np.random.default_rng(seed)
    x = np.concatenate([
        _near_ties(rng, elem, 300),
        rng.normal(size=100) * np.ldexp(1.0, rng.integers(elem.emin - elem.mant_bits - 3, elem.emax + 3, 100)),
        [0.0, -0.0, 1e-300, -1e300, elem.max, elem.min_subnormal / 2],
    ])
    got = elem.round(x)
    want = ref_round(x, elem.mant_bits, elem.emin, elem.max)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got[x != 0]), np.signbit(x[x != 0]))


@pytest.mark.parametrize("elem", [FP16, FP32, E4M3], ids=["fp16", "fp32", "e4m3"])
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_round_down_gives_the_largest_value_not_above(elem, seed):
    rng = np.random.default_rng(seed)
    s = np.abs(rng.normal(size=200)) * np.ldexp(1.0, rng.integers(elem.emin - elem.mant_bits - 2, elem.emax, 200))
    r = round_down(s, elem)
    assert (r <= s).all()
    assert (elem.round(r) == r).all()  # representable
    up = elem.decode(elem.encode(r).astype(np.uint64) + 1)  # the next value up is above s
    assert ((up > s) | (r == elem.max)).all()


# ---------------------------------------------------------------------------------------------
# Quantization properties on random tensors with huge, tiny, subnormal and all-zero groups.

@pytest.mark.parametrize("name", FLOAT_NAMES)
@settings(max_examples=30, deadline=None)
@given(data=grouped_tensors())
def test_quantize_in_range_idempotent_and_bit_planes_round_trip(name, data):
    x, g, axis = data
    f = formats.get(name)
    q, d = assert_quantization_properties(f, x, g, axis)
    if name in GROUP_SCALED:
        s = np.repeat(q.scales, g, axis=q.axis)
        assert (FP16.round(q.scales) == q.scales).all()  # every scale is an FP16 value
        np.testing.assert_array_equal(d, s * E_OF[name].round(np.where(s > 0, x / np.where(s > 0, s, 1), 0)))
    else:
        assert q.scales is None and q.tensor_scale == 1.0
        np.testing.assert_array_equal(d, f.element.round(x))  # plain RNE with saturation


E_OF = {"fp4_e2m1": E2M1, "fp6_e3m2": E3M2, "fp6_e2m3": E2M3}


@pytest.mark.parametrize("name", GROUP_SCALED)
@settings(max_examples=30, deadline=None)
@given(data=grouped_tensors())
def test_group_scale_maps_the_absmax_to_the_largest_value(name, data):
    x, g, axis = data
    f = formats.get(name)
    q = f.quantize(x, group_size=g, axis=axis)
    amax = np.max(np.abs(np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis] // g, g)), axis=-1)
    s = np.moveaxis(q.scales, axis, -1).reshape(amax.shape)
    assert ((s == 0) == (amax == 0)).all()
    exact = amax / f.max_value
    normal = (exact >= 2.0**FP16.emin) & (exact <= FP16.max)  # FP16 normal range: relative step 2^-10
    assert (s[normal] <= exact[normal]).all() and (s[normal] > exact[normal] * (1 - 2.0**-9)).all()
    assert (s[(amax > 0) & (exact < FP16.min_subnormal)] == FP16.min_subnormal).all()
    assert (s[exact > FP16.max] == FP16.max).all()


@pytest.mark.parametrize("name", ["fp8_e4m3", "fp8_e5m2"])
@settings(max_examples=30, deadline=None)
@given(data=grouped_tensors())
def test_fp8_per_tensor_scale_is_fp32_absmax(name, data):
    x, g, axis = data
    f = formats.get(name)
    q, _ = assert_quantization_properties(f, x, g, axis, per_tensor=True)
    assert q.scales is None
    ts = q.tensor_scale
    assert np.float32(ts) == ts and ts > 0
    amax = np.abs(x).max()
    if amax == 0:
        assert ts == 1.0
    elif FP32.min_subnormal <= amax / f.max_value < FP32.max:
        assert ts <= amax / f.max_value < np.nextafter(np.float32(ts), np.float32(np.inf))
        assert np.abs(f.dequantize(q)).max() == f.max_value * ts  # absmax lands on the largest code


def test_hand_worked_fp4_group():
    # absmax 12 -> scale 12/6 = 2 (an FP16 value); 1 -> 0.5 exactly; 2.5 -> 1.25 -> RNE 1.0; -12 -> -6
    x = np.array([[12.0, 1.0, 2.5, -12.0], [0.0, 0.0, 0.0, 0.0]])
    f = formats.get("fp4_e2m1")
    q = f.quantize(x, group_size=4)
    np.testing.assert_array_equal(q.scales, [[2.0], [0.0]])
    np.testing.assert_array_equal(q.codes, [[0b0111, 0b0001, 0b0010, 0b1111], [0, 0, 0, 0]])
    np.testing.assert_array_equal(f.dequantize(q), [[12.0, 1.0, 2.0, -12.0], [0, 0, 0, 0]])


def test_bits_per_element_counts_the_group_scale():
    assert formats.get("fp4_e2m1").bits_per_element(32) == 4 + 16 / 32
    assert formats.get("fp6_e3m2").bits_per_element(128) == 6 + 16 / 128
    assert formats.get("fp4_e2m1").bits_per_element(None) == 4  # per channel: not counted
    assert formats.get("fp8_e4m3").bits_per_element(32) == 8
    assert formats.get("fp16").bits_per_element(128) == 16 and formats.get("bf16").bits_per_element() == 16


@pytest.mark.parametrize("name", FLOAT_NAMES)
@settings(max_examples=15, deadline=None)
@given(m=st.integers(1, 4), n=st.integers(1, 5), groups=st.integers(1, 3), g=st.sampled_from([1, 4, 32]),
       seed=st.integers(0, 2**32 - 1), per_tensor=st.booleans())
def test_reference_mpgemm_equals_dequant_matmul(name, m, n, groups, g, seed, per_tensor):
    rng = np.random.default_rng(seed)
    k = groups * g
    f = formats.get(name)
    per_tensor = per_tensor and name not in ("fp16", "bf16")
    qw = f.quantize(rng.normal(size=(n, k)) * np.exp(rng.normal(size=(n, k)) * 4), group_size=g, axis=1,
                    per_tensor=per_tensor)
    a = np.float16(rng.normal(size=(m, k))).astype(np.float64)  # FP16 activations
    got, want = reference.mpgemm(a, qw), reference.dequant_matmul(a, qw)
    bound = 1e-12 * (np.abs(a) @ np.abs(f.dequantize(qw)).T)  # relative to the sum of |terms|
    assert (np.abs(got - want) <= bound).all()


@pytest.mark.parametrize("name", FLOAT_NAMES)
@pytest.mark.parametrize("bad,msg", [(np.array([[1.0, np.nan]]), "NaN"), (np.array([[1.0, -np.inf]]), "inf")])
def test_non_finite_input_is_rejected(name, bad, msg):
    with pytest.raises(FormatError, match=msg):
        formats.get(name).quantize(bad)


@pytest.mark.parametrize("name", FLOAT_NAMES)
def test_group_size_must_divide_the_axis(name):
    with pytest.raises(FormatError, match="does not divide"):
        formats.get(name).quantize(np.ones((2, 10)), group_size=4)


@pytest.mark.parametrize("name", ["fp16", "bf16"])
def test_per_tensor_scale_is_refused_where_undefined(name):
    with pytest.raises(FormatError, match="per_tensor"):
        formats.get(name).quantize(np.ones((2, 4)), per_tensor=True)


@pytest.mark.parametrize("name", FLOAT_NAMES)
def test_codes_out_of_range_are_rejected(name):
    f = formats.get(name)
    with pytest.raises(FormatError, match="codes must be in"):
        f.decode(np.array([1 << f.code_bits]))
    with pytest.raises(FormatError, match="codes must be in"):
        f.decode(np.array([-1]))


def test_all_float_formats_are_registered():
    assert set(FLOAT_NAMES) <= set(formats.names())
