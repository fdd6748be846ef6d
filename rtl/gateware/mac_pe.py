"""MAC processing elements (the area baselines for the LUT unit, docs/references.md#lut-tensor-core).

``mode="int"``: a dot-product-of-K MAC: per enabled cycle ``acc <= (clear ? 0 : acc) + Σ_k a[k]·w[k]``
with signed ``act_width``-bit activations, signed ``w_width``-bit weights (int4 / int8) and an
``acc_width`` accumulator that wraps in two's complement.
``mode="fp16"`` (K = 1): FP16 activation × INT weight (exact in FP16, so "converted" costs
nothing), ``acc <= fp16((clear ? +0 : acc) + fp16(a·w))`` with RNE — the dequantize-then-FP16-MAC
order of sim/pe/fp16_mac.py (product rounded, then accumulated in FP16); ``act_width`` and
``acc_width`` are ignored (16-bit patterns). K = 1 is a plain MAC; K = 4 is the DP4 unit a MAC tensor core tiles
M·N times for the same M·N·K products per cycle as the LUT unit. ``acc`` is the register itself:
the sum of the operands sampled at edge E is on ``acc`` right after E (1 cycle).
"""

from __future__ import annotations

from amaranth import Module, Mux, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from sim.errors import InputError

from .fp16 import fp16_add, fp16_mul_int
from .params import (
    DEFAULT_ACC_WIDTH,
    DEFAULT_ACT_WIDTH,
    FP16_WIDTH,
    check_act_width,
    check_mode,
    check_positive,
    checking,
)

MAC_WEIGHT_WIDTHS = (4, 8)  # int4 / int8 weights (the formats the MAC baseline converts to)


class MacPE(wiring.Component):
    """Ports: a (K × signed act_width, or FP16 patterns), w (K × signed w_width), en, clear (1 each),
    acc (signed acc_width, or an FP16 pattern)."""

    def __init__(self, *, k: int = 1, act_width: int = DEFAULT_ACT_WIDTH, w_width: int = 8,
                 acc_width: int = DEFAULT_ACC_WIDTH, mode: str = "int"):
        with checking(self):
            self.fp16 = check_mode(mode) == "fp16"
            self.k = check_positive(k, "k", hi=1 if self.fp16 else 64)
            if w_width not in MAC_WEIGHT_WIDTHS:
                raise InputError("w_width", f"got {w_width!r}", ", ".join(map(str, MAC_WEIGHT_WIDTHS)))
            if self.fp16:
                act_width = acc_width = FP16_WIDTH
            else:
                check_act_width(act_width)
                check_positive(acc_width, "acc_width", lo=act_width + w_width, hi=64)
        self.mode = mode
        self.act_width, self.w_width, self.acc_width = act_width, w_width, acc_width
        act = unsigned(FP16_WIDTH) if self.fp16 else signed(act_width)
        super().__init__({
            "a": In(ArrayLayout(act, k)),
            "w": In(ArrayLayout(signed(w_width), k)),
            "en": In(1),
            "clear": In(1),
            "acc": Out(unsigned(FP16_WIDTH) if self.fp16 else signed(acc_width)),
        })

    def elaborate(self, platform):
        m = Module()
        if self.fp16:
            product = fp16_mul_int(m, self.a[0], self.w[0], name="product")
            total = fp16_add(m, Mux(self.clear, 0, self.acc), product, name="total")
            with m.If(self.en):
                m.d.sync += self.acc.eq(total)
            return m
        products = [self.a[i] * self.w[i] for i in range(self.k)]
        while len(products) > 1:  # balanced adder tree
            products = [x + y for x, y in zip(products[0::2], products[1::2])] + products[len(products) & ~1:]
        base = self.acc.as_signed() & ~self.clear.replicate(self.acc_width)
        with m.If(self.en):
            m.d.sync += self.acc.eq(base + products[0])
        return m
