"""cocotb testbench (not a pytest module): the generated MixPE PE Verilog against the Numba model.

$LUTSIM_TB (JSON): weights, acts, m, n, k, group, seed. Per-cycle inputs come from
sim.pe.mixpe_io (one PE, the model run on a 1 × 1 array); inputs change on the falling edge,
outputs are read on the falling edge after each rising edge. Checks every fold's FP32 result bit for
bit and the edges of out_valid against the model's fold cycles.
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from sim.pe.mixpe_io import pe_folds
from tests.rtl.gateware.test_mixpe_pe import random_operands

PORTS = ("en", "a", "code", "dq", "zero", "scale", "last")


@cocotb.test()
async def folds_match_model(dut):
    cfg = json.loads(os.environ["LUTSIM_TB"])
    rng = np.random.default_rng(cfg["seed"])
    a, qw = random_operands(rng, cfg["weights"], cfg["m"], cfg["n"], cfg["k"], cfg["group"], cfg["acts"])
    folds, cycles = pe_folds(a, qw, cfg["acts"])
    a_mask = (1 << len(dut.a)) - 1

    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    for name in PORTS:
        getattr(dut, name).value = 0
    await FallingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0

    outs, edge = [], 0
    for fold in folds:
        for cyc in fold.cycles:
            for name in PORTS:
                v = int(getattr(cyc, name))
                getattr(dut, name).value = v & a_mask if name == "a" else v
            await FallingEdge(dut.clk)
            edge += 1
            if int(dut.out_valid.value):
                outs.append((edge, dut.out.value.to_unsigned()))

    assert [b for _, b in outs] == [int(f.out.view(np.uint32)) for f in folds], "outputs differ from the model"
    want = list(np.cumsum([len(f.cycles) for f in folds]))
    assert [e for e, _ in outs] == want and want[-1] == cycles, f"out_valid at {[e for e, _ in outs]}, model {want}"
