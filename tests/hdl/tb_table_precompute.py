"""cocotb testbench (not a pytest module): generated table precompute Verilog against the model.

$LUTSIM_TB holds JSON: k, act_width, count (tables to push), seed. Random input gaps and random
output back-pressure; the tables taken from ``o`` must be the model's, in order. Inputs change on
the falling edge; the handshake is read 2 ns later (settled), before the next rising edge.
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer

from tests.rtl.amaranth_util import pack, unpack
from tests.rtl.lut_model import table_entries


@cocotb.test()
async def tables_match_model(dut):
    cfg = json.loads(os.environ["LUTSIM_TB"])
    k, w, count = cfg["k"], cfg["act_width"], cfg["count"]
    ew, entries = w + (k.bit_length() - 1), 1 << (k - 1)
    rng = np.random.default_rng(cfg["seed"])
    acts = rng.integers(-(1 << (w - 1)), 1 << (w - 1), size=(count, k))
    acts[0] = -(1 << (w - 1))

    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    dut.i__valid.value = 0
    dut.o__ready.value = 0
    await FallingEdge(dut.clk)
    dut.rst.value = 0

    sent, got = 0, []
    for _ in range(20 * count):
        offer = sent < count and rng.random() < 0.7
        ready = rng.random() < 0.6
        dut.i__valid.value = int(offer)
        if offer:
            dut.i__payload.value = pack(acts[sent], w)
        dut.o__ready.value = int(ready)
        await Timer(2, unit="ns")
        if offer and int(dut.i__ready.value):
            sent += 1
        if ready and int(dut.o__valid.value):
            got.append(unpack(dut.o__payload.value.to_unsigned(), ew, entries))
        await FallingEdge(dut.clk)
        if len(got) == count:
            break
    assert got == table_entries(acts).tolist()
