"""IEEE binary16 (FP16) addition in Amaranth, round to nearest even, bit-exact against numpy.

:func:`fp16_add` builds ``fp16(a + b·2^shift)`` (``shift`` ≥ 0, optional) into a module's comb
domain: the LUT unit's FP16 accumulate (``acc + L·2^i``, the plane weight applied as an exponent
add) and the table precompute's adders (``shift`` absent). Semantics, as numpy float16:

* ``b·2^shift`` is first rounded to FP16 itself — exact (only the exponent moves) unless it
  exceeds the largest FP16, then ±inf (docs/lut_tensor_core_contract.md: "exact unless it overflows");
* the sum is computed exactly as an integer in units of 2^−24 (the subnormal spacing; every FP16
  is an integer multiple of it and the sum of two fits 41 bits), then rounded once to FP16
  (RNE; subnormal results exact; overflow → ±inf);
* x + (−x) = +0, (−0) + (−0) = −0; inf − inf and any NaN give the quiet NaN 0x7E00 (numpy's
  NaN payload/sign may differ: NaN-ness is what is specified).

:func:`fp16_mul_int` builds ``fp16(a·w)`` for an integer w (the FP16 × INT MAC's multiplier).
:class:`Fp16Adder` wraps the adder as a component (combinational) for tests and synthesis.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

FP16_BITS = 16
_MAN, _EXP = 10, 5               # binary16: 10 fraction bits, 5 exponent bits (IEEE 754-2008)
_EMAX_FIELD = (1 << _EXP) - 1    # 31: inf / NaN
_SUM_BITS = 41                   # |a| + |b| < 2 · 2047 · 2^29 units of 2^−24
QNAN = 0x7E00


def _unpack(m: Module, x, shift, name: str):
    """(sign, is_inf, is_nan, magnitude in units of 2^−24) of ``x·2^shift`` (see module docstring)."""
    sign, exp, frac = x[15], x[_MAN:_MAN + _EXP], x[:_MAN]
    normal = exp != 0
    sig = Cat(frac, normal)                                   # 11 bits with the hidden one
    e_eff = Mux(normal, exp, 1)                               # subnormals share exponent 1
    is_nan = (exp == _EMAX_FIELD) & (frac != 0)
    is_inf = (exp == _EMAX_FIELD) & (frac == 0)
    amount = Signal(range(64), name=f"{name}_amount")
    if shift is None:
        m.d.comb += amount.eq(e_eff - 1)
    else:
        # a normal value scaled past exponent field 30 overflows to inf; a subnormal never can
        # (< 2^-14 · 2^shift ≤ 2^-7 for the ≤ 7-plane shifts used here)
        overflow = normal & (exp + shift > _EMAX_FIELD - 1)
        is_inf = is_inf | (overflow & ~(exp == _EMAX_FIELD))
        m.d.comb += amount.eq(Mux(overflow | (exp == _EMAX_FIELD), 0, e_eff - 1 + shift))
    mag = Signal(_SUM_BITS - 1, name=f"{name}_mag")
    m.d.comb += mag.eq(Mux(exp == _EMAX_FIELD, 0, sig << amount))
    return sign, is_inf, is_nan, mag


def _round_pack(m: Module, neg, v, name: str) -> Signal:
    """FP16 pattern of the exact value (−1)^neg · v · 2^−24 (v unsigned): RNE, subnormals exact,
    overflow → inf; v = 0 gives +0 (callers fix the sign of exact zeros)."""
    width = len(v)
    lead = Signal(range(width), name=f"{name}_lead")    # position of the leading one of v
    for i in range(width):
        with m.If(v[i]):
            m.d.comb += lead.eq(i)
    # keep the top 11 bits of v, round the dropped ones to nearest even
    drop = Signal(range(width), name=f"{name}_drop")
    m.d.comb += drop.eq(Mux(lead > _MAN, lead - _MAN, 0))
    kept = Signal(_MAN + 1, name=f"{name}_kept")
    rest = Signal(width, name=f"{name}_rest")
    half = Signal(width, name=f"{name}_half")
    m.d.comb += [
        kept.eq(v >> drop),
        rest.eq(v & ((Const(1, width + 1) << drop) - 1)),
        half.eq(Mux(drop == 0, 0, Const(1, width) << (drop - 1)[:len(drop)])),
    ]
    round_up = (drop != 0) & ((rest > half) | ((rest == half) & kept[0]))
    rounded = Signal(_MAN + 2, name=f"{name}_rounded")
    m.d.comb += rounded.eq(kept + round_up)
    carry = rounded[_MAN + 1]
    exp_field = Signal(range(width + 2), name=f"{name}_exp")
    m.d.comb += exp_field.eq(lead - (_MAN - 1) + carry)       # lead 10 ↔ field 1
    out = Signal(FP16_BITS, name=f"{name}_packed")
    with m.If(v < (1 << _MAN)):
        m.d.comb += out.eq(Cat(v[:_MAN], Const(0, _EXP), neg & (v != 0)))   # subnormal or zero: exact
    with m.Elif(exp_field >= _EMAX_FIELD):
        m.d.comb += out.eq(Cat(Const(0, _MAN), Const(_EMAX_FIELD, _EXP), neg))
    with m.Else():
        m.d.comb += out.eq(Cat(Mux(carry, 0, rounded[:_MAN]), exp_field[:_EXP], neg))
    return out


def _special(m: Module, name: str, nan, inf, inf_sign, zero, zero_sign, finite) -> Signal:
    """Select NaN / ±inf / signed exact zero / the rounded finite result."""
    result = Signal(FP16_BITS, name=name)
    with m.If(nan):
        m.d.comb += result.eq(QNAN)
    with m.Elif(inf):
        m.d.comb += result.eq(Cat(Const(0, _MAN), Const(_EMAX_FIELD, _EXP), inf_sign))
    with m.Elif(zero):
        m.d.comb += result.eq(Cat(Const(0, 15), zero_sign))
    with m.Else():
        m.d.comb += result.eq(finite)
    return result


def fp16_add(m: Module, a, b, shift=None, name: str = "fadd") -> Signal:
    """A 16-bit signal equal to fp16(a + fp16(b·2^shift)) (RNE), built in ``m``'s comb domain."""
    sa, inf_a, nan_a, mag_a = _unpack(m, a, None, f"{name}_a")
    sb, inf_b, nan_b, mag_b = _unpack(m, b, shift, f"{name}_b")
    total = Signal(signed(_SUM_BITS + 1), name=f"{name}_total")
    m.d.comb += total.eq(Mux(sa, -mag_a, mag_a) + Mux(sb, -mag_b, mag_b))
    v = Signal(_SUM_BITS, name=f"{name}_abs")
    m.d.comb += v.eq(Mux(total < 0, -total, total))
    finite = _round_pack(m, total < 0, v, name)
    return _special(m, name, nan=nan_a | nan_b | (inf_a & inf_b & (sa != sb)), inf=inf_a | inf_b,
                    inf_sign=Mux(inf_a, sa, sb), zero=v == 0, zero_sign=sa & sb, finite=finite)


