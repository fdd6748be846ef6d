"""Decode a program for one arch into flat int64 arrays (durations, queues, dependencies, buffer
allocations) and its event counts. Runs once in Python; the kernel then schedules the arrays.

Durations (cycles):

* LOAD / STORE: the DMA is busy ``⌈bytes·8 / dram.bandwidth⌉`` (+ DRAM row misses with the bank
  model: ``⌈rows opened / banks⌉ · row_miss_cycles``); data is complete ``dram.latency`` later.
* PRECOMPUTE: ``⌈m·⌈k/group⌉ / tables_per_cycle⌉`` busy, + ``table_unit.latency``.
* LMMA / BSMMA / MMA: ``sim.pe.get(arch.pe.type).run(GemmProblem, arch.pe.config(), "tile").cycles``.
* DEQUANT / VEC: ``⌈elems / (lanes · ops_per_cycle[op])⌉`` busy, + ``vector.latency``.
* Any buffer access (LOAD's write, STORE's read, ``rd``/``wr``) takes
  ``⌈bytes·8 / (width · ports · banks / gcd(stride, banks))⌉`` cycles; an instruction is busy at
  least that long (bank conflicts: a stride sharing a factor with the bank count hits fewer banks).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import chain

import numpy as np

from .. import pe as pe_registry
from ..arch import Arch
from ..errors import InputError
from ..isa import Program

#: unit classes, in kernel order; arrays come last and may have several instances
CLASSES = ("dma", "table", "vector", "sync", "array")
_CLASS_OF = {"LOAD": 0, "STORE": 0, "PRECOMPUTE": 1, "DEQUANT": 2, "VEC": 2, "SYNC": 3,
             "LMMA": 4, "BSMMA": 4, "MMA": 4}


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
    alloc_ptr: np.ndarray
    alloc_buf: np.ndarray
    alloc_bytes: np.ndarray
    free_ptr: np.ndarray
    free_buf: np.ndarray
    free_bytes: np.ndarray
    capacity: np.ndarray
    unit_names: list[str]
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
        self._pe_cache: dict[tuple, tuple[int, dict]] = {}
        self.bufs = {b.name: (i, b) for i, b in enumerate(arch.buffers)}

    def buf(self, name: str, where: str):
        if name not in self.bufs:
            raise InputError(f"{where}.buf", f"no buffer {name!r} in arch {self.arch.name!r}",
                             ", ".join(self.bufs))
        return self.bufs[name]

    def pe_cycles(self, ins, where: str) -> tuple[int, dict]:
        key = (ins["m"], ins["n"], ins["k"], ins["weights"], ins["acts"], ins["group"])
        if key not in self._pe_cache:
            model = pe_registry.get(self.arch.pe.type)
            problem = pe_registry.GemmProblem(m=key[0], n=key[1], k=key[2], weights=key[3], acts=key[4],
                                              group_size=key[5] or None)
            config = model.resolve(self.arch.pe.config())
            try:
                model.check(problem, config)
            except InputError as exc:
                raise InputError(f"{where}.{exc.field.lstrip('-')}", exc.problem, exc.allowed) from None
            res = model.run(problem, config, "tile")
            self._pe_cache[key] = (int(res.cycles), dict(res.events))
        return self._pe_cache[key]

    def durations(self, ins, where: str, ev) -> tuple[int, int]:
        """(busy cycles, latency after busy) of one instruction; adds its events to ``ev[comp][key]``."""
        a, op = self.arch, ins.op
        if op in ("LOAD", "STORE"):
            _, buf = self.buf(ins["buf"], where)
            nbytes, rows = ins["bytes"], ins["rows"]
            if rows > nbytes:
                raise InputError(f"{where}.rows", f"{rows} rows for {nbytes} bytes")
            occ = _ceil(nbytes * 8, a.dram.bandwidth)
            ev["dram"]["read_bits" if op == "LOAD" else "write_bits"] += nbytes * 8
            if a.dram.banks is not None:
                opened = _dram_rows(ins["addr"], nbytes, rows, ins["stride"], a.dram.banks.row_bytes)
                ev["dram"]["row_activations"] += opened
                occ += _ceil(opened, a.dram.banks.banks) * a.dram.banks.row_miss_cycles
            side = "write_bits" if op == "LOAD" else "read_bits"
            ev[f"buf:{buf.name}"][side] += nbytes * 8
            return max(occ, _access_cycles(buf, nbytes, ins["bstride"])), a.dram.latency
        if op == "PRECOMPUTE":
            tu = a.table_unit
            if tu is None:
                raise InputError(f"{where}.op", f"arch {a.name!r} has no table_unit for PRECOMPUTE")
            tables = ins["m"] * _ceil(ins["k"], tu.group)
            occ = _ceil(tables, tu.tables_per_cycle)
            ev["table"]["tables"] += tables
            ev["table"]["entries_written"] += tables * tu.entries
            ev["table"]["active_cycles"] += occ
            return occ, tu.latency
        if op in ("LMMA", "BSMMA", "MMA"):
            if op != a.pe.opcode:
                raise InputError(f"{where}.op", f"PE {a.pe.type!r} of arch {a.name!r} executes {a.pe.opcode}, not {op}",
                                 a.pe.opcode)
            cycles, pe_events = self.pe_cycles(ins, where)
            ev["array"]["active_cycles"] += cycles
            for k, v in pe_events.items():
                ev["array"][f"pe:{k}"] += int(v)
            return cycles, 0
        if op in ("DEQUANT", "VEC"):
            kind = "dequant" if op == "DEQUANT" else ins["op"]
            elems = ins["m"] * ins["n"] * ins["groups"] if op == "DEQUANT" else ins["elems"]
            occ = _ceil(elems, a.vector.lanes * a.vector.ops_per_cycle[kind])
            ev["vector"][f"elems:{kind}"] += elems
            ev["vector"]["active_cycles"] += occ
            return occ, a.vector.latency
        return 0, 0  # SYNC

    def access(self, ins, where: str, ev) -> int:
        """Cycles of the instruction's explicit buffer reads/writes (the slowest one); counts bits."""
        cycles = 0
        for key, items in (("read_bits", ins.rd), ("write_bits", ins.wr)):
            for name, nbytes, stride in items:
                _, buf = self.buf(name, f"{where}.{key[:-5]}")
                ev[f"buf:{name}"][key] += nbytes * 8
                cycles = max(cycles, _access_cycles(buf, nbytes, stride))
        return cycles


