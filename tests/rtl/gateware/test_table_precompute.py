"""TablePrecompute in amaranth.sim: entries equal the contract's table, latency, back-pressure."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from rtl.gateware.params import PRECOMPUTE_LATENCY
from rtl.gateware.table_precompute import TablePrecompute
from sim.errors import InputError
from tests.rtl.amaranth_util import pack, unpack
from tests.rtl.lut_model import fp16_bits, random_fp16, table_entries, table_entries_fp16


def _acts(rng, count, k, w):
    lo, hi = -(1 << (w - 1)), (1 << (w - 1))
    a = rng.integers(lo, hi, size=(count, k))
    a[0] = lo            # most negative everywhere: largest |entries|
    a[1] = hi - 1
    a[2] = 0             # all-zero group
    a[3, -1] = lo        # top activation most negative, others max: entry extremes
    a[3, :-1] = hi - 1
    return a


def _run(dut, acts, ready_prob, rng):
    """Feed ``acts`` with random gaps and random o.ready; return the outputs taken, in order."""
    got = []
    gaps = rng.random(10 * len(acts) + 50)
    readies = rng.random(10 * len(acts) + 50) < ready_prob

    async def tb(ctx):
        sent = 0
        for cyc in range(len(gaps)):
            offer = sent < len(acts) and gaps[cyc] < 0.7
            ctx.set(dut.i.valid, int(offer))
            if offer:
                ctx.set(dut.i.payload.as_value(), pack(acts[sent], dut.act_width))  # ints or FP16 patterns
            ctx.set(dut.o.ready, int(readies[cyc]))
            accept_in = offer and ctx.get(dut.i.ready)
            take_out = ctx.get(dut.o.valid) and readies[cyc]
            if take_out:
                got.append(unpack(ctx.get(dut.o.payload.as_value()), dut.entry_width, dut.n_entries,
                                  signed=not dut.fp16))
            await ctx.tick()
            if accept_in:
                sent += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    return np.array(got)


@pytest.mark.parametrize("k,w", [(4, 8), (4, 4), (4, 16), (2, 8), (8, 8)])
def test_entries_match_model_under_backpressure(k, w):
    rng = np.random.default_rng(1000 * k + w)
    acts = _acts(rng, 24, k, w)
    dut = TablePrecompute(k=k, act_width=w)
    got = _run(dut, acts, ready_prob=0.6, rng=rng)
    assert got.shape == (len(acts), 1 << (k - 1))
    np.testing.assert_array_equal(got, table_entries(acts))


@pytest.mark.parametrize("k", [4])
def test_fp16_entries_match_model_bit_for_bit(k):
    """FP16 tables: pairwise tree, RNE after every add; includes subnormals, overflow to inf, inf − inf."""
    rng = np.random.default_rng(40 + k)
    acts = random_fp16(rng, (60, k))
    acts[0] = 60000.0                       # sums overflow to inf
    acts[1] = [60000.0, 60000.0, -60000.0, -60000.0] * (k // 4)   # +inf and −inf meet: NaN
    acts[2] = 2.0 ** -24                    # smallest subnormals
    acts[3] = [1.0, 2.0 ** -11, 2.0 ** -11, 0.0] * (k // 4)        # rounding ties
    pattern = fp16_bits(acts)
    dut = TablePrecompute(k=k, mode="fp16")
    got = _run(dut, pattern, ready_prob=0.7, rng=rng)
    np.testing.assert_array_equal(got, fp16_bits(table_entries_fp16(acts)))


def test_latency_is_contract_constant():
    """One table accepted at edge 1 (counting from 1) is on ``o`` right after edge PRECOMPUTE_LATENCY."""
    dut = TablePrecompute()  # K = 4
    assert dut.latency == PRECOMPUTE_LATENCY
    acts = np.array([[1, -2, 3, -4]])
    first = None

    async def tb(ctx):
        nonlocal first
        ctx.set(dut.o.ready, 1)
        ctx.set(dut.i.valid, 1)
        ctx.set(dut.i.payload.as_value(), pack(acts[0], 8))
        for edge in range(1, 6):
            await ctx.tick()
            ctx.set(dut.i.valid, 0)
            if ctx.get(dut.o.valid) and first is None:
                first = edge
                assert unpack(ctx.get(dut.o.payload.as_value()), 10, 8) == list(table_entries(acts)[0])

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    assert first == PRECOMPUTE_LATENCY


def test_bad_parameters_raise_input_error():
    with pytest.raises(InputError, match="k"):
        TablePrecompute(k=3)
    with pytest.raises(InputError, match="act_width"):
        TablePrecompute(act_width=7)
    with pytest.raises(InputError, match="mode"):
        TablePrecompute(mode="bf16")
