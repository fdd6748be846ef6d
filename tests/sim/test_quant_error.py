"""Quantization-error metrics, cross-checked against independent computations (docs/accuracy.md, Validation).

No cited paper publishes per-format SQNR on a named distribution in a reproducible form, so the checks are:
closed forms (uniform INT-b), independent numpy re-implementations of the OCP MX v1.0 MXFP4 rule, of NVFP4 and
of NF4, and properties (blocked == whole-tensor quantization, power-of-two scale invariance, error bounds).
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import formats, quant_error
from sim.quant_error import dequantized, layer_error, relative_frobenius_error, sqnr_db

E2M1_GRID = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])  # OCP MX v1.0, FP4 E2M1 magnitudes


def _heavy(rng, shape):
    w = rng.standard_t(3, shape)
    w[:, 5] *= 30
    return w


@pytest.mark.parametrize("fmt", formats.names())
def test_blocked_quantization_equals_whole_tensor(monkeypatch, fmt):
    """The row blocks of dequantized() give exactly the whole tensor's values, for every registered format."""
    rng = np.random.default_rng(1)
    x = _heavy(rng, (45, 256))
    x[17, 100] = -250.0  # the tensor's absmax sits in a middle block
    whole = dequantized(fmt, x)
    monkeypatch.setattr(quant_error, "CHUNK_ELEMENTS", 256 * 7)
    np.testing.assert_array_equal(dequantized(fmt, x), whole)


def _int_uniform_sqnr(bits: int) -> float:
    return 20 * math.log10(2 ** bits - 2)  # noise step^2/12 with step = 1/qmax, signal 1/3: 10 log10(4 qmax^2)


@pytest.mark.parametrize("bits", [3, 4, 5, 6, 8])
def test_int_b_on_uniform_matches_closed_form(bits):
    x = np.random.default_rng(bits).uniform(-1, 1, (8, 1 << 16))
    got = sqnr_db(x, dequantized(f"int{bits}", x))
    assert got == pytest.approx(_int_uniform_sqnr(bits), abs=0.1)
    assert abs(got - 6.02 * bits) < 0.6 + 12 / 2 ** bits * 6  # the 6.02 dB/bit rule, loose at low bits


def _e2m1_round(v):
    """Nearest E2M1 value (ties to the even code, i.e. the grid index with mantissa bit 0), saturating at 6."""
    a = np.minimum(np.abs(v), 6.0)
    d = np.abs(a[..., None] - E2M1_GRID)
    best = d.min(axis=-1, keepdims=True)
    tie = np.isclose(d, best, rtol=0, atol=0)
    even = tie & (np.arange(8) % 2 == 0)
    idx = np.where(even.any(axis=-1), even.argmax(axis=-1), tie.argmax(axis=-1))
    return np.sign(v) * E2M1_GRID[idx]


def test_mxfp4_matches_an_independent_implementation_of_ocp_mx():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 256)) * rng.lognormal(0, 2, (64, 1))
    x[0, :32] = np.array([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0, 6.0] * 4)  # ties between E2M1 values
    blocks = x.reshape(64, 8, 32)
    amax = np.abs(blocks).max(axis=-1, keepdims=True)
    scale = 2.0 ** (np.floor(np.log2(amax)) - 2)  # emax of E2M1 is 2 (OCP MX v1.0)
    want = (_e2m1_round(blocks / scale) * scale).reshape(x.shape)
    np.testing.assert_array_equal(dequantized("mxfp4", x), want.astype(np.float32))


def _fp32_round_down(v: float) -> float:
    t = np.float32(v)
    return float(np.nextafter(t, np.float32(0)) if float(t) > v else t)


def test_nvfp4_matches_an_independent_implementation():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((32, 128)) * 3.0
    ts = _fp32_round_down(np.abs(x).max() / (448 * 6))
    blocks = x.reshape(32, 8, 16)
    amax = np.abs(blocks).max(axis=-1, keepdims=True)
    s = (amax / 6 / ts).astype(ml_dtypes.float8_e4m3fn).astype(np.float64)  # RNE to E4M3 (all normal here)
    want = (_e2m1_round(blocks / (s * ts)) * s * ts).reshape(x.shape)
    np.testing.assert_allclose(dequantized("nvfp4", x), want, rtol=1e-6)


