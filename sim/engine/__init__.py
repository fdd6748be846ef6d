"""The engine (``sim.engine``): runs a program on an arch, units concurrent, limited by dependencies,
buffer capacity, bank conflicts and DRAM bandwidth/latency.

API::

    from sim import arch, engine, isa
    stats = engine.run(isa.load("examples/lmma_tile.s"), arch.load("lut-tc-28nm"))
    stats.cycles, stats.units["array"]["utilization"], stats.events["dram"]["read_bits"]
    json.dump(stats.chrome_trace(), open("trace.json", "w"))   # Perfetto / chrome://tracing

Model: :mod:`sim.engine.decode` (durations of each instruction) and :mod:`sim.engine.kernel`
(the schedule). Double buffering is not special-cased: it follows from ``alloc``/``free`` and
dependencies. Energy and area of a run: :mod:`sim.cost`.

Model limits (by design, stated so results can be read correctly):

* each unit class issues in program order; the arrays share one in-order queue (an array
  instruction waiting for its operands holds back the next one even if another array is idle);
* one DMA engine serves LOAD and STORE; DRAM latency overlaps the next transfer, bandwidth does not;
* bank conflicts are per instruction (its stride against the bank count); port contention between
  concurrent instructions on one buffer is not modelled.
"""

from __future__ import annotations

import numpy as np

from ..arch import Arch
from ..errors import InputError
from ..isa import Program
from ..isa.columns import ColumnProgram
from ..jit import numba_loaded
from . import periodic
from .decode import CLASSES, Decoded, decode
from .kernel import schedule
from .stats import Stats


class _PythonBudget:
    """How many more instructions this process schedules with the kernel as plain Python before it loads Numba.

    Plain Python takes about 5 µs an instruction; importing Numba and loading the compiled kernel from its disk
    cache about 0.3 s, after which an instruction costs about 0.1 µs (measured with benchmarks/bench_e2e.py's
    decode, whose 17 programs have 21 K instructions). So the first 50 K instructions of a process (a decode step)
    run without Numba, and anything larger compiles. Only the speed depends on this: both ways give the same
    schedule (tests/sim/engine/test_kernel_modes.py).
    """

    def __init__(self, instructions: int):
        self.left = instructions

    def take(self, instructions: int) -> bool:
        """Whether a program of ``instructions`` runs as plain Python (then counted against the budget)."""
        if instructions > self.left or numba_loaded():
            return False
        self.left -= instructions
        return True


_PYTHON_BUDGET = _PythonBudget(50_000)


