"""MixPE PE, W4A8 (INT8 activations): shift-and-add group partial sum, activation sum for the zero
point, one dequantization per group into an FP32 output accumulator.

The arithmetic and schedule are :mod:`sim.pe.mixpe`'s (MixPE arXiv 2411.16158, references §4) with
``acc = "fp32"``: per MAC cycle ``P ← P + a · (q_j · 2^(4j))`` for the weight code's nibble ``j``
(one nibble per cycle, low first: ``c = ceil(b/4)`` cycles per weight) and, on a pair's first
nibble, ``A ← A + a``; per group, ``D = P − z·A`` (exact integers), ``V = fp32(D · s)`` (``s`` the
FP16 group scale), ``O ← fp32(O + V)``. W4A16 (FP16 activations) is not built.

Interface (per cycle; the driver follows the model's schedule, :mod:`sim.pe.mixpe_io`):

* ``en`` with ``a`` (signed 8) and ``code`` (unsigned b): a MAC cycle; a pair is held for ``c``
  cycles (an internal nibble counter picks the nibble).
* ``dq`` with ``zero`` (the group's zero point), ``scale`` (FP16 bits) and ``last`` (the fold's last
  group): dequantize the sums of the cycles before this one; P and A restart from 0, so ``dq``
  may share its cycle with the next group's first MAC.
* ``out_valid`` for one cycle after a ``last`` dequant with ``out`` (FP32 bits of O); O restarts.

With the fold's first MAC cycle before edge 1, ``out_valid`` is high after edge ``K·c + 1``, the
model's fold on a 1 × 1 array (the grid's skew, R + C − 2 cycles, lies outside the PE).
Accumulators are sized for groups of up to ``max_group`` weights.
"""

from __future__ import annotations

from amaranth import Array, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for

from sim.errors import InputError
from sim.formats import get as get_format
from sim.pe.mixpe import ACT_BITS, NIBBLE, WEIGHTS

from .fp32 import fp32_add, int_times_fp16
from .params import check_positive, checking

DEFAULT_MAX_GROUP = 128   # accumulator sizing only [I: a common LLM quantization group, not a MixPE figure]
ACCS = ("fp32",)          # the model's default output accumulator; "fp64" is not built


class MixPE(wiring.Component):
    """One MixPE PE for weights ``weights`` (INTb codes, ``sim.pe.mixpe.WEIGHTS``) and INT8 activations."""

    def __init__(self, *, weights: str = "int4", max_group: int = DEFAULT_MAX_GROUP, acc: str = "fp32"):
        with checking(self):
            if weights not in WEIGHTS:
                raise InputError("weights", f"MixPE does not take {weights!r}", ", ".join(WEIGHTS))
            check_positive(max_group, "max_group", hi=1 << 16)
            if acc not in ACCS:
                raise InputError("acc", f"the MixPE RTL accumulates in fp32, not {acc!r}", ", ".join(ACCS))
        self.weights = weights
        self.code_bits = get_format(weights).code_bits
        self.n_nibbles = -(-self.code_bits // NIBBLE)
        self.act_bits = ACT_BITS["int8"]
        a_max = 1 << (self.act_bits - 1)
        q_max = (1 << self.code_bits) - 1
        self.sum_width = bits_for(a_max * max_group) + 1             # signed A
        self.psum_width = bits_for(a_max * q_max * max_group) + 1     # signed P
        self.d_width = bits_for(2 * a_max * q_max * max_group) + 1    # signed P − z·A
        super().__init__({
            "en": In(1),
            "a": In(signed(self.act_bits)),
            "code": In(self.code_bits),
            "dq": In(1),
            "zero": In(self.code_bits),
            "scale": In(16),
            "last": In(1),
            "out_valid": Out(1),
            "out": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        c = self.n_nibbles
        nib = Signal(range(max(c, 2)))
        p = Signal(signed(self.psum_width))
        s_a = Signal(signed(self.sum_width))
        o = Signal(32)

        # dequant: D = P − z·A, V = fp32(D·s), O + V
        d = Signal(signed(self.d_width))
        m.d.comb += d.eq(p - self.zero * s_a)
        v = int_times_fp16(m, d, self.scale, name="v")
        o_next = fp32_add(m, o, v, name="oacc")
        base_p = Mux(self.dq, 0, p)
        base_a = Mux(self.dq, 0, s_a)
        with m.If(self.dq):
            m.d.sync += o.eq(Mux(self.last, 0, o_next))
            with m.If(self.last):
                m.d.sync += self.out.eq(o_next)
        m.d.sync += [self.out_valid.eq(self.dq & self.last), p.eq(base_p), s_a.eq(base_a)]

        # MAC: one shifted nibble product per cycle, the activation sum on a pair's first nibble
        terms = Array((self.a * self.code[NIBBLE * j: NIBBLE * (j + 1)]) << (NIBBLE * j) for j in range(c))
        with m.If(self.en):
            m.d.sync += [
                p.eq(base_p + terms[nib]),
                s_a.eq(base_a + Mux(nib == 0, self.a, 0)),
                nib.eq(Mux(nib == c - 1, 0, nib + 1)),
            ]
        return m
