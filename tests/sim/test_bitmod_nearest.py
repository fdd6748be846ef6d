"""BitMoD's nearest-value search agrees with a brute-force search of every distance (ties: smaller magnitude)."""

from __future__ import annotations

import numpy as np
import pytest

from sim import formats


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
