"""The scheduling kernel (Numba): one pass over a decoded program.

Each unit class (DMA, table unit, vector unit, sync, arrays) issues its instructions in program
order; a class may have several identical instances (arrays), and an instruction goes to the
instance that frees first. An instruction starts at the earliest time when (1) every dependency
has ended, (2) its unit instance is free, (3) every buffer it allocates in has room. Starts are
processed in time order, so buffer occupancy is exact: space is released (``free``) at the end of
the instruction that frees it. ``occ`` cycles keep the unit busy; the result is ready ``dur``
cycles after the start (``dur >= occ``: DMA latency overlaps the next transfer).
"""

from __future__ import annotations

import numpy as np
from numba import njit

INF = np.iinfo(np.int64).max // 4


@njit(cache=True)
def _heap_push(ht, hi, n, t, i):
    ht[n] = t
    hi[n] = i
    c = n
    while c > 0:
        p = (c - 1) // 2
        if ht[p] < ht[c] or (ht[p] == ht[c] and hi[p] <= hi[c]):
            break
        ht[p], ht[c] = ht[c], ht[p]
        hi[p], hi[c] = hi[c], hi[p]
        c = p
    return n + 1


@njit(cache=True)
def _heap_pop(ht, hi, n):
    n -= 1
    ht[0] = ht[n]
    hi[0] = hi[n]
    p = 0
    while True:
        c = 2 * p + 1
        if c >= n:
            break
        if c + 1 < n and (ht[c + 1] < ht[c] or (ht[c + 1] == ht[c] and hi[c + 1] < hi[c])):
            c += 1
        if ht[p] < ht[c] or (ht[p] == ht[c] and hi[p] <= hi[c]):
            break
        ht[p], ht[c] = ht[c], ht[p]
        hi[p], hi[c] = hi[c], hi[p]
        p = c
    return n


@njit(cache=True)
def schedule(occ, dur, q_ptr, q_idx, class_first, class_count, dep_ptr, dep_idx,
             alloc_ptr, alloc_buf, alloc_bytes, free_ptr, free_buf, free_bytes, capacity,
             start, end, unit, unit_stats, peak):
    """Fill ``start``/``end``/``unit`` (per instruction), ``unit_stats`` (per unit instance:
    busy, stall_dep, stall_space, instructions) and ``peak`` (bytes per buffer).

    Returns -1 on success, else the index of an instruction that can never get its buffer space.
    """
    n = occ.shape[0]
    n_cls = class_first.shape[0]
    n_units = unit_stats.shape[0]
    ufree = np.zeros(n_units, np.int64)
    head = q_ptr[:-1].copy()
    blocked = np.zeros(n_cls, np.bool_)
    used = np.zeros(capacity.shape[0], np.int64)
    started = np.zeros(n, np.bool_)
    ht = np.empty(n + 1, np.int64)
    hi = np.empty(n + 1, np.int64)
    hn = 0
    now = 0
    done = 0
    while done < n:
        best = -1
        best_t = INF
        best_u = -1
        best_r = 0
        for c in range(n_cls):
            if head[c] == q_ptr[c + 1]:
                continue
            i = q_idx[head[c]]
            r = 0
            ok = True
            for j in range(dep_ptr[i], dep_ptr[i + 1]):
                d = dep_idx[j]
                if not started[d]:
                    ok = False
                    break
                if end[d] > r:
                    r = end[d]
            if not ok:
                continue
            u = class_first[c]
            for v in range(class_first[c] + 1, class_first[c] + class_count[c]):
                if ufree[v] < ufree[u]:
                    u = v
            t = max(r, ufree[u], now)
            if blocked[c]:
                t = max(t, ht[0]) if hn > 0 else INF
            if t < best_t:
                best_t = t
                best = c
                best_u = u
                best_r = r
        if best < 0 or best_t >= INF:
            for c in range(n_cls):
                if head[c] < q_ptr[c + 1] and blocked[c]:
                    return q_idx[head[c]]
            return q_idx[head[0]] if head[0] < q_ptr[1] else 0
        now = best_t
        while hn > 0 and ht[0] <= now:
            k = hi[0]
            hn = _heap_pop(ht, hi, hn)
            for j in range(free_ptr[k], free_ptr[k + 1]):
                used[free_buf[j]] -= free_bytes[j]
            if free_ptr[k] < free_ptr[k + 1]:  # space came back: every class waiting for space tries again now
                for c in range(n_cls):
                    blocked[c] = False
        i = q_idx[head[best]]
        fits = True
        for j in range(alloc_ptr[i], alloc_ptr[i + 1]):
            if used[alloc_buf[j]] + alloc_bytes[j] > capacity[alloc_buf[j]]:
                fits = False
                break
        if not fits:
            blocked[best] = True
            continue
        blocked[best] = False
        for j in range(alloc_ptr[i], alloc_ptr[i + 1]):
            b = alloc_buf[j]
            used[b] += alloc_bytes[j]
            if used[b] > peak[b]:
                peak[b] = used[b]
        u = best_u
        gap_start = ufree[u]
        if now > gap_start:
            dep_wait = min(now, max(best_r, gap_start)) - gap_start
            unit_stats[u, 1] += dep_wait
            unit_stats[u, 2] += now - gap_start - dep_wait
        start[i] = now
        end[i] = now + dur[i]
        unit[i] = u
        started[i] = True
        ufree[u] = now + occ[i]
        unit_stats[u, 0] += occ[i]
        unit_stats[u, 3] += 1
        hn = _heap_push(ht, hi, hn, end[i], i)
        head[best] += 1
        done += 1
    return -1
