"""INT MAC processing element (the area baseline for the LUT unit, references §1).

A dot-product-of-K MAC: per enabled cycle ``acc <= (clear ? 0 : acc) + Σ_k a[k]·w[k]`` with
signed ``act_width``-bit activations, signed ``w_width``-bit weights (int4 / int8 weights; the
FP16 × INT PE of the paper's baseline is not built here) and an ``acc_width`` accumulator that
wraps in two's complement. K = 1 is a plain MAC; K = 4 is the DP4 unit a MAC tensor core tiles
M·N times for the same M·N·K products per cycle as the LUT unit. ``acc`` is the register itself:
the sum of the operands sampled at edge E is on ``acc`` right after E (1 cycle).
"""

from __future__ import annotations

from amaranth import Module, signed
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from sim.errors import InputError

from .params import DEFAULT_ACC_WIDTH, DEFAULT_ACT_WIDTH, check_act_width, check_positive, checking

MAC_WEIGHT_WIDTHS = (4, 8)  # int4 / int8 weights (the formats the MAC baseline converts to)


class MacPE(wiring.Component):
    """Ports: a (K × signed act_width), w (K × signed w_width), en, clear (1 each), acc (signed acc_width)."""

    def __init__(self, *, k: int = 1, act_width: int = DEFAULT_ACT_WIDTH, w_width: int = 8,
                 acc_width: int = DEFAULT_ACC_WIDTH):
        with checking(self):
            self.k = check_positive(k, "k", hi=64)
            self.act_width = check_act_width(act_width)
            if w_width not in MAC_WEIGHT_WIDTHS:
                raise InputError("w_width", f"got {w_width!r}", ", ".join(map(str, MAC_WEIGHT_WIDTHS)))
            self.acc_width = check_positive(acc_width, "acc_width", lo=act_width + w_width, hi=64)
        self.w_width = w_width
        super().__init__({
            "a": In(ArrayLayout(signed(act_width), k)),
            "w": In(ArrayLayout(signed(w_width), k)),
            "en": In(1),
            "clear": In(1),
            "acc": Out(signed(acc_width)),
        })

    def elaborate(self, platform):
        m = Module()
        products = [self.a[i] * self.w[i] for i in range(self.k)]
        while len(products) > 1:  # balanced adder tree
            products = [x + y for x, y in zip(products[0::2], products[1::2])] + products[len(products) & ~1:]
        base = self.acc.as_signed() & ~self.clear.replicate(self.acc_width)
        with m.If(self.en):
            m.d.sync += self.acc.eq(base + products[0])
        return m