def _csr(rows: list, lengths: list[int], width: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """CSR arrays (ptr in entries, flat values) from per-instruction flat tuples of ``width``-int entries."""
    ptr = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=ptr[1:])
    return ptr, np.fromiter(chain.from_iterable(rows), np.int64, count=int(ptr[-1]) * width)


def decode(program: Program, arch: Arch) -> Decoded:
    """Flatten ``program`` for ``arch``; raises InputError naming the instruction on bad operands."""
    program.validate()
    d = _Decoder(arch)
    occ, dur, cls = [], [], []
    deps, dep_len, allocs, alloc_len, frees, free_len = [], [], [], [], [], []
    since_barrier: list[int] = []
    barrier = -1
    cache: dict = {}  # cost key -> (occ, dur, events); identical instructions are costed once
    lists: dict = {}  # alloc/free list -> flat (buffer index, bytes, ...) tuple
    uses: dict = defaultdict(int)
    bank_model = arch.dram.banks is not None
    for i, ins in enumerate(program.instrs):
        op = ins.op
        if not bank_model and (op == "LOAD" or op == "STORE"):  # the address matters only to the row model
            key = (op, ins.args[0], ins.args[2:], ins.rd, ins.wr)
        else:
            key = (op, ins.args, ins.rd, ins.wr)
        hit = cache.get(key)
        if hit is None:
            where = f"instr[{i}]" + (f" ({ins.label})" if ins.label else "")
            ev = defaultdict(lambda: defaultdict(int))
            o, lat = d.durations(ins, where, ev)
            o = max(o, d.access(ins, where, ev))
            hit = cache[key] = (o, o + lat, tuple((c, k, v) for c, kv in ev.items() for k, v in kv.items()),
                                _CLASS_OF[op])
        uses[key] += 1
        occ.append(hit[0])
        dur.append(hit[1])
        cls.append(hit[3])
        row = ins.deps
        if op == "SYNC" and not row:  # full barrier: waits for all before, all after wait for it
            row = since_barrier
            since_barrier, barrier = [i], i
        else:
            if barrier >= 0 and barrier not in row:
                row = (*row, barrier)
            since_barrier.append(i)
        deps.append(row)
        dep_len.append(len(row))
        for items, out, lens, what in ((ins.alloc, allocs, alloc_len, "alloc"), (ins.free, frees, free_len, "free")):
            flat = lists.get(items)
            if flat is None:
                flat = []
                for name, nbytes in items:
                    bi, buf = d.buf(name, f"instr[{i}].{what}")
                    if what == "alloc" and nbytes > buf.capacity:
                        raise InputError(f"instr[{i}].alloc", f"{nbytes} B never fit buffer {name!r} "
                                         f"({buf.capacity} B)")
                    flat += (bi, nbytes)
                flat = lists[items] = tuple(flat)
            out.append(flat)
            lens.append(len(items))
    events: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, count in uses.items():
        for comp, k, v in cache[key][2]:
            events[comp][k] += v * count
    dep_ptr, dep_idx = _csr(deps, dep_len)
    alloc_ptr, alloc_flat = _csr(allocs, alloc_len, 2)
    free_ptr, free_flat = _csr(frees, free_len, 2)
    cls = np.array(cls, np.int64)
    order = np.argsort(cls, kind="stable")
    q_ptr = np.searchsorted(cls[order], np.arange(len(CLASSES) + 1)).astype(np.int64)
    counts = np.array([1, 1, 1, 1, arch.arrays], np.int64)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    unit_names = ["dma", "table", "vector", "sync"] + [f"array{j}" if arch.arrays > 1 else "array"
                                                       for j in range(arch.arrays)]
    return Decoded(occ=np.array(occ, np.int64), dur=np.array(dur, np.int64), cls=cls, q_ptr=q_ptr,
                   q_idx=order.astype(np.int64), class_first=first, class_count=counts, dep_ptr=dep_ptr,
                   dep_idx=dep_idx, alloc_ptr=alloc_ptr, alloc_buf=alloc_flat[0::2].copy(),
                   alloc_bytes=alloc_flat[1::2].copy(), free_ptr=free_ptr, free_buf=free_flat[0::2].copy(),
                   free_bytes=free_flat[1::2].copy(),
                   capacity=np.array([b.capacity for b in arch.buffers], np.int64), unit_names=unit_names,
                   events={c: dict(kv) for c, kv in events.items()})
