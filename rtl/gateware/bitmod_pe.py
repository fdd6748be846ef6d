"""BitMoD bit-serial PE: 4 FP16 lanes × one power-of-two weight term per cycle, 23-bit normalised group
accumulator, bit-serial dequant by the integer group scale, FP32 output accumulator.

The datapath is the one :mod:`sim.pe.bitmod_pe` defines, step for step (BitMoD arXiv 2411.11745,
docs/references.md#bitmod); the accumulator here is sign-magnitude (a sign and 22 magnitude bits).
Ports (``in_valid``/``in_ready`` lane steps held for T cycles, ``d_valid`` per group, ``out_valid`` per
fold) and timing (``out_valid`` after edge ``a + (G − 1)·max(a, L) + L``, in cycles):
docs/bitmod_pe.md, "RTL interface". ``accumulate=True`` builds the array's PE (rtl/gateware/bitmod_array.py):
the FP32 accumulator starts each fold from ``o_init`` (sampled with the fold's ``first`` step, so k-tiles
accumulate), no channel scale (the host applies it with the epilogue), and ``res_valid`` / ``res`` give the
fold's result combinationally in the cycle before ``out_valid`` / ``out`` (docs/bitmod_array_rtl.md).
"""

from __future__ import annotations

import numpy as np
from amaranth import Array, Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from sim.errors import InputError
from sim.formats import get as get_format
from sim.pe.bitmod_pe import (
    ACC_BITS,
    BITMOD_SCALE_BITS,
    DEQUANT_BITS,
    FP16_BIAS_LSB,
    FP16_SIG_BITS,
    GUARD_BITS,
    LANES,
    WEIGHTS,
)

from .fp32 import EXP_WIDTH, fp32_add, fp32_mul_fp16, leading_one, round_to_fp32
from .params import checking

TAG_BITS = 2                   # BitMoD group variant (sim.formats.bitmod)
SCALE_EXP_WIDTH = 6            # FP16 scale LSB exponent, −24..5 (IEEE 754 binary16)
ACC_MAG = ACC_BITS - 1         # sign-magnitude accumulator: 22 magnitude bits
TREE_BITS = 17                 # adder tree (docs/references.md#bitmod)
LANE_MAG = FP16_SIG_BITS + GUARD_BITS   # aligned lane magnitude, < 2^14
MAX_SHIFT = 31                 # exponent gaps beyond this shift every operand here to zero


def _trunc_shift(m: Module, mag, amount, width: int, name: str) -> Signal:
    """mag / 2^amount truncated (the magnitude of a toward-zero shift), amount clamped to MAX_SHIFT."""
    sh = Signal(range(MAX_SHIFT + 1), name=f"{name}_sh")
    m.d.comb += sh.eq(Mux(amount > MAX_SHIFT, MAX_SHIFT, amount))
    out = Signal(width, name=f"{name}_mag")
    m.d.comb += out.eq(mag >> sh)
    return out


