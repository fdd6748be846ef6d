"""rtl.gateware.fp32 in amaranth.sim: FP32 add, FP32 × FP16 and integer × FP16 equal numpy's correctly rounded
float32 results bit for bit, on random operands with cancellations, exact ties and wide exponent gaps."""

from __future__ import annotations

import numpy as np
from amaranth import Module, Signal, signed
from amaranth.sim import Simulator

from rtl.gateware.fp32 import fp32_add, fp32_mul_fp16, int_times_fp16


def _bits(x) -> int:
    return int(np.float32(x).view(np.uint32))


def _cases(rng, count):
    for t in range(count):
        x = np.float32(rng.normal() * 2.0 ** rng.integers(-60, 60))
        kind = t % 5
        if kind == 0:                                   # near-cancellation
            y = np.float32(-x * (1 + int(rng.integers(-3, 4)) * 2.0 ** -23))
        elif kind == 1:                                 # an exact tie: y is half an ulp of x (times an odd)
            ulp = np.spacing(np.abs(x))
            y = np.float32(ulp * (0.5 + int(rng.integers(0, 3))) * rng.choice([-1, 1]))
        elif kind == 2:                                 # wide gap
            y = np.float32(x * 2.0 ** -int(rng.integers(20, 80)))
        else:
            y = np.float32(rng.normal() * 2.0 ** rng.integers(-60, 60))
        if t % 13 == 0:
            x = np.float32(0.0)
        h = np.float16(rng.normal() * 2.0 ** rng.integers(-26, 14))
        i = int(rng.integers(-(2 ** 38), 2 ** 38)) >> int(rng.integers(0, 38))
        yield x, y, h, i


def test_fp32_units_round_like_numpy():
    rng = np.random.default_rng(0)
    m = Module()
    a, b, h, iv = Signal(32), Signal(32), Signal(16), Signal(signed(40))
    add, mul, imul = fp32_add(m, a, b), fp32_mul_fp16(m, a, h), int_times_fp16(m, iv, h)
    bad = []

    async def tb(ctx):
        for x, y, hv, i in _cases(rng, 600):
            ctx.set(a, _bits(x))
            ctx.set(b, _bits(y))
            ctx.set(h, int(hv.view(np.uint16)))
            ctx.set(iv, i)
            await ctx.delay(1e-9)
            want = (_bits(np.float64(x) + np.float64(y)), _bits(np.float64(x) * np.float64(hv)),
                    _bits(float(i) * np.float64(hv)))
            got = (ctx.get(add), ctx.get(mul), ctx.get(imul))
            if got != want:
                bad.append((x, y, hv, i, got, want))

    sim = Simulator(m)
    sim.add_testbench(tb)
    sim.run()
    assert not bad, bad[:3]
