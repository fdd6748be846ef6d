"""cocotb testbench (not a pytest module): the generated LUT array system (empty instruction memories, DRAM
model with a write port) runs several compiled programs one after another. $LUTSIM_TB names a JSON file:
``cases`` (each: ``name``, ``mems`` (memory index → words), ``image`` (DRAM port words), ``out_addr``,
``out_words``, ``engine_cycles``, ``max_cycles``) and ``results`` (where the testbench writes per case the
RTL's cycle count and the stored port words)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, First, RisingEdge, Timer
from cocotb.utils import get_sim_time

PERIOD_NS = 10


async def _load(dut, mems: dict, image: list[int], old: list[int]):
    """Write the DRAM words that differ from ``old`` (the memory's contents now), then the program; one
    rising edge per word, so start at a falling edge."""
    await FallingEdge(dut.clk)
    dut.dbg_we.value = 1
    for addr, word in enumerate(image):
        if word != old[addr]:
            dut.dbg_addr.value = addr
            dut.dbg_wdata.value = word
            await FallingEdge(dut.clk)
    dut.dbg_we.value = 0
    dut.load_en.value = 1
    for index, words in mems.items():
        for addr, word in enumerate(words):
            dut.load_class.value = int(index)
            dut.load_addr.value = addr
            dut.load_data.value = word
            await FallingEdge(dut.clk)
    dut.load_en.value = 0


@cocotb.test()
async def compiled_programs_match_engine(dut):
    cfg = json.loads(Path(os.environ["LUTSIM_TB"]).read_text())
    Clock(dut.clk, PERIOD_NS, unit="ns").start()
    for sig in ("start", "dbg_addr", "dbg_we", "dbg_wdata", "load_en", "load_class", "load_addr", "load_data"):
        getattr(dut, sig).value = 0
    dut.rst.value = 1
    await FallingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    results = []
    dram = [0] * len(cfg["cases"][0]["image"])
    for case in cfg["cases"]:
        await _load(dut, case["mems"], case["image"], dram)
        dram = list(case["image"])
        dut.start.value = 1
        await FallingEdge(dut.clk)
        dut.start.value = 0
        t0 = get_sim_time("ns")
        if not int(dut.done.value):
            await First(RisingEdge(dut.done), Timer(case["max_cycles"] * PERIOD_NS, "ns"))
        edges = int((get_sim_time("ns") - t0) // PERIOD_NS) + 1  # falling edges until done is seen
        await FallingEdge(dut.clk)
        cycles = int(dut.cycles.value.to_unsigned())
        words = []  # the stored outputs (the DRAM model keeps them: the next image write covers them)
        for i in range(case["out_words"]):
            dut.dbg_addr.value = case["out_addr"] + i
            await Timer(1, unit="ns")
            words.append(int(dut.dbg_data.value.to_unsigned()))
        for i, w in enumerate(words):
            dram[case["out_addr"] + i] = w
        results.append({"name": case["name"], "cycles": cycles, "edges": edges, "words": words})
        dut._log.info("%s: RTL %d cycles, engine %d", case["name"], cycles, case["engine_cycles"])
    Path(cfg["results"]).write_text(json.dumps(results))
    for r, case in zip(results, cfg["cases"]):
        assert r["edges"] == r["cycles"] + 1, f"{case['name']}: done after {r['edges']} edges, cycles {r['cycles']}"
        assert r["cycles"] == case["engine_cycles"], \
            f"{case['name']}: RTL {r['cycles']}, engine {case['engine_cycles']}"
