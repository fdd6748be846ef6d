"""Floating-point element formats: FP4 (E2M1), FP6 (E3M2, E2M3), FP8 (E4M3, E5M2), FP16, BF16.

Codes are the formats' own bit patterns (uint8 up to 8 bits, uint16 for FP16/BF16); elements are
rounded to nearest, ties to even, with subnormals, and *saturate* to ±max (OCP "satfinite"): a value
beyond the largest finite one becomes ±max, never inf or NaN, also for E5M2 and FP16, whose IEEE casts
would overflow to inf. See :mod:`sim.formats.elements` for the conversions (ml_dtypes / numpy).

Scaling (the choices, since a bare element format says nothing about scales):

* ``fp4_e2m1``, ``fp6_e3m2``, ``fp6_e2m3`` are too narrow to hold a tensor unscaled: each group
  (``group_size``/``axis`` as in :func:`sim.formats.base.resolve_groups`; None = per channel) gets an
  FP16 absmax scale ``s = round_down_fp16(absmax / max_elem)``, the largest FP16 value not above
  absmax / max_elem, so the group's absmax always maps to ±max_elem. (Rounding the scale down rather than
  to nearest moves it by < 1 FP16 ulp and makes quantization idempotent.) Non-zero groups whose scale
  would underflow get FP16's smallest subnormal 2^-24; all-zero groups get scale 0 and zero codes.
  ``per_tensor=True`` uses the tensor's absmax for every group. ``bits_per_element(g)`` = bits + 16/g.
* ``fp8_e4m3`` / ``fp8_e5m2`` have no scale (``scales`` None) by default. With ``per_tensor=True``
  they get one FP32 scale ``round_down_fp32(absmax / max_elem)`` in ``QuantizedTensor.tensor_scale``
  (smallest FP32 subnormal if it underflows, 1.0 for an all-zero tensor); that scale is amortised
  over the whole tensor and not counted by ``bits_per_element``.
* ``fp16`` / ``bf16`` never have a scale; ``per_tensor=True`` is an error for them.

None of these formats is affine in its code (``affine`` is None): hardware that needs
``value = α·code + β`` (LUT Tensor Core's reinterpretation) must decode through ``values``.
"""

from __future__ import annotations

import numpy as np

from .base import (
    Format,
    FormatError,
    QuantizedTensor,
    check_finite,
    grouped,
    per_group_to_axis,
    resolve_groups,
    ungrouped,
)
from .elements import BF16, E2M1, E2M3, E3M2, E4M3, E5M2, FP16, FP32, FloatElement, all_values, round_down


def element_family(element: FloatElement) -> str:
    """GPU treatment of a float element (:data:`sim.formats.base.FAMILIES`): 16 bits or more compute as
    ``float``, 6 and 8 bits at the FP8 rate, 4 bits at the FP4 rate."""
    return "float" if element.bits >= 16 else "fp4" if element.bits <= 4 else "fp8"


def absmax_scale(amax: np.ndarray, elem_max: float, scale_element: FloatElement) -> np.ndarray:
    """Scale mapping ``amax`` to ``elem_max``, rounded down to ``scale_element`` (float64).

    Zero stays zero (all-zero group); a positive absmax whose scale rounds to 0 gets the scale
    format's smallest subnormal, so a non-zero group never has a zero scale.
    """
    amax = np.asarray(amax, dtype=np.float64)
    s = round_down(amax / elem_max, scale_element)
    return np.where((amax > 0) & (s == 0), scale_element.min_subnormal, s)


def divide_safe(xg: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``xg / s`` broadcast over the last axis, with zero scales treated as 1 (their groups are zero)."""
    return xg / np.where(s > 0, s, 1.0)[..., None]


class FloatFormat(Format):
    """One floating-point element format, optionally with FP16 group or FP32 tensor scales.

    Args:
        name: registry name.
        element: the element type.
        scale: "group" (FP16 absmax group scale, always), "tensor" (FP32 per-tensor scale only when
            ``per_tensor=True``) or None (never scaled).
    """

    def __init__(self, name: str, element: FloatElement, scale: str | None):
        self.name = name
        self.element = element
        self.code_bits = element.bits
        self.scale = scale
        self.scale_format = "fp16" if scale == "group" else None
        self.family = element_family(element)

    @property
    def max_value(self) -> float:
        """Largest finite element value (before scaling)."""
        return self.element.max

    @property
    def values(self) -> np.ndarray | None:
        """Value of every code (float64, indexed by code) for ≤ 8-bit formats; None for FP16/BF16."""
        return all_values(self.element) if self.code_bits <= 8 else None

    def decode(self, codes, tags=None) -> np.ndarray:
        return self.element.decode(codes)

    def quantize(self, x, group_size=None, axis=-1, per_tensor=False) -> QuantizedTensor:
        x = check_finite(x)
        axis, g = resolve_groups(x.shape, group_size, axis)
        if per_tensor and self.scale is None:
            raise FormatError(f"per_tensor: {self.name} has no scale; per-tensor scaling is defined for "
                              "fp8_e4m3, fp8_e5m2 and the fp4/fp6 formats")
        xg = grouped(x, axis, g)
        scales, tensor_scale = None, 1.0
        if self.scale == "group":
            amax = np.abs(xg).max(axis=-1)
            if per_tensor:
                amax = np.full_like(amax, amax.max())
            s = absmax_scale(amax, self.max_value, FP16)
            xg = divide_safe(xg, s)
            scales = per_group_to_axis(s, axis)
        elif per_tensor:
            tensor_scale = float(absmax_scale(np.abs(x).max(), self.max_value, FP32)) or 1.0
            xg = xg / tensor_scale
        codes = self.element.encode(xg)
        return QuantizedTensor(self.name, ungrouped(codes, axis), scales, None, g, axis,
                               tensor_scale=tensor_scale)

    def __repr__(self) -> str:
        scale = {"group": "fp16 group scale", "tensor": "optional fp32 tensor scale", None: "no scale"}
        return f"<format {self.name}: {self.code_bits}-bit {self.element.name}, {scale[self.scale]}>"


REGISTRY = {
    "fp4_e2m1": lambda: FloatFormat("fp4_e2m1", E2M1, "group"),
    "fp6_e3m2": lambda: FloatFormat("fp6_e3m2", E3M2, "group"),
    "fp6_e2m3": lambda: FloatFormat("fp6_e2m3", E2M3, "group"),
    "fp8_e4m3": lambda: FloatFormat("fp8_e4m3", E4M3, "tensor"),
    "fp8_e5m2": lambda: FloatFormat("fp8_e5m2", E5M2, "tensor"),
    "fp16": lambda: FloatFormat("fp16", FP16, None),
    "bf16": lambda: FloatFormat("bf16", BF16, None),
}
