"""rtl.gateware.kv_quantize_unit in amaranth.sim against the simulator's quantizer (sim.formats int4_asym, the KV
cache of recipe w4a8kv4): codes, FP16 scales and zero codes bit for bit on hypothesis-drawn FP16 groups (normal,
subnormal and extreme values, all-equal groups, zero range, ±0, the most negative values), back to back with
outputs exactly ``latency`` cycles after their inputs; the group min / max (fp16_min_max) equal numpy's."""

from __future__ import annotations

import numpy as np
from amaranth import Module, Signal
from amaranth.sim import Simulator
from hypothesis import given, settings
from hypothesis import strategies as st

from rtl.gateware.kv_quantize_unit import KvQuantizeUnit, fp16_min_max
from sim import formats

F16 = np.float16
LANES, CHUNKS = 8, 2          # a group of 16 values, two cycles of 8 lanes
MAX16 = 65504.0               # the largest finite FP16 (IEEE 754 binary16)


def _f16_bits(x) -> np.ndarray:
    return np.asarray(x, dtype=F16).view(np.uint16).astype(np.int64)


def _group(draw_kind: int, raw: np.ndarray) -> np.ndarray:
    """One group of FP16 values (float64) of a kind: random patterns, all equal, zero range (±0), extremes,
    one value beside zeros (inf / NaN patterns become 1.0: the quantizer takes finite values)."""
    v = raw.view(F16).astype(np.float64)
    v = np.where(np.isfinite(v), v, 1.0)
    if draw_kind == 1:
        v = np.full_like(v, v[0])
    elif draw_kind == 2:
        v = np.where(raw & 1, -0.0, 0.0)
    elif draw_kind == 3:
        v = np.where(raw & 1, -MAX16, np.where(raw & 2, MAX16, v))
    elif draw_kind == 4:
        v = np.where(np.arange(len(v)) == raw[0] % len(v), v, 0.0)
    return v


def _run(groups: list[np.ndarray], latency: int) -> list[tuple[list[int], int, int]]:
    """Stream ``groups`` back to back through a KvQuantizeUnit (lo / hi from numpy); per group (codes, scale bits,
    zero code), checking o_valid exactly ``latency`` cycles after each valid input."""
    dut = KvQuantizeUnit(lanes=LANES, bits=4, latency=latency)
    feed = []
    for g in groups:
        lo, hi = np.minimum(g.min(), 0.0), np.maximum(g.max(), 0.0)
        for c in range(CHUNKS):
            feed.append((_f16_bits(g[c * LANES:(c + 1) * LANES]), int(_f16_bits(lo)), int(_f16_bits(hi))))
    got, seen = [], []

    async def tb(ctx):
        for cycle in range(len(feed) + latency + 1):
            if cycle < len(feed):
                x, lo, hi = feed[cycle]
                ctx.set(dut.valid, 1)
                for i in range(LANES):
                    ctx.set(dut.x[i], int(x[i]))
                ctx.set(dut.lo, lo)
                ctx.set(dut.hi, hi)
            else:
                ctx.set(dut.valid, 0)
            await ctx.delay(1e-9)
            if ctx.get(dut.o_valid):
                seen.append(cycle)
                got.append(([ctx.get(dut.codes[i]) for i in range(LANES)], ctx.get(dut.scale), ctx.get(dut.zero)))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    assert seen == [c + latency for c in range(len(feed))]
    out = []
    for gi in range(len(groups)):
        chunks = got[gi * CHUNKS:(gi + 1) * CHUNKS]
        assert len({(s, z) for _, s, z in chunks}) == 1
        out.append(([c for codes, _, _ in chunks for c in codes], chunks[0][1], chunks[0][2]))
    return out


def _check(groups: list[np.ndarray], latency: int = 2) -> None:
    fmt = formats.get("int4_asym")
    for g, (codes, scale, zero) in zip(groups, _run(groups, latency)):
        q = fmt.quantize(g[None, :], group_size=len(g))
        assert codes == [int(c) for c in q.codes[0]], (g, codes, q.codes[0])
        assert scale == int(_f16_bits(q.scales[0, 0])), (g, hex(scale), q.scales[0, 0])
        assert zero == int(q.zeros[0, 0]), (g, zero, q.zeros[0, 0])


@settings(max_examples=12, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.lists(st.integers(0, 0xFFFF), min_size=LANES * CHUNKS,
                                                      max_size=LANES * CHUNKS)), min_size=1, max_size=6),
       st.integers(1, 3))
def test_codes_scales_zeros_equal_the_quantizer(drawn, latency):
    _check([_group(kind, np.array(raw, dtype=np.uint16)) for kind, raw in drawn], latency)


def test_edge_groups():
    rng = np.random.default_rng(3)
    n = LANES * CHUNKS
    normal = rng.normal(size=n)
    groups = [np.zeros(n), np.full(n, -0.0), np.full(n, 3.0), np.full(n, -MAX16), np.full(n, MAX16),
              np.where(np.arange(n) % 2, MAX16, -MAX16), np.full(n, 2.0 ** -24), np.full(n, -(2.0 ** -24)),
              np.where(np.arange(n) % 2, 2.0 ** -14, -(2.0 ** -24)),
              normal.astype(F16).astype(np.float64), (normal * 1e-6).astype(F16).astype(np.float64),
              np.arange(n) * 0.5 - 3.75,                  # x/s on half-integers: ties to even
              np.linspace(-7.5, 0, n), np.linspace(0, 15, n)]
    _check([g.astype(F16).astype(np.float64) for g in groups])


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(0, 0xFFFF), min_size=LANES, max_size=LANES), st.integers(0, 0xFFFF),
       st.integers(0, 0xFFFF))
def test_min_max_equal_numpy(raw, lo0, hi0):
    vals = np.array(raw, dtype=np.uint16).view(F16).astype(np.float64)
    vals = np.where(np.isfinite(vals), vals, 0.0)
    start = [np.array([x], dtype=np.uint16).view(F16).astype(np.float64)[0] for x in (lo0, hi0)]
    start = [s if np.isfinite(s) else 0.0 for s in start]
    lo_s, hi_s = min(start), max(start)
    m = Module()
    xs = [Signal(16, name=f"x{i}") for i in range(LANES)]
    lo_in, hi_in = Signal(16), Signal(16)
    lo, hi = fp16_min_max(m, xs, lo_in, hi_in)
    out = {}

    async def tb(ctx):
        for s, v in zip(xs, _f16_bits(vals)):
            ctx.set(s, int(v))
        ctx.set(lo_in, int(_f16_bits(lo_s)))
        ctx.set(hi_in, int(_f16_bits(hi_s)))
        await ctx.delay(1e-9)
        out["lo"], out["hi"] = ctx.get(lo), ctx.get(hi)

    sim = Simulator(m)
    sim.add_testbench(tb)
    sim.run()
    as_f = [np.array([out[k]], dtype=np.uint16).view(F16).astype(np.float64)[0] for k in ("lo", "hi")]
    assert as_f[0] == min(vals.min(), lo_s) and as_f[1] == max(vals.max(), hi_s)
