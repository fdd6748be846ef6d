"""The KV-cache quantizer of the LUT array's vector unit: FP16 values → asymmetric INTb codes with one FP16 scale
and one integer zero point per group, bit for bit as ``sim.formats`` ``IntFormat(b, symmetric=False).quantize``
rounds them (``int4_asym``: the KV cache of recipe w4a8kv4, workloads/recipes.yaml).

The quantizer (sim/formats/integer.py, asymmetric branch), per group of values x with
lo = min(min x, 0) and hi = max(max x, 0), qmax = 2^b − 1:

* s = round_scale_covering((hi − lo) / qmax, fp16): RNE to FP16, one FP16 step up when that is below the
  quotient — i.e. the smallest FP16 ≥ (hi − lo)/qmax (no saturation: (hi − lo)/qmax ≤ 2·65504/3 < 65504 for
  b ≥ 2; a positive quotient never reaches 0: the smallest subnormal 2^−24 is ≥ it or the ceiling anyway);
* z = clip(RNE(−lo / s), 0, qmax); code = clip(RNE(x / s) + z, 0, qmax); s = 0 (every x is ±0): codes z = 0.

numpy forms these quotients in float64; they are exact rationals of FP16 values (multiples of 2^−24 below
2^16), and float64's rounding never moves one across an FP16 value or a half-integer (the gap from one is at
least 2^−24/qmax resp. 2^−25/s, relative ≥ 2^−41, float64's error ≤ 2^−53 relative), so the RTL computes them
exactly in integers: every FP16 as a magnitude in units of 2^−24 (40 bits) and a sign,
D = hi − lo (41 bits), Q = ⌈D / qmax⌉ (long division by the constant), S = Q rounded up to 11 significant bits
(the smallest FP16 ≥ Q units, :func:`ceil_fp16`), and RNE quotients of a restoring divider with b quotient bits
(|x| ≤ D ≤ qmax·S, so ⌊|x|/S⌋ ≤ qmax; RNE is odd-symmetric, so RNE(x/S) = ±RNE(|x|/S)).

:class:`KvQuantizeUnit` takes ``lanes`` values of one group per cycle with the group's lo and hi (the array
keeps them per tile row: :func:`fp16_min_max` on every output block it writes, rtl/gateware/lut_array.py) and
gives their codes, the group's scale (FP16 bits) and zero code ``latency`` cycles later (one register after the
scale and zero, then the codes, then ``latency`` − 1 delay registers); no stall.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from .fp16 import _unpack
from .fp32 import FP16_FRAC, leading_one

MIN_LATENCY = 1          # the register after the scale and zero
FP16_UNIT_EXP = -24      # an FP16 value is an integer number of 2^−24 (its subnormal spacing, IEEE 754 binary16)
MAG_BITS = 40            # |x| < 2^16 in units of 2^−24 (fp16._SUM_BITS − 1)
FP16_SIG = FP16_FRAC + 1  # significant bits of an FP16 (its fraction bits and the hidden one)
UNIT = 1 << -FP16_UNIT_EXP   # 1.0 in units of 2^−24: numpy's ``safe`` divisor of an all-zero group


def fp16_key(x):
    """An unsigned key of FP16 bits ``x`` whose order is the numeric order of finite values (−0 below +0)."""
    return Mux(x[15], ~x, x | 0x8000)[:16]


def fp16_min_max(m: Module, values, lo, hi, name: str = "mm") -> tuple[Signal, Signal]:
    """FP16 bits of (min(values, lo), max(values, hi)) for finite FP16 ``values`` (a list) and running ``lo``,
    ``hi`` (FP16 bits; +0 = 0 to start a group, giving min(·, 0) and max(·, 0) as the quantizer takes them)."""
    cur_lo, cur_hi = lo, hi
    for i, v in enumerate(values):
        nlo, nhi = Signal(16, name=f"{name}_lo{i}"), Signal(16, name=f"{name}_hi{i}")
        m.d.comb += [nlo.eq(Mux(fp16_key(v) < fp16_key(cur_lo), v, cur_lo)),
                     nhi.eq(Mux(fp16_key(v) > fp16_key(cur_hi), v, cur_hi))]
        cur_lo, cur_hi = nlo, nhi
    return cur_lo, cur_hi


def ceil_div_const(m: Module, value, d: int, name: str = "cdiv") -> Signal:
    """⌈value / d⌉ for unsigned ``value`` and a constant d ≥ 1: long division of value + d − 1, one quotient bit
    per step (remainders < d)."""
    num = Signal(len(value) + 1, name=f"{name}_num")
    m.d.comb += num.eq(value + (d - 1))
    rem, bits = Const(0, d.bit_length()), []
    for i in reversed(range(len(num))):
        t = Cat(num[i], rem)
        take = t >= d
        r = Signal(d.bit_length(), name=f"{name}_r{i}")
        m.d.comb += r.eq(Mux(take, t - d, t))
        bits.append(take)
        rem = r
    q = Signal(len(num), name=name)
    m.d.comb += q.eq(Cat(*reversed(bits)))
    return q


def ceil_fp16(m: Module, q, name: str = "c16") -> tuple[Signal, Signal]:
    """(S, bits): the smallest FP16 ≥ q·2^−24 for unsigned ``q`` < 65504·2^24, as S (units of 2^−24) and as FP16
    bits. Below 2^11 units every integer is one (subnormals, exponent field 1); above, q rounded up to 11
    significant bits."""
    lead = leading_one(m, q, name=f"{name}_lead")
    k = Signal(range(len(q) + 1), name=f"{name}_k")              # low bits dropped
    m.d.comb += k.eq(Mux(lead >= FP16_SIG, lead - (FP16_SIG - 1), 0))
    s = Signal(len(q) + 1, name=f"{name}_s")
    up = Signal(len(q) + 1, name=f"{name}_up")
    m.d.comb += [up.eq((q + (Const(1, len(q) + 1) << k) - 1) >> k), s.eq(up << k)]
    lead_s = leading_one(m, s, name=f"{name}_ls")
    bits = Signal(16, name=f"{name}_bits")
    drop = Signal.like(lead_s, name=f"{name}_drop")        # s ≥ 2^10: its bits below the 11 significant ones
    exp = Signal(5, name=f"{name}_exp")                    # value 1.f·2^(lead − 24): biased field lead − 24 + 15
    m.d.comb += [drop.eq(lead_s - FP16_FRAC), exp.eq(lead_s - (FP16_FRAC - 1)),
                 bits.eq(Mux(s < (1 << FP16_FRAC), s, Cat((s >> drop)[:FP16_FRAC], exp)))]
    return s, bits


def rne_quotient(m: Module, num, den, qbits: int, name: str = "q") -> Signal:
    """RNE(num / den) for unsigned ``num`` < 2^qbits·den, den > 0: a restoring divider of ``qbits`` quotient bits,
    then the remainder against den/2 (ties to the even quotient). qbits + 1 bits."""
    rem, bits = num, []
    for j in reversed(range(qbits)):
        t = den << j
        take = rem >= t
        r = Signal(len(num), name=f"{name}_r{j}")
        m.d.comb += r.eq(Mux(take, rem - t, rem))
        bits.append(take)
        rem = r
    q0 = Cat(*reversed(bits))
    twice = rem << 1
    up = (twice > den) | ((twice == den) & q0[0])
    q = Signal(qbits + 1, name=name)
    m.d.comb += q.eq(q0 + up)
    return q


class KvQuantizeUnit(wiring.Component):
    """See the module docstring. Ports: ``valid``, ``x`` (``lanes`` FP16 values of one group), ``lo`` / ``hi``
    (the group's FP16 min(·, 0) / max(·, 0)); ``o_valid``, ``codes`` (``bits`` each), ``scale`` (FP16 bits),
    ``zero`` (the zero code), ``latency`` cycles after ``valid``."""

    def __init__(self, lanes: int, bits: int = 4, latency: int = MIN_LATENCY):
        if latency < MIN_LATENCY:
            raise ValueError(f"latency {latency}: the unit has {MIN_LATENCY} pipeline register")
        if not 2 <= bits <= 8:
            raise ValueError(f"{bits}-bit codes: the unit builds 2..8 (a scale ≤ 65504 needs qmax ≥ 3)")
        self.lanes, self.bits, self.latency = lanes, bits, latency
        super().__init__({"valid": In(1), "x": In(ArrayLayout(unsigned(16), lanes)), "lo": In(16), "hi": In(16),
                          "o_valid": Out(1), "codes": Out(ArrayLayout(unsigned(bits), lanes)), "scale": Out(16),
                          "zero": Out(bits)})

    def elaborate(self, platform):
        m = Module()
        qmax = (1 << self.bits) - 1
        _, _, _, lo_mag = _unpack(m, self.lo, None, "lo")
        _, _, _, hi_mag = _unpack(m, self.hi, None, "hi")
        d = Signal(MAG_BITS + 1)
        m.d.comb += d.eq(hi_mag + lo_mag)                         # hi − lo: hi ≥ 0 ≥ lo
        s, s_bits = ceil_fp16(m, ceil_div_const(m, d, qmax, name="dq"), name="scale")
        safe = Signal(len(s))
        m.d.comb += safe.eq(Mux(s == 0, UNIT, s))
        z = rne_quotient(m, lo_mag, safe, self.bits, name="zq")   # ≤ qmax: |lo| ≤ D ≤ qmax·S
        # stage 1: the group's divisor, scale, zero and each lane's sign and magnitude
        r_safe, r_bits, r_zero = Signal.like(safe), Signal(16), Signal(self.bits)
        r_valid = Signal()
        m.d.sync += [r_safe.eq(safe), r_bits.eq(s_bits), r_zero.eq(z[:self.bits]),
                     r_valid.eq(self.valid)]
        codes = []
        for i in range(self.lanes):
            sign, _, _, mag = _unpack(m, self.x[i], None, f"x{i}")
            r_sign, r_mag = Signal(name=f"l{i}_sign"), Signal(MAG_BITS, name=f"l{i}_mag")
            m.d.sync += [r_sign.eq(sign), r_mag.eq(mag)]
            q = rne_quotient(m, r_mag, r_safe, self.bits, name=f"l{i}_q")
            v = Signal(range(-qmax - 1, 2 * qmax + 2), name=f"l{i}_v")
            m.d.comb += v.eq(Mux(r_sign, r_zero - q, r_zero + q))
            c = Signal(self.bits, name=f"l{i}_code")
            m.d.comb += c.eq(Mux(v < 0, 0, Mux(v > qmax, qmax, v)))
            codes.append(c)
        valid, outs = r_valid, {"codes": Cat(*codes), "scale": r_bits, "zero": r_zero}
        for stage in range(self.latency - MIN_LATENCY):      # output delay registers
            nv = Signal(name=f"dly{stage}_valid")
            no = {k: Signal(len(v), name=f"dly{stage}_{k}") for k, v in outs.items()}
            m.d.sync += [nv.eq(valid)] + [no[k].eq(outs[k]) for k in outs]
            valid, outs = nv, no
        m.d.comb += [self.o_valid.eq(valid), self.codes.as_value().eq(outs["codes"]), self.scale.eq(outs["scale"]),
                     self.zero.eq(outs["zero"])]
        return m
