import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import reference
from sim.pe._rounding import EXACT_INT, FP16, FP32, round_float
from sim.pe.lut_tensor_core import invert_index
from sim.pe.table_precompute import (
    PRECOMPUTE_LATENCY,
    entry_signs,
    precompute,
    precompute_latency,
    quantize_tables_int8,
    stored_entries,
    table_adds_per_table,
)

FP16_EDGES = [0.0, -0.0, 65504.0, 65519.99, 65520.0, -65520.0, 2.0**-24, 2.0**-25, 3 * 2.0**-26, 2.0**-14,
              2.0**-14 - 2.0**-25, 1.0 + 2.0**-11, 1.0 + 3 * 2.0**-11, 2049.0, 2051.0, np.inf, -np.inf]


@pytest.mark.parametrize("x", FP16_EDGES)
def test_round_float_fp16_edges_match_numpy(x):
    with np.errstate(over="ignore"):
        assert round_float(x, *FP16) == np.float64(np.float16(x))


@settings(max_examples=300, deadline=None)
@given(x=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
       | st.floats(min_value=-1e-3, max_value=1e-3))
def test_round_float_matches_numpy_casts(x):
    with np.errstate(over="ignore"):
        assert round_float(x, *FP16) == float(np.float16(x))
        assert round_float(x, *FP32) == float(np.float32(x))
    assert round_float(x, *EXACT_INT) == x


def test_round_float_ties_to_even_and_overflow():
    assert round_float(2049.0, *FP16) == 2048.0  # tie between 2048 and 2050: even mantissa
    assert round_float(2051.0, *FP16) == 2052.0
    assert round_float(65520.0, *FP16) == np.inf  # the tie above 65504 rounds to inf (IEEE 754)
    assert round_float(float(np.finfo(np.float32).max) * 1.0000001, *FP32) == np.inf


def test_adder_count_and_latency_for_the_papers_k4():
    assert table_adds_per_table(4) == 4 + 2 + 8  # ±a0±a1 (4), ±a2+a3 (2), then the 8 stored sums
    assert table_adds_per_table(2) == 2
    assert table_adds_per_table(8) == (3 * 4 + 2) + (16 + 8) + 128
    assert precompute_latency(4) == PRECOMPUTE_LATENCY == 2
    assert stored_entries(4) == 8


def _full_table_from_stored(stored, k):
    """T[p] for all 2^K patterns through the offline index inversion: neg ? −S[idx] : S[idx]."""
    idx, neg = invert_index(np.arange(1 << k), k)
    v = stored[..., idx]
    return np.where(neg == 1, -v, v)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 5), kg=st.integers(1, 4), k=st.sampled_from([2, 4, 8]), mu=st.integers(1, 3),
       bits=st.sampled_from([4, 8, 16]), seed=st.integers(0, 2**32 - 1))
def test_int_tables_are_exact_signed_sums_with_odd_symmetry(m, kg, k, mu, bits, seed):
    rng = np.random.default_rng(seed)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    a = rng.integers(lo, hi + 1, size=(m, kg, k)).astype(np.float64)
    a[0, 0, :] = lo  # the most negative activation everywhere in one group
    res = precompute(a, mu, EXACT_INT)
    full = _full_table_from_stored(res.tables, k)  # (m, kg, 2^k)
    patterns = np.arange(1 << k)
    signs = 2 * ((patterns[:, None] >> np.arange(k)) & 1) - 1
    np.testing.assert_array_equal(full, np.einsum("mgk,pk->mgp", a, signs))
    np.testing.assert_array_equal(full[..., ~patterns & ((1 << k) - 1)], -full)  # T[~p] = −T[p]
    np.testing.assert_array_equal(res.tables[..., -1], a.sum(axis=-1))  # last entry = group sum
    assert res.cycles == -(-m // mu) * kg + precompute_latency(k)
    assert res.events == {"table_adds": m * kg * table_adds_per_table(k), "table_writes": m * kg * (1 << (k - 1))}


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 4), kg=st.integers(1, 3), k=st.sampled_from([2, 4, 8]), scale=st.sampled_from([1e-6, 1.0, 1e4]),
       seed=st.integers(0, 2**32 - 1))
def test_fp16_tables_follow_the_pairwise_tree_and_stay_odd_symmetric(m, kg, k, scale, seed):
    rng = np.random.default_rng(seed)
    a = (np.clip(rng.normal(size=(m, kg, k)), -6, 6) * scale).astype(np.float16).astype(np.float64)
    res = precompute(a, 2, FP16)  # with scale 1e4 some sums overflow to ±inf, as FP16 adders do
    signed = a[:, :, None, :] * entry_signs(k)[None, None]
    want = reference.tree_sum(signed, np.float16)  # fp16(fp16(±a0 ± a1) + fp16(±a2 + a3)) for K = 4
    np.testing.assert_array_equal(res.tables, want)
    full = _full_table_from_stored(res.tables, k)
    patterns = np.arange(1 << k)
    np.testing.assert_array_equal(full[..., ~patterns & ((1 << k) - 1)], -full)


def test_int8_table_quantization_one_fp16_scale_per_table():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(3, 5, 4)).astype(np.float16).astype(np.float64)
    a[1, 2] = 0.0  # an all-zero group: scale 0, entries 0
    exact = precompute(a, 2, FP16)
    quant = precompute(a, 2, FP16, table_quant=True)
    codes, scales, values = quantize_tables_int8(exact.tables)
    assert np.abs(codes).max() <= 127 and np.abs(codes).max() == 127
    np.testing.assert_array_equal(scales, (np.abs(exact.tables).max(-1) / 127).astype(np.float16))
    np.testing.assert_array_equal(quant.tables, values)
    np.testing.assert_array_equal(quant.scales, scales)
    assert (quant.tables[1, 2] == 0).all() and scales[1, 2] == 0
    err = np.abs(quant.tables - exact.tables)
    assert (err <= scales[..., None] * 0.5 * (1 + 2.0**-8) + np.abs(exact.tables) * 2.0**-10).all()
    assert err.max() > 0  # lossy


def test_fp8_values_are_exact_in_fp16_tables():
    e4m3 = np.array([448.0, -448.0, 2.0**-9, 0.875], dtype=ml_dtypes.float8_e4m3fn).astype(np.float64)
    assert np.array_equal(e4m3.astype(np.float16).astype(np.float64), e4m3)
