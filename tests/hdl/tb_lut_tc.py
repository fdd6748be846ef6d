"""cocotb testbench (not a pytest module): the generated LUT Tensor Core Verilog against the model.

Parameters come as JSON in $LUTSIM_TB: design parameters (m, n, k, act_width, acc_width), the
plane count of every tile ("bits", run back to back), a seed and optionally "mode": "fp16" (FP16
tables and accumulator, compared as bit patterns). Inputs change on the falling
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
from tests.rtl.lut_model import (
    fp16_bits,
    plane_inputs,
    random_fp16,
    random_tile,
    table_entries_fp16,
    tile_output,
    tile_output_fp16,
)


def fp16_tile(rng, m, n, k, bits):
    """(table bits, idx, neg, psum bits) and the expected output bits of one random FP16 tile."""
    tables = table_entries_fp16(random_fp16(rng, (m, k), max_exp=12))
    idx, neg = plane_inputs(rng.integers(0, 1 << bits, size=(n, k)), bits)
    psum = random_fp16(rng, (m, n), max_exp=12)
    out = fp16_bits(tile_output_fp16(tables, idx, neg, psum))
    return (fp16_bits(tables), idx, neg, fp16_bits(psum)), out


@cocotb.test()
async def tiles_match_model(dut):
    cfg = json.loads(os.environ["LUTSIM_TB"])
    m, n, k, w, accw = (cfg[x] for x in ("m", "n", "k", "act_width", "acc_width"))
    fp16 = cfg.get("mode") == "fp16"
    ew = 16 if fp16 else w + (k.bit_length() - 1)
    rng = np.random.default_rng(cfg["seed"])
    if fp16:
        tiles, expected = zip(*[fp16_tile(rng, m, n, k, b) for b in cfg["bits"]])
    else:
        tiles = [random_tile(rng, m, n, k, w, b, extreme=(i == 0)) for i, b in enumerate(cfg["bits"])]
        expected = [tile_output(*t) for t in tiles]

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
            seen.append((edge, unpack(dut.out.value.to_unsigned(), accw, m * n, signed=not fp16)))

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
    for (_, out), want in zip(seen, expected):
        assert out == list(np.ravel(want)), "output differs from the model"
