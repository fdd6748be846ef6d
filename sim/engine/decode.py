"""Decode a program for one arch into flat int64 arrays (durations, queues, dependencies, buffer
allocations) and its event counts; the kernel then schedules the arrays.

The program is read in columns (:class:`sim.isa.columns.ColumnProgram`; a :class:`Program` is converted
first): each distinct instruction template and alloc/free list is costed once in Python, and the
per-instruction arrays are gathered from those with numpy, so decoding costs little more per instruction
than the kernel does. Only the DRAM row model looks at instructions one by one (their addresses).

Durations (cycles):

* LOAD / STORE: the DMA is busy ``⌈bytes·8 / dram.bandwidth⌉`` (+ DRAM row misses with the bank
  model: ``⌈rows opened / banks⌉ · row_miss_cycles``); data is complete ``dram.latency`` later.
* PRECOMPUTE: ``⌈m·⌈k/group⌉ / tables_per_cycle⌉`` busy, + ``table_unit.latency``.
* LMMA / BSMMA / MMA: ``sim.pe.tile_cycles(arch.pe.type, config, GemmProblem).cycles`` (the PE's
  tile model, the same entry the compiler's tile search uses); ``config`` is ``arch.pe.config()`` with the
  instruction's ``map`` (the mapper's dataflow and mapping, :func:`sim.pe.config_of`) applied.
* FMMA: the tile model of the arch's ``matrix_unit`` PE grid (same entry as the array's, with its config).
* DEQUANT / VEC: ``⌈elems / (lanes · ops_per_cycle[op])⌉`` busy, + ``vector.latency``; a DEQUANT's elems are
  m·n·(groups + acc_in): a chunk that adds the FP32 accumulator kept in obuf reads one more term per output.
* Any buffer access (LOAD's write, STORE's read, ``rd``/``wr``) takes
  ``⌈bytes·8 / (width · ports · banks / gcd(stride, banks))⌉`` cycles; an instruction is busy at
  least that long (bank conflicts: a stride sharing a factor with the bank count hits fewer banks).

Events of instructions with floating-point activations are also counted by format (``table``
``tables:<acts>``, ``array`` ``active_cycles:<acts>``) so that the cost model charges the FP datapath
and their PE-cycles of useful work, ``pe_active_cycles:<acts>``, (:mod:`sim.cost.energy`); integer activations add
no such keys.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain

import numpy as np

from .. import pe as pe_registry
from ..arch import Arch
from ..errors import InputError
from ..isa import Program
from ..isa.columns import DMA_OPS, ColumnProgram
from ..pe.base import ACTIVE_EVENT, INT_ACTIVATIONS

#: unit classes, in kernel order; arrays come last and may have several instances
CLASSES = ("dma", "table", "vector", "sync", "matrix", "array")
_CLASS_OF = {"LOAD": 0, "STORE": 0, "PRECOMPUTE": 1, "DEQUANT": 2, "VEC": 2, "SYNC": 3, "FMMA": 4,
             "LMMA": 5, "BSMMA": 5, "MMA": 5}


@dataclass
class Decoded:
    """Flat arrays the kernel consumes (all int64) plus the events counted while decoding."""

    occ: np.ndarray
    dur: np.ndarray
    cls: np.ndarray
    q_ptr: np.ndarray
    q_idx: np.ndarray
    class_first: np.ndarray
    class_count: np.ndarray
    dep_ptr: np.ndarray
    dep_idx: np.ndarray
    alloc: np.ndarray  # per instruction: its alloc list, one of list_ptr's
    free: np.ndarray  # per instruction: its free list
    list_ptr: np.ndarray  # CSR of the distinct alloc/free lists: list l is list_buf/list_bytes[ptr[l]:ptr[l + 1]]
    list_buf: np.ndarray  # buffer index (into arch.buffers)
    list_bytes: np.ndarray
    capacity: np.ndarray
    unit_names: list[str]
    region: np.ndarray = field(default_factory=lambda: np.zeros(5, np.int64))  # see find_region
    region_cnt: np.ndarray = field(default_factory=lambda: np.zeros(len(CLASSES), np.int64))
    region_base: np.ndarray = field(default_factory=lambda: np.zeros(len(CLASSES), np.int64))
    region_fixed: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    skipped_blocks: int = 0  # blocks of the region the kernel filled in (run_decoded)
    jump: dict | None = None  # how (run_decoded)
    ops: Sequence[str] = field(default_factory=list)  # opcode per instruction (lazy: ColumnProgram.op_names)
    events: dict[str, dict[str, int]] = field(default_factory=dict)


def _ceil(a: int, b: float) -> int:
    return int(math.ceil(a / b))


def _access_cycles(buf, nbytes: int, stride: int) -> int:
    banks = buf.banks // math.gcd(stride, buf.banks)
    return _ceil(nbytes * 8, buf.width * buf.ports * banks)


def _dram_rows(addr: int, nbytes: int, rows: int, stride: int, row_bytes: int) -> int:
    """DRAM rows opened by a (2-D) transfer: per-segment spans when segments are a row or more
    apart, else the span of the whole region."""
    seg = _ceil(nbytes, rows)
    step = stride or seg
    if rows == 1 or step < row_bytes:
        last = addr + step * (rows - 1) + seg - 1
        return last // row_bytes - addr // row_bytes + 1
    return sum((addr + r * step + seg - 1) // row_bytes - (addr + r * step) // row_bytes + 1 for r in range(rows))


class _Decoder:
    def __init__(self, arch: Arch):
        self.arch = arch
        self.pe_config = arch.pe.config()
        self.bufs = {b.name: (i, b) for i, b in enumerate(arch.buffers)}

    def buf(self, name: str, where: str):
        if name not in self.bufs:
            raise InputError(f"{where}.buf", f"no buffer {name!r} in arch {self.arch.name!r}",
                             ", ".join(self.bufs))
        return self.bufs[name]

    def pe_cycles(self, ins, where: str, unit=None) -> pe_registry.TileTiming:
        """The array (or, ``unit`` given, matrix-unit) instruction's cycles and events (:func:`sim.pe.tile_cycles`);
        an unsupported problem is an InputError naming the instruction."""
        unit = unit or self.arch.pe
        problem = pe_registry.GemmProblem(m=ins["m"], n=ins["n"], k=ins["k"], weights=ins["weights"],
                                          acts=ins["acts"], group_size=ins["group"] or None)
        try:
            config = pe_registry.config_of(self.pe_config if unit is self.arch.pe else unit.config(), ins["map"])
            return pe_registry.tile_cycles(unit.type, config, problem)
        except InputError as exc:
            raise InputError(f"{where}.{exc.field.lstrip('-')}", exc.problem, exc.allowed) from None

    def durations(self, ins, where: str, ev) -> tuple[int, int]:
        """(busy cycles, latency after busy) of one instruction template, DRAM row misses aside (they depend on
        the address: :func:`decode` adds them); adds its events to ``ev[comp][key]``."""
        a, op = self.arch, ins.op
        if op in ("LOAD", "STORE"):
            _, buf = self.buf(ins["buf"], where)
            nbytes, rows = ins["bytes"], ins["rows"]
            if rows > nbytes:
                raise InputError(f"{where}.rows", f"{rows} rows for {nbytes} bytes")
            ev["dram"]["read_bits" if op == "LOAD" else "write_bits"] += nbytes * 8
            if a.dram.banks is not None:
                ev["dram"]["row_activations"] += 0  # counted per instruction by decode
            side = "write_bits" if op == "LOAD" else "read_bits"
            ev[f"buf:{buf.name}"][side] += nbytes * 8
            return _ceil(nbytes * 8, a.dram.bandwidth), a.dram.latency
        if op == "PRECOMPUTE":
            tu = a.table_unit
            if tu is None:
                raise InputError(f"{where}.op", f"arch {a.name!r} has no table_unit for PRECOMPUTE")
            tables = ins["m"] * _ceil(ins["k"], tu.group)
            occ = _ceil(tables, tu.tables_per_cycle)
            ev["table"]["tables"] += tables
            ev["table"]["entries_written"] += tables * tu.entries
            ev["table"]["active_cycles"] += occ
            if ins["acts"] not in INT_ACTIVATIONS:
                ev["table"][f"tables:{ins['acts']}"] += tables
            return occ, tu.latency
        if op in ("LMMA", "BSMMA", "MMA"):
            if op != a.pe.opcode:
                raise InputError(f"{where}.op", f"PE {a.pe.type!r} of arch {a.name!r} executes {a.pe.opcode}, not {op}",
                                 a.pe.opcode)
            timing = self.pe_cycles(ins, where)
            ev["array"]["active_cycles"] += timing.cycles
            if ins["acts"] not in INT_ACTIVATIONS:
                ev["array"][f"active_cycles:{ins['acts']}"] += timing.cycles
                ev["array"][f"pe_active_cycles:{ins['acts']}"] += timing.events.get(ACTIVE_EVENT, 0)
            for k, v in timing.events.items():
                ev["array"][f"pe:{k}"] += v
            return timing.cycles, 0
        if op == "FMMA":
            if a.matrix_unit is None:
                raise InputError(f"{where}.op", f"arch {a.name!r} has no matrix_unit for FMMA")
            timing = self.pe_cycles(ins, where, a.matrix_unit)
            ev["matrix"]["active_cycles"] += timing.cycles
            ev["matrix"]["macs"] += ins["m"] * ins["n"] * ins["k"]
            for k, v in timing.events.items():
                ev["matrix"][f"pe:{k}"] += v
            return timing.cycles, 0
        if op in ("DEQUANT", "VEC"):
            kind = "dequant" if op == "DEQUANT" else ins["op"]
            elems = ins["m"] * ins["n"] * (ins["groups"] + ins["acc_in"]) if op == "DEQUANT" else ins["elems"]
            occ = _ceil(elems, a.vector.lanes * a.vector.ops_per_cycle[kind])
            ev["vector"][f"elems:{kind}"] += elems
            ev["vector"]["active_cycles"] += occ
            return occ, a.vector.latency
        return 0, 0  # SYNC

    def access(self, ins, where: str, ev) -> int:
        """Cycles of the instruction's buffer accesses (the slowest one: a DMA's implicit one, ``rd``, ``wr``);
        counts the ``rd``/``wr`` bits."""
        cycles = 0
        if ins.op in ("LOAD", "STORE"):
            cycles = _access_cycles(self.buf(ins["buf"], where)[1], ins["bytes"], ins["bstride"])
        for key, items in (("read_bits", ins.rd), ("write_bits", ins.wr)):
            for name, nbytes, stride in items:
                _, buf = self.buf(name, f"{where}.{key[:-5]}")
                ev[f"buf:{name}"][key] += nbytes * 8
                cycles = max(cycles, _access_cycles(buf, nbytes, stride))
        return cycles


class _Errors:
    """The input error of the earliest instruction (decode checks templates and lists, not instructions in
    order, so it keeps the first error by instruction index, then by check order)."""

    def __init__(self):
        self.first: tuple | None = None

    def add(self, index: int, phase: int, exc: InputError) -> None:
        if self.first is None or (index, phase) < self.first[:2]:
            self.first = (index, phase, exc)

    def raise_first(self) -> None:
        if self.first is not None:
            raise self.first[2]


def _first_use(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values, index of the first occurrence of each), ordered by first occurrence; O(n) (values are
    small non-negative indices: templates, lists)."""
    if len(ids) == 0:
        return ids[:0].copy(), ids[:0].copy()
    first = np.full(int(ids.max()) + 1, len(ids), np.int64)
    np.minimum.at(first, ids, np.arange(len(ids), dtype=np.int64))
    values = np.flatnonzero(first < len(ids))
    order = np.argsort(first[values], kind="stable")
    return values[order], first[values][order]


