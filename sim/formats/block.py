"""Block-scaled formats: OCP Microscaling (MXINT8, MXFP8, MXFP6, MXFP4) and NVIDIA NVFP4
(docs/references.md#baselines).

MX: blocks of ``group_size`` elements (32 by default) share an E8M0 power-of-two scale; NVFP4: blocks of
16 E2M1 elements with an E4M3 block scale under an FP32 per-tensor scale. ``bits_per_element``: 4.25 for
MXFP4 (32-element blocks), 4.5 for NVFP4. Scale rules, rounding and edge cases (all-zero blocks,
subnormal E4M3 scales): docs/formats.md, "OCP MX and NVFP4 block formats".
"""

from __future__ import annotations

import numpy as np

from .base import (
    Format,
    FormatError,
    QuantizedTensor,
    check_finite,
    grouped,
    per_group_from_axis,
    per_group_to_axis,
    resolve_groups,
    ungrouped,
)
from .elements import (
    E2M1,
    E2M3,
    E3M2,
    E4M3,
    E5M2,
    FP32,
    INT8_1_6,
    FixedElement,
    FloatElement,
    all_values,
    round_down,
    scalar_type,
)
from .floating import absmax_scale, divide_safe, element_family

# E8M0 holds 2^k for k in [-127, 127]; code 0xFF is NaN (OCP MX v1.0, scale data type E8M0).
E8M0_MIN_EXP, E8M0_MAX_EXP = -127, 127
# OCP MX v1.0 concrete formats: a block is 32 elements (docs/references.md#baselines). NVFP4: 16.
MX_BLOCK, NVFP4_BLOCK = 32, 16


def _blocks(x, group_size, axis, default: int):
    x = check_finite(x)
    axis, g = resolve_groups(x.shape, default if group_size is None else group_size, axis)
    return axis, g, grouped(x, axis, g)


def shared_exponent(amax: np.ndarray, emax_elem: int) -> np.ndarray:
    """MX shared exponent ``floor(log2(amax)) − emax_elem`` clamped to E8M0 (int64); zero → −127."""
    _, e = np.frexp(amax)  # amax = m · 2^e with m in [0.5, 1): floor(log2(amax)) = e − 1
    k = np.where(amax > 0, e.astype(np.int64) - 1 - emax_elem, E8M0_MIN_EXP)
    return np.clip(k, E8M0_MIN_EXP, E8M0_MAX_EXP)


class MXFormat(Format):
    """An OCP MX format: ``group_size``-element blocks of ``element`` sharing an E8M0 scale."""

    scale_format = "e8m0"
    default_group_size = MX_BLOCK

    def __init__(self, name: str, element: FloatElement | FixedElement):
        self.name = name
        self.element = element
        self.code_bits = element.bits
        self.affine = element.affine if isinstance(element, FixedElement) else None
        self.family = "int" if isinstance(element, FixedElement) else element_family(element)

    @property
    def max_value(self) -> float:
        return self.element.max

    @property
    def values(self) -> np.ndarray:
        return all_values(self.element)

    def decode(self, codes, tags=None) -> np.ndarray:
        return self.element.decode(codes)

    def quantize(self, x, group_size=None, axis=-1, per_tensor=False) -> QuantizedTensor:
        if per_tensor:
            raise FormatError(f"per_tensor: {self.name} has only per-block E8M0 scales (OCP MX v1.0)")
        axis, g, xg = _blocks(x, group_size, axis, self.default_group_size)
        scale = np.ldexp(1.0, shared_exponent(np.abs(xg).max(axis=-1), self.element.emax))
        codes = self.element.encode(xg / scale[..., None])
        return QuantizedTensor(self.name, ungrouped(codes, axis), per_group_to_axis(scale, axis), None, g, axis)

    def scale_codes(self, q: QuantizedTensor) -> np.ndarray:
        """E8M0 bit patterns (uint8) of the block scales, same shape as ``q.scales``."""
        return np.asarray(q.scales).astype(scalar_type("float8_e8m0fnu")).view(np.uint8)


def nvfp4_block_scales(amax_block: np.ndarray, tensor_scale: float) -> np.ndarray:
    """E4M3 block scales (float64) for blocks with absmax ``amax_block`` (see the module docstring)."""
    elem_max = E2M1.max
    wanted = amax_block / (elem_max * tensor_scale)
    s = E4M3.round(wanted)
    s = np.where((amax_block > 0) & (s == 0), E4M3.min_subnormal, s)
    reaches_max = E2M1.round(divide_safe(amax_block[..., None], s * tensor_scale))[..., 0] == elem_max
    down = round_down(wanted, E4M3)
    return np.where(~reaches_max & (s > wanted) & (down > 0), down, s)


class NVFP4Format(Format):
    """NVFP4: E2M1 elements, E4M3 block scales (16-element blocks), FP32 tensor scale."""

    name = "nvfp4"
    code_bits = 4
    scale_format = "e4m3"
    default_group_size = NVFP4_BLOCK
    family = "fp4"
    element = E2M1

    @property
    def max_value(self) -> float:
        return E2M1.max

    @property
    def values(self) -> np.ndarray:
        return all_values(E2M1)

    def decode(self, codes, tags=None) -> np.ndarray:
        return E2M1.decode(codes)

    def quantize(self, x, group_size=None, axis=-1, per_tensor=False) -> QuantizedTensor:
        """``per_tensor`` is accepted and changes nothing: NVFP4 always has its FP32 tensor scale."""
        axis, g, xg = _blocks(x, group_size, axis, self.default_group_size)
        amax = np.abs(xg).max(axis=-1)
        tensor_scale = float(absmax_scale(amax.max(), E4M3.max * E2M1.max, FP32)) or 1.0
        s = nvfp4_block_scales(amax, tensor_scale)
        codes = E2M1.encode(divide_safe(xg, s * tensor_scale))
        return QuantizedTensor(self.name, ungrouped(codes, axis), per_group_to_axis(s, axis), None, g, axis,
                               tensor_scale=tensor_scale)

    def scale_codes(self, q: QuantizedTensor) -> np.ndarray:
        """E4M3 bit patterns (uint8) of the block scales, same shape as ``q.scales``."""
        return per_group_to_axis(E4M3.encode(per_group_from_axis(np.asarray(q.scales), q.axis)), q.axis)


REGISTRY = {
    "mxint8": lambda: MXFormat("mxint8", INT8_1_6),
    "mxfp8_e4m3": lambda: MXFormat("mxfp8_e4m3", E4M3),
    "mxfp8_e5m2": lambda: MXFormat("mxfp8_e5m2", E5M2),
    "mxfp6_e3m2": lambda: MXFormat("mxfp6_e3m2", E3M2),
    "mxfp6_e2m3": lambda: MXFormat("mxfp6_e2m3", E2M3),
    "mxfp4": lambda: MXFormat("mxfp4", E2M1),
    "nvfp4": NVFP4Format,
}
