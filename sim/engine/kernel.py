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
             start, end, unit, unit_stats, peak, ufree, head, blocked, used, started, ht, hi,
             region, cnt, base, fixed, step, mark, p_ufree, p_stats, p_head, p_blocked, p_used, order, info):
    """Fill ``start``/``end``/``unit`` (per instruction), ``unit_stats`` (per unit instance u, flat: busy,
    stall_dep, stall_space, instructions at ``4u .. 4u+3``) and ``peak`` (bytes per buffer).

    ``alloc`` / ``free`` (per instruction) index the alloc/free lists, list ``l`` being the (buffer, bytes) pairs
    ``list_buf`` / ``list_bytes`` at ``list_ptr[l] .. list_ptr[l + 1]`` (each distinct list stored once).

    ``ufree`` (per unit), ``head`` (per class: ``q_ptr[c]``), ``blocked`` (per class), ``used`` (per buffer),
    ``started`` (per instruction), ``ht``/``hi`` (n + 1) are work space, zero (False) unless said. Every argument
    is indexed one element at a time, so the kernel also runs as plain Python on lists (``schedule.py_func``: no
    Numba for a small program). Returns -1 on success, else the index of an instruction that can never get its
    buffer space.

    Periodic extrapolation (exact): ``region`` = (r0, L, C, D, pivot) says instructions r0 .. r0 + C·L are C
    copies of one block of L (:func:`sim.engine.decode.find_region` checked it: the same durations, classes and
    lists, dependencies either fixed or moved on by L per copy, reaching at most D copies back; ``cnt`` / ``base``:
    per class its instructions per block and before r0; ``fixed``: the fixed dependencies). Each time the pivot
    class has issued one more block, the state (time, unit free times, queue heads, waiting flags, buffer use,
    started-but-unreleased instructions, ends of the instructions later ones may read) is compared with the state
    one block before; when it is the same moved on by P cycles and L instructions, the schedule of the next blocks
    is the last block's moved on, so m blocks are filled in at once (their starts + i·P, same units, unit stats +
    m times the last block's) and the loop goes on from there: the result is exactly that of the full loop (tests:
    tests/sim/engine/test_periodic.py). ``info`` (5) gets the blocks skipped m, the period P, the issue steps of
    the last block before the jump (k0, k1) and the step after it; then ``order[k0:k1]`` are that block's
    instructions, ``step[i]`` the issue step of instruction i (-1: filled in) and ``p_stats`` one block's unit
    stats. ``step``, ``mark`` (n), ``p_*`` (per unit / 4 per unit / class / class / buffer) and ``order`` (n) are
    otherwise work space; L = 0 turns it off.
    """
    n = len(occ)
    n_cls = len(class_first)
    n_units = len(ufree)
    hn = 0  # entries of the heap (ht, hi) of started instructions, ordered by (end, index)
    now = 0
    done = 0
    r0, period_len, copies, reach, pivot = region[0], region[1], region[2], region[3], region[4]
    r_end = r0 + period_len * copies
    watch = period_len > 0 and copies > reach + 3
    record = watch  # issue order and step of every instruction (filled ones: step -1)
    # the first checkpoint: every dependency of the heads can be in the region
    target = q_ptr[pivot] + base[pivot] + cnt[pivot] * (reach + 2) if watch else 0
    have_prev = False
    p_now = 0
    p_done = 0
    p_hn = 0
    stamp = 0
    tries = 0
    while done < n:
        if watch and head[pivot] == target:  # a checkpoint: the pivot class has issued one more block
            jump = 0
            shift = now - p_now
            # the state is the last checkpoint's moved on by one block (ok), and how many blocks may follow (jump)
            ok = have_prev and shift > 0 and hn == p_hn and done - p_done == period_len
            lo = r_end
            hi_head = 0
            min_free = now
            if ok:
                for c in range(n_cls):
                    if head[c] - p_head[c] != cnt[c] or blocked[c] != p_blocked[c]:
                        ok = False
                    elif cnt[c] > 0:
                        if head[c] == q_ptr[c + 1]:
                            ok = False
                        else:
                            lo = min(lo, q_idx[p_head[c]])
                            hi_head = max(hi_head, q_idx[head[c]])
                            for v in range(class_first[c], class_first[c] + class_count[c]):
                                min_free = min(min_free, p_ufree[v])
                                if ufree[v] - p_ufree[v] != shift:
                                    ok = False
                    else:
                        for v in range(class_first[c], class_first[c] + class_count[c]):
                            if ufree[v] != p_ufree[v]:
                                ok = False
                    if not ok:
                        break
            if ok and lo < r0 + (reach + 1) * period_len:
                ok = False
            if ok:
                for b in range(len(used)):
                    if used[b] != p_used[b]:
                        ok = False
                        break
            if ok:
                for k in range(hn):  # unreleased instructions: the last checkpoint's moved on
                    x = hi[k]
                    if (x < r0 + period_len or x >= r_end or mark[x - period_len] != stamp
                            or end[x] - end[x - period_len] != shift):
                        ok = False
                        break
            if ok:
                for x in range(lo - reach * period_len, r_end - period_len):  # ends that later instructions read
                    if started[x] and step[x] < p_done:
                        y = x + period_len
                        if not started[y] or step[y] >= done or end[y] - end[x] != shift:
                            ok = False
                            break
                    elif x >= hi_head:
                        break
            if ok:
                for k in range(len(fixed)):  # dependencies outside the pattern: done before any unit frees
                    if not started[fixed[k]] or end[fixed[k]] > min_free:
                        ok = False
                        break
            if ok:
                jump = copies
                for c in range(n_cls):
                    if cnt[c] > 0:
                        jump = min(jump, (r_end - 1 - q_idx[head[c]]) // period_len)
                    elif head[c] < q_ptr[c + 1]:  # a class without instructions in the block keeps waiting for
                        i = q_idx[head[c]]  # an instruction after the region
                        waits = False
                        for j in range(dep_ptr[i], dep_ptr[i + 1]):
                            if dep_idx[j] >= r_end and not started[dep_idx[j]]:
                                waits = True
                        if not waits:
                            jump = 0
            if jump > 0:
                for k in range(p_done, done):  # the last block's issues, moved on 1..jump blocks
                    x = order[k]
                    for b in range(1, jump + 1):
                        y = x + b * period_len
                        start[y] = start[x] + b * shift
                        end[y] = end[x] + b * shift
                        unit[y] = unit[x]
                        started[y] = True
                        step[y] = -1
                for k in range(4 * n_units):
                    p_stats[k] = unit_stats[k] - p_stats[k]  # one block's, kept for the caller
                    unit_stats[k] += jump * p_stats[k]
                for c in range(n_cls):
                    if cnt[c] > 0:
                        head[c] += jump * cnt[c]
                        for v in range(class_first[c], class_first[c] + class_count[c]):
                            ufree[v] += jump * shift
                for k in range(hn):
                    ht[k] += jump * shift
                    hi[k] += jump * period_len
                now += jump * shift
                info[0] = jump
                info[1] = shift
                info[2] = p_done
                info[3] = done
                done += jump * period_len
                info[4] = done
                watch = False
                continue
            tries += 1
            if tries > 32:  # no period found soon: the plain loop to the end
                watch = False
            else:  # remember this state
                have_prev = True
                stamp += 1
                p_now = now
                p_done = done
                p_hn = hn
                for k in range(hn):
                    mark[hi[k]] = stamp
                for k in range(4 * n_units):
                    p_stats[k] = unit_stats[k]
                for v in range(n_units):
                    p_ufree[v] = ufree[v]
                for c in range(n_cls):
                    p_head[c] = head[c]
                    p_blocked[c] = blocked[c]
                for b in range(len(used)):
                    p_used[b] = used[b]
                target += cnt[pivot]
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
            if class_count[c] > 1:  # the instance that frees first
                for v in range(u + 1, u + class_count[c]):
                    if ufree[v] < ufree[u]:
                        u = v
            t = ufree[u] if ufree[u] > r else r  # max(r, ufree[u], now), without a call: this loop also runs
            if now > t:  # as plain Python, where a builtin call costs more than the comparison
                t = now
            if blocked[c]:
                if hn == 0:
                    t = INF
                elif ht[0] > t:
                    t = ht[0]
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
            dep_wait = (best_r if best_r < now else now) - gap_start if best_r > gap_start else 0
            unit_stats[4 * u + 1] += dep_wait
            unit_stats[4 * u + 2] += now - gap_start - dep_wait
        start[i] = now
        end[i] = now + dur[i]
        unit[i] = u
        started[i] = True
        if record:
            order[done] = i
            step[i] = done
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

