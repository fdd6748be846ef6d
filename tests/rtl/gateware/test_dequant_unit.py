"""rtl.gateware.dequant_unit in amaranth.sim: the FP32 → FP16 rounding equals numpy's cast bit for bit (ties,
subnormals, overflow), and the DequantUnit's outputs equal sim.reference's rounded epilogue
(``round_to(sequential_sum(round_to(P·s, fp32), fp32), fp16)``) on random and edge values, on a quantized
GEMM through the LUT algebra (vs sim.reference.mpgemm_rounded), with outputs exactly ``latency`` cycles after
the last group of back-to-back output blocks."""

from __future__ import annotations

import numpy as np
from amaranth import Module, Signal
from amaranth.sim import Simulator

from rtl.gateware.dequant_unit import DequantUnit
from rtl.gateware.fp32 import fp32_to_fp16
from sim import formats, reference

F16, F32 = np.float16, np.float32


def _f32_patterns(rng, count: int) -> np.ndarray:
    """FP32 bit patterns around FP16's range: random normals, exact halfway points of FP16 neighbours
    (normal and subnormal), the overflow boundary, tiny values that round to zero or to 2^-24, zeros."""
    x = [rng.normal(size=count) * 2.0 ** rng.integers(-30, 20, size=count)]
    h = rng.integers(0, 0x7BFF, size=count).astype(np.uint16).view(F16).astype(np.float64)
    x.append(h + np.spacing(h.astype(F16)).astype(np.float64) / 2)          # ties (normal and subnormal FP16)
    x.append(np.array([65504, 65519.99, 65520, 70000, 2.0 ** -24, 2.0 ** -25, 2.0 ** -25 * 1.0000001,
                       2.0 ** -26, 2.0 ** -14, 2.0 ** -14 * (1 - 2.0 ** -12), 1e-30, 0.0, -0.0, 1.0, -1.5]))
    v = np.concatenate(x)
    v = np.concatenate([v, -v]).astype(F32)
    return v.view(np.uint32)


def test_fp32_to_fp16_rounds_like_numpy():
    rng = np.random.default_rng(1)
    m = Module()
    a = Signal(32)
    h = fp32_to_fp16(m, a)
    pats = _f32_patterns(rng, 300)
    bad = []

    async def tb(ctx):
        for p in pats:
            ctx.set(a, int(p))
            await ctx.delay(1e-9)
            with np.errstate(over="ignore"):
                want = int(np.uint32(p).view(F32).astype(F16).view(np.uint16))
            if ctx.get(h) != want:
                bad.append((hex(int(p)), hex(ctx.get(h)), hex(want)))

    sim = Simulator(m)
    sim.add_testbench(tb)
    sim.run()
    assert not bad, bad[:4]


