"""The fused kernels give numpy's numbers bit for bit: BitMoD's per-group search and dequantization, and the
pairwise sums behind the reported SQNR (sim/pairwise_sum.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import formats
from sim.formats.base import Format, grouped
from sim.pairwise_sum import pairwise_sum, sum_of_squared_differences, sum_of_squares
from sim.quant_error import sqnr_db


def _tensor(seed: int, rows: int, cols: int, zero_rows: int, outlier: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_t(1.5, (rows, cols)) * 10.0 ** rng.integers(-6, 3, (rows, 1))
    x[:zero_rows] = 0.0
    if outlier:
        x[rng.integers(rows), rng.integers(cols)] = 1e4
    return x


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2 ** 16), rows=st.integers(1, 9), cols=st.sampled_from([7, 32, 100, 128, 256, 300]),
       zero_rows=st.integers(0, 2), outlier=st.booleans(), fmt=st.sampled_from(["bitmod_fp3", "bitmod_fp4"]),
       group=st.sampled_from([None, 4, 32, 128]))
def test_fused_search_picks_the_numpy_search_codes_tags_and_scales(seed, rows, cols, zero_rows, outlier, fmt, group):
    f = formats.get(fmt)
    x = _tensor(seed, rows, cols, zero_rows, outlier)
    if group is not None and cols % group:
        with pytest.raises(formats.FormatError):
            f.quantize(x, group)
        return
    q = f.quantize(x, group)
    xg = grouped(x, 1, q.group_size)
    absmax = np.abs(xg).max(axis=-1)
    s_c = f.channel_scales(q)
    codes, tags, qs = f._search_numpy(xg, absmax, np.where(s_c > 0, s_c, 0.0))
    assert np.array_equal(q.codes, codes.reshape(x.shape))
    assert np.array_equal(f.variant_of(q.tags), tags) and np.array_equal(f.group_scale_of(q.tags), qs)
    assert np.array_equal(f.dequantize(q), Format.dequantize(f, q))
    # the other axis (not contiguous: numpy path) gives the transpose's codes
    qt = f.quantize(np.ascontiguousarray(x.T), group, axis=0)
    assert np.array_equal(f.dequantize(qt), Format.dequantize(f, qt))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2 ** 16), n=st.integers(1, 20000))
def test_pairwise_sums_equal_numpy_sum(seed, n):
    rng = np.random.default_rng(seed)
    x = (rng.standard_t(2, n) * 10.0 ** rng.integers(-4, 4)).astype(np.float32)
    y = (x + rng.normal(0, 1e-3, n)).astype(np.float32)
    sq = np.square(x, dtype=np.float64)
    assert pairwise_sum(sq, n) == np.sum(sq)
    assert sum_of_squares(x) == np.sum(sq)
    assert sum_of_squared_differences(x, y) == np.sum(np.square(np.asarray(x, np.float64) - y))


def test_a_plain_loop_differs_from_numpy_so_the_order_matters():
    rng = np.random.default_rng(0)
    sums = [rng.standard_t(2, 4096) ** 2 for _ in range(20)]
    assert any(float(np.sum(a)) != sum(a.tolist()) for a in sums)
    assert all(pairwise_sum(a, a.size) == np.sum(a) for a in sums)


def test_sqnr_fused_and_numpy_paths_agree():
    rng = np.random.default_rng(1)
    w = rng.standard_t(3, (300, 257)).astype(np.float32)
    wq = formats.get("int4").dequantize(formats.get("int4").quantize(w, None)).astype(np.float32)
    fortran = np.asfortranarray(w), np.asfortranarray(wq)   # numpy path
    assert sqnr_db(w, wq) == pytest.approx(sqnr_db(*fortran), rel=1e-12)
    signal = float(np.sum(np.square(w, dtype=np.float64)))
    noise = float(np.sum(np.square(np.asarray(w, np.float64) - wq, dtype=np.float64)))
    assert sqnr_db(w, wq) == 10 * np.log10(signal / noise)
