import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.pareto import pareto_mask


def brute_force(x, y, maximize_y):
    yy = -np.asarray(y) if maximize_y else np.asarray(y)
    n = len(x)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        for j in range(n):
            if x[j] <= x[i] and yy[j] <= yy[i] and (x[j] < x[i] or yy[j] < yy[i]):
                keep[i] = False
    return keep


@settings(max_examples=200, deadline=None)
@given(pts=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=25),
       maximize=st.booleans())
def test_pareto_mask_equals_brute_force(pts, maximize):
    x = np.array([p[0] for p in pts], dtype=float)
    y = np.array([p[1] for p in pts], dtype=float)
    np.testing.assert_array_equal(pareto_mask(x, y, maximize), brute_force(x, y, maximize))
