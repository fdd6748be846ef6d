"""Nearest-level searches: ``nearest_level`` (Numba) against numpy's searchsorted rule, and BitMoD's search
against a brute-force search of every distance (ties: smaller magnitude)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim import formats
from sim.formats._tables import nearest_level


def _searchsorted_rule(y, levels):
    mid = (levels[:-1] + levels[1:]) / 2
    return np.where(y >= 0, np.searchsorted(mid, y, side="left"), np.searchsorted(mid, y, side="right"))


@settings(max_examples=60, deadline=None)
@given(levels=arrays(np.float64, st.integers(2, 40), elements=st.floats(-100, 100), unique=True),
       y=arrays(np.float64, st.integers(1, 200), elements=st.floats(-1e6, 1e6)))
def test_nearest_level_is_the_searchsorted_rule(levels, y):
    levels = np.sort(levels)
    mid = (levels[:-1] + levels[1:]) / 2
    y = np.concatenate([y, mid, -mid, levels, [0.0, -0.0]])
    np.testing.assert_array_equal(nearest_level(y, levels), _searchsorted_rule(y, levels))
    assert nearest_level(y.reshape(1, -1), levels).shape == (1, y.size)


def _brute(table: np.ndarray, y: np.ndarray) -> np.ndarray:
    d = np.abs(y[:, None] - table[None, :])
    best = d.min(axis=1, keepdims=True)
    mag = np.where(d == best, np.abs(table)[None, :], np.inf)
    return mag.argmin(axis=1)  # among the nearest, the smallest magnitude (values are distinct)


@pytest.mark.parametrize("name", ["bitmod_fp3", "bitmod_fp4"])
@pytest.mark.parametrize("tag", range(4))
def test_nearest_matches_brute_force_including_midpoints(name, tag):
    f = formats.get(name)
    table = f.variant_values(tag)
    v = np.sort(table)
    mids = (v[:-1] + v[1:]) / 2
    rng = np.random.default_rng(tag)
    y = np.concatenate([rng.uniform(-20, 20, 20000), mids, -mids, v, np.nextafter(mids, np.inf),
                        np.nextafter(mids, -np.inf), [0.0, -0.0, 1e9, -1e9]])
    got = f._nearest(y, tag)
    np.testing.assert_array_equal(table[got], table[_brute(table, y)])
