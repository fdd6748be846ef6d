import subprocess
import sys
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import formats, reference
from sim.formats import FormatError
from sim.formats.elements import E2M1, E4M3, FP32
from tests.sim.float_checks import assert_quantization_properties, grouped_tensors, ref_round

MX_NAMES = ["mxint8", "mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4"]
BLOCK_NAMES = MX_NAMES + ["nvfp4"]
# emax_elem of each element (OCP MX v1.0 element data types; microsoft/microxcaling mx/formats.py agrees)
# and (mantissa bits, emin, max) for the reference rounding.
EMAX = {"mxint8": 0, "mxfp8_e4m3": 8, "mxfp8_e5m2": 15, "mxfp6_e3m2": 4, "mxfp6_e2m3": 2, "mxfp4": 2}
ROUNDING = {"mxfp8_e4m3": (3, -6, 448.0), "mxfp8_e5m2": (2, -14, 57344.0), "mxfp6_e3m2": (2, -2, 28.0),
            "mxfp6_e2m3": (3, 0, 7.5), "mxfp4": (1, 0, 6.0)}


def element_ref(name, v):
    """Reference element rounding (RNE, saturating) of scaled values ``v``."""
    if name == "mxint8":  # INT8 · 2^-6, symmetric saturation at ±127
        return np.clip(np.rint(v * 64), -127, 127) / 64
    return ref_round(v, *ROUNDING[name])


@pytest.mark.parametrize("name,bits", [("mxfp4", 4.25), ("mxfp6_e3m2", 6.25), ("mxfp6_e2m3", 6.25),
                                       ("mxfp8_e4m3", 8.25), ("mxfp8_e5m2", 8.25), ("mxint8", 8.25),
                                       ("nvfp4", 4.5)])
def test_bits_per_element_of_the_default_blocks(name, bits):
    # docs/references.md#baselines: MXFP4 4.25 bits (32 × 4 + 8) / 32; NVFP4 (16 × 4 + 8) / 16, tensor scale not counted
    f = formats.get(name)
    assert f.bits_per_element() == bits
    assert f.bits_per_element(f.default_group_size) == bits


def test_issue_command_prints_4_25():
    out = subprocess.run([sys.executable, "-c",
                          "from sim import formats; print(formats.get('mxfp4').bits_per_element(32))"],
                         capture_output=True, text=True, check=True, cwd=Path(__file__).parents[3])
    assert out.stdout.strip() == "4.25"


# Hand-worked E8M0 choices, OCP MX v1.0 (conversion to MX): X = 2^(floor(log2(amax)) − emax_elem), clamped to 2^±127.
SCALE_CASES = [
    ("mxfp4", 1.0, -2),          # floor(log2 1) = 0; E2M1 emax 2
    ("mxfp4", 7.9, 0),           # floor(log2 7.9) = 2 -> X = 1; 7.9 saturates to 6
    ("mxfp4", 8.0, 1),
    ("mxfp4", 0.3, -4),          # floor(log2 0.3) = -2
    ("mxfp6_e3m2", 100.0, 2),    # floor(log2 100) = 6; E3M2 emax 4
    ("mxfp6_e2m3", 0.01, -9),    # floor(log2 0.01) = -7; E2M3 emax 2
    ("mxfp8_e4m3", 1000.0, 1),   # floor(log2 1000) = 9; E4M3 emax 8
    ("mxfp8_e5m2", 1.0, -15),
    ("mxint8", 3.0, 1),          # INT8 1.6 fixed point, emax 0
    ("mxint8", 2.0**-130, -127),  # clamped below
    ("mxfp4", 1e300, 127),       # clamped above
    ("mxfp4", 0.0, -127),        # all-zero block: log2(0) = -inf, clamped to the smallest E8M0 scale
]


@pytest.mark.parametrize("name,amax,k", SCALE_CASES)
def test_hand_worked_e8m0_scale(name, amax, k):
    f = formats.get(name)
    x = np.zeros((1, 32))
    x[0, 5] = -amax
    x[0, 6] = amax / 3
    q = f.quantize(x)
    assert q.scales[0, 0] == 2.0**k
    assert f.scale_codes(q)[0, 0] == k + 127  # E8M0 bias 127 (OCP MX v1.0, scale data type E8M0)
    assert q.scales.astype(ml_dtypes.float8_e8m0fnu).astype(np.float64)[0, 0] == 2.0**k


