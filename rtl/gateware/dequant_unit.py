"""The per-group dequantization epilogue of the LUT array: ``lanes`` outputs per cycle, one quantization group
of each per cycle, FP32 accumulation, FP16 results.

Per lane (one output element (m, n)) the groups g = 0 … G−1 arrive on consecutive valid cycles, ``first`` on
g = 0 and ``last`` on g = G−1, each with

* ``acc``: the LUT unit's group sum Σ_{k∈g} a·q′ of odd levels q′ = 2q − (2^b − 1) (LUT Tensor Core's
  weight reinterpretation, docs/lut_tensor_core_contract.md), INT ``acc_width``;
* ``asum``: the activations' group sum S = Σ_{k∈g} a;
* ``zero``: the group's odd zero point z′ = 2z + 1 − 2^b (z: the format's integer zero point);
* ``scale``: the group's FP16 scale s.

The unit forms the exact group partial sum P = Σ_{k∈g} a·(q − z) = (acc − z′·S) / 2 (an integer: acc − z′·S
is even), rounds P·s to FP32, adds it to the lane's FP32 accumulator (rounded), and after the last group rounds
the accumulator to FP16. That is ``fp16(Σ_g fp32(P_g·s_g))`` summed in increasing g with an FP32 rounding after
every add — :func:`sim.reference.mpgemm_rounded` with accumulator fp32 and output fp16, the order of
:func:`sim.reference.mpgemm`.

Timing: one group of ``lanes`` outputs per cycle (no stall), so G·⌈outputs / lanes⌉ busy cycles for an output
tile, the engine's DEQUANT occupancy ⌈m·n·G / lanes⌉ when m·n is a multiple of ``lanes``
(sim/engine/decode.py, ``vector.ops_per_cycle.dequant`` = 1); ``o_valid`` / ``out`` come ``latency`` cycles
(≥ 2: the product register, the accumulator register, then output delay registers) after the cycle that
presented the last group.

``prescaled=True``: the unit takes each group's FP32 term fp32(P·s) on ``term`` instead (the LUT array's
units form it with :func:`group_term` when they write a group's sums to obuf, rtl/gateware/lut_array.py), and
only accumulates and rounds; same registers, same latency.

``chunked=True`` (a reduction dequantized in K-chunks, docs/isa.md "Chunked DEQUANT"): ``load`` marks a valid
cycle whose ``term`` is an FP32 accumulator an earlier chunk left (it replaces the lane's accumulator, no add; the
groups after it add onto it with ``first`` low), and ``keep`` with ``last`` makes the result the FP32 accumulator
instead of its FP16 rounding: ``wide`` (32 bits per lane; ``out`` is its low half). Restoring the accumulator and
adding the next groups is the same sequence of FP32 adds as one pass over all groups, so the bits are the same.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from .fp32 import fp32_add, fp32_to_fp16, int_times_fp16

MIN_LATENCY = 2  # product register + accumulator register


def group_term(m: Module, acc, asum, zero, scale, name: str = "term") -> Signal:
    """FP32 bits of fp32(P·s), P = (acc − z′·S) / 2 (exact), for one lane (combinational): ``acc`` the group
    sum of odd levels, ``asum`` S, ``zero`` z′ (signed), ``scale`` the FP16 scale s."""
    p_width = max(len(acc), len(asum) + len(zero)) + 1   # acc − z′·S, then halved: exact
    twice = Signal(signed(p_width + 1), name=f"{name}_twice")
    m.d.comb += twice.eq(acc - zero * asum)
    part = Signal(signed(p_width), name=f"{name}_p")
    m.d.comb += part.eq(twice >> 1)
    return int_times_fp16(m, part, scale, name=f"{name}_mul")


class DequantUnit(wiring.Component):
    """See the module docstring. ``lanes`` outputs per cycle; ``acc_width`` / ``sum_width`` / ``zero_width``:
    signed widths of ``acc``, ``asum``, ``zero``; ``latency`` in cycles (≥ :data:`MIN_LATENCY`)."""

    def __init__(self, lanes: int, acc_width: int = 32, sum_width: int = 20, zero_width: int = 9,
                 latency: int = MIN_LATENCY, prescaled: bool = False, chunked: bool = False):
        if latency < MIN_LATENCY:
            raise ValueError(f"latency {latency}: the unit has {MIN_LATENCY} pipeline registers")
        self.lanes, self.latency, self.prescaled, self.chunked = lanes, latency, prescaled, chunked
        self.widths = (acc_width, sum_width, zero_width)
        ports = {"term": In(ArrayLayout(unsigned(32), lanes))} if prescaled else {
            "acc": In(ArrayLayout(signed(acc_width), lanes)), "asum": In(ArrayLayout(signed(sum_width), lanes)),
            "zero": In(ArrayLayout(signed(zero_width), lanes)), "scale": In(ArrayLayout(unsigned(16), lanes))}
        if chunked:
            ports.update(load=In(1), keep=In(1), wide=Out(ArrayLayout(unsigned(32), lanes)))
        super().__init__({"valid": In(1), "first": In(1), "last": In(1), **ports,
                          "o_valid": Out(1), "out": Out(ArrayLayout(unsigned(16), lanes))})

    def elaborate(self, platform):
        m = Module()
        prod_valid, prod_first, prod_last = Signal(), Signal(), Signal()
        m.d.sync += [prod_valid.eq(self.valid), prod_first.eq(self.first), prod_last.eq(self.last & self.valid)]
        prod_load, prod_keep = Signal(), Signal()     # chunked: restore the accumulator / keep it FP32
        if self.chunked:
            m.d.sync += [prod_load.eq(self.load), prod_keep.eq(self.keep)]
        res_bits = 32 if self.chunked else 16
        done = Signal()
        m.d.sync += done.eq(prod_valid & prod_last)
        results = []
        for lane in range(self.lanes):
            prod = Signal(32, name=f"l{lane}_prod")         # fp32(P·s), registered
            term = self.term[lane] if self.prescaled else group_term(
                m, self.acc[lane], self.asum[lane], self.zero[lane], self.scale[lane], name=f"l{lane}")
            m.d.sync += prod.eq(term)
            total = Signal(32, name=f"l{lane}_total")       # the lane's FP32 accumulator
            new = fp32_add(m, Mux(prod_first, 0, total), prod, name=f"l{lane}_add")
            if self.chunked:
                new = Mux(prod_load, prod, new)
            with m.If(prod_valid):
                m.d.sync += total.eq(new)
            half = Signal(res_bits, name=f"l{lane}_half")
            f16 = fp32_to_fp16(m, new, name=f"l{lane}_f16")
            with m.If(prod_valid & prod_last):
                m.d.sync += half.eq(Mux(prod_keep, new, f16) if self.chunked else f16)
            results.append(half)
        valid, outs = done, results
        for stage in range(self.latency - MIN_LATENCY):      # output delay registers
            nv = Signal(name=f"dly{stage}_valid")
            no = [Signal(res_bits, name=f"dly{stage}_l{lane}") for lane in range(self.lanes)]
            m.d.sync += [nv.eq(valid)] + [a.eq(b) for a, b in zip(no, outs)]
            valid, outs = nv, no
        m.d.comb += [self.o_valid.eq(valid)] + [self.out[lane].eq(outs[lane][:16]) for lane in range(self.lanes)]
        if self.chunked:
            m.d.comb += [self.wide[lane].eq(outs[lane]) for lane in range(self.lanes)]
        return m
