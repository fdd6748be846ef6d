"""BitModPE in amaranth.sim against the Numba model (sim.pe.bitmod_pe through sim.pe.bitmod_pe_io):
every group's dequant output, every fold's FP32 result bit for bit, and the fold cycle counts."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator
from hypothesis import given, settings
from hypothesis import strategies as st

from rtl.gateware.bitmod_pe import BitModPE
from sim.errors import InputError
from sim.pe.bitmod_pe_io import pe_folds
from tests.rtl.bitmod_drive import group_value, random_operands, step_ports


def run_folds(dut, folds, rng, stall=0.0):
    """Drive the folds' steps back to back (``stall``: chance of withholding in_valid for a cycle).

    Returns (group values [(edge, value)], outputs [(edge, FP32 bits)]); edge 1 samples the first step.
    """
    groups, outs = [], []

    async def tb(ctx):
        edge = 0
        n_out = 0

        async def tick():
            nonlocal edge, n_out
            if dut.is_bitmod and n_out < len(folds):
                ctx.set(dut.chan, folds[n_out].chan)
            await ctx.tick()
            edge += 1
            if ctx.get(dut.d_valid):
                groups.append((edge, group_value(ctx.get(dut.d), ctx.get(dut.d_exp))))
            if ctx.get(dut.out_valid):
                outs.append((edge, ctx.get(dut.out)))
                n_out += 1

        for fold in folds:
            for step in fold.steps:
                for name, value in step_ports(step, dut.code_bits, dut.is_bitmod).items():
                    port = getattr(dut, name)
                    ctx.set(port.as_value() if hasattr(port, "as_value") else port, value)
                while True:
                    valid = not (stall and rng.random() < stall)
                    ctx.set(dut.in_valid, int(valid))
                    ready = ctx.get(dut.in_ready)
                    await tick()
                    if valid and ready:
                        break
        ctx.set(dut.in_valid, 0)
        for _ in range(3 * (dut.scale_bits + dut.n_terms)):   # drain: ≤ 2 dequants and a group wait
            await tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    return groups, outs


def _fp32_bits(x) -> int:
    return int(np.float32(x).view(np.uint32))


def check(weights, m, n, k, group, seed, stall=0.0):
    rng = np.random.default_rng(seed)
    a, qw = random_operands(rng, weights, m, n, k, group)
    folds, cycles = pe_folds(a, qw)
    dut = BitModPE(weights=weights)
    groups, outs = run_folds(dut, folds, rng, stall)
    assert [v for _, v in groups] == [v for f in folds for v in f.group_values]
    assert [b for _, b in outs] == [_fp32_bits(f.out) for f in folds]
    if not stall:
        assert [e for e, _ in outs] == list(np.cumsum([f.cycles for f in folds]))
        assert outs[-1][0] == cycles
    return folds


@pytest.mark.parametrize("weights,group", [("bitmod_fp3", 8), ("bitmod_fp4", 6), ("int4", 8),
                                           ("int6", 4), ("int8", 5)])
def test_folds_match_model_bit_for_bit_and_cycles(weights, group):
    """Two groups per fold (INT8 with a padded group: 5 → 8 lanes), 2 × 2 outputs back to back."""
    check(weights, 2, 2, 2 * group, group, seed=len(weights) * 31 + group)


@pytest.mark.parametrize("weights", ["bitmod_fp4", "int8"])
def test_dequant_longer_than_group_stalls_like_the_model(weights):
    """One lane step per group (a = T < L): the accumulator waits for the bit-serial dequant."""
    folds = check(weights, 1, 2, 12, 4, seed=7)
    assert folds[0].cycles > 3 * 4                       # the max(a, L) term is L here


@settings(max_examples=6, deadline=None)
@given(weights=st.sampled_from(["bitmod_fp3", "bitmod_fp4", "int4", "int6", "int8"]), group=st.integers(1, 12),
       groups=st.integers(1, 3), m=st.integers(1, 2), n=st.integers(1, 2), seed=st.integers(0, 2 ** 16))
def test_random_shapes_match_model(weights, group, groups, m, n, seed):
    check(weights, m, n, group * groups, group, seed)


def test_input_stalls_do_not_change_results():
    check("bitmod_fp4", 1, 2, 16, 8, seed=3, stall=0.3)


def test_bad_weights_raise_input_error():
    with pytest.raises(InputError, match="weights"):
        BitModPE(weights="int2")
