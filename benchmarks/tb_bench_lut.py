"""cocotb module (not a pytest test) for benchmarks/bench_rtl.py: clock the LUT unit on random
operands for $LUTSIM_BENCH["cycles"] cycles and write the wall time to $LUTSIM_BENCH["out"]."""

from __future__ import annotations

import json
import os
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge


@cocotb.test()
async def clock_random_tiles(dut):
    cfg = json.loads(os.environ["LUTSIM_BENCH"])
    cycles, bits = cfg["cycles"], cfg["bits"]
    rng = np.random.default_rng(0)
    width = {name: len(getattr(dut, name)) for name in ("tables", "idx", "neg", "psum_in")}
    # random operand words drawn up front so the loop times the simulator, not numpy
    words = {name: [int.from_bytes(rng.bytes((w + 7) // 8), "little") & ((1 << w) - 1) for _ in range(64)]
             for name, w in width.items()}
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    dut.start.value = 0
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    dut.n_planes.value = bits
    valids = 0
    t0 = time.perf_counter()
    for c in range(cycles):
        plane = c % bits
        j = c % 64
        dut.start.value = int(plane == 0)
        if plane == 0:
            dut.tables.value = words["tables"][j]
            dut.psum_in.value = words["psum_in"][j]
        dut.idx.value = words["idx"][j]
        dut.neg.value = words["neg"][j]
        await FallingEdge(dut.clk)
        valids += int(dut.valid.value)
    wall = time.perf_counter() - t0
    with open(cfg["out"], "w") as f:
        json.dump({"cycles": cycles, "wall_s": wall, "valids": valids}, f)
