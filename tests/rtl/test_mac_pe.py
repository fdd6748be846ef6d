"""MacPE in amaranth.sim: the accumulator equals an int64 dot product (wrapped to acc_width)."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from rtl.mac_pe import MacPE
from sim.errors import InputError
from tests.rtl.amaranth_util import pack, unpack


def _wrap(x: int, width: int) -> int:
    return unpack(pack([x], width), width, 1)[0]


@pytest.mark.parametrize("k,aw,ww,accw", [(1, 8, 8, 32), (4, 8, 4, 32), (4, 8, 8, 20), (3, 16, 8, 32)])
def test_mac_accumulates_exactly(k, aw, ww, accw):
    rng = np.random.default_rng(k * 100 + aw + ww)
    dut = MacPE(k=k, act_width=aw, w_width=ww, acc_width=accw)
    cycles = 40
    a = rng.integers(-(1 << (aw - 1)), 1 << (aw - 1), size=(cycles, k))
    w = rng.integers(-(1 << (ww - 1)), 1 << (ww - 1), size=(cycles, k))
    a[:4], w[:4] = -(1 << (aw - 1)), -(1 << (ww - 1))    # most negative × most negative
    en = rng.random(cycles) < 0.8
    clear = rng.random(cycles) < 0.15
    seen = []

    async def tb(ctx):
        for c in range(cycles):
            ctx.set(dut.a.as_value(), pack(a[c], aw))
            ctx.set(dut.w.as_value(), pack(w[c], ww))
            ctx.set(dut.en, int(en[c]))
            ctx.set(dut.clear, int(clear[c]))
            await ctx.tick()
            seen.append(ctx.get(dut.acc))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    acc, expect = 0, []
    for c in range(cycles):
        if en[c]:
            acc = (0 if clear[c] else acc) + int(a[c] @ w[c])
            acc = _wrap(acc, accw)
        expect.append(acc)
    assert seen == expect


def test_bad_weight_width():
    with pytest.raises(InputError, match="w_width"):
        MacPE(w_width=3)
