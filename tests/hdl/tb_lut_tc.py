"""cocotb testbench (not a pytest module): the generated LUT Tensor Core Verilog against the model.

Parameters come as JSON in $LUTSIM_TB: design parameters (m, n, k, act_width, acc_width), the
plane count of every tile ("bits", run back to back) and a seed. Inputs change on the falling
edge; outputs are read on the falling edge after each rising edge (edge 1 samples the first start).
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from tests.rtl.amaranth_util import pack, unpack
from tests.rtl.lut_model import random_tile, tile_output


@cocotb.test()
async def tiles_match_model(dut):
    cfg = json.loads(os.environ["LUTSIM_TB"])
    m, n, k, w, accw = (cfg[x] for x in ("m", "n", "k", "act_width", "acc_width"))
    ew = w + (k.bit_length() - 1)
    rng = np.random.default_rng(cfg["seed"])
    tiles = [random_tile(rng, m, n, k, w, b, extreme=(i == 0)) for i, b in enumerate(cfg["bits"])]

    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    dut.start.value = 0
    await FallingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0

    seen, edge = [], 0

    async def step():
        nonlocal edge
        await FallingEdge(dut.clk)
        edge += 1
        if int(dut.valid.value):
            seen.append((edge, unpack(dut.out.value.to_unsigned(), accw, m * n)))

    for tables, idx, neg, psum in tiles:
        dut.tables.value = pack(np.ravel(tables), ew)
        dut.n_planes.value = len(idx)
        dut.psum_in.value = pack(np.ravel(psum), accw)
        for i in range(len(idx)):
            dut.start.value = int(i == 0)
            dut.idx.value = pack(idx[i], k - 1)
            dut.neg.value = pack(neg[i], 1)
            await step()
            dut.psum_in.value = int(rng.integers(0, 1 << 62))  # ignored after start
    dut.start.value = 0
    for _ in range(3):
        await step()

    expect_edges = list(np.cumsum(cfg["bits"]) + 1)
    assert [e for e, _ in seen] == expect_edges, f"valid at edges {[e for e, _ in seen]}, contract {expect_edges}"
    for (_, out), tile in zip(seen, tiles):
        assert out == list(tile_output(*tile).ravel()), "output differs from the model"
