"""Controller of the RTL LUT array: per-class in-order issue with a dependency scoreboard and buffer-space
counters — the engine's schedule rules (sim/engine/kernel.py) in hardware.

Unit classes DMA, table unit and LUT units, each with its own instruction memory (words in the
:func:`rtl.gateware.array_params.layouts` encoding) and program counter, plus the ``sync`` class (the
program's SYNCs that free buffer space: no unit, they retire when their dependencies are done) and the
``free`` table (per instruction id, the bytes it frees at its end). Memories start from a program given at
elaboration, or are written through ``load_en`` / ``load_class`` (index in ``MEMORIES``) / ``load_addr`` /
``load_data``, which also sets the class's instruction count to ``load_addr`` + 1: load in order. The LUT
array adds the ``vector`` class (DEQUANT and the bias add: one unit, allocates nothing).

In every cycle a class issues, in program order, as many instructions from its head as it has ready unit
instances, each one only if every instruction in its ``deps`` mask has its done bit set, its ``alloc``
bytes fit every buffer (``used + alloc ≤ capacity``, per buffer) and all before it in the class issue too
(the LUT class has several identical instances: the s-th issuing instruction goes to the s-th ready
instance, which times like the engine's "instance that frees first"). A unit reports ``fin`` with the
instruction id at the edge that makes the instruction's results visible, which sets its done bit and
returns its ``free`` bytes: a dependent issues, and space is reused, in the cycle after (the engine's
``start = max(end of deps, unit free)`` and "space is released at the end of the instruction that frees
it"). A SYNC retires in the first cycle its dependencies are done and its frees count in that same cycle
(the engine: a SYNC ends when its dependencies end). Allocation order within a cycle: DMA, then table unit
(the engine's class order); LUT-unit instructions allocate nothing (the assembler checks).

``start`` (one cycle) clears the done bits, the space counters and the program counters; cycle 0 is the
cycle after. ``done`` rises when every instruction is done; ``cycles`` then holds that cycle's number, which
is the engine's ``Stats.cycles`` (the end of the last instruction) for the same program.
"""

from __future__ import annotations

from amaranth import Array, Const, Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for

from .array_params import MEMORIES, SPACE, ArrayParams, ArrayProgram, layouts, space_layout

CYCLE_BITS = 32
SYNC_SLOTS = 2  # SYNCs that may retire in one cycle
ALLOCATING = ("dma", "table")  # classes whose instructions allocate, in the engine's priority order