def test_nf4_matches_nearest_qlora_level_times_block_absmax():
    from sim.formats.codebook import NF4_LEVELS

    x = np.random.default_rng(5).standard_normal((16, 256))
    blocks = x.reshape(16, 4, 64)
    amax = np.abs(blocks).max(axis=-1, keepdims=True).astype(np.float32).astype(np.float64)
    y = blocks / amax
    want = NF4_LEVELS[np.abs(y[..., None] - NF4_LEVELS).argmin(axis=-1)] * amax
    np.testing.assert_allclose(dequantized("nf4", x), want.reshape(x.shape), rtol=1e-6)


def test_bitmod_per_group_choice_beats_its_base_grid_and_plain_fp4():
    """BitMoD's extra value per group can only help: its error is below FP4 E2M1 with an FP16 group scale."""
    x = _heavy(np.random.default_rng(6), (64, 512))
    assert sqnr_db(x, dequantized("bitmod_fp4", x, 128)) > sqnr_db(x, dequantized("fp4_e2m1", x, 128)) + 0.3


@settings(max_examples=25, deadline=None)
@given(k=st.integers(-12, 12), seed=st.integers(0, 2 ** 16), fmt=st.sampled_from(["mxfp4", "int4", "nvfp4", "nf4"]))
def test_power_of_two_scaling_changes_no_error(k, seed, fmt):
    x = np.random.default_rng(seed).standard_normal((4, 64))
    a = dequantized(fmt, x).astype(np.float64)
    b = dequantized(fmt, x * 2.0 ** k).astype(np.float64)
    np.testing.assert_array_equal(b, a * 2.0 ** k)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2 ** 16), fmt=st.sampled_from(["int4", "int8", "mxfp4", "nvfp4", "bitmod_fp4", "nf4"]))
def test_error_bounds(seed, fmt):
    rng = np.random.default_rng(seed)
    w, x = rng.standard_normal((16, 128)), rng.standard_normal((8, 128))
    e = layer_error(w, x, fmt)
    assert e.weight_sqnr_db > 0 and 0 < e.output_rel_error < 1
    assert e.bits_per_element == formats.get(fmt).bits_per_element(None)


def test_more_bits_less_error():
    w = np.random.default_rng(7).standard_t(4, (32, 256))
    s = [sqnr_db(w, dequantized(f"int{b}", w, 32)) for b in (2, 3, 4, 6, 8)]
    assert s == sorted(s) and s[-1] - s[0] > 6 * 5  # about 6 dB per bit


def test_metric_edge_cases():
    x = np.arange(1.0, 9.0).reshape(2, 4)
    assert sqnr_db(x, x) == math.inf
    assert sqnr_db(np.zeros(3), np.ones(3)) == -math.inf
    assert sqnr_db(x, 2 * x) == pytest.approx(0.0)
    assert relative_frobenius_error(x, x) == 0.0
    assert relative_frobenius_error(x, 1.5 * x) == pytest.approx(0.5)
    assert relative_frobenius_error(np.zeros(2), np.ones(2)) == math.inf


def test_fp16_weights_and_acts_are_exact_on_fp16_values():
    rng = np.random.default_rng(8)
    w = rng.standard_normal((8, 32)).astype(np.float16).astype(np.float32)
    x = rng.standard_normal((4, 32)).astype(np.float16).astype(np.float32)
    e = layer_error(w, x, "fp16", act_format="fp16")
    assert e.weight_sqnr_db == math.inf and e.output_rel_error == 0.0


def test_int8_activations_with_an_outlier_channel_cost_more_than_without():
    from workloads.synthetic import synthetic_activations

    rng = np.random.default_rng(9)
    w = rng.standard_normal((64, 512))
    x = synthetic_activations("layer", 512)
    plain = rng.standard_normal((128, 512)).astype(np.float32)
    assert layer_error(w, x, "fp16", act_format="int8").output_rel_error > \
        3 * layer_error(w, plain, "fp16", act_format="int8").output_rel_error


def test_group_not_dividing_in_features_names_the_flag():
    from sim.errors import InputError

    with pytest.raises(InputError, match="--group-size"):
        quant_error.check_group("int4", 48, 128, "layers.0.q_proj")
