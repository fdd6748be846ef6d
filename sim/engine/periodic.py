"""Simulating a long repeated region from a short program (issue 20): a :class:`ColumnProgram` whose largest
:meth:`~sim.isa.columns.ColumnProgram.repeat` region has C copies is decoded and scheduled with only K of them
(:meth:`~sim.isa.columns.ColumnProgram.shortened`), and the full schedule is read off the short one.

Why this is exact: the kernel's periodic extrapolation (:func:`sim.engine.kernel.schedule`) jumps at the first
checkpoint where the state is the previous one moved on by one block. Up to that checkpoint the short and the
full program read the same instructions (the prologue, the first copies; an instruction after the region only
waits, which is checked: none of them has issued before the jump), so both reach it in the same state and the
full one jumps C - K blocks further. After the jump the two states are the same up to the shift of C - K blocks
(the same distance to the region's end, the same instructions after it), so every later issue of the full program
is the short one's moved on by (C - K)·L instructions and (C - K)·P cycles, with the same unit stats, except on a
unit that the region leaves idle (its free time is not moved on, so its first wait after the region grows). Any
such case (an instruction of such a unit after the jump, no jump, a buffer wait that never ends) falls back to
the full program. tests/sim/engine/test_periodic.py compares both ways.
"""

from __future__ import annotations

import numpy as np

from ..arch import Arch
from ..isa.columns import ColumnProgram

#: copies of the region kept in the short program: the jump needs a few blocks to settle (checkpoints start
#: after the dependency reach, sim.engine.kernel.schedule) and room before the region's end
KEEP = 24


def run(program: ColumnProgram, arch: Arch, decode, run_decoded):
    """(decoded short program with the full program's events, timing, cycles, unit stats, peak) of ``program`` on
    ``arch``, ``timing()`` building the full (start, end, unit) arrays; or None when the short way does not apply
    (then schedule the full program)."""
    if arch.dram.banks is not None:  # DRAM row misses depend on each copy's addresses
        return None
    found = program.shortened(KEEP)
    if found is None:
        return None
    short, (r0, length, copies), block_count = found
    dec = decode(short, arch, extra_counts=block_count * (copies - KEEP))
    if dec.region[1] != length or dec.region[0] != r0:
        return None
    start, end, unit, ustats, peak, status = run_decoded(dec)
    if status >= 0 or dec.jump is None:
        return None
    jumped, shift, k0, k1, after = dec.jump["info"]
    step, order = dec.jump["step"], dec.jump["order"]
    extra = copies - KEEP
    r_end = r0 + KEEP * length
    if (step[r_end:] < after).any():  # an instruction after the region issued before the jump: not the same run
        return None
    window = order[k0:k1]  # the last block before the jump, moved on 1 .. jumped + extra blocks
    deps = dec.dep_idx[dec.dep_ptr[r_end]:]  # of the instructions after the region
    inside = step[deps[(deps >= r0) & (deps < r_end)]]
    if ((inside != -1) & (inside < after)).any():  # one waits on a copy scheduled before the jump: its full
        return None  # counterpart is another copy
    if (end[deps[deps < r0]] > start[window].min()).any():  # one waits on an instruction before the region that
        return None  # may end after a unit's last start (then its end, not moved on, would count)
    later = np.flatnonzero(step >= after)  # issued after the jump: moved on by the blocks left out
    if (dec.region_cnt[dec.cls[later]] == 0).any():  # on a unit idle in the region: its wait since its last
        return None  # instruction is not moved on (it grows with the blocks left out)
    full = np.where(later >= r0, later + extra * length, later)
    before = (step >= 0) & (step < k1)  # issued up to the jump: the same instruction in the full program
    if before.sum() + len(window) * (jumped + extra) + len(later) != len(program) or \
            len(short) + extra * length != len(program):
        return None
    last = extra * shift
    cycles = int(max(end[before].max(initial=0), (end[window] + (jumped + extra) * shift).max(initial=0),
                     (end[later] + last).max(initial=0)))

    def timing():
        out = [np.empty(len(program), np.int64) for _ in range(3)]
        idx = np.flatnonzero(before)
        b = np.arange(1, jumped + extra + 1, dtype=np.int64)[:, None]  # the window moved on b blocks
        filled = (window[None, :] + b * length).reshape(-1)
        for o, v, moved in zip(out, (start, end, unit), (shift, shift, 0)):
            o[idx] = v[idx]
            o[filled] = (v[window][None, :] + b * moved).reshape(-1)
            o[full] = v[later] + (last if moved else 0)
        return tuple(out)

    return dec, timing, cycles, ustats + extra * dec.jump["block_stats"], peak
