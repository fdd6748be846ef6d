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
from cocotb.triggers import FallingEdge, Timer


async def _load(dut, mems: dict, image: list[int]):
    dut.dbg_we.value = 1
    for addr, word in enumerate(image):
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
    Clock(dut.clk, 10, unit="ns").start()
    for sig in ("start", "dbg_addr", "dbg_we", "dbg_wdata", "load_en", "load_class", "load_addr", "load_data"):
        getattr(dut, sig).value = 0
    dut.rst.value = 1
    await FallingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    results = []
    for case in cfg["cases"]:
        await _load(dut, case["mems"], case["image"])
        dut.start.value = 1
        await FallingEdge(dut.clk)
        dut.start.value = 0
        edges = 0
        while not int(dut.done.value) and edges < case["max_cycles"]:
            await FallingEdge(dut.clk)
            edges += 1
        cycles = int(dut.cycles.value.to_unsigned())
        words = []
        for i in range(case["out_words"]):
            dut.dbg_addr.value = case["out_addr"] + i
            await Timer(1, unit="ns")
            words.append(int(dut.dbg_data.value.to_unsigned()))
        results.append({"name": case["name"], "cycles": cycles, "edges": edges, "words": words})
        dut._log.info("%s: RTL %d cycles, engine %d", case["name"], cycles, case["engine_cycles"])
    Path(cfg["results"]).write_text(json.dumps(results))
    for r, case in zip(results, cfg["cases"]):
        assert r["edges"] == r["cycles"] + 1, f"{case['name']}: done after {r['edges']} edges, cycles {r['cycles']}"
        assert r["cycles"] == case["engine_cycles"], \
            f"{case['name']}: RTL {r['cycles']}, engine {case['engine_cycles']}"
