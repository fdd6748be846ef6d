"""cocotb testbench (not a pytest module): the generated LUT array Verilog (program and operands in its
memories' initial contents) runs to ``done``; $LUTSIM_TB (JSON) gives the expected cycle count, the
output address and the expected stored port words."""

from __future__ import annotations

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer


@cocotb.test()
async def program_matches_engine_and_reference(dut):
    cfg = json.loads(os.environ["LUTSIM_TB"])
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    dut.start.value = 0
    dut.dbg_addr.value = 0
    dut.dbg_we.value = 0
    dut.dbg_wdata.value = 0
    dut.load_en.value = 0
    dut.load_class.value = 0
    dut.load_addr.value = 0
    dut.load_data.value = 0
    await FallingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    dut.start.value = 1
    await FallingEdge(dut.clk)
    dut.start.value = 0
    edges = 0
    while not int(dut.done.value) and edges < cfg["max_cycles"]:
        await FallingEdge(dut.clk)
        edges += 1
    cycles = int(dut.cycles.value.to_unsigned())
    assert edges == cycles + 1, f"done after {edges} edges, cycles register {cycles}"
    assert cycles == cfg["cycles"], f"RTL {cycles} cycles, engine {cfg['cycles']}"
    words = []
    for i in range(len(cfg["words"])):
        dut.dbg_addr.value = cfg["out_addr"] + i
        await Timer(1, unit="ns")
        words.append(int(dut.dbg_data.value.to_unsigned()))
    assert words == cfg["words"], "stored FP16 outputs differ from the reference"
