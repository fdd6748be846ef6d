"""LutTensorCore in amaranth.sim: outputs equal the contract model bit for bit, valid after b + 1
edges, back-to-back tiles in T·b + 1 edges, and whole mpGEMMs equal sim.reference."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from rtl.gateware.lut_tensor_core import LutTensorCore
from rtl.gateware.params import LUT_OUTPUT_LATENCY
from sim import formats, reference
from sim.errors import InputError
from tests.rtl import lut_model
from tests.rtl.amaranth_util import pack, unpack
from tests.rtl.lut_model import (
    partial_sums,
    plane_inputs,
    reinterpreted_zero,
    table_entries,
    tile_cycles,
    tile_output,
)


def _grid(values, width):
    return pack(np.asarray(values).reshape(-1), width)


def run_tiles(dut, tiles, rng, tail=4):
    """Drive ``tiles`` back to back: each is (tables (M,E), idx (b,N), neg (b,N), psum_in (M,N)).

    Returns [(edge, out (M,N))] for every cycle with ``valid`` high; edge 1 samples the first start.
    Inputs that the unit must ignore (psum_in after start, idx/neg when idle) carry random junk.
    """
    results = []
    junk = int(rng.integers(0, 1 << 62))

    async def tb(ctx):
        edge = 0

        async def tick():
            nonlocal edge
            await ctx.tick()
            edge += 1
            if ctx.get(dut.valid):
                word = ctx.get(dut.out.as_value())
                vals = unpack(word, dut.acc_width, dut.m * dut.n, signed=not dut.fp16)
                results.append((edge, np.array(vals).reshape(dut.m, dut.n)))

        for tables, idx, neg, psum in tiles:
            ctx.set(dut.tables.as_value(), _grid(tables, dut.entry_width))
            ctx.set(dut.n_planes, len(idx))
            for i in range(len(idx)):
                ctx.set(dut.start, int(i == 0))
                ctx.set(dut.psum_in.as_value(), _grid(psum, dut.acc_width) if i == 0 else junk)
                ctx.set(dut.idx.as_value(), pack(idx[i], dut.k - 1))
                ctx.set(dut.neg, pack(neg[i], 1))
                await tick()
        ctx.set(dut.start, 0)
        ctx.set(dut.idx.as_value(), junk & ((1 << (dut.n * (dut.k - 1))) - 1))
        for _ in range(tail):
            await tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    return results


def random_tile(rng, dut, bits, extreme=False):
    return lut_model.random_tile(rng, dut.m, dut.n, dut.k, dut.act_width, bits, extreme)


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_single_tile_value_and_latency(bits):
    rng = np.random.default_rng(bits)
    dut = LutTensorCore(m=2, n=8)
    tile = random_tile(rng, dut, bits, extreme=bits == 8)
    res = run_tiles(dut, [tile], rng)
    assert [e for e, _ in res] == [tile_cycles(bits)]
    np.testing.assert_array_equal(res[0][1], tile_output(*tile))


def test_back_to_back_tiles_pipeline():
    rng = np.random.default_rng(11)
    dut = LutTensorCore(m=2, n=8, k=4)
    bits = [3, 1, 8, 2, 2, 5]
    tiles = [random_tile(rng, dut, b) for b in bits]
    res = run_tiles(dut, tiles, rng)
    assert [e for e, _ in res] == [sum(bits[: i + 1]) + 1 for i in range(len(bits))]
    assert res[-1][0] == sum(bits) + LUT_OUTPUT_LATENCY
    for (_, out), tile in zip(res, tiles):
        np.testing.assert_array_equal(out, tile_output(*tile))


def test_uniform_stream_takes_t_b_plus_one():
    rng = np.random.default_rng(5)
    dut = LutTensorCore(m=1, n=4, k=2, act_width=4)
    tiles = [random_tile(rng, dut, 4) for _ in range(5)]
    res = run_tiles(dut, tiles, rng)
    assert res[-1][0] == tile_cycles(4, tiles=5)
    for (_, out), tile in zip(res, tiles):
        np.testing.assert_array_equal(out, tile_output(*tile))


@pytest.mark.parametrize("fmt,k_unit,group", [("int4", 4, 8), ("int3_asym", 4, 6), ("int2", 8, 8)])
def test_mpgemm_through_the_unit_equals_reference(fmt, k_unit, group):
    """Chain K-groups through psum_in inside each quantization group, then undo the reinterpretation."""
    rng = np.random.default_rng(len(fmt) + group)
    m_rows, n_cols, k_total = 2, 6, 24
    dut = LutTensorCore(m=m_rows, n=n_cols, k=k_unit)
    a = rng.integers(-128, 128, size=(m_rows, k_total))
    a[0, :k_unit] = -128  # most negative activations in one group
    qw = formats.get(fmt).quantize(rng.normal(size=(n_cols, k_total)), group_size=group)
    bits = formats.get(fmt).code_bits
    expected = reference.group_partial_sums(a, qw)

    for g in range(k_total // group):
        psum = np.zeros((m_rows, n_cols), dtype=np.int64)
        for k0 in range(g * group, (g + 1) * group, k_unit):
            ks = list(range(k0, min(k0 + k_unit, (g + 1) * group)))
            acts = np.zeros((m_rows, k_unit), dtype=np.int64)   # zero-padded when group % k_unit
            codes = np.zeros((n_cols, k_unit), dtype=np.int64)
            acts[:, : len(ks)] = a[:, ks]
            codes[:, : len(ks)] = qw.codes[:, ks]
            idx, neg = plane_inputs(codes, bits)
            res = run_tiles(dut, [(table_entries(acts), idx, neg, psum)], rng, tail=2)
            assert len(res) == 1
            psum = res[0][1]                                   # next K-group's psum_in
        zprime = reinterpreted_zero(np.rint(qw.zeros[:, g]).astype(np.int64), bits)
        p = partial_sums(psum, zprime, a[:, g * group:(g + 1) * group].sum(axis=1))
        np.testing.assert_array_equal(p, expected[:, :, g])


def test_default_unit_m2n64k4():
    rng = np.random.default_rng(3)
    dut = LutTensorCore()
    assert (dut.m, dut.n, dut.k, dut.entry_width, dut.acc_width) == (2, 64, 4, 10, 32)
    tiles = [random_tile(rng, dut, 2, extreme=True), random_tile(rng, dut, 2)]
    res = run_tiles(dut, tiles, rng, tail=1)
    assert [e for e, _ in res] == [3, 5]
    for (_, out), tile in zip(res, tiles):
        np.testing.assert_array_equal(out, tile_output(*tile))


@pytest.mark.parametrize("bits,max_exp", [(4, 15), (8, 12), (3, 4)])
def test_fp16_mode_matches_model_bit_for_bit(bits, max_exp):
    """FP16 tables and accumulator: acc = fp16(acc + fp16(±S·2^i)), RNE; overflow to inf, NaN."""
    rng = np.random.default_rng(bits * 31 + max_exp)
    dut = LutTensorCore(m=2, n=6, k=4, mode="fp16")
    tiles, expected = [], []
    for t in range(4):
        acts = lut_model.random_fp16(rng, (dut.m, dut.k), max_exp=max_exp)
        if t == 0:
            acts[0] = [60000.0, -60000.0, 60000.0, -60000.0]   # huge entries: inf after ·2^i, inf − inf
        tables = lut_model.table_entries_fp16(acts)
        codes = rng.integers(0, 1 << bits, size=(dut.n, dut.k))
        idx, neg = plane_inputs(codes, bits)
        psum = lut_model.random_fp16(rng, (dut.m, dut.n), max_exp=max_exp)
        tiles.append((lut_model.fp16_bits(tables), idx, neg, lut_model.fp16_bits(psum)))
        expected.append(lut_model.fp16_bits(lut_model.tile_output_fp16(tables, idx, neg, psum)))
    res = run_tiles(dut, tiles, rng)
    assert [e for e, _ in res] == [bits * (t + 1) + LUT_OUTPUT_LATENCY for t in range(4)]
    for (_, out), want in zip(res, expected):
        np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("kw,field", [({"m": 0}, "m"), ({"k": 6}, "k"), ({"act_width": 5}, "act_width"),
                                      ({"acc_width": 8}, "acc_width"), ({"max_bits": 0}, "max_bits")])
def test_bad_parameters_raise_input_error(kw, field):
    with pytest.raises(InputError, match=field):
        LutTensorCore(**kw)