def run_decoded(dec: Decoded, python: bool | None = None,
                periodic: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Schedule decoded arrays: (start, end, unit, unit_stats, peak, status); status -1 = ok, else the
    index of an instruction whose buffer space is never freed. ``python`` runs the kernel as plain Python (on
    lists) or compiled; by default plain Python while the process has scheduled few instructions and not loaded Numba
    (:class:`_PythonBudget`). ``periodic`` lets the kernel extrapolate a repeated block (exact; False: every
    instruction scheduled one by one, as a check); ``dec.skipped_blocks`` tells how many blocks it filled in and
    ``dec.jump`` how (:func:`sim.engine.kernel.schedule`'s ``info``, ``order``, ``step`` and one block's unit
    stats; None without a jump)."""
    n, n_units, n_bufs, n_cls = dec.occ.shape[0], len(dec.unit_names), dec.capacity.shape[0], dec.class_first.shape[0]
    if python is None:
        python = _PYTHON_BUDGET.take(n)
    inputs = [dec.occ, dec.dur, dec.q_ptr, dec.q_idx, dec.class_first, dec.class_count, dec.dep_ptr, dec.dep_idx,
              dec.alloc, dec.free, dec.list_ptr, dec.list_buf, dec.list_bytes, dec.capacity]
    if python:
        kernel, inputs, head = schedule.py_func, [a.tolist() for a in inputs], dec.q_ptr[:-1].tolist()
        def zeros(k):
            return [0] * k
        def flags(k):
            return [False] * k
    else:
        kernel, head = schedule, dec.q_ptr[:-1].copy()
        def zeros(k):
            return np.zeros(k, np.int64)
        def flags(k):
            return np.zeros(k, np.bool_)
    start, end, unit, ustats, peak, ufree, used, ht, hi = (zeros(k) for k in (n, n, n, 4 * n_units, n_bufs, n_units,
                                                                                n_bufs, n + 1, n + 1))
    region = [dec.region, dec.region_cnt, dec.region_base, dec.region_fixed]
    if not periodic:
        region[0] = np.zeros(5, np.int64)
    if python:
        region = [a.tolist() for a in region]
    else:
        region = [np.ascontiguousarray(a, np.int64) for a in region]
    big = n if region[0][1] else 1  # per-instruction work space of the extrapolation, only when it can happen
    work = [zeros(big), zeros(big), zeros(n_units), zeros(4 * n_units), zeros(n_cls), flags(n_cls), zeros(n_bufs),
            zeros(big), zeros(5)]
    status = kernel(*inputs, start, end, unit, ustats, peak, ufree, head, flags(n_cls), used, flags(n), ht, hi,
                    *region, *work)
    dec.skipped_blocks = int(work[-1][0])
    dec.jump = None if not dec.skipped_blocks else {
        "info": [int(x) for x in work[-1]], "order": np.asarray(work[7], np.int64),
        "step": np.asarray(work[0], np.int64), "block_stats": np.asarray(work[3], np.int64).reshape(n_units, 4)}
    start, end, unit, ustats, peak = (np.asarray(x, np.int64) for x in (start, end, unit, ustats, peak))
    return start, end, unit, ustats.reshape(n_units, 4), peak, int(status)


def assumptions(a: Arch) -> dict:
    """The arch constants a run depends on, with their sources."""
    return {"arch": a.name, "clock_mhz": a.clock_mhz, "node_nm": a.node_nm, "pe": a.pe.type,
            "pe_model_mode": "tile", "arrays": a.arrays,
            "dram": {"bandwidth_bits_per_cycle": a.dram.bandwidth, "latency_cycles": a.dram.latency,
                     "pj_per_bit": a.dram.pj_per_bit, "source": a.dram.pj_source},
            "buffers": {b.name: {"bytes": b.capacity, "banks": b.banks, "ports": b.ports, "width_bits": b.width}
                        for b in a.buffers},
            "pnr_factor": a.pnr_factor, "arch_sources": list(a.sources)}


def run(program: Program | ColumnProgram, arch: Arch) -> Stats:
    """Execute ``program`` on ``arch``; see :class:`Stats` for what comes back."""
    short = periodic.run(program, arch, decode, run_decoded) if isinstance(program, ColumnProgram) else None
    if short is not None:  # the schedule read off a program with fewer copies of its repeated block
        dec, timing, cycles, ustats, peak = short
        dec.ops = program.op_names()
    else:
        dec = decode(program, arch)
        start, end, unit, ustats, peak, status = run_decoded(dec)
        if status >= 0:
            ins = program.instrs[status]
            raise InputError(f"instr[{status}].alloc", f"{ins.op} waits forever for buffer space "
                             f"{list(ins.alloc)}: no earlier instruction frees enough")
        cycles = int(end.max()) if len(end) else 0
        def timing():
            return start, end, unit
    units = {}
    for u, name in enumerate(dec.unit_names):
        if name == "sync" or (name == "table" and arch.table_unit is None) or (
                name == "matrix" and arch.matrix_unit is None):
            continue
        busy, sdep, sspace, count = (int(x) for x in ustats[u])
        units[name] = {"busy": busy, "stall_dep": sdep, "stall_space": sspace,
                       "idle": cycles - busy - sdep - sspace, "utilization": busy / cycles if cycles else 0.0,
                       "instructions": count}
    if arch.arrays > 1:  # all arrays together; utilization over arrays x cycles
        inst = [units[f"array{j}"] for j in range(arch.arrays)]
        agg = {k: sum(u[k] for u in inst) for k in ("busy", "stall_dep", "stall_space", "idle", "instructions")}
        agg["utilization"] = agg["busy"] / (cycles * arch.arrays) if cycles else 0.0
        units["array"] = agg
    return Stats(cycles=cycles, units=units, events=dec.events,
                 peak_bytes={b.name: int(p) for b, p in zip(arch.buffers, peak)}, timing=timing,
                 unit_names=dec.unit_names, ops=dec.ops, clock_mhz=arch.clock_mhz,
                 assumptions=assumptions(arch))


__all__ = ["CLASSES", "Decoded", "Stats", "decode", "run", "run_decoded"]
