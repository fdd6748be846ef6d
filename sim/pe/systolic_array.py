"""A cycle-level model of an R×C systolic array, shared by the MAC-based PE models.

Dataflows ``os``, ``ws`` and ``is`` for ``O[M, N] = A[M, K] · W[N, K]ᵀ`` with K cut into segments
(quantization groups). :func:`tile_timing` gives our closed-form timing (folds pipelined back to back, only the
first fill and the last drain exposed), :func:`per_cycle` steps the array register by register with real data
and reports structural hazards, :func:`scalesim_cycles` is the SCALE-Sim 3.0.0 formula
(docs/references.md#peer-tools); the closed forms live in :mod:`sim.pe._systolic_timing` (pure Python, for
data-free runs) and are re-exported here. Units: cycles; events are counts of actions for the energy model.
The micro-architecture, the fill/drain derivation and the events: docs/systolic_arrays.md, "MAC systolic array".
"""

from __future__ import annotations

import math

import numpy as np

from ..jit import njit
from ._systolic_timing import (  # noqa: F401  (this module's API since before the split)
    DATAFLOWS,
    FoldPlan,
    output_folds,
    plan,
    scalesim_cycles,
    tile_timing,
    utilization,
)

# Arithmetic of products and accumulations inside the kernel (see _round).
ROUND_MODES = {"exact": 0, "fp16": 1, "bf16": 2, "fp32": 3}

# Order of the counters returned by the kernel.
_STATS = ("cycles", "hazards", "multiplies", "adds", "reg_reads", "psum_reg_reads",
          "left_sram_reads", "top_sram_reads", "out_sram_writes", "acc_sram_reads")
EVENT_NAMES = _STATS[2:]


def per_cycle(dataflow: str, a: np.ndarray, w: np.ndarray, seg: int, rows: int, cols: int,
              prod: str = "exact", acc: str = "exact", period: int | None = None):
    """Step the array with real data. ``a`` (M, K) and ``w`` (N, K) float64 operand values.

    ``prod`` / ``acc``: rounding of each product / each accumulation ("exact", "fp16", "bf16",
    "fp32"); "exact" is for integer datapaths (values must stay below 2^53, checked by callers).
    ``period`` overrides the issue period (for hazard tests). Returns ``(out (M, N, G) float64,
    cycles, events dict, hazards)``.
    """
    a = np.ascontiguousarray(a, dtype=np.float64)
    w = np.ascontiguousarray(w, dtype=np.float64)
    m, k = a.shape
    n = w.shape[0]
    pl = plan(dataflow, m, n, k, seg, rows, cols)
    left, top = (w, a) if dataflow == "is" else (a, w)
    out, stats = _simulate(0 if dataflow == "os" else 1, left, top, rows, cols, seg,
                           pl.period if period is None else period, ROUND_MODES[prod], ROUND_MODES[acc])
    if dataflow == "is":
        out = np.ascontiguousarray(out.transpose(1, 0, 2))
    events = {name: int(v) for name, v in zip(_STATS[2:], stats[2:])}
    return out, int(stats[0]), events, int(stats[1])


# ---------------------------------------------------------------------------------------------
# The per-cycle kernel.

@njit(cache=True)
def _round(x, mode):
    """Round a float64 to the datapath format, round-to-nearest-even with IEEE overflow to inf.

    mode 0: exact (integers), 1: FP16 (10 fraction bits, emin −14), 2: BF16 (7, −126), 3: FP32.
    Double rounding through float64 is harmless here: 53 ≥ 2p + 2 for p ≤ 24 (Figueroa 1995).
    """
    if mode == 0 or x == 0.0 or not math.isfinite(x):
        return x
    if mode == 3:
        return float(np.float32(x))
    frac, emin, big = (10, -14, 65504.0) if mode == 1 else (7, -126, 3.3895313892515355e38)
    e = math.frexp(x)[1] - 1  # x = 1.f × 2^e
    quantum = math.ldexp(1.0, max(e, emin) - frac)
    y = x / quantum
    r = math.floor(y)
    d = y - r
    if d > 0.5 or (d == 0.5 and r % 2.0 != 0.0):
        r += 1.0
    v = r * quantum
    if abs(v) > big:
        return math.copysign(math.inf, x)
    return v


