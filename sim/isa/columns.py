"""Compiled programs stored in columns: a drop-in for :class:`~sim.isa.instr.Program` that is cheap to build
and to decode.

A compiled GEMM has tens of thousands of instructions but only a handful of distinct shapes (the LOAD of a
weight tile at another address, the same LMMA chained to another predecessor). A :class:`ColumnProgram`
keeps each distinct shape once, as a *template* :class:`Instr` (DMA address 0, no dependencies, no
alloc/free), each distinct alloc/free list once, and per instruction only integers: its template, its DMA
address, its dependencies, and its alloc and free lists. The engine decodes these columns with array
operations (:mod:`sim.engine.decode`) instead of looking at instructions one by one.

``instrs`` materializes the equivalent list of :class:`Instr` on demand (text and binary output, tests), so
a ColumnProgram can be used wherever a Program is read. Build one with :meth:`ColumnProgram.template`,
:meth:`ColumnProgram.space` and :meth:`ColumnProgram.add` (and :meth:`ColumnProgram.repeat` for a block that
recurs: the columns of its copies are made with array operations), then :meth:`ColumnProgram.freeze` it; the
compiler's instructions are well formed by construction, so no operand is re-checked here (tests check
compiled programs through :func:`make`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from .instr import SCHEMA, Instr, Program

#: opcodes whose ``addr`` operand is kept per instruction (the template holds 0)
DMA_OPS = ("LOAD", "STORE")
_ADDR = 1  # position of ``addr`` in the DMA operand schema (buf, addr, bytes, rows, stride, bstride)
assert list(SCHEMA["LOAD"])[_ADDR] == "addr" and list(SCHEMA["STORE"])[_ADDR] == "addr"
_DEFAULTS = {op: tuple((name, spec[1]) for name, spec in schema.items()) for op, schema in SCHEMA.items()}


class ColumnProgram:
    """A program in columns (see the module docstring). ``arch`` optionally names the arch it was compiled for;
    ``labels`` maps instruction index -> label (programs converted from text)."""

    def __init__(self, arch: str | None = None):
        self.arch = arch
        self.templates: list[Instr] = []
        self.lists: list[tuple] = [()]  # interned alloc/free lists; 0 is the empty list
        self.labels: dict[int, str] = {}
        self.tmpl: list[int] = []
        self.addr: list[int] = []
        self.deps: list[int] = []  # all dependencies, flat
        self.dep_len: list[int] = []
        self.alloc: list[int] = []
        self.free: list[int] = []
        self._blocks: list[dict[str, np.ndarray]] = []  # columns of instructions before those in the lists above
        self._block_len = 0  # instructions in _blocks
        self._block_deps = 0  # dependencies in _blocks
        self._template_ids: dict = {}
        self._template_calls: dict = {}
        self._cache: dict = {}  # columns / instrs, valid while the length is unchanged
        self._frozen: dict | None = None  # the columns as arrays, built on first read after :meth:`freeze`
        self._finished = False  # frozen: no more instructions
        self._list_ids: dict = {(): 0}
        self._valid = False  # validate() passed on the frozen program
        #: (first instruction, block length L, copies C) of each :meth:`repeat`: instructions first .. first + C·L
        #: are C copies of one block (the engine may simulate a few and extrapolate: sim.engine.decode.find_region)
        self.regions: list[tuple[int, int, int]] = []

    # -- building ---------------------------------------------------------------------------------------------
    def template(self, opcode: str, /, rd=(), wr=(), **args) -> int:
        """Index of the template ``opcode`` with ``args`` (schema defaults filled; a DMA's ``addr`` is given to
        :meth:`add`) and ``rd``/``wr`` lists of (buf, bytes) pairs (stride 1)."""
        call = (opcode, tuple(rd), tuple(wr), *args.items())  # the same call again: no rebuilding
        i = self._template_calls.get(call)
        if i is None:
            if opcode in DMA_OPS:
                args["addr"] = 0
            full = tuple((name, args.get(name, default)) for name, default in _DEFAULTS[opcode])
            i = self._template_calls[call] = self._intern_template(
                Instr(opcode, full, rd=tuple((b, n, 1) for b, n in rd), wr=tuple((b, n, 1) for b, n in wr)))
        return i

    def _intern_template(self, t: Instr) -> int:
        key = (t.op, t.args, t.rd, t.wr)
        i = self._template_ids.get(key)
        if i is None:
            i = self._template_ids[key] = len(self.templates)
            self.templates.append(t)
        return i

    def space(self, items) -> int:
        """Index of the alloc/free list ``items`` ((buf, bytes) pairs)."""
        items = tuple(items)
        i = self._list_ids.get(items)
        if i is None:
            i = self._list_ids[items] = len(self.lists)
            self.lists.append(items)
        return i

    def add(self, template: int, deps=(), alloc: int = 0, free: int = 0, addr: int = 0) -> int:
        """Append an instruction (template index, dependencies, alloc/free list indices, DMA address); its index."""
        if self._finished:
            raise RuntimeError("ColumnProgram.add after freeze(): the program is finished")
        self.tmpl.append(template)
        self.addr.append(addr)
        self.deps.extend(deps)
        self.dep_len.append(len(deps))
        self.alloc.append(alloc)
        self.free.append(free)
        return self._block_len + len(self.tmpl) - 1

    def mark(self) -> tuple[int, int]:
        """(instructions, dependencies) so far: a block boundary for :meth:`repeat`."""
        return self._block_len + len(self.tmpl), self._block_deps + len(self.deps)

    def repeat(self, start: tuple[int, int], stop: tuple[int, int], times: int, shift_from: int,
               addr: dict[int, np.ndarray] | None = None, tmpl: dict[int, np.ndarray] | None = None,
               alloc: dict[int, np.ndarray] | None = None, free: dict[int, np.ndarray] | None = None) -> None:
        """Append ``times`` copies of the instructions between the marks ``start`` and ``stop`` (``stop`` the
        current mark; the block may hold earlier repeats). Copy r (1-based) is the block moved r·L instructions on
        (L its length): dependencies on instructions ``>= shift_from`` move with it, earlier ones stay;
        ``addr`` maps a position in the block to its copies' DMA addresses (``times`` of them; other positions
        keep the block's), ``tmpl``, ``alloc`` and ``free`` likewise to their templates and alloc/free list
        indices. The result is the same as :meth:`add` called for every copied instruction."""
        if self._finished:
            raise RuntimeError("ColumnProgram.repeat after freeze(): the program is finished")
        (i0, _), (i1, _) = start, stop
        if stop != self.mark() or not 0 <= i0 <= i1:
            raise ValueError("repeat: the block must end at the current mark")
        length = i1 - i0
        if times <= 0 or length == 0:
            return
        over = {"addr": addr or {}, "tmpl": tmpl or {}, "alloc": alloc or {}, "free": free or {}}
        self._append_block(_Repeat(self.tail(start), times, shift_from, over))
        if not (tmpl or alloc or free):
            self.regions.append((i0, length, times + 1))

    def repeat_periodic(self, floor: int, prev: tuple[int, int], start: tuple[int, int], times: int) -> int:
        """Continue a periodic pattern: when the block from mark ``start`` to the current mark is the block from
        mark ``prev`` to ``start`` moved on by its length L (the same templates and alloc/free lists; each
        dependency at or after instruction ``floor`` L later, and then at or after ``prev``; earlier ones the
        same), append ``times`` copies of it with :meth:`repeat` (dependencies from ``prev`` on move), copy r's DMA
        addresses the block's plus r times their step from the previous block. Returns L, or 0 (nothing
        appended) when the blocks differ. The caller vouches that its addresses are affine in the block index."""
        length = self.mark()[0] - start[0]
        n_deps = self.mark()[1] - start[1]
        if times <= 0 or length == 0 or start[0] - prev[0] != length or start[1] - prev[1] != n_deps:
            return 0
        col = self.tail(prev)
        if any(not np.array_equal(col[name][:length], col[name][length:]) for name in ("tmpl", "alloc", "free",
                                                                                        "dep_len")):
            return 0
        before, deps = col["deps"][:n_deps], col["deps"][n_deps:]
        moved = before >= floor
        if not (np.array_equal(deps, before + moved * length) and (deps[moved] >= prev[0]).all()
                and (deps[~moved] < prev[0]).all()):
            return 0
        addr = col["addr"][length:]
        step = addr - col["addr"][:length]
        r = np.arange(1, times + 1, dtype=np.int64)
        self.repeat(start, self.mark(), times, prev[0], {int(pos): addr[pos] + r * step[pos]
                                                         for pos in np.flatnonzero(step)})
        return length

    def tail(self, start: tuple[int, int]) -> dict[str, np.ndarray]:
        """The columns (``tmpl``, ``addr``, ``dep_len``, ``alloc``, ``free``, ``deps``) of the instructions from the
        mark ``start`` to the end, as int64 arrays (the program is still being built)."""
        self._flush()
        i0, d0 = start
        taken, n, nd = [], self._block_len, self._block_deps
        for block in reversed(self._blocks):
            if n <= i0:
                break
            taken.append(block)
            n -= _size(block)[0]
            nd -= _size(block)[1]
        out = _concatenate(taken[::-1])
        for name in ("tmpl", "addr", "dep_len", "alloc", "free"):
            out[name] = out[name][i0 - n:]
        out["deps"] = out["deps"][d0 - nd:]
        return out

    def _flush(self) -> None:
        """Move the instructions held in lists into an array block."""
        if self.tmpl:
            self._append_block({"tmpl": np.array(self.tmpl, np.int64), "addr": np.array(self.addr, np.int64),
                                "dep_len": np.array(self.dep_len, np.int64), "alloc": np.array(self.alloc, np.int64),
                                "free": np.array(self.free, np.int64), "deps": np.array(self.deps, np.int64)})
            for column in (self.tmpl, self.addr, self.deps, self.dep_len, self.alloc, self.free):
                column.clear()

    def _append_block(self, block) -> None:
        self._blocks.append(block)
        self._block_len += _size(block)[0]
        self._block_deps += _size(block)[1]

    @classmethod
    def from_program(cls, program: Program) -> ColumnProgram:
        """The same program in columns (dependencies as written: a full-barrier SYNC stays without deps)."""
        cp = cls(program.arch)
        for i, ins in enumerate(program.instrs):
            addr = 0
            args = ins.args
            if ins.op in DMA_OPS:
                addr = args[_ADDR][1]
                args = (*args[:_ADDR], ("addr", 0), *args[_ADDR + 1:])
            if ins.label is not None:
                cp.labels[i] = ins.label
            t = cp._intern_template(Instr(ins.op, args, rd=ins.rd, wr=ins.wr))
            cp.add(t, ins.deps, cp.space(ins.alloc), cp.space(ins.free), addr)
        return cp.freeze()

    def freeze(self) -> ColumnProgram:
        """Finish the program: its instructions become int64 array blocks (about a fifth of the memory of lists
        of Python ints, which matters for the programs the compiler caches; repeated blocks stay a block and a
        count until :attr:`columns` is first read) and :meth:`add` is refused. Returns self."""
        if not self._finished:
            self._flush()
            self._finished = True
            self._cache.clear()
        return self

    def shortened(self, keep: int) -> tuple[ColumnProgram, tuple[int, int, int], np.ndarray] | None:
        """The same program with only ``keep`` copies of its largest repeated region (:attr:`regions`: a block of
        L instructions from r0, C copies, made by one :meth:`repeat`): (the shorter program, (r0, L, C), the
        template count of one copy); None when there is no such region with more than ``keep`` copies, or an
        instruction after it depends on one of the copies left out (not on the last ``keep`` or anything
        before r0). Later dependencies move back by the C - keep blocks left out. The engine simulates the
        shorter program and extends its schedule (:func:`sim.engine.periodic.run`)."""
        if not self._finished:
            return None
        best, i = None, 0
        for bi, block in enumerate(self._blocks):
            n = _size(block)[0]
            if (isinstance(block, _Repeat) and block.times + 1 > keep and not any(block.over[k] for k in (
                    "tmpl", "alloc", "free")) and (best is None or n > _size(self._blocks[best[0]])[0])):
                best = (bi, i)
            i += n
        if best is None:
            return None
        bi, i = best
        block = self._blocks[bi]
        length, copies = len(block.base["tmpl"]), block.times + 1
        r0, dropped = i - length, (copies - keep) * length
        after = _concatenate(self._blocks[bi + 1:])
        deps = after["deps"]
        if ((deps >= r0) & (deps < r0 + dropped)).any():
            return None
        after["deps"] = np.where(deps >= r0 + dropped, deps - dropped, deps)
        short = ColumnProgram(self.arch)
        short.templates, short.lists, short.labels = self.templates, self.lists, {}
        for b in self._blocks[:bi]:
            short._append_block(b)
        short._append_block(block.fewer(keep - 1))
        short._append_block(after)
        short.regions = [(r0, length, keep)]
        short._finished = True
        count = np.bincount(block.base["tmpl"], minlength=len(self.templates)).astype(np.int64)
        return short, (r0, length, copies), count

    # -- reading ----------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._block_len + len(self.tmpl)

    def _cached(self, name: str, build):
        hit = self._cache.get(name)
        if hit is None or hit[0] != len(self):
            hit = self._cache[name] = (len(self), build())
        return hit[1]

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """The per-instruction columns as int64 arrays: ``tmpl``, ``addr``, ``dep_ptr``/``dep_idx`` (CSR),
        ``alloc``, ``free`` (list indices). Built once per program length (kept from :meth:`freeze` on)."""
        if self._finished:
            if self._frozen is None:
                self._frozen = self._columns()
            return self._frozen
        return self._cached("columns", self._columns)

    def _columns(self) -> dict[str, np.ndarray]:
        lists = {"tmpl": self.tmpl, "addr": self.addr, "dep_len": self.dep_len, "alloc": self.alloc,
                 "free": self.free, "deps": self.deps}
        col = _concatenate(self._blocks + [{name: np.array(v, np.int64) for name, v in lists.items()}])
        dep_ptr = np.zeros(len(col["tmpl"]) + 1, np.int64)
        np.cumsum(col.pop("dep_len"), out=dep_ptr[1:])
        col["dep_ptr"], col["dep_idx"] = dep_ptr, col.pop("deps")
        return col

    @property
    def instrs(self) -> list[Instr]:
        """The instructions as :class:`Instr` objects (built on first use; read-only: build with :meth:`add`)."""
        return self._cached("instrs", self._instrs)

    def _instrs(self) -> list[Instr]:
        c = self.columns
        deps, ptr = c["dep_idx"].tolist(), c["dep_ptr"].tolist()
        out = []
        for i, (t, addr, a, f) in enumerate(zip(c["tmpl"].tolist(), c["addr"].tolist(), c["alloc"].tolist(),
                                                c["free"].tolist())):
            tp = self.templates[t]
            args = tp.args
            if tp.op in DMA_OPS:
                args = (*args[:_ADDR], ("addr", addr), *args[_ADDR + 1:])
            out.append(Instr(tp.op, args, tuple(deps[ptr[i]:ptr[i + 1]]), self.lists[a], self.lists[f], tp.rd, tp.wr,
                             self.labels.get(i)))
        return out

    def ops(self) -> list[str]:
        """The opcode of every instruction."""
        return list(self.op_names())

    def validate(self) -> None:
        """Dependencies point to earlier instructions (labels are unique by construction). O(dependencies), once
        per frozen program (it cannot change after :meth:`freeze`)."""
        if self._valid:
            return
        c = self.columns
        ptr, idx = c["dep_ptr"], c["dep_idx"]
        rows = np.flatnonzero(np.diff(ptr))  # instructions with dependencies
        if len(rows) and (idx.min() < 0 or (np.maximum.reduceat(idx, ptr[rows]) >= rows).any()):
            owner = np.repeat(np.arange(len(self), dtype=np.int64), np.diff(ptr))
            bad = np.flatnonzero((idx < 0) | (idx >= owner))
            i = int(owner[bad[0]])
            raise InputError(f"instr[{i}].after", f"dependency {int(idx[bad[0]])} is not an earlier instruction")
        self._valid = self._finished

    def op_names(self) -> OpNames:
        """The opcode of every instruction, as a read-only sequence (built as a list only when read; the
        columns only then too)."""
        return OpNames([t.op for t in self.templates], len(self), lambda: self.columns["tmpl"])

    def to_program(self) -> Program:
        """The equivalent :class:`Program`."""
        return Program(list(self.instrs), self.arch)


_NAMES = ("tmpl", "addr", "dep_len", "alloc", "free")  # the per-instruction columns of a block (then "deps")


class _Repeat:
    """A block of ``times`` copies of ``base`` (columns of L instructions, as :meth:`ColumnProgram.tail` gives),
    kept unexpanded until the program's columns are built (:func:`_concatenate` writes it in place)."""

    def __init__(self, base: dict[str, np.ndarray], times: int, shift_from: int, over: dict[str, dict]):
        self.base, self.times, self.over = base, times, over
        self.moved = base["deps"] >= shift_from
        self.n, self.nd = times * len(base["tmpl"]), times * len(base["deps"])

    def fewer(self, times: int) -> _Repeat:
        """The first ``times`` of these copies."""
        out = object.__new__(_Repeat)
        out.base, out.times, out.moved = self.base, times, self.moved
        out.over = {name: {pos: v[:times] for pos, v in over.items()} for name, over in self.over.items()}
        out.n, out.nd = times * len(self.base["tmpl"]), times * len(self.base["deps"])
        return out

    def fill(self, out: dict[str, np.ndarray]) -> None:
        """Write the copies into ``out`` (column name -> int64 view of this block's rows)."""
        length = len(self.base["tmpl"])
        for name in _NAMES:
            out[name].reshape(self.times, length)[:] = self.base[name]
            for pos, values in self.over.get(name, {}).items():
                out[name][pos::length] = values
        deps = out["deps"].reshape(self.times, -1)
        deps[:] = self.base["deps"]
        deps[:, self.moved] += np.arange(1, self.times + 1, dtype=np.int64)[:, None] * length


