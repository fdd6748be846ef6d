"""One amaranth.sim run of an array system (rtl/gateware/lut_array.LutArraySystem around the LUT or the BitMoD
array): optionally write the program through the load port, pulse ``start``, count clock edges until ``done``,
then read the output words back through the debug port. Shared by the LUT and BitMoD array tests."""

from __future__ import annotations

from amaranth.sim import Simulator

from rtl.gateware.array_params import MEMORIES

MAX_CYCLES = 5000


def run_system(dut, case, load_words: dict | None = None, max_cycles: int = MAX_CYCLES):
    """(cycles register, edges from the start edge to ``done``, the ``case.out_words`` port words from
    ``case.out_addr``). ``load_words``: per-memory instruction words written through the load port first (the
    program memories of ``dut`` then start empty)."""
    got = {}

    async def tb(ctx):
        for ci, c in enumerate(MEMORIES if load_words is not None else ()):
            for addr, word in enumerate(load_words[c]):
                ctx.set(dut.load_en, 1)
                ctx.set(dut.load_class, ci)
                ctx.set(dut.load_addr, addr)
                ctx.set(dut.load_data, word)
                await ctx.tick()
        ctx.set(dut.load_en, 0)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        edges = 0
        while not ctx.get(dut.done) and edges < max_cycles:
            await ctx.tick()
            edges += 1
        got["edges"], got["cycles"] = edges, ctx.get(dut.cycles)
        words = []
        for i in range(case.out_words):
            ctx.set(dut.dbg_addr, case.out_addr + i)
            words.append(ctx.get(dut.dbg_data))
        got["words"] = words

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    return got["cycles"], got["edges"], got["words"]
