"""MacPE in amaranth.sim: the accumulator equals an int64 dot product (wrapped to acc_width)."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth import Value
from amaranth.sim import Simulator

from rtl.gateware.mac_pe import MacPE
from sim.errors import InputError
from sim.reference import round_to
from tests.rtl.amaranth_util import pack, unpack
from tests.rtl.lut_model import fp16_bits, random_fp16


def _wrap(x: int, width: int) -> int:
    return unpack(pack([x], width), width, 1)[0]


def _drive(dut, a_words, w_words, en, clear) -> list[int]:
    """Present cycle c's packed operands and en/clear before edge c; ``acc`` (as a raw integer) after each edge."""
    seen = []

    async def tb(ctx):
        for c in range(len(a_words)):
            ctx.set(dut.a.as_value(), a_words[c])
            ctx.set(dut.w.as_value(), w_words[c])
            ctx.set(dut.en, int(en[c]))
            ctx.set(dut.clear, int(clear[c]))
            await ctx.tick()
            seen.append(ctx.get(Value.cast(dut.acc)))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    return seen


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
    seen = [_wrap(x, accw) for x in _drive(dut, [pack(x, aw) for x in a], [pack(x, ww) for x in w], en, clear)]
    acc, expect = 0, []
    for c in range(cycles):
        if en[c]:
            acc = (0 if clear[c] else acc) + int(a[c] @ w[c])
            acc = _wrap(acc, accw)
        expect.append(acc)
    assert seen == expect


@pytest.mark.parametrize("ww", [8, 4])
def test_fp16_int_mac_matches_numpy(ww):
    """acc = fp16(acc + fp16(a·w)), RNE, bit for bit; edge activations: ±0, subnormals, max, ±inf, NaN."""
    rng = np.random.default_rng(ww)
    dut = MacPE(mode="fp16", w_width=ww)
    a = random_fp16(rng, 300)
    a[:8] = [0.0, -0.0, 2.0 ** -24, 65504.0, -65504.0, np.inf, -np.inf, np.nan]
    w = rng.integers(-(1 << (ww - 1)), 1 << (ww - 1), size=len(a))
    w[:8] = [0, -3, 5, 2, -(1 << (ww - 1)), 0, 1, 3]
    en = rng.random(len(a)) < 0.9
    clear = rng.random(len(a)) < 0.1
    clear[5:9] = True                              # restart after inf·0 / inf / NaN
    seen = _drive(dut, [int(fp16_bits(x)) for x in a], [pack([x], ww) for x in w], en, clear)
    acc, expect = 0.0, []
    with np.errstate(invalid="ignore"):
        for c in range(len(a)):
            if en[c]:
                acc = float(round_to((0.0 if clear[c] else acc) + round_to(a[c] * w[c], np.float16), np.float16))
            expect.append(int(fp16_bits(acc)))
    assert seen == expect


def test_bad_weight_width():
    with pytest.raises(InputError, match="w_width"):
        MacPE(w_width=3)


def _fp16(x) -> float:
    return float(round_to(x, np.float16))


def test_fp16_dp4_pe_sums_rounded_products_in_a_tree():
    """K = 4 FP16 PE: acc = fp16(acc + fp16(fp16(p0 + p1) + fp16(p2 + p3))), p_i = fp16(a_i·w_i), bit for bit."""
    rng = np.random.default_rng(7)
    dut = MacPE(mode="fp16", k=4)
    cycles = 60
    a = rng.normal(0, 4, size=(cycles, 4)).astype(np.float16)
    w = rng.integers(-128, 128, size=(cycles, 4))
    clear = rng.random(cycles) < 0.2
    seen = _drive(dut, [pack([int(fp16_bits(x)) for x in row], 16) for row in a], [pack(x, 8) for x in w],
                  np.ones(cycles, bool), clear)
    acc, expect = 0.0, []
    for c in range(cycles):
        p = [_fp16(float(a[c, i]) * int(w[c, i])) for i in range(4)]
        acc = _fp16((0.0 if clear[c] else acc) + _fp16(_fp16(p[0] + p[1]) + _fp16(p[2] + p[3])))
        expect.append(int(fp16_bits(acc)))
    assert seen == expect


def test_mac_array_shares_rows_and_columns():
    """2×3 INT8 DP4 array: acc[r][c] = Σ_cycles a[r]·w[c] (rows of activations, columns of weights)."""
    from rtl.gateware.mac_pe import MacArray

    rng = np.random.default_rng(3)
    m, n, k, cycles = 2, 3, 4, 5
    dut = MacArray(m=m, n=n, k=k)
    a = rng.integers(-128, 128, size=(cycles, m, k))
    w = rng.integers(-128, 128, size=(cycles, n, k))
    seen = _drive(dut, [pack(x.ravel(), 8) for x in a], [pack(x.ravel(), 8) for x in w], np.ones(cycles, bool),
                  np.arange(cycles) == 0)
    got = unpack(seen[-1], 32, m * n)
    expect = sum(a[c] @ w[c].T for c in range(cycles))   # M × N
    assert got == [int(x) for x in expect.ravel()]
