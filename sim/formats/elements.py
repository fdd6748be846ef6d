"""Element types of the floating-point and block formats: bit patterns, values, RNE rounding.

An *element type* is the per-element number format (E2M1, E3M2, E2M3, E4M3, E5M2, FP16, BF16, and
MXINT8's 1.6 fixed point). Codes are the element's unsigned bit patterns (uint8 for ≤ 8 bits, uint16
for 16 bits); :meth:`encode` rounds float64 values to the nearest code, ties to even, *saturating* to
±max (OCP "satfinite" conversion: out-of-range values never become inf or NaN, even for E5M2/FP16
which have infinities); :meth:`decode` gives each code's value as float64 (the E4M3 NaN codes 0x7F/0xFF
and E5M2's inf/NaN codes decode to inf/NaN; :meth:`encode` never produces them).

The conversions are done by ml_dtypes / numpy casts, not by hand. ml_dtypes casts float64 to its
small types through float32, which double-rounds values just off a tie (e.g. 2.5 + 2^-40 becomes 2
in E2M1 instead of 3). :func:`to_float32_odd` removes that error: float64 is first rounded to float32
*to odd*, which has enough extra bits for the second rounding (RNE to the target) to be correct
(Boldo & Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using rounding
to odd", IEEE Trans. Computers 57(4), 2008).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache

import numpy as np

from .base import FormatError, code_dtype


@cache
def scalar_type(name: str) -> type:
    """The numpy scalar type ``name`` (``float16``, ``float32``, ``float64``), else ml_dtypes' type of that name
    (``bfloat16``, ``float8_e4m3fn`` …). ml_dtypes is imported on the first such call, not with this package: its
    import takes about 0.45 s, and most commands never round to a small float type."""
    if name in ("float16", "float32", "float64"):
        return getattr(np, name)
    return getattr(importlib.import_module("ml_dtypes"), name)


def to_float32_odd(x: np.ndarray) -> np.ndarray:
    """Round float64 ``x`` to float32 with round-to-odd (inexact results get an odd last bit).

    ``x`` must lie within float32's finite range.
    """
    x = np.asarray(x, dtype=np.float64)
    y = x.astype(np.float32)
    yd = y.astype(np.float64)
    inexact = yd != x
    beyond = inexact & ((yd > x) == (x > 0))  # |y| > |x|: step the magnitude down to truncate toward zero
    bits = y.view(np.uint32)
    np.subtract(bits, beyond, out=bits, casting="unsafe")
    np.bitwise_or(bits, inexact, out=bits, casting="unsafe")
    return y


def cast_rne(x: np.ndarray, dtype) -> np.ndarray:
    """Cast float64 ``x`` (within ``dtype``'s finite range) to ``dtype`` with one correct RNE rounding."""
    if dtype in (np.float16, np.float32):
        return np.asarray(x, dtype=np.float64).astype(dtype)  # numpy rounds float64 directly, once
    return to_float32_odd(x).astype(dtype)


@dataclass(frozen=True)
class FloatElement:
    """A binary floating-point element type with subnormals, handled through a numpy dtype.

    Attributes:
        name: short name (``e2m1`` …).
        dtype_name: the name of the ml_dtypes / numpy scalar type that holds it (:attr:`dtype`).
        bits: bits per code.
        mant_bits: explicit mantissa bits.
        emin: exponent of the smallest normal value.
        emax: exponent of the largest normal value (OCP MX's ``emax_elem``).
        max: largest finite value.
        min_subnormal: smallest positive value, 2^(emin − mant_bits).
    """

    name: str
    dtype_name: str
    bits: int
    mant_bits: int
    emin: int
    emax: int
    max: float

    @property
    def dtype(self) -> type:
        """The ml_dtypes / numpy scalar type that holds it (:func:`scalar_type`)."""
        return scalar_type(self.dtype_name)

    @property
    def min_subnormal(self) -> float:
        return float(np.ldexp(1.0, self.emin - self.mant_bits))

    @property
    def uint(self) -> type:
        return code_dtype(self.bits)

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Codes of finite float64 ``x``: round to nearest, ties to even, saturating to ±max."""
        x = np.clip(np.asarray(x, dtype=np.float64), -self.max, self.max)
        return cast_rne(x, self.dtype).view(self.uint)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Value (float64) of each code; FormatError if a code does not fit in ``bits``."""
        c = check_codes(codes, self.bits, self.name)
        return c.astype(self.uint).view(self.dtype).astype(np.float64)

    def round(self, x: np.ndarray) -> np.ndarray:
        """``decode(encode(x))``: the nearest representable value (RNE, saturating)."""
        return self.decode(self.encode(x))


@dataclass(frozen=True)
class FixedElement:
    """Two's-complement fixed point: value = integer · 2^-frac_bits (MXINT8's element).

    Codes are offset binary (the two's-complement pattern with its top bit inverted), so that
    ``decode`` is affine in the code like the INT formats of :mod:`sim.formats.integer`; the
    two's-complement pattern is ``code ^ 2^(bits−1)``. Rounding saturates symmetrically to
    ±(2^(bits−1) − 1): the most negative pattern decodes but is never produced.
    """

    name: str
    bits: int
    frac_bits: int
    emax: int

    @property
    def max(self) -> float:
        return float(np.ldexp((1 << (self.bits - 1)) - 1, -self.frac_bits))

    @property
    def min_subnormal(self) -> float:
        return float(np.ldexp(1.0, -self.frac_bits))

    @property
    def uint(self) -> type:
        return code_dtype(self.bits)

    @property
    def affine(self) -> tuple[float, float]:
        step = float(np.ldexp(1.0, -self.frac_bits))
        return step, -step * (1 << (self.bits - 1))

    def encode(self, x: np.ndarray) -> np.ndarray:
        top = (1 << (self.bits - 1)) - 1
        v = np.clip(np.rint(np.ldexp(np.asarray(x, dtype=np.float64), self.frac_bits)), -top, top)
        return (v + (1 << (self.bits - 1))).astype(self.uint)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        c = check_codes(codes, self.bits, self.name).astype(np.float64)
        alpha, beta = self.affine
        return alpha * c + beta

    def round(self, x: np.ndarray) -> np.ndarray:
        return self.decode(self.encode(x))


def check_codes(codes: np.ndarray, bits: int, name: str) -> np.ndarray:
    """``codes`` as an integer array, or FormatError if one is negative or needs more than ``bits``."""
    c = np.asarray(codes)
    if c.dtype.kind not in "iu":
        raise FormatError(f"{name} codes must be integers, got dtype {c.dtype}")
    if c.size and (c.min() < 0 or c.max() >= (1 << bits)):
        raise FormatError(f"{name} codes must be in 0..{(1 << bits) - 1}, got {c.min()}..{c.max()}")
    return c


def all_values(element) -> np.ndarray:
    """Value of every code 0 .. 2^bits − 1 (float64), for element types of ≤ 8 bits."""
    return element.decode(np.arange(1 << element.bits, dtype=element.uint))


# Element types. Sources (values also checked against ml_dtypes in tests/sim/formats/test_floating.py):
# - E2M1, E3M2, E2M3: OCP Microscaling Formats (MX) v1.0, element data types FP6 and FP4, and
#   docs/references.md#baselines: E2M1 max 6 (values ±{0, .5, 1, 1.5, 2, 3, 4, 6}), emax 2, emin 0; E3M2 max 28,
#   emax 4, emin −2; E2M3 max 7.5, emax 2, emin 0. No inf, no NaN.
# - E4M3 ("fn"), E5M2: OCP 8-bit Floating Point Specification (OFP8) rev. 1.0 (2023), also OCP MX v1.0
#   (FP8 element data types): E4M3 max 448 (S.1111.110), emax 8, emin −6, no inf; E5M2 max 57344, emax 15, emin −14.
# - FP16: IEEE 754-2008 binary16, max 65504, emax 15, emin −14.
# - BF16: bfloat16 (IEEE binary32 with 7 mantissa bits), max (2 − 2^-7)·2^127, emax 127, emin −126.
# - INT8 of MXINT8: OCP MX v1.0 (INT8 element data type), two's complement with an implicit scale 2^-6 (1.6 fixed
#   point), emax 0 (as in microsoft/microxcaling, mx/formats.py).
E2M1 = FloatElement("e2m1", "float4_e2m1fn", 4, 1, 0, 2, 6.0)
E3M2 = FloatElement("e3m2", "float6_e3m2fn", 6, 2, -2, 4, 28.0)
E2M3 = FloatElement("e2m3", "float6_e2m3fn", 6, 3, 0, 2, 7.5)
E4M3 = FloatElement("e4m3", "float8_e4m3fn", 8, 3, -6, 8, 448.0)
E5M2 = FloatElement("e5m2", "float8_e5m2", 8, 2, -14, 15, 57344.0)
FP16 = FloatElement("fp16", "float16", 16, 10, -14, 15, 65504.0)
BF16 = FloatElement("bf16", "bfloat16", 16, 7, -126, 127, float(np.ldexp(2.0 - 2.0**-7, 127)))
INT8_1_6 = FixedElement("int8", 8, 6, 0)

# Storage formats of scales, as element types (E4M3 above is also NVFP4's block scale format).
FP32 = FloatElement("fp32", "float32", 32, 23, -126, 127, float(np.finfo(np.float32).max))


def round_down(s: np.ndarray, element: FloatElement) -> np.ndarray:
    """Largest value of ``element`` ≤ ``s`` for non-negative ``s`` (float64), clipped to [0, max].

    Used for absmax scales: with ``scale = round_down(amax / max_elem)`` the group's absmax always
    lands on the element's largest code, which makes quantization idempotent.
    """
    s = np.minimum(np.asarray(s, dtype=np.float64), element.max)
    r = cast_rne(s, element.dtype)
    codes = r.view(_UINT_OF_SIZE[r.dtype.itemsize])
    codes = np.where(r.astype(np.float64) > s, codes - 1, codes)  # positive: code − 1 is the next value down
    return codes.view(element.dtype).astype(np.float64)


_UINT_OF_SIZE = {1: np.uint8, 2: np.uint16, 4: np.uint32}