class ArrayController(wiring.Component):
    """Ports per unit class ``c`` in ("dma", "table", "array", "vector"): ``c_instr`` (the head instruction),
    ``c_issue`` (one bit per unit instance), ``c_ready`` (instance can take an instruction),
    ``c_fin`` / ``c_fin_id`` (instance finished instruction id). Plus ``start``, ``done``, ``cycles``,
    ``used_<buf>`` (bytes allocated now, for tests)."""

    def __init__(self, params: ArrayParams, program: ArrayProgram | None = None, *, words: dict | None = None,
                 units: dict[str, int] | None = None):
        """``words`` / ``units``: another array's word layouts (with ``sync``) and unit classes → instance
        counts (the BitMoD array's: DMA and BSMMA units, rtl/gateware/bitmod_array.py); default the LUT array's."""
        self.params = params
        self.program = program or ArrayProgram()
        self.layouts = words or layouts(params)
        self.units = units or {"dma": 1, "table": 1, "array": params.units, "vector": 1}
        id_shape = unsigned(bits_for(params.max_instrs - 1))
        self.word_bits = max(max(lay.size for lay in self.layouts.values()), space_layout(params).size)
        sig = {"start": In(1), "done": Out(1), "cycles": Out(CYCLE_BITS), "load_en": In(1),
               "load_class": In(range(len(MEMORIES))), "load_addr": In(range(params.max_instrs)),
               "load_data": In(self.word_bits)}
        sig.update({f"used_{b}": Out(range(params.capacity(b) + 1)) for b in SPACE})
        for c, n in self.units.items():
            sig.update({f"{c}_instr": Out(ArrayLayout(self.layouts[c], n)), f"{c}_issue": Out(n), f"{c}_ready": In(n),
                        f"{c}_fin": In(n), f"{c}_fin_id": In(ArrayLayout(id_shape, n))})
        super().__init__(sig)

    def _memory(self, m, name: str, width: int, init: list[int]):
        """An instruction memory written through the load port; (memory, count of loaded words)."""
        p = self.params
        if len(init) > p.max_instrs:
            raise ValueError(f"{len(init)} {name} words, the memory holds {p.max_instrs}")
        mem = m.submodules[f"{name}_imem"] = Memory(shape=unsigned(width), depth=p.max_instrs, init=init)
        count = Signal(range(p.max_instrs + 1), init=len(init), name=f"{name}_count")
        wp = mem.write_port()
        here = self.load_en & (self.load_class == MEMORIES.index(name))
        m.d.comb += [wp.addr.eq(self.load_addr), wp.data.eq(self.load_data[:width]), wp.en.eq(here)]
        with m.If(here):
            m.d.sync += count.eq(self.load_addr + 1)
        return mem, count

    def elaborate(self, platform):
        m = Module()
        p = self.params
        words = self.program.words(p, self.layouts)
        sl = space_layout(p)
        done_bits = Signal(p.max_instrs, init=(1 << p.max_instrs) - 1)
        running = Signal()
        all_done = Signal()
        m.d.comb += [all_done.eq(done_bits.all()), self.done.eq(all_done & ~running)]
        used = {b: getattr(self, f"used_{b}") for b in SPACE}

        # returned space: units' fins (through the free table) now, SYNCs retiring now
        free_mem, _ = self._memory(m, "free", sl.size, words["free"])
        finished, fin_free = 0, {b: 0 for b in SPACE}
        for c, n in self.units.items():
            for u in range(n):
                fin, fid = getattr(self, f"{c}_fin")[u], getattr(self, f"{c}_fin_id")[u]
                finished = finished | (fin.replicate(p.max_instrs) & (Const(1, p.max_instrs) << fid)[:p.max_instrs])
                rd = free_mem.read_port(domain="comb")
                fr = sl(rd.data)
                m.d.comb += rd.addr.eq(fid)
                fin_free = {b: fin_free[b] + Mux(fin, fr[b], 0) for b in SPACE}
        sync_free = self._syncs(m, words["sync"], done_bits, running)
        avail = {b: Signal(range(p.capacity(b) + 1), name=f"avail0_{b}") for b in SPACE}  # free bytes now
        m.d.comb += [avail[b].eq(p.capacity(b) - used[b] + sync_free[b]) for b in SPACE]
        total, allocs = 0, []
        for c, n in self.units.items():
            mem, count = self._memory(m, c, self.layouts[c].size, words[c])
            total = total + count
            pc = Signal(range(p.max_instrs + 1), name=f"{c}_pc")
            # slot s = instruction pc + s; slots issue in order, slot s to the s-th ready instance
            heads, ok, n_ok = [], Const(1), 0
            for s in range(n):
                rd = mem.read_port(domain="comb")
                head = self.layouts[c](rd.data)
                m.d.comb += rd.addr.eq(pc + s)
                ok = ok & running & (pc + s < count) & ((head.deps & ~done_bits) == 0)
                if c in ALLOCATING:  # one slot (one unit): alloc fits what is free after the classes before it
                    fits = Const(1)
                    for b in SPACE:
                        fits = fits & (head.alloc[b] <= avail[b])
                    ok = ok & fits
                slot_ok = Signal(name=f"{c}_slot{s}_ok")
                m.d.comb += slot_ok.eq(ok)
                heads.append(rd.data)
                n_ok = n_ok + slot_ok
            ready, issue, instr = (getattr(self, f"{c}_{x}") for x in ("ready", "issue", "instr"))
            rank = 0
            for u in range(n):
                m.d.comb += [issue[u].eq(ready[u] & (rank < n_ok)), instr[u].eq(Array(heads)[rank])]
                rank = rank + ready[u]
            if c in ALLOCATING:
                taken = {b: Mux(issue[0], instr[0].alloc[b], 0) for b in SPACE}
                allocs.append(taken)
                nxt = {b: Signal(range(p.capacity(b) + 1), name=f"avail_{c}_{b}") for b in SPACE}
                m.d.comb += [nxt[b].eq(avail[b] - taken[b]) for b in SPACE]
                avail = nxt
            with m.If(self.start):
                m.d.sync += pc.eq(0)
            with m.Elif(running):
                m.d.sync += pc.eq(pc + Mux(rank < n_ok, rank, n_ok))

        ids = Signal(p.max_instrs + 1)
        m.d.comb += ids.eq((Const(1, p.max_instrs + 1) << total) - 1)
        with m.If(self.start):
            m.d.sync += [done_bits.eq(~ids[:p.max_instrs]), running.eq(1), self.cycles.eq(0)]
            m.d.sync += [used[b].eq(0) for b in SPACE]
        with m.Elif(running):
            m.d.sync += done_bits.eq(done_bits | finished)
            m.d.sync += [used[b].eq(used[b] - sync_free[b] - fin_free[b] + sum(a[b] for a in allocs)) for b in SPACE]
            with m.If(all_done):
                m.d.sync += running.eq(0)
            with m.Else():
                m.d.sync += self.cycles.eq(self.cycles + 1)
        return m

    def _syncs(self, m, init: list[int], done_bits, running) -> dict:
        """The sync class: up to SYNC_SLOTS SYNCs retire per cycle, in order; returns the bytes they free now."""
        p = self.params
        lay = self.layouts["sync"]
        mem, count = self._memory(m, "sync", lay.size, init)
        pc = Signal(range(p.max_instrs + 1), name="sync_pc")
        ok, n_ok, freed = Const(1), 0, {b: 0 for b in SPACE}
        for s in range(SYNC_SLOTS):
            rd = mem.read_port(domain="comb")
            head = lay(rd.data)
            m.d.comb += rd.addr.eq(pc + s)
            ok = ok & running & (pc + s < count) & ((head.deps & ~done_bits) == 0)
            slot_ok = Signal(name=f"sync_slot{s}_ok")
            m.d.comb += slot_ok.eq(ok)
            n_ok = n_ok + slot_ok
            freed = {b: freed[b] + Mux(slot_ok, head.free[b], 0) for b in SPACE}
        with m.If(self.start):
            m.d.sync += pc.eq(0)
        with m.Elif(running):
            m.d.sync += pc.eq(pc + n_ok)
        out = {b: Signal(range(p.capacity(b) + 1), name=f"sync_free_{b}") for b in SPACE}
        m.d.comb += [out[b].eq(freed[b]) for b in SPACE]
        return out