def fp16_mul_int(m: Module, a, w, name: str = "fmul") -> Signal:
    """fp16(a · w) for an FP16 pattern ``a`` and a signed integer ``w`` (exact in FP16 for ≤ 11 bits):
    the exact product in units of 2^−24, rounded once (RNE); inf · 0 = NaN; signed zeros as IEEE."""
    sa, inf_a, nan_a, mag_a = _unpack(m, a, None, f"{name}_a")
    sw = w[-1]
    mag_w = Signal(len(w), name=f"{name}_w")
    m.d.comb += mag_w.eq(Mux(sw, -w, w))
    v = Signal(_SUM_BITS - 1 + len(w), name=f"{name}_prod")
    m.d.comb += v.eq(mag_a * mag_w)
    sign = sa ^ sw
    finite = _round_pack(m, sign, v, name)
    return _special(m, name, nan=nan_a | (inf_a & (mag_w == 0)), inf=inf_a, inf_sign=sign,
                    zero=v == 0, zero_sign=sign, finite=finite)


class Fp16Adder(wiring.Component):
    """Combinational ``sum = fp16(a + fp16(b·2^shift))``; ``shift_bits`` = 0 drops the shift port."""

    def __init__(self, *, shift_bits: int = 0):
        self.shift_bits = shift_bits
        ports = {"a": In(FP16_BITS), "b": In(FP16_BITS), "sum": Out(FP16_BITS)}
        if shift_bits:
            ports["shift"] = In(shift_bits)
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        s = fp16_add(m, self.a, self.b, self.shift if self.shift_bits else None)
        m.d.comb += self.sum.eq(s)
        return m