def test_hand_worked_mxfp4_and_mxint8_blocks():
    x = np.array([[1.0, 0.75, -0.3, 0.125, 0.0625, 0.0] + [0.0] * 26])
    q = formats.get("mxfp4").quantize(x)  # X = 1/4: 4, 3, -1.2 -> -1, 0.5, 0.25 -> 0 (tie to even), 0
    assert q.scales[0, 0] == 0.25
    np.testing.assert_array_equal(q.codes[0, :6], [0b0110, 0b0101, 0b1010, 0b0001, 0b0000, 0b0000])
    np.testing.assert_array_equal(formats.get("mxfp4").dequantize(q)[0, :6], [1, 0.75, -0.25, 0.125, 0, 0])
    q = formats.get("mxint8").quantize(np.array([[1.999, -1.5, 2.0**-7, 3 * 2.0**-7] + [0.0] * 28]))
    # X = 1; 1.999 · 64 = 127.9 -> 127 (saturated); -96; 0.5 -> 0 and 1.5 -> 2 (ties to even)
    assert q.scales[0, 0] == 1.0
    np.testing.assert_array_equal(q.codes[0, :4].astype(int) - 128, [127, -96, 0, 2])


@pytest.mark.parametrize("name", MX_NAMES)
@settings(max_examples=30, deadline=None)
@given(data=grouped_tensors(group_sizes=(1, 2, 4, 32)))
def test_mx_scale_and_elements_follow_the_spec(name, data):
    x, g, axis = data
    f = formats.get(name)
    q, d = assert_quantization_properties(f, x, g, axis)
    emax = EMAX[name]
    s = np.repeat(q.scales, g, axis=q.axis)
    k = np.log2(q.scales)
    assert (k == np.rint(k)).all() and (np.abs(k) <= 127).all()
    # independent check of the shared exponent: X·2^emax <= amax < X·2^(emax+1) unless clamped
    amax = np.max(np.abs(np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis] // g, g)), axis=-1)
    kk = np.moveaxis(k, axis, -1).reshape(amax.shape).astype(np.int64)
    free = (kk > -127) & (kk < 127)
    assert (np.ldexp(1.0, kk + emax)[free] <= amax[free]).all()
    assert (amax[free] < np.ldexp(1.0, kk + emax + 1)[free]).all()
    assert (amax[kk == -127] < 2.0 ** (-126 + emax)).all() and (amax[kk == 127] >= 2.0 ** (127 + emax)).all()
    np.testing.assert_array_equal(d, s * element_ref(name, x / s))


@settings(max_examples=30, deadline=None)
@given(data=grouped_tensors(group_sizes=(1, 2, 4, 16)))
def test_nvfp4_scales_and_elements(data):
    x, g, axis = data
    f = formats.get("nvfp4")
    q, d = assert_quantization_properties(f, x, g, axis)
    ts = q.tensor_scale
    assert np.float32(ts) == ts and ts > 0
    s = q.scales
    assert (E4M3.round(s) == s).all() and (s >= 0).all() and (s <= 448).all()
    np.testing.assert_array_equal(f.scale_codes(q).view(ml_dtypes.float8_e4m3fn).astype(np.float64), s)
    amax_t = np.abs(x).max()
    if FP32.min_subnormal * 2688 <= amax_t < FP32.max * 2688:
        assert ts <= amax_t / 2688 and np.abs(d).max() == 2688 * ts  # the absmax lands on 448 · 6
    amax = np.max(np.abs(np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis] // g, g)), axis=-1)
    sb = np.moveaxis(s, axis, -1).reshape(amax.shape)
    assert ((sb == 0) == (amax == 0)).all()
    wanted = amax / (6 * ts)
    normal = (wanted >= 2.0**-6) & (wanted <= 448)  # E4M3 normal range: plain RNE of the wanted scale
    np.testing.assert_array_equal(sb[normal], ref_round(wanted[normal], 3, -6, 448.0))
    full = np.repeat(s, g, axis=q.axis) * ts
    np.testing.assert_array_equal(d, full * ref_round(np.where(full > 0, x / np.where(full > 0, full, 1), 0),
                                                      1, 0, 6.0))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_nvfp4_is_idempotent_when_block_scales_are_e4m3_subnormals(seed):
    # blocks 1 .. e^-20 below the tensor's absmax: their E4M3 scales fall in the subnormal range,
    # where rounding the scale to nearest alone would map the block absmax below 6 (see block.py)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(32, 16)) * np.exp(rng.uniform(-20, 0, size=(32, 1)))
    x[0, 0] = 1.0
    f = formats.get("nvfp4")
    d = f.dequantize(f.quantize(x))
    np.testing.assert_array_equal(f.dequantize(f.quantize(d)), d)


def test_hand_worked_nvfp4():
    x = np.zeros((1, 48))
    x[0, :3] = [2688.0, 1000.0, -448.0]  # tensor amax 2688 -> tensor scale 1; block scale 448
    x[0, 16:19] = [3.0, 1.5, -0.75]      # block absmax 3 -> scale 0.5: 6, 3, -1.5
    x[0, 32] = 1.5 * 2.0**-9 * 6         # wants scale 1.5·2^-9: RNE gives 2^-8, which maps 9·2^-9 to 4.5 -> 4,
    q = formats.get("nvfp4").quantize(x)  # short of 6, so the scale steps down to 2^-9 (9·2^-9 / 2^-9 -> 6)
    assert q.tensor_scale == 1.0
    np.testing.assert_array_equal(q.scales, [[448.0, 0.5, 2.0**-9]])
    d = formats.get("nvfp4").dequantize(q)
    np.testing.assert_array_equal(d[0, :3], [2688.0, 896.0, -448.0])  # 1000/448 = 2.23 -> 2
    np.testing.assert_array_equal(d[0, 16:19], [3.0, 1.5, -0.75])
    assert d[0, 32] == 6 * 2.0**-9


@pytest.mark.parametrize("name", BLOCK_NAMES)
@settings(max_examples=15, deadline=None)
@given(m=st.integers(1, 4), n=st.integers(1, 5), groups=st.integers(1, 3), g=st.sampled_from([2, 16, 32]),
       seed=st.integers(0, 2**32 - 1), int_acts=st.booleans())
def test_reference_mpgemm_equals_dequant_matmul(name, m, n, groups, g, seed, int_acts):
    rng = np.random.default_rng(seed)
    k = groups * g
    f = formats.get(name)
    qw = f.quantize(rng.normal(size=(n, k)) * np.exp(rng.normal(size=(n, 1)) * 5), group_size=g, axis=1)
    a = rng.integers(-128, 128, size=(m, k)) if int_acts else np.float16(rng.normal(size=(m, k))).astype(np.float64)
    got, want = reference.mpgemm(a, qw), reference.dequant_matmul(a, qw)
    bound = 1e-12 * (np.abs(a) @ np.abs(f.dequantize(qw)).T)  # relative to the sum of |terms|
    assert (np.abs(got - want) <= bound).all()


def test_mxint8_is_affine_for_lut_and_bit_serial_hardware():
    f = formats.get("mxint8")
    alpha, beta = f.affine
    codes = np.arange(256)
    np.testing.assert_array_equal(f.decode(codes), alpha * codes + beta)
    assert f.values[0] == -2.0 and f.values[255] == 127 / 64 and f.values[128] == 0
    assert formats.get("mxfp4").affine is None and formats.get("nvfp4").affine is None


@pytest.mark.parametrize("name", BLOCK_NAMES)
@pytest.mark.parametrize("bad,msg", [(np.full((1, 32), np.nan), "NaN"), (np.full((1, 32), np.inf), "inf")])
def test_non_finite_input_is_rejected(name, bad, msg):
    with pytest.raises(FormatError, match=msg):
        formats.get(name).quantize(bad)


@pytest.mark.parametrize("name", BLOCK_NAMES)
def test_block_must_divide_the_axis(name):
    with pytest.raises(FormatError, match="does not divide"):
        formats.get(name).quantize(np.ones((2, 40)))  # default block 32 or 16
    with pytest.raises(FormatError, match="does not divide"):
        formats.get(name).quantize(np.ones((2, 32)), group_size=12)


@pytest.mark.parametrize("name", MX_NAMES)
def test_mx_refuses_a_per_tensor_scale(name):
    with pytest.raises(FormatError, match="per_tensor"):
        formats.get(name).quantize(np.ones((2, 32)), per_tensor=True)


def test_all_block_formats_are_registered():
    assert set(BLOCK_NAMES) <= set(formats.names())
    assert formats.get("mxfp4").scale_format == "e8m0" and formats.get("nvfp4").scale_format == "e4m3"
    assert E2M1.max == formats.get("nvfp4").max_value