def _where(cp: ColumnProgram, i: int) -> str:
    label = cp.labels.get(i)
    return f"instr[{i}]" + (f" ({label})" if label else "")


def _expand_barriers(dep_ptr: np.ndarray, dep_idx: np.ndarray, barrier: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dependencies with full barriers (SYNC without deps) made explicit: a barrier waits for everything since
    the previous one, and everything after it waits for it."""
    rows, since, last = [], [], -1
    for i in range(len(dep_ptr) - 1):
        row = dep_idx[dep_ptr[i]:dep_ptr[i + 1]].tolist()
        if barrier[i]:
            row, since, last = since, [i], i
        else:
            if last >= 0 and last not in row:
                row.append(last)
            since.append(i)
        rows.append(row)
    ptr = np.zeros(len(rows) + 1, np.int64)
    np.cumsum([len(r) for r in rows], out=ptr[1:])
    return ptr, np.fromiter(chain.from_iterable(rows), np.int64, count=int(ptr[-1]))


def decode(program: Program | ColumnProgram, arch: Arch, extra_counts: np.ndarray | None = None) -> Decoded:
    """Flatten ``program`` for ``arch``; raises InputError naming the instruction on bad operands. ``extra_counts``
    (per template) adds instructions to the event counts only (the copies a shortened program leaves out,
    :mod:`sim.engine.periodic`).

    Each distinct instruction template and alloc/free list is costed once; per-instruction arrays come from
    them by indexing (a :class:`Program` is first converted to columns)."""
    if isinstance(program, ColumnProgram):
        cp = program
        cp.validate()
    else:
        program.validate()
        cp = ColumnProgram.from_program(program)
    c = cp.columns
    tmpl, nt = c["tmpl"], len(cp.templates)
    d = _Decoder(arch)
    errors = _Errors()
    busy = np.zeros(nt, np.int64)
    access = np.zeros(nt, np.int64)
    latency = np.zeros(nt, np.int64)
    cls_t = np.zeros(nt, np.int64)
    is_dma = np.zeros(nt, np.bool_)
    is_sync = np.zeros(nt, np.bool_)
    t_events = []
    used, first = _first_use(tmpl)
    for t, i in zip(used.tolist(), first.tolist()):
        ins = cp.templates[t]
        ev = defaultdict(lambda: defaultdict(int))
        try:
            busy[t], latency[t] = d.durations(ins, _where(cp, i), ev)
            access[t] = d.access(ins, _where(cp, i), ev)
        except InputError as exc:
            errors.add(i, 0, exc)
        cls_t[t] = _CLASS_OF[ins.op]
        is_dma[t] = ins.op in DMA_OPS
        is_sync[t] = ins.op == "SYNC"
        t_events.append((t, ev))
    lists = _lists(cp, d, errors)
    errors.raise_first()
    events: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    count = np.bincount(tmpl, minlength=nt)
    if extra_counts is not None:
        count = count + extra_counts
    for t, ev in t_events:
        for comp, kv in ev.items():
            for k, v in kv.items():
                events[comp][k] += v * int(count[t])
    if arch.dram.banks is not None:
        occ = np.maximum(busy[tmpl] + _row_misses(cp, arch, is_dma, events), access[tmpl])
        dur = occ + latency[tmpl]
    else:  # durations per template, gathered once
        occ_t = np.maximum(busy, access)
        occ, dur = occ_t[tmpl], (occ_t + latency)[tmpl]
    cls = cls_t[tmpl]
    dep_ptr, dep_idx = c["dep_ptr"], c["dep_idx"]
    expanded = False
    if is_sync[used].any():
        syncs = np.flatnonzero(is_sync[tmpl])
        if (dep_ptr[syncs + 1] == dep_ptr[syncs]).any():  # a SYNC without dependencies: a full barrier
            barrier = np.zeros(len(tmpl), np.bool_)
            barrier[syncs[dep_ptr[syncs + 1] == dep_ptr[syncs]]] = True
            dep_ptr, dep_idx = _expand_barriers(dep_ptr, dep_idx, barrier)
            expanded = True
    length, offset, flat = lists
    order = np.argsort(cls.astype(np.int8), kind="stable")  # int8: numpy's stable sort is a radix sort, O(n)
    q_ptr = np.searchsorted(cls[order], np.arange(len(CLASSES) + 1)).astype(np.int64)
    counts = np.array([1, 1, 1, 1, 1, arch.arrays], np.int64)
    first_unit = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    unit_names = ["dma", "table", "vector", "sync", "matrix"] + [f"array{j}" if arch.arrays > 1 else "array"
                                                       for j in range(arch.arrays)]
    dec = Decoded(occ=occ, dur=dur, cls=cls, q_ptr=q_ptr, q_idx=order.astype(np.int64), class_first=first_unit,
                   class_count=counts, dep_ptr=dep_ptr, dep_idx=dep_idx, alloc=c["alloc"],
                   free=c["free"], list_ptr=np.append(offset, offset[-1] + length[-1]).astype(np.int64),
                   list_buf=flat[:, 0].copy(), list_bytes=flat[:, 1].copy(),
                   capacity=np.array([b.capacity for b in arch.buffers], np.int64), unit_names=unit_names,
                   ops=cp.op_names(), events={c: dict(kv) for c, kv in events.items()})
    find_region(dec, cp.regions, copied=not expanded, same_durations=arch.dram.banks is None)
    return dec


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` of a 1-D array, without it: a plain ``np.unique`` imports numpy.ma on its first call (about
    8 ms of a ``lutsim simulate`` decode step)."""
    s = np.sort(a)
    keep = np.ones(len(s), np.bool_)
    keep[1:] = s[1:] != s[:-1]
    return s[keep]


def find_region(dec: Decoded, candidates, copied: bool = False, same_durations: bool = False) -> None:
    """Set ``dec.region`` (r0, L, C, D, pivot class), ``region_cnt``, ``region_base`` and ``region_fixed`` (see
    :func:`sim.engine.kernel.schedule`) from the largest of ``candidates`` ((r0, L, C): C copies of an L-instruction
    block from r0, :attr:`ColumnProgram.regions`) that the decoded arrays bear out: per copy the same durations,
    classes and alloc/free lists, and each dependency either the same in every copy or moved on by L per copy
    (reaching D copies back at most). None found: region stays L = 0 (no extrapolation).

    ``copied``: the columns are such copies by construction (:meth:`ColumnProgram.repeat` copies templates, lists
    and dependency counts, and moves dependencies, as said; no full barrier rewrote them), so only what decode
    adds is compared: the durations, unless ``same_durations`` (no per-address DRAM row model either)."""
    n_cls = dec.class_first.shape[0]
    for r0, length, copies in sorted(candidates, key=lambda r: -r[1] * r[2])[:3]:
        if copies < 6 or length <= 0 or r0 + length * copies > len(dec.occ):
            continue
        rows = slice(r0, r0 + length * copies)
        checked = () if copied and same_durations else (dec.occ,) if copied else (dec.occ, dec.dur, dec.cls,
                                                                                 dec.alloc, dec.free)
        if not all(np.array_equal(a[rows].reshape(copies, length), np.broadcast_to(a[r0:r0 + length], (copies, length)))
                   for a in checked):
            continue
        lens = np.diff(dec.dep_ptr[r0:r0 + (length * copies if not copied else length) + 1])
        if not copied and not (lens.reshape(copies, length) == lens[:length]).all():
            continue
        lens = lens[:length]
        per_copy = int(lens.sum())
        deps = dec.dep_idx[dec.dep_ptr[r0]:dec.dep_ptr[r0] + per_copy * (copies if not copied else 2)]
        deps = deps.reshape(-1, per_copy) if per_copy else np.zeros((2, 0), np.int64)
        moved = deps[1] - deps[0] == length
        if not copied and not (deps == deps[0] + np.arange(copies, dtype=np.int64)[:, None] * length * moved).all():
            continue
        owner = np.repeat(np.arange(r0, r0 + length, dtype=np.int64), lens)
        back = owner[moved] - deps[0][moved]
        reach = int(-(-back.max() // length)) if len(back) else 0
        cnt = np.bincount(dec.cls[r0:r0 + length], minlength=n_cls).astype(np.int64)
        dec.region = np.array([r0, length, copies, reach, int(np.flatnonzero(cnt)[-1])], np.int64)
        dec.region_cnt = cnt
        dec.region_base = np.bincount(dec.cls[:r0], minlength=n_cls).astype(np.int64)
        dec.region_fixed = _sorted_unique(deps[0][~moved].astype(np.int64))
        return


def _lists(cp: ColumnProgram, d: _Decoder, errors: _Errors) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(length, offset, flat (buffer index, bytes) rows) of every alloc/free list; records unknown buffers and
    allocations larger than their buffer against the first instruction that uses the list."""
    c = cp.columns
    length = np.array([len(items) for items in cp.lists], np.int64)
    offset = np.zeros(len(cp.lists), np.int64)
    np.cumsum(length[:-1], out=offset[1:])
    flat = np.zeros((int(length.sum()), 2), np.int64)
    for what, phase in (("alloc", 1), ("free", 2)):
        for lst, i in zip(*(x.tolist() for x in _first_use(c[what]))):
            for j, (name, nbytes) in enumerate(cp.lists[lst]):
                try:
                    bi, buf = d.buf(name, f"instr[{i}].{what}")
                    if what == "alloc" and nbytes > buf.capacity:
                        raise InputError(f"instr[{i}].alloc", f"{nbytes} B never fit buffer {name!r} "
                                         f"({buf.capacity} B)")
                except InputError as exc:
                    errors.add(i, phase, exc)
                    continue
                flat[offset[lst] + j] = (bi, nbytes)
    return length, offset, flat


def _row_misses(cp: ColumnProgram, arch: Arch, is_dma: np.ndarray, events) -> np.ndarray:
    """Per instruction: the DMA cycles of DRAM row misses (bank model; they depend on the address, which
    matters only modulo the row size); adds ``dram.row_activations``."""
    c = cp.columns
    bank = arch.dram.banks
    extra = np.zeros(len(cp), np.int64)
    cache: dict = {}
    opened_total = 0
    for i in np.flatnonzero(is_dma[c["tmpl"]]).tolist():
        t, addr = int(c["tmpl"][i]), int(c["addr"][i])
        key = (t, addr % bank.row_bytes)
        if key not in cache:
            ins = cp.templates[t]
            cache[key] = _dram_rows(addr, ins["bytes"], ins["rows"], ins["stride"], bank.row_bytes)
        opened = cache[key]
        opened_total += opened
        extra[i] = _ceil(opened, bank.banks) * bank.row_miss_cycles
    events["dram"]["row_activations"] += opened_total
    return extra
