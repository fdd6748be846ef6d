"""MixPE PE: shift-and-add group partial sum, activation sum for the zero point, one dequantization
per group into an FP32 output accumulator; W4A8 (INT8 activations) and W4A16 (FP16 activations).

The arithmetic and schedule are :mod:`sim.pe.mixpe`'s (MixPE arXiv 2411.16158, docs/references.md#mixpe)
with ``acc = "fp32"``: one weight nibble per cycle, ``c = ceil(b/4)`` cycles per weight. Ports (``en``
MAC cycles, ``dq`` dequant, ``out_valid``) and timing (``out_valid`` after edge ``K·c + 1``, in cycles):
docs/mixpe_pe.md, "RTL interface". W4A8 accumulators are sized for groups of up to ``max_group`` weights.
"""

from __future__ import annotations

from amaranth import Array, Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for

from sim.errors import InputError
from sim.formats import get as get_format
from sim.pe.mixpe import ACT_BITS, ARRAYS, NIBBLE, WEIGHTS

from .fp32 import fp32_add, fp32_mul_fp16, int_times_fp16, round_to_fp32, unpack_fp16, unpack_fp32
from .params import check_positive, checking

DEFAULT_MAX_GROUP = 128   # accumulator sizing only [I: a common LLM quantization group, not a MixPE figure]
ACCS = ("fp32",)          # the model's default output accumulator; "fp64" is not built


class MixPE(wiring.Component):
    """One MixPE PE for weights ``weights`` (INTb codes, ``sim.pe.mixpe.WEIGHTS``) and activations
    ``acts`` ("int8": W4A8, "fp16": W4A16)."""

    def __init__(self, *, weights: str = "int4", acts: str = "int8", max_group: int = DEFAULT_MAX_GROUP,
                 acc: str = "fp32"):
        with checking(self):
            if weights not in WEIGHTS:
                raise InputError("weights", f"MixPE does not take {weights!r}", ", ".join(WEIGHTS))
            if acts not in ARRAYS:
                raise InputError("acts", f"MixPE takes int8 or fp16 activations, not {acts!r}", ", ".join(ARRAYS))
            check_positive(max_group, "max_group", hi=1 << 16)
            if acc not in ACCS:
                raise InputError("acc", f"the MixPE RTL accumulates in fp32, not {acc!r}", ", ".join(ACCS))
        self.weights, self.acts = weights, acts
        self.code_bits = get_format(weights).code_bits
        self.n_nibbles = -(-self.code_bits // NIBBLE)
        self.act_bits = ACT_BITS[acts]
        a_max = 1 << (ACT_BITS["int8"] - 1)
        q_max = (1 << self.code_bits) - 1
        self.sum_width = bits_for(a_max * max_group) + 1             # signed A (W4A8)
        self.psum_width = bits_for(a_max * q_max * max_group) + 1     # signed P (W4A8)
        self.d_width = bits_for(2 * a_max * q_max * max_group) + 1    # signed P − z·A (W4A8)
        super().__init__({
            "en": In(1),
            "a": In(signed(self.act_bits) if acts == "int8" else self.act_bits),
            "code": In(self.code_bits),
            "dq": In(1),
            "zero": In(self.code_bits),
            "scale": In(16),
            "last": In(1),
            "out_valid": Out(1),
            "out": Out(32),
        })

    def _nibble(self, j: int):
        return self.code[NIBBLE * j: NIBBLE * (j + 1)]

    def _int_datapath(self, m: Module, p, s_a, nib):
        """W4A8: (the next P and A of a MAC cycle on sums ``p``/``s_a``, V of a dequant)."""
        d = Signal(signed(self.d_width))
        m.d.comb += d.eq(p - self.zero * s_a)
        v = int_times_fp16(m, d, self.scale, name="v")
        terms = Array((self.a * self._nibble(j)) << (NIBBLE * j) for j in range(self.n_nibbles))
        return (lambda base: base + terms[nib]), (lambda base: base + self.a), v

    def _fp16_datapath(self, m: Module, p, s_a, nib):
        """W4A16: the same with FP32 registers P and A (FP32 bits)."""
        sign, sig, exp = unpack_fp16(self.a)
        nibbles = Array(Cat(self._nibble(j)) for j in range(self.n_nibbles))
        term = round_to_fp32(m, sign, sig * nibbles[nib], exp + NIBBLE * nib, name="term")  # exact
        act = round_to_fp32(m, sign, sig, exp, name="act32")                                # exact
        s_sign, s_sig, s_exp = unpack_fp32(s_a)
        za = round_to_fp32(m, s_sign, s_sig * self.zero, s_exp, name="za")
        d = fp32_add(m, p, Cat(za[:31], ~za[31]), name="d")
        v = fp32_mul_fp16(m, d, self.scale, name="v")
        add_term = lambda base: fp32_add(m, base, term, name="pacc")  # noqa: E731
        add_act = lambda base: fp32_add(m, base, act, name="aacc")    # noqa: E731
        return add_term, add_act, v

    def elaborate(self, platform):
        m = Module()
        c = self.n_nibbles
        nib = Signal(range(max(c, 2)))
        int_mode = self.acts == "int8"
        p = Signal(signed(self.psum_width) if int_mode else 32)
        s_a = Signal(signed(self.sum_width) if int_mode else 32)
        o = Signal(32)

        datapath = self._int_datapath if int_mode else self._fp16_datapath
        add_term, add_act, v = datapath(m, p, s_a, nib)
        base_p = Signal.like(p)
        base_a = Signal.like(s_a)
        m.d.comb += [base_p.eq(Mux(self.dq, 0, p)), base_a.eq(Mux(self.dq, 0, s_a))]
        o_next = fp32_add(m, o, v, name="oacc")
        with m.If(self.dq):
            m.d.sync += o.eq(Mux(self.last, 0, o_next))
            with m.If(self.last):
                m.d.sync += self.out.eq(o_next)
        m.d.sync += [self.out_valid.eq(self.dq & self.last), p.eq(base_p), s_a.eq(base_a)]

        p_mac, a_mac = add_term(base_p), add_act(base_a)
        with m.If(self.en):
            m.d.sync += [
                p.eq(p_mac),
                s_a.eq(Mux(nib == 0, a_mac, base_a)),
                nib.eq(Mux(nib == c - 1, 0, nib + 1)),
            ]
        return m