class BitModPE(wiring.Component):
    """One BitMoD PE for weights ``weights`` (a key of ``sim.pe.bitmod_pe.WEIGHTS``); ``accumulate``: the
    array's variant (module docstring)."""

    def __init__(self, *, weights: str = "bitmod_fp4", accumulate: bool = False):
        with checking(self):
            if weights not in WEIGHTS:
                raise InputError("weights", f"the BitMoD PE does not take {weights!r}", ", ".join(WEIGHTS))
        self.weights = weights
        self.accumulate = accumulate
        self.n_terms, self.booth = WEIGHTS[weights]
        fmt = get_format(weights)
        self.code_bits = fmt.code_bits
        self.is_bitmod = weights.startswith("bitmod")
        self.scale_bits = BITMOD_SCALE_BITS if self.is_bitmod else FP16_SIG_BITS
        if self.is_bitmod:
            self.level_table = np.rint(fmt.tables).astype(np.int64)   # [tag, code] → level
            self.level_width = int(np.abs(self.level_table).max()).bit_length() + 1
        else:
            self.level_table = None
            self.level_width = self.code_bits
        ports = {
            "in_valid": In(1),
            "in_ready": Out(1),
            "act": In(ArrayLayout(16, LANES)),
            "w": In(ArrayLayout(self.code_bits, LANES)),
            "last": In(1),
            "last_group": In(1),
            "scale": In(self.scale_bits),
            "d_valid": Out(1),
            "d": Out(signed(DEQUANT_BITS)),
            "d_exp": Out(signed(EXP_WIDTH)),
            "out_valid": Out(1),
            "out": Out(32),
        }
        if self.is_bitmod:
            ports["tag"] = In(TAG_BITS)
        else:
            ports["scale_exp"] = In(signed(SCALE_EXP_WIDTH))
        if accumulate:
            ports.update({"first": In(1), "o_init": In(32), "res_valid": Out(1), "res": Out(32)})
        elif self.is_bitmod:
            ports["chan"] = In(16)
        super().__init__(ports)

    # -------------------------------------------------------------------------------------------
    def _level(self, m: Module, j: int):
        """Signed weight level of lane j."""
        lvl = Signal(signed(self.level_width), name=f"level_{j}")
        code = self.w[j]
        if self.is_bitmod:
            flat = [int(v) for v in self.level_table.reshape(-1)]
            table = Array(Const(v, signed(self.level_width)) for v in flat)
            m.d.comb += lvl.eq(table[Cat(code, self.tag)])
        else:   # symmetric INT: code = level + 2^(b−1) → flip the top bit
            m.d.comb += lvl.eq((code ^ (1 << (self.code_bits - 1))).as_signed())
        return lvl

    def _terms(self, m: Module, j: int, lvl, tix):
        """(live, negative, exponent) of term ``tix`` (most significant first) of lane j's level."""
        t = self.n_terms
        live, neg, exp = [], [], []
        if self.booth:
            ext = Cat(Const(0, 1), lvl, lvl[-1].replicate(2 * t))   # bit −1, level, sign extension
            for idx in range(t):
                i = t - 1 - idx
                win = ext[2 * i: 2 * i + 3]                          # bits 2i−1, 2i, 2i+1
                live.append(~((win == 0) | (win == 7)))
                neg.append(win[2] & ~(win[0] & win[1]))
                two = (win == 3) | (win == 4)
                exp.append(2 * i + two)
        else:
            rest = Signal(self.level_width, name=f"mag_{j}")
            m.d.comb += rest.eq(Mux(lvl < 0, -lvl, lvl))
            for idx in range(t):
                top = leading_one(m, rest, name=f"lod_{j}_{idx}")
                live.append(rest.any())
                neg.append(lvl < 0)
                exp.append(top)
                nxt = Signal(self.level_width, name=f"rest_{j}_{idx}")
                m.d.comb += nxt.eq(rest & ~(Const(1, self.level_width) << top))
                rest = nxt
        sel = lambda xs: Array(xs)[tix]   # noqa: E731 — pick the term of this cycle
        return sel(live), sel(neg), sel(exp)

    def elaborate(self, platform):
        m = Module()
        t, nl = self.n_terms, self.scale_bits
        tix = Signal(range(max(t, 2)))
        acc_neg = Signal()
        acc_mag = Signal(ACC_MAG)
        acc_y = Signal(signed(EXP_WIDTH))
        acc_done = Signal()                     # a finished group waits for the dequant unit
        pend_q = Signal(nl)
        pend_qe = Signal(signed(SCALE_EXP_WIDTH))
        pend_last = Signal()
        draining = Signal()                     # the fold's last group is in dequant
        dq_busy = Signal()
        dq_bit = Signal(range(max(nl, 2)))
        dq_q = Signal(nl)                       # scale bits not yet applied (shifted right)
        dq_neg = Signal()
        dq_r = Signal(ACC_MAG + nl)             # |R| · 2^bit (shifted left)
        dq_y = Signal(signed(EXP_WIDTH))
        dq_qe = Signal(signed(SCALE_EXP_WIDTH))
        dq_last = Signal()
        dq_d = Signal(ACC_MAG + nl)             # |D| so far
        o = Signal(32)                          # FP32 output accumulator

        # ---- lanes: term decode, exponent add ------------------------------------------------
        process = Signal()
        m.d.comb += [
            process.eq(self.in_valid & ~acc_done & ~draining),
            self.in_ready.eq(~acc_done & ~draining & (tix == t - 1)),
        ]
        lanes = []
        for j in range(LANES):
            lvl = self._level(m, j)
            t_live, t_neg, t_exp = self._terms(m, j, lvl, tix)
            a = self.act[j]
            f = a[10:15]
            mant = Signal(FP16_SIG_BITS, name=f"mant_{j}")
            x = Signal(signed(EXP_WIDTH), name=f"x_{j}")
            live = Signal(name=f"live_{j}")
            neg = Signal(name=f"neg_{j}")
            m.d.comb += [
                mant.eq(Cat(a[:10], f.any())),
                live.eq(t_live & mant.any()),
                neg.eq(t_neg ^ a[15]),
                x.eq(Mux(f.any(), f, 1) - FP16_BIAS_LSB + t_exp),
            ]
            lanes.append((live, neg, mant, x))

        # ---- exp-match and the 17-bit adder tree ---------------------------------------------
        x_max = Signal(signed(EXP_WIDTH))
        best = Const(-(1 << (EXP_WIDTH - 1)), signed(EXP_WIDTH))
        for j, (live, _, _, x) in enumerate(lanes):
            nxt = Signal(signed(EXP_WIDTH), name=f"xmax_{j}")
            m.d.comb += nxt.eq(Mux(live & (x > best), x, best))
            best = nxt
        m.d.comb += x_max.eq(best)
        any_live = Signal()
        m.d.comb += any_live.eq(Cat(lane[0] for lane in lanes).any())
        terms = []
        for j, (live, neg, mant, x) in enumerate(lanes):
            gap = Signal(signed(EXP_WIDTH + 1), name=f"gap_{j}")
            m.d.comb += gap.eq(x_max - x)
            al = _trunc_shift(m, Cat(Const(0, GUARD_BITS), mant), gap, LANE_MAG, f"align_{j}")
            term = Signal(signed(LANE_MAG + 1), name=f"aligned_{j}")
            m.d.comb += term.eq(Mux(live, Mux(neg, -al, al), 0))
            terms.append(term)
        s = Signal(signed(TREE_BITS))
        m.d.comb += s.eq((terms[0] + terms[1]) + (terms[2] + terms[3]))
        xs = Signal(signed(EXP_WIDTH))
        m.d.comb += xs.eq(x_max - GUARD_BITS)

        # ---- group accumulator: align to Z = max(Y, Xs), add, normalise ------------------------
        empty = ~acc_mag.any()
        z = Signal(signed(EXP_WIDTH))
        m.d.comb += z.eq(Mux(empty | (xs > acc_y), xs, acc_y))
        gap_r = Signal(signed(EXP_WIDTH + 1))
        gap_s = Signal(signed(EXP_WIDTH + 1))
        m.d.comb += [gap_r.eq(z - acc_y), gap_s.eq(z - xs)]
        s_neg = s < 0
        s_mag = Signal(TREE_BITS)
        m.d.comb += s_mag.eq(Mux(s_neg, -s, s))
        r_sh = _trunc_shift(m, acc_mag, Mux(empty, 0, gap_r), ACC_MAG, "r_align")
        s_sh = _trunc_shift(m, s_mag, gap_s, TREE_BITS, "s_align")
        rr = Signal(signed(ACC_MAG + 2))
        m.d.comb += rr.eq(Mux(acc_neg, -r_sh, r_sh) + Mux(s_neg, -s_sh, s_sh))
        rr_neg = rr < 0
        rr_mag = Signal(ACC_MAG + 1)
        m.d.comb += rr_mag.eq(Mux(rr_neg, -rr, rr))
        top = leading_one(m, rr_mag, name="norm_top")            # bitlen − 1
        norm_mag = Signal(ACC_MAG)
        norm_y = Signal(signed(EXP_WIDTH))
        with m.If(top == ACC_MAG):                                 # 23 bits: one truncating right shift
            m.d.comb += [norm_mag.eq(rr_mag >> 1), norm_y.eq(z + 1)]
        with m.Else():
            left = Signal(range(ACC_MAG))
            m.d.comb += [left.eq(ACC_MAG - 1 - top), norm_mag.eq(rr_mag << left), norm_y.eq(z - left)]
        nxt_neg = Signal()
        nxt_mag = Signal(ACC_MAG)
        nxt_y = Signal(signed(EXP_WIDTH))
        m.d.comb += [nxt_neg.eq(acc_neg), nxt_mag.eq(acc_mag), nxt_y.eq(acc_y)]
        with m.If(process & any_live):
            m.d.comb += [nxt_neg.eq(rr_neg), nxt_mag.eq(Mux(rr_mag.any(), norm_mag, 0)), nxt_y.eq(norm_y)]

        # ---- dequant unit: one scale bit per cycle, LSB first ------------------------------------
        d_full = Signal(ACC_MAG + nl)
        m.d.comb += d_full.eq(dq_d + Mux(dq_q[0], dq_r, 0))
        dq_finish = Signal()
        m.d.comb += dq_finish.eq(dq_busy & (dq_bit == nl - 1))
        with m.If(dq_busy):
            m.d.sync += [dq_d.eq(d_full), dq_q.eq(dq_q >> 1), dq_r.eq(dq_r << 1), dq_bit.eq(dq_bit + 1)]
        d_top = leading_one(m, d_full, name="dq_top")
        cut = Signal(range(ACC_MAG + nl))                          # sh = max(0, bitlen − 20)
        m.d.comb += cut.eq(Mux(d_top > DEQUANT_BITS - 2, d_top - (DEQUANT_BITS - 2), 0))
        d21 = Signal(DEQUANT_BITS - 1)
        m.d.comb += d21.eq(d_full >> cut)
        d_exp = Signal(signed(EXP_WIDTH))
        m.d.comb += d_exp.eq(dq_y + dq_qe + cut)
        v = round_to_fp32(m, dq_neg, d21, d_exp, name="v")
        o_next = Signal(32)
        m.d.comb += o_next.eq(Mux(d21.any(), fp32_add(m, o, v, name="oacc"), o))
        final = fp32_mul_fp16(m, o_next, self.chan, name="chan") if self.is_bitmod and not self.accumulate else o_next
        if self.accumulate:   # a fold's first step loads o_init: no dequant finishes while it is taken
            m.d.comb += [self.res_valid.eq(dq_finish & dq_last), self.res.eq(final)]
            with m.If(process & self.first):
                m.d.sync += o.eq(self.o_init)

        m.d.sync += [self.d_valid.eq(dq_finish), self.out_valid.eq(dq_finish & dq_last)]
        with m.If(dq_finish):
            m.d.sync += [dq_busy.eq(0), self.d.eq(Mux(dq_neg, -d21, d21)), self.d_exp.eq(d_exp)]
            with m.If(dq_last):
                m.d.sync += [o.eq(0), self.out.eq(final), draining.eq(0)]
            with m.Else():
                m.d.sync += o.eq(o_next)

        # ---- control: term counter, hand-off to the dequant unit -------------------------------
        take = process & (tix == t - 1)
        finishing = take & self.last
        with m.If(process):
            m.d.sync += tix.eq(Mux(tix == t - 1, 0, tix + 1))
        scale_exp = 0 if self.is_bitmod else self.scale_exp
        with m.If(finishing):
            m.d.sync += [pend_q.eq(self.scale), pend_qe.eq(scale_exp), pend_last.eq(self.last_group)]
        done_now = acc_done | finishing
        handoff = done_now & (~dq_busy | dq_finish)
        m.d.sync += [acc_neg.eq(nxt_neg), acc_mag.eq(nxt_mag), acc_y.eq(nxt_y), acc_done.eq(done_now)]
        with m.If(handoff):
            last_group = Mux(finishing, self.last_group, pend_last)
            m.d.sync += [
                dq_busy.eq(1), dq_bit.eq(0), dq_d.eq(0),
                dq_q.eq(Mux(finishing, self.scale, pend_q)),
                dq_qe.eq(Mux(finishing, scale_exp, pend_qe)),
                dq_last.eq(last_group),
                dq_neg.eq(nxt_neg), dq_r.eq(nxt_mag), dq_y.eq(nxt_y),
                acc_neg.eq(0), acc_mag.eq(0), acc_done.eq(0),
                draining.eq(last_group),
            ]
        return m
