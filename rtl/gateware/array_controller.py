"""Controller of the RTL LUT array: per-class in-order issue with a dependency scoreboard — the
engine's schedule rules (sim/engine/kernel.py) in hardware.

Three unit classes (DMA, table unit, LUT units), each with its own instruction memory (words in the
:func:`rtl.gateware.array_params.layouts` encoding; initial contents from a program given at elaboration, or
written through ``load_en`` / ``load_class`` / ``load_addr`` / ``load_data``, which also sets the
class's instruction count to ``load_addr`` + 1: load in order) and program counter. In every
cycle a class issues, in program order, as many instructions from its head as it has ready unit
instances, each one only if every instruction in its ``deps`` mask has its done bit set and all
before it in the class issue too (the LUT class has several identical instances: the s-th issuing
instruction goes to the s-th ready instance, which times like the engine's "instance that frees
first", and several units may start in the same cycle, as in the engine). A unit reports ``fin``
with the instruction id at the edge that makes the instruction's results visible, which sets its
done bit: a dependent issues in the cycle after (the engine's ``start = max(end of deps, unit free)``).

``start`` (one cycle) clears the done bits and the program counters; cycle 0 is the cycle after.
``done`` rises when every instruction is done; ``cycles`` then holds that cycle's number, which is
the engine's ``Stats.cycles`` (the end of the last instruction) for the same program.
Not built: waiting for buffer space (``alloc`` / ``free``), so :func:`rtl.tools.array_program.assemble`
lays every buffer out without reuse (a program must fit the buffers whole; the engine's schedule of
it must have no space stalls).
"""

from __future__ import annotations

from amaranth import Array, Const, Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for

from .array_params import CLASSES, ArrayParams, ArrayProgram, layouts

CYCLE_BITS = 32


class ArrayController(wiring.Component):
    """Ports per class ``c`` in ("dma", "table", "array"): ``c_instr`` (the head instruction),
    ``c_issue`` (one bit per unit instance), ``c_ready`` (instance can take an instruction),
    ``c_fin`` / ``c_fin_id`` (instance finished instruction id). Plus ``start``, ``done``, ``cycles``."""

    def __init__(self, params: ArrayParams, program: ArrayProgram | None = None):
        self.params = params
        self.program = program or ArrayProgram()
        self.layouts = layouts(params)
        self.units = {"dma": 1, "table": 1, "array": params.units}
        id_shape = unsigned(bits_for(params.max_instrs - 1))
        self.word_bits = max(lay.size for lay in self.layouts.values())
        sig = {"start": In(1), "done": Out(1), "cycles": Out(CYCLE_BITS), "load_en": In(1),
               "load_class": In(range(len(CLASSES))), "load_addr": In(range(params.max_instrs)),
               "load_data": In(self.word_bits)}
        for c in CLASSES:
            n = self.units[c]
            sig.update({f"{c}_instr": Out(ArrayLayout(self.layouts[c], n)), f"{c}_issue": Out(n), f"{c}_ready": In(n),
                        f"{c}_fin": In(n), f"{c}_fin_id": In(ArrayLayout(id_shape, n))})
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        p = self.params
        words = self.program.words(p)
        total = 0  # instruction ids in use = the sum of the class counts
        done_bits = Signal(p.max_instrs, init=(1 << p.max_instrs) - 1)
        running = Signal()
        all_done = Signal()
        m.d.comb += [all_done.eq(done_bits.all()), self.done.eq(all_done & ~running)]

        finished = 0
        for c in CLASSES:
            n = self.units[c]
            for u in range(n):
                fin = getattr(self, f"{c}_fin")[u]
                one_hot = (Const(1, p.max_instrs) << getattr(self, f"{c}_fin_id")[u])[:p.max_instrs]
                finished = finished | (fin.replicate(p.max_instrs) & one_hot)
            if len(words[c]) > p.max_instrs:
                raise ValueError(f"{len(words[c])} {c} instructions, the memory holds {p.max_instrs}")
            size = self.layouts[c].size
            rom = Memory(shape=unsigned(size), depth=p.max_instrs, init=words[c])
            m.submodules[f"{c}_imem"] = rom
            count = Signal(range(p.max_instrs + 1), init=len(words[c]), name=f"{c}_count")
            total = total + count
            wp = rom.write_port()
            load_here = self.load_en & (self.load_class == CLASSES.index(c))
            m.d.comb += [wp.addr.eq(self.load_addr), wp.data.eq(self.load_data[:size]), wp.en.eq(load_here)]
            with m.If(load_here):
                m.d.sync += count.eq(self.load_addr + 1)
            pc = Signal(range(p.max_instrs + 1), name=f"{c}_pc")
            # slot s = instruction pc + s; slots issue in order, slot s to the s-th ready instance
            heads, ok, n_ok = [], Const(1), 0
            for s in range(n):
                rd = rom.read_port(domain="comb")
                head = self.layouts[c](rd.data)
                m.d.comb += rd.addr.eq(pc + s)
                ok = ok & running & (pc + s < count) & ((head.deps & ~done_bits) == 0)
                slot_ok = Signal(name=f"{c}_slot{s}_ok")
                m.d.comb += slot_ok.eq(ok)
                heads.append(rd.data)
                n_ok = n_ok + slot_ok
            ready, issue, instr = (getattr(self, f"{c}_{x}") for x in ("ready", "issue", "instr"))
            rank = 0
            for u in range(n):
                m.d.comb += [issue[u].eq(ready[u] & (rank < n_ok)), instr[u].eq(Array(heads)[rank])]
                rank = rank + ready[u]
            with m.If(self.start):
                m.d.sync += pc.eq(0)
            with m.Elif(running):
                m.d.sync += pc.eq(pc + Mux(rank < n_ok, rank, n_ok))

        used = Signal(p.max_instrs + 1)
        m.d.comb += used.eq((Const(1, p.max_instrs + 1) << total) - 1)
        with m.If(self.start):
            m.d.sync += [done_bits.eq(~used[:p.max_instrs]), running.eq(1), self.cycles.eq(0)]
        with m.Elif(running):
            m.d.sync += done_bits.eq(done_bits | finished)
            with m.If(all_done):
                m.d.sync += running.eq(0)
            with m.Else():
                m.d.sync += self.cycles.eq(self.cycles + 1)
        return m
