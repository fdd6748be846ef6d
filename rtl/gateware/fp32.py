"""Combinational FP32 building blocks shared by the bit-serial PEs' output stages (BitMoD, MixPE) and the
LUT array's dequantization unit.

Every function adds its logic to a ``Module``'s comb domain and returns a 32-bit value (IEEE 754
binary32 bit pattern), except :func:`fp32_to_fp16` (binary16; the dequantization unit's output,
rtl/gateware/dequant_unit.py). Rounding is to nearest, ties to even (IEEE 754 default), as the models'
``np.float32`` casts do. Range: results and operands are zero or normal — the PEs' values stay
within [2^−100, 2^100] (their smallest LSB is 2^−73: FP16 LSB 2^−24, 3 guard bits, a 22-bit
normalisation shift, an FP16 scale LSB 2^−24), so there is no subnormal, infinity or NaN path.
Operands whose exponent field is 0 read as zero.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned

FP32_FRAC = 23          # fraction bits (IEEE 754 binary32)
FP32_BIAS = 127
FP16_FRAC = 10          # IEEE 754 binary16
FP16_BIAS = 15
EXP_WIDTH = 12          # signed width of the unbiased exponents handled here (|e| < 2^11)


def leading_one(m: Module, value, name: str = "lead") -> Signal:
    """Index of the highest set bit of unsigned ``value`` (0 when ``value`` is 0): a binary tree
    of halves, log2(width) levels deep."""
    width = len(value)
    pos = Signal(range(max(width, 2)), name=name)
    if width <= 2:
        m.d.comb += pos.eq(value[1] if width == 2 else 0)
        return pos
    half = 1 << ((width - 1).bit_length() - 1)          # largest power of two below width
    hi = leading_one(m, value[half:], name=f"{name}_h")
    lo = leading_one(m, value[:half], name=f"{name}_l")
    m.d.comb += pos.eq(Mux(value[half:].any(), hi + half, lo))
    return pos


def round_to_fp32(m: Module, sign, mag, exp_lsb, name: str = "rnd") -> Signal:
    """FP32 bits of (−1)^sign · mag · 2^exp_lsb, rounded to nearest even.

    ``mag`` unsigned (any width); ``exp_lsb`` signed. A zero ``mag`` gives a zero with ``sign``.
    """
    width = len(mag)
    top = leading_one(m, mag, name=f"{name}_top")
    rsh = Signal(range(width + 1), name=f"{name}_rsh")      # right shift when mag has > 24 bits
    lsh = Signal(range(FP32_FRAC + 1), name=f"{name}_lsh")  # left shift when it has fewer
    m.d.comb += [
        rsh.eq(Mux(top > FP32_FRAC, top - FP32_FRAC, 0)),
        lsh.eq(Mux(top > FP32_FRAC, 0, FP32_FRAC - top)),
    ]
    right = Signal(FP32_FRAC + 2, name=f"{name}_right")     # significand and guard bit (bit 0)
    m.d.comb += right.eq(((mag << 1) >> rsh)[: FP32_FRAC + 2])
    below = (mag << 1) & ((Const(1, width + 2) << rsh) - 1)  # bits under the guard bit
    sticky = below.any()
    sig = Signal(FP32_FRAC + 1, name=f"{name}_sig")
    m.d.comb += sig.eq(Mux(top > FP32_FRAC, right[1:], (mag << lsh)[: FP32_FRAC + 1]))
    guard = (top > FP32_FRAC) & right[0]
    rounded = Signal(FP32_FRAC + 2, name=f"{name}_rounded")
    m.d.comb += rounded.eq(sig + (guard & (sticky | sig[0])))
    carry = rounded[FP32_FRAC + 1]
    field = Signal(signed(EXP_WIDTH), name=f"{name}_field")
    m.d.comb += field.eq(exp_lsb + top + FP32_BIAS + carry)
    out = Signal(32, name=name)
    frac = Mux(carry, 0, rounded[:FP32_FRAC])
    m.d.comb += out.eq(Mux(mag.any(), Cat(frac, field[:8], sign), Cat(Const(0, 31), sign)))
    return out


FP16_INF = 0x7C00       # IEEE 754 binary16 +inf (exponent field 31, fraction 0)
_FP16_MIN_FIELD = FP32_BIAS - (FP16_BIAS - 1)   # 113: FP32 exponent field of FP16's smallest normal, 2^-14
_SUB_SHIFT = _FP16_MIN_FIELD + FP32_FRAC - FP16_FRAC  # 126: shift of a subnormal result is 126 − field
_MAX_SHIFT = FP32_FRAC + 2                      # 25: the whole significand below the guard bit (rounds to 0)


def fp32_to_fp16(m: Module, bits, name: str = "f16") -> Signal:
    """FP16 bits of fp16(x) for FP32 ``bits`` (zero or normal), rounded to nearest even: results below
    2^-14 are FP16 subnormals (or zero), rounded as well; beyond the largest FP16 (65504 and its rounding
    range) ±inf, as IEEE 754 (numpy's float32 → float16 cast). Exponent field 0 reads as zero.

    One rounding shift for both cases: the 24-bit significand is shifted right by 13 (normal results: 11
    bits with the hidden one) or by 126 − field (subnormal results: units of 2^-24, at most 25); the
    rounded value plus the exponent base ((field − 113)·2^10, or 0) is the FP16 pattern, a carry out of
    the significand moving into the exponent."""
    sign, field = bits[31], bits[FP32_FRAC:31]
    sig = Cat(bits[:FP32_FRAC], Const(1, 1))
    normal = field >= _FP16_MIN_FIELD
    sh = Signal(range(_MAX_SHIFT + 1), name=f"{name}_sh")
    m.d.comb += sh.eq(Mux(normal, FP32_FRAC - FP16_FRAC,
                          Mux(field + _MAX_SHIFT < _SUB_SHIFT, _MAX_SHIFT, _SUB_SHIFT - field)))
    kept = Signal(FP16_FRAC + 1, name=f"{name}_kept")
    m.d.comb += kept.eq(sig >> sh)
    below = Signal(range(_MAX_SHIFT), name=f"{name}_below")   # the guard bit's position
    m.d.comb += below.eq(sh - 1)
    guard = (sig >> below)[0]
    sticky = (sig & ((Const(1, _MAX_SHIFT + 1) << below) - 1)).any()
    total = Signal(FP16_FRAC + 11, name=f"{name}_total")
    m.d.comb += total.eq(Mux(normal, (field - _FP16_MIN_FIELD) << FP16_FRAC, 0) + kept
                         + (guard & (sticky | kept[0])))
    out = Signal(16, name=name)
    m.d.comb += out.eq(Mux(field == 0, Cat(Const(0, 15), sign),
                           Mux(total >= FP16_INF, Cat(Const(FP16_INF, 15), sign), Cat(total[:15], sign))))
    return out


def unpack_fp32(bits):
    """(sign, 24-bit significand, unbiased exponent of its LSB) of FP32 ``bits`` (exp field 0 → 0)."""
    field = bits[FP32_FRAC:31]
    sig = Cat(bits[:FP32_FRAC], field.any())
    return bits[31], sig, field - (FP32_BIAS + FP32_FRAC)


def unpack_fp16(bits):
    """(sign, 11-bit significand, unbiased exponent of its LSB) of FP16 ``bits`` (subnormals too)."""
    field = bits[FP16_FRAC:15]
    normal = field.any()
    sig = Cat(bits[:FP16_FRAC], normal)
    return bits[15], sig, Mux(normal, field, 1) - (FP16_BIAS + FP16_FRAC)


def fp32_add(m: Module, a, b, name: str = "add") -> Signal:
    """FP32 bits of fp32(a + b) for FP32 ``a``, ``b`` (zero or normal)."""
    mag_a, mag_b = a[:31], b[:31]
    a_big = mag_a >= mag_b
    big = Signal(32, name=f"{name}_big")
    small = Signal(32, name=f"{name}_small")
    m.d.comb += [big.eq(Mux(a_big, a, b)), small.eq(Mux(a_big, b, a))]
    s_big, sig_big, e_big = unpack_fp32(big)
    s_small, sig_small, _ = unpack_fp32(small)
    frame = FP32_FRAC + 4                          # significand + guard, round and sticky bits
    gap = Signal(8, name=f"{name}_gap")
    m.d.comb += gap.eq(big[FP32_FRAC:31] - small[FP32_FRAC:31])
    shift = Signal(range(frame + 1), name=f"{name}_shift")
    m.d.comb += shift.eq(Mux(gap > frame, frame, gap))
    wide_small = Cat(Const(0, 3), sig_small)
    lost = (wide_small & ((Const(1, frame + 1) << shift) - 1)).any()
    aligned = Signal(frame, name=f"{name}_aligned")
    m.d.comb += aligned.eq(((wide_small >> shift)[:frame]) | lost)
    wide_big = Cat(Const(0, 3), sig_big)
    total = Signal(frame + 1, name=f"{name}_total")
    m.d.comb += total.eq(Mux(s_big == s_small, wide_big + aligned, wide_big - aligned))
    sign = Mux(total.any(), s_big, s_big & s_small)   # x + (−x) = +0 in round-to-nearest
    return round_to_fp32(m, sign, total, e_big - 3, name=name)


def fp32_mul_fp16(m: Module, a, b, name: str = "mul") -> Signal:
    """FP32 bits of fp32(a · b) for FP32 ``a`` (zero or normal) and FP16 ``b`` (finite)."""
    s_a, sig_a, e_a = unpack_fp32(a)
    s_b, sig_b, e_b = unpack_fp16(b)
    prod = Signal(unsigned(len(sig_a) + len(sig_b)), name=f"{name}_prod")
    m.d.comb += prod.eq(sig_a * sig_b)
    return round_to_fp32(m, s_a ^ s_b, prod, e_a + e_b, name=name)


def int_times_fp16(m: Module, value, b, name: str = "imul") -> Signal:
    """FP32 bits of fp32(value · b) for a signed integer ``value`` and FP16 ``b`` (finite)."""
    s_b, sig_b, e_b = unpack_fp16(b)
    neg = value < 0
    mag = Signal(unsigned(len(value)), name=f"{name}_mag")
    m.d.comb += mag.eq(Mux(neg, -value, value))
    prod = Signal(unsigned(len(value) + len(sig_b)), name=f"{name}_prod")
    m.d.comb += prod.eq(mag * sig_b)
    return round_to_fp32(m, neg ^ s_b, prod, e_b, name=name)
