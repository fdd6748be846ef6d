"""The Amaranth FP16 adder equals numpy float16 addition bit for bit (NaN: NaN-ness)."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from rtl.gateware.fp16 import Fp16Adder

EDGE = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x83FF, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7E00,
        0x3C00, 0xBC00, 0x3C01, 0x1400, 0x7800, 0x7BFE, 0x0200, 0x5BFF, 0x6800, 0xE800]


def _operands(rng, count):
    """Random bit patterns (all classes) plus close magnitudes (cancellation, ties) and edge values."""
    a = rng.integers(0, 1 << 16, size=count, dtype=np.uint16)
    b = rng.integers(0, 1 << 16, size=count, dtype=np.uint16)
    near = count // 3
    b[:near] = (a[:near] ^ 0x8000) + rng.integers(-3, 4, size=near).astype(np.uint16)   # near cancellation
    b[near:2 * near] = (a[near:2 * near] & 0x7C00) - rng.integers(0, 12 << 10, size=near).astype(np.uint16)
    e = np.array(EDGE, dtype=np.uint16)
    a = np.concatenate([a, np.repeat(e, len(e))])
    b = np.concatenate([b, np.tile(e, len(e))])
    return a, b


def _expected(a, b, shift):
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = (b.view(np.float16).astype(np.float64) * 2.0 ** shift).astype(np.float16)
        return (a.view(np.float16) + scaled).view(np.uint16)


def _simulate(dut, a, b, shift):
    got = []

    async def tb(ctx):
        for i in range(len(a)):
            ctx.set(dut.a, int(a[i]))
            ctx.set(dut.b, int(b[i]))
            if dut.shift_bits:
                ctx.set(dut.shift, int(shift[i]))
            got.append(ctx.get(dut.sum))

    sim = Simulator(dut)
    sim.add_testbench(tb)
    sim.run()
    return np.array(got, dtype=np.uint16)


def _check(got, want, a, b):
    gf, wf = got.view(np.float16), want.view(np.float16)
    nan = np.isnan(wf)
    assert np.array_equal(np.isnan(gf), nan)
    bad = np.flatnonzero(got[~nan] != want[~nan])
    assert bad.size == 0, [(hex(a[~nan][i]), hex(b[~nan][i]), hex(got[~nan][i]), hex(want[~nan][i]))
                           for i in bad[:5]]


def test_fp16_add_matches_numpy():
    rng = np.random.default_rng(16)
    a, b = _operands(rng, 1500)
    got = _simulate(Fp16Adder(), a, b, None)
    _check(got, _expected(a, b, 0), a, b)


@pytest.mark.parametrize("seed", [1])
def test_fp16_add_scaled_matches_numpy(seed):
    """a + fp16(b·2^i): the LUT unit's accumulate (i = plane, 0..7); overflow of b·2^i gives inf."""
    rng = np.random.default_rng(seed)
    a, b = _operands(rng, 900)
    shift = rng.integers(0, 8, size=len(a))
    got = _simulate(Fp16Adder(shift_bits=3), a, b, shift)
    want = np.array([_expected(a[i:i + 1], b[i:i + 1], int(shift[i]))[0] for i in range(len(a))], dtype=np.uint16)
    _check(got, want, a, b)