def _size(block) -> tuple[int, int]:
    """(instructions, dependencies) of a block (a dict of columns or a :class:`_Repeat`)."""
    if isinstance(block, _Repeat):
        return block.n, block.nd
    return len(block["tmpl"]), len(block["deps"])


def _concatenate(blocks: list) -> dict[str, np.ndarray]:
    """The blocks' columns end to end (each written once into the result)."""
    sizes = [_size(b) for b in blocks]
    n, nd = sum(x for x, _ in sizes), sum(x for _, x in sizes)
    out = {name: np.empty(n, np.int64) for name in _NAMES}
    out["deps"] = np.empty(nd, np.int64)
    i = d = 0
    for block, (bn, bd) in zip(blocks, sizes):
        view = {name: out[name][i:i + bn] for name in _NAMES}
        view["deps"] = out["deps"][d:d + bd]
        if isinstance(block, _Repeat):
            block.fill(view)
        else:
            for name, v in view.items():
                v[:] = block[name]
        i, d = i + bn, d + bd
    return out


class OpNames(Sequence):
    """The opcodes of a program's instructions: ``names[tmpl[i]]`` for instruction i, without a list of millions
    of strings unless it is iterated or compared (:attr:`sim.engine.Stats.ops`)."""

    def __init__(self, names: list[str], n: int, tmpl):
        self._names, self._n, self._get = names, n, tmpl  # tmpl: () -> the template column

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        tmpl = self._get()
        if isinstance(i, slice):
            return [self._names[t] for t in tmpl[i].tolist()]
        return self._names[tmpl[i]]

    def __iter__(self):
        names = self._names
        return (names[t] for t in self._get().tolist())

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and len(self) == len(other) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"OpNames({len(self)} instructions)"
