"""MAC processing elements (the area baselines for the LUT unit, docs/references.md#lut-tensor-core).

``mode="int"``: a dot-product-of-K MAC: per enabled cycle ``acc <= (clear ? 0 : acc) + Σ_k a[k]·w[k]``
with signed ``act_width``-bit activations, signed ``w_width``-bit weights (int4 / int8) and an
``acc_width`` accumulator that wraps in two's complement.
``mode="fp16"``: FP16 activation × INT weight (exact in FP16, so "converted" costs nothing),
``acc <= fp16((clear ? +0 : acc) + s)`` with RNE, where for K = 1 ``s = fp16(a·w)`` — the
dequantize-then-FP16-MAC order of sim/pe/fp16_mac.py (product rounded, then accumulated in FP16) — and
for K > 1 ``s`` is a balanced tree of FP16 adds (RNE at every add, pairs of neighbours first) over the K
rounded products; ``act_width`` and ``acc_width`` are ignored (16-bit patterns). K = 1 is a plain MAC;
K = 4 is the DP4 unit a MAC tensor core tiles M·N times for the same M·N·K products per cycle as the LUT
unit (:class:`MacArray`). ``acc`` is the register itself: the sum of the operands sampled at edge E is on
``acc`` right after E (1 cycle).
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
            self.k = check_positive(k, "k", hi=64)
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
            products = [fp16_mul_int(m, self.a[i], self.w[i], name=f"product{i}") for i in range(self.k)]
            level = 0
            while len(products) > 1:  # balanced tree of FP16 adds
                products = [fp16_add(m, x, y, name=f"tree{level}_{i}")
                            for i, (x, y) in enumerate(zip(products[0::2], products[1::2]))] + \
                    products[len(products) & ~1:]
                level += 1
            total = fp16_add(m, Mux(self.clear, 0, self.acc), products[0], name="total")
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


class MacArray(wiring.Component):
    """The MAC tensor-core baseline of an M×N×K LUT unit's shape: M×N :class:`MacPE` (DP-K, ``mode``) with
    shared operands — row r's K activations ``a[r]`` reach every PE of row r, column c's K weights ``w[c]``
    every PE of column c — so M·N·K products per cycle (the LUT unit's at 1-bit weights; the cost model's
    ``sim.cost.lut_array_model.mac_unit``). Ports: a (M × K activations), w (N × K weights), en, clear,
    acc (M × N accumulators, row-major); each PE's timing is :class:`MacPE`'s (1 cycle)."""

    def __init__(self, *, m: int = 2, n: int = 64, k: int = 4, mode: str = "int", w_width: int = 8):
        with checking(self):
            self.rows = check_positive(m, "m", hi=64)
            self.cols = check_positive(n, "n", hi=256)
            self.pes = [[MacPE(k=k, mode=mode, w_width=w_width) for _ in range(n)] for _ in range(m)]
        pe = self.pes[0][0]
        act = unsigned(FP16_WIDTH) if pe.fp16 else signed(pe.act_width)
        acc = unsigned(FP16_WIDTH) if pe.fp16 else signed(pe.acc_width)
        super().__init__({
            "a": In(ArrayLayout(ArrayLayout(act, k), m)),
            "w": In(ArrayLayout(ArrayLayout(signed(w_width), k), n)),
            "en": In(1),
            "clear": In(1),
            "acc": Out(ArrayLayout(ArrayLayout(acc, n), m)),
        })

    def elaborate(self, platform):
        m = Module()
        for r, row in enumerate(self.pes):
            for c, pe in enumerate(row):
                m.submodules[f"pe{r}_{c}"] = pe
                m.d.comb += [pe.a.eq(self.a[r]), pe.w.eq(self.w[c]), pe.en.eq(self.en), pe.clear.eq(self.clear),
                             self.acc[r][c].eq(pe.acc)]
        return m
