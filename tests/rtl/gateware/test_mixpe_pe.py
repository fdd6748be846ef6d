"""MixPE PE (W4A8 and W4A16) in amaranth.sim against the Numba model (sim.pe.mixpe through sim.pe.mixpe_io):
every fold's FP32 output bit for bit, ``out_valid`` at the model's fold boundaries."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from amaranth.sim import Simulator
from hypothesis import given, settings
from hypothesis import strategies as st

from rtl.gateware.mixpe_pe import MixPE
from sim.errors import InputError
from sim.formats import get as get_format
from sim.pe.mixpe_io import pe_folds
from tests.rtl.bitmod_drive import random_fp16


def random_operands(rng, weights, m, n, k, group, acts="int8"):
    """INT8 activations with −128 and 127 runs (or FP16 ones over the whole range with subnormals),
    weights with zeros, an all-zero group and the extreme codes."""
    if acts == "int8":
        a = rng.integers(-128, 128, size=(m, k)).astype(np.float64)
        a[0, :2] = -128
        a[-1, -2:] = 127
    else:
        a = random_fp16(rng, (m, k))
    w = rng.normal(size=(n, k)) * np.exp2(rng.integers(-4, 4, size=(n, 1)))
    if k // group > 1:
        w[0, :group] = 0.0
    fmt = get_format(weights)
    qw = fmt.quantize(w, group_size=group)
    codes = qw.codes.copy()
    codes[-1, 0], codes[0, -1] = 0, (1 << fmt.code_bits) - 1   # most negative and largest codes
    return a, dataclasses.replace(qw, codes=codes)


def run_folds(dut, folds):
    """Drive every fold's cycles back to back; returns [(edge, FP32 bits)] of out_valid."""
    outs = []

    async def tb(ctx):
        edge = 0
        for fold in folds:
            for cyc in fold.cycles:
                for name in ("en", "a", "code", "dq", "zero", "scale", "last"):
                    ctx.set(getattr(dut, name), int(getattr(cyc, name)))
                await ctx.tick()
                edge += 1
                if ctx.get(dut.out_valid):
                    outs.append((edge, ctx.get(dut.out)))
        for name in ("en", "dq", "last"):
            ctx.set(getattr(dut, name), 0)
        await ctx.tick()
        if ctx.get(dut.out_valid):
            outs.append((edge + 1, ctx.get(dut.out)))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    return outs


def check(weights, m, n, k, group, seed, acts="int8"):
    rng = np.random.default_rng(seed)
    a, qw = random_operands(rng, weights, m, n, k, group, acts)
    folds, cycles = pe_folds(a, qw, acts)
    outs = run_folds(MixPE(weights=weights, acts=acts, max_group=group), folds)
    assert [b for _, b in outs] == [int(f.out.view(np.uint32)) for f in folds]
    assert [e for e, _ in outs] == list(np.cumsum([len(f.cycles) for f in folds]))
    assert outs[-1][0] == cycles


@pytest.mark.parametrize("weights,group", [("int4", 8), ("int4_asym", 6), ("int2", 4), ("int3_asym", 5),
                                           ("int8", 4), ("int8_asym", 3)])
def test_folds_match_model_bit_for_bit_and_cycles(weights, group):
    check(weights, 2, 2, 3 * group, group, seed=len(weights) * 13 + group)


@pytest.mark.parametrize("weights,group", [("int4", 8), ("int4_asym", 6), ("int3_asym", 5), ("int8_asym", 4)])
def test_w4a16_folds_match_model_bit_for_bit_and_cycles(weights, group):
    """FP16 activations: FP32 P and A registers rounded after every add, as the model's."""
    check(weights, 2, 2, 3 * group, group, seed=len(weights) * 7 + group, acts="fp16")


@settings(max_examples=6, deadline=None)
@given(weights=st.sampled_from(["int2", "int3", "int4", "int8", "int2_asym", "int4_asym", "int8_asym"]),
       acts=st.sampled_from(["int8", "fp16"]), group=st.integers(1, 10), groups=st.integers(1, 3),
       m=st.integers(1, 2), n=st.integers(1, 2), seed=st.integers(0, 2 ** 16))
def test_random_shapes_match_model(weights, acts, group, groups, m, n, seed):
    check(weights, m, n, group * groups, group, seed, acts)


def test_sizing_holds_at_the_extremes():
    """max_group = group: the most negative activation × the largest code over a whole group fits."""
    dut = MixPE(weights="int8_asym", max_group=4)
    a = np.full((1, 4), -128.0)
    qw = get_format("int8_asym").quantize(np.linspace(-1.0, 3.0, 4)[None], group_size=4)
    qw = dataclasses.replace(qw, codes=np.full((1, 4), 255, dtype=qw.codes.dtype))
    folds, _ = pe_folds(a, qw)
    assert [b for _, b in run_folds(dut, folds)] == [int(folds[0].out.view(np.uint32))]


@pytest.mark.parametrize("kw,field", [({"weights": "bitmod_fp4"}, "weights"), ({"acc": "fp64"}, "acc"),
                                      ({"acts": "bf16"}, "acts"),
                                      ({"max_group": 0}, "max_group")])
def test_bad_parameters_raise_input_error(kw, field):
    with pytest.raises(InputError, match=field):
        MixPE(**kw)