def _model(part: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """FP16 outputs of group partial sums ``part`` (..., G) with FP16 scales ``scale`` (..., G)."""
    terms = reference.round_to(part.astype(np.float64) * scale.astype(np.float64), F32)
    return reference.round_to(reference.sequential_sum(terms, F32), F16)


def _run(unit: DequantUnit, blocks: list[dict]) -> list[tuple[int, list[int]]]:
    """Drive ``blocks`` (each: acc, asum, zero (lanes, G) ints, scale (lanes, G) float16) back to back, one
    group per cycle; returns (cycle, FP16 bit patterns) of every cycle with ``o_valid``."""
    seen = []
    lanes = unit.lanes
    steps = [(b, g) for b in blocks for g in range(b["acc"].shape[1])]

    async def tb(ctx):
        for cycle in range(len(steps) + unit.latency + 2):
            if cycle < len(steps):
                b, g = steps[cycle]
                last = g + 1 == b["acc"].shape[1]
                ctx.set(unit.valid, 1)
                ctx.set(unit.first, int(g == 0))
                ctx.set(unit.last, int(last))
                for lane in range(lanes):
                    ctx.set(unit.acc[lane], int(b["acc"][lane, g]))
                    ctx.set(unit.asum[lane], int(b["asum"][lane, g]))
                    ctx.set(unit.zero[lane], int(b["zero"][lane, g]))
                    ctx.set(unit.scale[lane], int(F16(b["scale"][lane, g]).view(np.uint16)))
            else:
                ctx.set(unit.valid, 0)
            await ctx.delay(1e-10)
            if ctx.get(unit.o_valid):
                seen.append((cycle, [ctx.get(unit.out[lane]) for lane in range(lanes)]))
            await ctx.tick()

    sim = Simulator(unit)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    return seen


def _block(rng, lanes: int, groups: int, edge: bool) -> tuple[dict, np.ndarray]:
    """Random group sums P, sums S, odd zero points z′ and FP16 scales (acc = 2P + z′·S); with ``edge``
    the extremes: the largest and smallest FP16 scales (overflow to inf, subnormal terms), P = 0 and
    P at the INT32 accumulator's limits, cancelling terms."""
    part = rng.integers(-(1 << 20), 1 << 20, size=(lanes, groups)) >> rng.integers(0, 20, size=(lanes, groups))
    asum = rng.integers(-(1 << 19), 1 << 19, size=(lanes, groups))
    zero = 2 * rng.integers(0, 16, size=(lanes, groups)) + 1 - 16                  # INT4: z′ = 2z + 1 − 2^4
    scale = (rng.lognormal(-6, 3, size=(lanes, groups))).astype(F16)
    if edge:
        part[0], scale[0] = (1 << 30) - 1, F16(65504)                               # overflows FP16: inf
        part[1], scale[1] = 1, F16(2.0 ** -24)                                      # subnormal FP16 result
        part[2] = 0
        part[3, 0], part[3, 1:] = -(1 << 30), 1
        if groups > 1:
            part[2, 1], part[2, 0], scale[2, :2] = 5, -5, F16(0.25)                 # exact cancellation
        asum[:4], zero[:4] = 0, 1
    acc = 2 * part + zero * asum
    return {"acc": acc, "asum": asum, "zero": zero, "scale": scale}, _model(part, scale)


def test_dequant_unit_matches_the_rounded_epilogue():
    rng = np.random.default_rng(2)
    unit = DequantUnit(lanes=4, latency=4)
    plan = [(3, True), (1, False), (4, False), (2, True), (5, False)]   # groups per block, edge values
    blocks, want, last_cycle, cycle = [], [], [], 0
    for groups, edge in plan:
        b, w = _block(rng, unit.lanes, groups, edge)
        blocks.append(b)
        want.append(w)
        cycle += groups
        last_cycle.append(cycle - 1)
    seen = _run(unit, blocks)
    assert [c for c, _ in seen] == [c + unit.latency for c in last_cycle]
    for (_, got), w in zip(seen, want):
        assert got == [int(x) for x in w.astype(F16).view(np.uint16)], (got, w)
    assert any(np.isinf(w).any() for w in want) and any((np.abs(w) < 2.0 ** -14).any() for w in want)


def test_dequant_unit_on_a_quantized_gemm_equals_reference():
    """LUT algebra sums of a real INT4 (zero point) GEMM, groups of 8 → sim.reference.mpgemm_rounded."""
    rng = np.random.default_rng(3)
    m, n, k, group, bits = 2, 3, 32, 8, 4
    qw = formats.get("int4_asym").quantize(rng.normal(0, 0.02, size=(n, k)), group_size=group)
    a = rng.integers(-128, 128, size=(m, k))
    a[0, :4] = [-128, 127, -128, 127]
    codes = np.asarray(qw.codes, dtype=np.int64)
    groups = k // group
    q_odd = 2 * codes - ((1 << bits) - 1)
    acc = np.einsum("mgk,ngk->mng", a.reshape(m, groups, group), q_odd.reshape(n, groups, group))
    asum = a.reshape(m, groups, group).sum(axis=2)
    zero = (2 * np.asarray(qw.zeros) + 1 - (1 << bits)).astype(np.int64)            # (N, G)
    lanes = m * n
    block = {"acc": acc.reshape(lanes, groups), "asum": np.repeat(asum, n, axis=0),
             "zero": np.tile(zero, (m, 1)), "scale": np.tile(np.asarray(qw.scales), (m, 1)).astype(F16)}
    assert np.all(block["scale"].astype(np.float64) == np.tile(qw.scales, (m, 1)))  # FP16 scales exactly
    unit = DequantUnit(lanes=lanes, latency=3)
    (cycle, got), = _run(unit, [block])
    want = reference.mpgemm_rounded(a, qw).reshape(-1)
    assert cycle == groups - 1 + unit.latency
    assert got == [int(x) for x in want.astype(F16).view(np.uint16)]
    assert np.allclose(want, reference.mpgemm(a, qw).reshape(-1), rtol=2e-3, atol=1e-4)
