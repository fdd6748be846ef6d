"""Pareto fronts of sweep results (pure data; plotting lives in :mod:`reports.figures`)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def pareto_mask(x: np.ndarray, y: np.ndarray, maximize_y: bool) -> np.ndarray:
    """True for points not dominated when minimizing ``x`` and maximizing (or minimizing) ``y``.

    A point dominates another when it is no worse on both axes and better on one. Ties (equal
    points) are all kept. O(n log n): sort by x, sweep keeping the best y seen.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    yy = -y if maximize_y else y  # now minimize both
    order = np.lexsort((yy, x))
    mask = np.zeros(len(x), dtype=bool)
    best = np.inf
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and x[order[j]] == x[order[i]]:
            j += 1
        group = order[i:j]
        gbest = yy[group].min()
        if gbest < best:
            mask[group[yy[group] == gbest]] = True
            best = gbest
        i = j
    return mask


def pareto_front(df: pd.DataFrame, x: str, y: str, maximize_y: bool) -> pd.Series:
    """Boolean Series: rows of ``df`` on the front of (min ``x``, max/min ``y``); NaN rows are off it."""
    ok = df[x].notna() & df[y].notna()
    out = pd.Series(False, index=df.index)
    sub = df[ok]
    out[sub.index] = pareto_mask(sub[x].to_numpy(), sub[y].to_numpy(), maximize_y)
    return out
