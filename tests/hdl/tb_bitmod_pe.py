"""cocotb testbench (not a pytest module): the generated BitMoD PE Verilog against the Numba model.

$LUTSIM_TB (JSON): weights, m, n, k, group, seed. Folds come from sim.pe.bitmod_pe_io (one PE, the
model run on a 1 × 1 array). Inputs change on the falling edge; outputs are read on the falling edge
after each rising edge (edge 1 samples the first step). Checks every group's dequant output, every
fold's FP32 result bit for bit and the edges of out_valid against the model's fold cycles.
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from rtl.gateware.bitmod_pe import BitModPE
from sim.pe.bitmod_pe_io import pe_folds
from tests.rtl.bitmod_drive import group_value, random_operands, step_ports


@cocotb.test()
async def folds_match_model(dut):
    cfg = json.loads(os.environ["LUTSIM_TB"])
    rng = np.random.default_rng(cfg["seed"])
    a, qw = random_operands(rng, cfg["weights"], cfg["m"], cfg["n"], cfg["k"], cfg["group"])
    folds, cycles = pe_folds(a, qw)
    pe = BitModPE(weights=cfg["weights"])          # widths and flags only (no simulation)

    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    dut.in_valid.value = 0
    await FallingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0

    groups, outs, edge = [], [], 0

    async def step():
        nonlocal edge
        if pe.is_bitmod:
            dut.chan.value = folds[min(len(outs), len(folds) - 1)].chan
        await FallingEdge(dut.clk)
        edge += 1
        if int(dut.d_valid.value):
            groups.append(group_value(dut.d.value.to_signed(), dut.d_exp.value.to_signed()))
        if int(dut.out_valid.value):
            outs.append((edge, dut.out.value.to_unsigned()))

    for fold in folds:
        for s in fold.steps:
            for name, value in step_ports(s, pe.code_bits, pe.is_bitmod).items():
                getattr(dut, name).value = value
            dut.in_valid.value = 1
            while True:
                ready = int(dut.in_ready.value)
                await step()
                if ready:
                    break
    dut.in_valid.value = 0
    while len(outs) < len(folds) and edge < cycles + 4:
        await step()

    assert groups == [v for f in folds for v in f.group_values], "group dequant outputs differ from the model"
    assert [b for _, b in outs] == [int(f.out.view(np.uint32)) for f in folds], "outputs differ from the model"
    want = list(np.cumsum([f.cycles for f in folds]))
    assert [e for e, _ in outs] == want, f"out_valid at edges {[e for e, _ in outs]}, model {want}"