@njit(cache=True)
def _port_schedule(issued, per_fold, start, period, lane):
    """Token number ``issued`` of an edge port (one row or column, ``lane`` cycles of skew):
    (fold, index in fold, cycle it is due), token idx of fold f being due at start + f·period + lane + idx."""
    f = issued // per_fold
    idx = issued % per_fold
    return f, idx, start + f * period + lane + idx


@njit(cache=True)
def _simulate(weight_stationary, left, top, rows, cols, seg, period, prod_mode, acc_mode):
    """Step the array cycle by cycle. ``weight_stationary`` 0: output-stationary (left and top
    both stream); 1: the top operand is held in the PEs and the left one streams."""
    np_, k = left.shape
    nq = top.shape[0]
    ng = k // seg
    out = np.zeros((np_, nq, ng))
    stats = np.zeros(10, dtype=np.int64)
    pt = (np_ + rows - 1) // rows
    qt = (nq + cols - 1) // cols
    st = (seg + rows - 1) // rows
    if weight_stationary == 0:
        folds, stream, first = pt * qt * ng, seg, 0
    else:
        folds, stream, first = qt * ng * st, np_, 1
    hazards = 0
    last = -1
    # streamed operand registers, left → right: value, present, valid, fold, index in fold
    xv = np.zeros((rows, cols))
    xp = np.zeros((rows, cols), dtype=np.bool_)
    xo = np.zeros((rows, cols), dtype=np.bool_)
    xf = np.zeros((rows, cols), dtype=np.int64)
    xi = np.zeros((rows, cols), dtype=np.int64)
    # OS: top operand registers (top → bottom). WS: partial-sum registers (top → bottom).
    yv = np.zeros((rows, cols))
    yp = np.zeros((rows, cols), dtype=np.bool_)
    yo = np.zeros((rows, cols), dtype=np.bool_)
    yf = np.zeros((rows, cols), dtype=np.int64)
    yi = np.zeros((rows, cols), dtype=np.int64)
    # OS: accumulator, hold register, per-column drain chain
    acc = np.zeros((rows, cols))
    held = np.zeros((rows, cols))
    held_full = np.zeros((rows, cols), dtype=np.bool_)
    held_ok = np.zeros((rows, cols), dtype=np.bool_)
    held_f = np.full((rows, cols), -1, dtype=np.int64)
    chain = np.zeros((rows, cols))
    chain_ok = np.zeros((rows, cols), dtype=np.bool_)
    chain_f = np.zeros((rows, cols), dtype=np.int64)
    chain_row = np.zeros((rows, cols), dtype=np.int64)
    chain_cnt = np.zeros(cols, dtype=np.int64)
    load_at = np.full(cols, -1, dtype=np.int64)
    # WS: double-buffered stationary operand (active register used by the MAC, shadow being loaded)
    act_v = np.zeros((rows, cols))
    act_ok = np.zeros((rows, cols), dtype=np.bool_)
    act_f = np.full((rows, cols), -1, dtype=np.int64)
    sh_v = np.zeros((rows, cols))
    sh_ok = np.zeros((rows, cols), dtype=np.bool_)
    sh_f = np.full((rows, cols), -1, dtype=np.int64)
    sh_full = np.zeros((rows, cols), dtype=np.bool_)
    # edge feeders: tokens issued so far per row (left), per column (top feeder / WS load port)
    left_n = np.zeros(rows, dtype=np.int64)
    top_n = np.zeros(cols, dtype=np.int64)
    left_total = folds * stream
    top_total = folds * stream if weight_stationary == 0 else folds * rows
    ex_v = np.zeros(rows)
    ex_p = np.zeros(rows, dtype=np.bool_)
    ex_o = np.zeros(rows, dtype=np.bool_)
    ex_f = np.zeros(rows, dtype=np.int64)
    ex_i = np.zeros(rows, dtype=np.int64)
    ey_v = np.zeros(cols)
    ey_p = np.zeros(cols, dtype=np.bool_)
    ey_o = np.zeros(cols, dtype=np.bool_)
    ey_f = np.zeros(cols, dtype=np.int64)
    ey_i = np.zeros(cols, dtype=np.int64)
    t = 0
    while True:
        busy = False
        # ---- output edge (reads registers as they were at the start of the cycle)
        if weight_stationary == 0:
            for j in range(cols):
                if chain_cnt[j] > 0:  # the bottom cell leaves the array, the chain shifts down
                    if chain_ok[rows - 1, j]:
                        f = chain_f[rows - 1, j]
                        tp, tq, g = f // (ng * qt), (f // ng) % qt, f % ng
                        out[tp * rows + chain_row[rows - 1, j], tq * cols + j, g] = chain[rows - 1, j]
                        stats[5] += 1
                        stats[8] += 1
                    for i in range(rows - 1, 0, -1):
                        chain[i, j] = chain[i - 1, j]
                        chain_ok[i, j] = chain_ok[i - 1, j]
                        chain_f[i, j] = chain_f[i - 1, j]
                        chain_row[i, j] = chain_row[i - 1, j]
                        if chain_ok[i, j]:
                            stats[5] += 1
                    chain_ok[0, j] = False
                    chain_cnt[j] -= 1
                    last = t
                if load_at[j] == t:  # parallel load of the hold registers; shifted out from t + 1
                    if chain_cnt[j] > 0:
                        hazards += 1
                    for i in range(rows):
                        chain[i, j] = held[i, j]
                        chain_ok[i, j] = held_full[i, j] and held_ok[i, j]
                        chain_f[i, j] = held_f[i, j]
                        chain_row[i, j] = i
                        if chain_ok[i, j]:
                            stats[5] += 1
                        held_full[i, j] = False
                    chain_cnt[j] = rows
                    load_at[j] = -1
                    last = t
                if chain_cnt[j] > 0 or load_at[j] >= 0:
                    busy = True
        else:
            for j in range(cols):
                if yp[rows - 1, j]:
                    last = t
                    f = yf[rows - 1, j]
                    q = (f // (ng * st)) * cols + j
                    if q < nq:
                        g = (f // st) % ng
                        p = yi[rows - 1, j]
                        stats[5] += 1
                        stats[8] += 1
                        if f % st == 0:
                            out[p, q, g] = yv[rows - 1, j]
                        else:
                            out[p, q, g] = _round(out[p, q, g] + yv[rows - 1, j], acc_mode)
                            stats[3] += 1
                            stats[9] += 1
        # ---- left edge feeders: the token each row receives this cycle
        for i in range(rows):
            ex_p[i] = False
            n = left_n[i]
            if n < left_total:
                busy = True
                f, idx, due = _port_schedule(n, stream, first, period, i)
                if t >= due:
                    if t > due:
                        hazards += 1
                    left_n[i] += 1
                    ex_p[i] = True
                    ex_f[i] = f
                    ex_i[i] = idx
                    if weight_stationary == 0:
                        p = (f // (ng * qt)) * rows + i
                        kk = (f % ng) * seg + idx
                        ex_o[i] = p < np_
                        ex_v[i] = left[p, kk] if p < np_ else 0.0
                    else:
                        kin = (f % st) * rows + i
                        ex_o[i] = kin < seg
                        ex_v[i] = left[idx, ((f // st) % ng) * seg + kin] if kin < seg else 0.0
                    if ex_o[i]:
                        stats[6] += 1
        if weight_stationary == 0:  # top edge feeders (OS only)
            for j in range(cols):
                ey_p[j] = False
                n = top_n[j]
                if n < top_total:
                    busy = True
                    f, idx, due = _port_schedule(n, stream, first, period, j)
                    if t >= due:
                        if t > due:
                            hazards += 1
                        top_n[j] += 1
                        q = ((f // ng) % qt) * cols + j
                        ey_p[j] = True
                        ey_f[j] = f
                        ey_i[j] = idx
                        ey_o[j] = q < nq
                        ey_v[j] = top[q, (f % ng) * seg + idx] if q < nq else 0.0
                        if ey_o[j]:
                            stats[7] += 1
        # ---- the PEs: registers move one hop (i, j descending keeps the old neighbour values)
        for i in range(rows - 1, -1, -1):
            for j in range(cols - 1, -1, -1):
                if j == 0:
                    xv[i, j], xp[i, j], xo[i, j], xf[i, j], xi[i, j] = ex_v[i], ex_p[i], ex_o[i], ex_f[i], ex_i[i]
                else:
                    xv[i, j], xp[i, j], xo[i, j] = xv[i, j - 1], xp[i, j - 1], xo[i, j - 1]
                    xf[i, j], xi[i, j] = xf[i, j - 1], xi[i, j - 1]
                if weight_stationary == 0:
                    if i == 0:
                        yv[i, j], yp[i, j], yo[i, j], yf[i, j], yi[i, j] = ey_v[j], ey_p[j], ey_o[j], ey_f[j], ey_i[j]
                    else:
                        yv[i, j], yp[i, j], yo[i, j] = yv[i - 1, j], yp[i - 1, j], yo[i - 1, j]
                        yf[i, j], yi[i, j] = yf[i - 1, j], yi[i - 1, j]
                    if not (xp[i, j] or yp[i, j]):
                        continue
                    busy = True
                    last = t
                    if not (xp[i, j] and yp[i, j]) or xf[i, j] != yf[i, j] or xi[i, j] != yi[i, j]:
                        hazards += 1
                        continue
                    if xo[i, j]:
                        stats[4] += 1
                    if yo[i, j]:
                        stats[4] += 1
                    if xi[i, j] == 0:
                        acc[i, j] = 0.0
                    ok = xo[i, j] and yo[i, j]
                    if ok:
                        pr = _round(xv[i, j] * yv[i, j], prod_mode)
                        acc[i, j] = _round(acc[i, j] + pr, acc_mode)
                        stats[2] += 1
                        stats[3] += 1
                    if xi[i, j] == stream - 1:  # fold finished: result to the hold register
                        if held_full[i, j]:
                            hazards += 1
                        held[i, j] = acc[i, j]
                        held_full[i, j] = True
                        held_ok[i, j] = ok
                        held_f[i, j] = xf[i, j]
                        if i == rows - 1:
                            if load_at[j] >= 0:
                                hazards += 1
                            load_at[j] = t + 1
                else:
                    # partial sum arriving from above (row 0 starts from zero)
                    if i == 0:
                        pin, pin_p, pin_f, pin_i = 0.0, xp[i, j], xf[i, j], xi[i, j]
                    else:
                        pin, pin_p, pin_f, pin_i = yv[i - 1, j], yp[i - 1, j], yf[i - 1, j], yi[i - 1, j]
                    if not xp[i, j]:
                        if pin_p:
                            hazards += 1
                        yp[i, j] = False
                        continue
                    busy = True
                    last = t
                    f = xf[i, j]
                    if act_f[i, j] != f:  # first operand of a new fold: shadow → active
                        if not sh_full[i, j] or sh_f[i, j] != f:
                            hazards += 1
                        act_v[i, j] = sh_v[i, j]
                        act_ok[i, j] = sh_ok[i, j]
                        act_f[i, j] = f
                        sh_full[i, j] = False
                    if not pin_p or pin_f != f or pin_i != xi[i, j]:
                        hazards += 1
                    q_ok = (f // (ng * st)) * cols + j < nq
                    if i > 0 and q_ok:
                        stats[5] += 1
                    if xo[i, j]:
                        stats[4] += 1
                    v = pin
                    if xo[i, j] and act_ok[i, j]:
                        v = _round(v + _round(xv[i, j] * act_v[i, j], prod_mode), acc_mode)
                        stats[2] += 1
                        stats[3] += 1
                    yv[i, j], yp[i, j], yf[i, j], yi[i, j] = v, True, f, xi[i, j]
        # ---- WS: column load ports write one shadow register per cycle (after the PEs read it)
        if weight_stationary == 1:
            for j in range(cols):
                n = top_n[j]
                if n < top_total:
                    busy = True
                    f, i, due = _port_schedule(n, rows, first - 1, period, j)  # one cycle before use
                    if t >= due:
                        if t > due:
                            hazards += 1
                        if sh_full[i, j]:
                            hazards += 1
                        top_n[j] += 1
                        q = (f // (ng * st)) * cols + j
                        kin = (f % st) * rows + i
                        ok = q < nq and kin < seg
                        sh_v[i, j] = top[q, ((f // st) % ng) * seg + kin] if ok else 0.0
                        sh_ok[i, j] = ok
                        sh_full[i, j] = True
                        sh_f[i, j] = f
                        if ok:
                            stats[7] += 1
                        last = t
            for j in range(cols):
                for i in range(rows):
                    if yp[i, j]:
                        busy = True
        if not busy:
            break
        t += 1
    stats[0] = last + 1
    stats[1] = hazards
    return out, stats
