"""Integer formats: symmetric / asymmetric INTb, BitNet ternary and binary (±1).

Codes are always unsigned. Symmetric INTb stores the two's-complement value ``v`` in offset
binary, ``code = v + 2^(b-1)``, with a zero point of ``2^(b-1)``; asymmetric INTb stores
``code = round(x / s) + z`` with an integer zero point ``z`` in ``[0, 2^b - 1]``. Either way
``value = s * (code - z)``, the form the LUT Tensor Core's reinterpretation assumes
(docs/references.md#lut-tensor-core). Scales are FP16 by default (GPTQ/AWQ practice).
"""

from __future__ import annotations

import numpy as np

from .base import (
    Format,
    FormatError,
    QuantizedTensor,
    check_finite,
    code_dtype,
    grouped,
    per_group_to_axis,
    resolve_groups,
    round_half_even,
    ungrouped,
)
from .scales import round_scale, round_scale_covering, round_scale_down


def _group_stats(x, group_size, axis, per_tensor):
    x = check_finite(x)
    axis, g = resolve_groups(x.shape, group_size, axis)
    xg = grouped(x, axis, g)  # (..., n_groups, g)
    return x, axis, g, xg


def _tensorwide(a: np.ndarray, per_tensor: bool, reduce) -> np.ndarray:
    """Replace per-group statistics by the tensor-wide one when quantizing per tensor."""
    return np.full_like(a, reduce(a)) if per_tensor else a


class IntFormat(Format):
    """INTb with a per-group (or per-channel / per-tensor) scale, symmetric or asymmetric."""

    affine = (1.0, 0.0)
    family = "int"

    def __init__(self, bits: int, symmetric: bool = True, scale_format: str = "fp16"):
        if not 1 <= bits <= 16:
            raise FormatError(f"integer bits must be in 1..16, got {bits}")
        if symmetric and bits < 2:
            raise FormatError("symmetric int1 has no non-zero level; use 'int1_asym' or 'binary'")
        self.bits = bits
        self.code_bits = bits
        self.symmetric = symmetric
        self.scale_format = scale_format
        self.name = f"int{bits}" if symmetric else f"int{bits}_asym"

    @property
    def qmin(self) -> int:
        return -(1 << (self.bits - 1)) if self.symmetric else 0

    @property
    def qmax(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.symmetric else (1 << self.bits) - 1

    def metadata_bits_per_group(self) -> int:
        return self.scale_bits() + (0 if self.symmetric else self.bits)

    def quantize(self, x, group_size=None, axis=-1, per_tensor=False) -> QuantizedTensor:
        x, axis, g, xg = _group_stats(x, group_size, axis, per_tensor)
        if self.symmetric:
            amax = _tensorwide(np.abs(xg).max(axis=-1), per_tensor, np.max)
            s = round_scale_down(amax / self.qmax, self.scale_format)
            z = np.full_like(s, 1 << (self.bits - 1))
            safe = np.where(s > 0, s, 1.0)[..., None]
            v = np.clip(round_half_even(xg / safe), self.qmin, self.qmax)
            codes = v + z[..., None]
        else:
            lo = _tensorwide(np.minimum(xg.min(axis=-1), 0.0), per_tensor, np.min)
            hi = _tensorwide(np.maximum(xg.max(axis=-1), 0.0), per_tensor, np.max)
            s = round_scale_covering((hi - lo) / self.qmax, self.scale_format)
            safe = np.where(s > 0, s, 1.0)
            z = np.clip(round_half_even(-lo / safe), 0, self.qmax)
            codes = np.clip(round_half_even(xg / safe[..., None]) + z[..., None], 0, self.qmax)
        codes = np.where((s > 0)[..., None], codes, z[..., None])
        return QuantizedTensor(
            fmt=self.name,
            codes=ungrouped(codes, axis).astype(code_dtype(self.bits)),
            scales=per_group_to_axis(s, axis),
            zeros=per_group_to_axis(z.astype(np.float64), axis),
            group_size=g,
            axis=axis,
        )

    def decode(self, codes, tags=None):
        return np.asarray(codes, dtype=np.float64)


class TernaryFormat(Format):
    """BitNet b1.58 ternary weights {-1, 0, +1}: absmean scale, codes {0, 1, 2}, zero point 1.

    Scale = mean(|x|) over the group (per tensor in BitNet b1.58, arXiv 2402.17764, eq. 1-3),
    values = clip(round(x / scale), -1, 1). Two bits per code.
    """

    name = "ternary"
    code_bits = 2
    scale_format = "fp16"
    affine = (1.0, 0.0)
    family = "int"

    def quantize(self, x, group_size=None, axis=-1, per_tensor=False) -> QuantizedTensor:
        x, axis, g, xg = _group_stats(x, group_size, axis, per_tensor)
        mean = _tensorwide(np.abs(xg).mean(axis=-1), per_tensor, np.mean)
        s = round_scale(mean, self.scale_format)
        safe = np.where(s > 0, s, 1.0)[..., None]
        v = np.clip(round_half_even(xg / safe), -1, 1)
        codes = np.where((s > 0)[..., None], v, 0) + 1
        return QuantizedTensor(self.name, ungrouped(codes, axis).astype(np.uint8),
                               per_group_to_axis(s, axis),
                               per_group_to_axis(np.ones_like(s), axis), g, axis)

    def decode(self, codes, tags=None):
        c = np.asarray(codes, dtype=np.float64)
        if (c > 2).any():
            raise FormatError("ternary codes must be 0, 1 or 2")
        return c


class BinaryFormat(Format):
    """Binary ±1 weights (BinaryConnect / 1-bit LLMs): code 1 = +1, code 0 = -1; scale = mean|x|."""

    name = "binary"
    code_bits = 1
    scale_format = "fp16"
    affine = (2.0, -1.0)
    family = "int"

    def quantize(self, x, group_size=None, axis=-1, per_tensor=False) -> QuantizedTensor:
        x, axis, g, xg = _group_stats(x, group_size, axis, per_tensor)
        mean = _tensorwide(np.abs(xg).mean(axis=-1), per_tensor, np.mean)
        s = round_scale(mean, self.scale_format)
        codes = (xg >= 0).astype(np.uint8)
        return QuantizedTensor(self.name, ungrouped(codes, axis), per_group_to_axis(s, axis),
                               None, g, axis)

    def decode(self, codes, tags=None):
        return 2.0 * np.asarray(codes, dtype=np.float64) - 1.0


# Registry entries (discovered by sim.formats): symmetric int2..int8, asymmetric int1..int8.
REGISTRY = {f"int{b}": (lambda b=b: IntFormat(b, symmetric=True)) for b in range(2, 9)}
REGISTRY.update({f"int{b}_asym": (lambda b=b: IntFormat(b, symmetric=False)) for b in range(1, 9)})
REGISTRY.update({"int1": lambda: IntFormat(1, symmetric=False), "ternary": TernaryFormat, "binary": BinaryFormat})
