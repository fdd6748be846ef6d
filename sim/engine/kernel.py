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

from ..jit import njit

INF = np.iinfo(np.int64).max // 4


@njit(cache=True)
def schedule(occ, dur, q_ptr, q_idx, class_first, class_count, dep_ptr, dep_idx,
             alloc, free, list_ptr, list_buf, list_bytes, capacity,
             start, end, unit, unit_stats, peak, ufree, head, blocked, used, started, ht, hi):
    """Fill ``start``/``end``/``unit`` (per instruction), ``unit_stats`` (per unit instance u, flat: busy,
    stall_dep, stall_space, instructions at ``4u .. 4u+3``) and ``peak`` (bytes per buffer).

    ``alloc`` / ``free`` (per instruction) index the alloc/free lists, list ``l`` being the (buffer, bytes) pairs
    ``list_buf`` / ``list_bytes`` at ``list_ptr[l] .. list_ptr[l + 1]`` (each distinct list stored once).

    ``ufree`` (per unit), ``head`` (per class: ``q_ptr[c]``), ``blocked`` (per class), ``used`` (per buffer),
    ``started`` (per instruction), ``ht``/``hi`` (n + 1) are work space, zero (False) unless said. Every argument
    is indexed one element at a time, so the kernel also runs as plain Python on lists (``schedule.py_func``: no
    Numba for a small program). Returns -1 on success, else the index of an instruction that can never get its
    buffer space.
    """
    n = len(occ)
    n_cls = len(class_first)
    hn = 0  # entries of the heap (ht, hi) of started instructions, ordered by (end, index)
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
            hn -= 1  # pop the heap's root: the last entry sifts down from the root
            ht[0] = ht[hn]
            hi[0] = hi[hn]
            p = 0
            while True:
                ch = 2 * p + 1
                if ch >= hn:
                    break
                if ch + 1 < hn and (ht[ch + 1] < ht[ch] or (ht[ch + 1] == ht[ch] and hi[ch + 1] < hi[ch])):
                    ch += 1
                if ht[p] < ht[ch] or (ht[p] == ht[ch] and hi[p] <= hi[ch]):
                    break
                ht[p], ht[ch] = ht[ch], ht[p]
                hi[p], hi[ch] = hi[ch], hi[p]
                p = ch
            f = free[k]
            for j in range(list_ptr[f], list_ptr[f + 1]):
                used[list_buf[j]] -= list_bytes[j]
            if list_ptr[f] < list_ptr[f + 1]:  # space came back: every class waiting for space tries again now
                for c in range(n_cls):
                    blocked[c] = False
        i = q_idx[head[best]]
        fits = True
        a = alloc[i]
        for j in range(list_ptr[a], list_ptr[a + 1]):
            if used[list_buf[j]] + list_bytes[j] > capacity[list_buf[j]]:
                fits = False
                break
        if not fits:
            blocked[best] = True
            continue
        blocked[best] = False
        for j in range(list_ptr[a], list_ptr[a + 1]):
            b = list_buf[j]
            used[b] += list_bytes[j]
            if used[b] > peak[b]:
                peak[b] = used[b]
        u = best_u
        gap_start = ufree[u]
        if now > gap_start:
            dep_wait = min(now, max(best_r, gap_start)) - gap_start
            unit_stats[4 * u + 1] += dep_wait
            unit_stats[4 * u + 2] += now - gap_start - dep_wait
        start[i] = now
        end[i] = now + dur[i]
        unit[i] = u
        started[i] = True
        ufree[u] = now + occ[i]
        unit_stats[4 * u] += occ[i]
        unit_stats[4 * u + 3] += 1
        ht[hn] = end[i]  # push (end, i): sift up from the new leaf
        hi[hn] = i
        ch = hn
        hn += 1
        while ch > 0:
            p = (ch - 1) // 2
            if ht[p] < ht[ch] or (ht[p] == ht[ch] and hi[p] <= hi[ch]):
                break
            ht[p], ht[ch] = ht[ch], ht[p]
            hi[p], hi[ch] = hi[ch], hi[p]
            ch = p
        head[best] += 1
        done += 1
    return -1
