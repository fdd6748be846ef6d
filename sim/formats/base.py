"""The contract every numeric format follows.

A *format* turns real tensors into unsigned integer codes plus per-group metadata
(scales, zero points, type tags) and back. Hardware models consume the codes
(optionally split into 1-bit planes); the reference mpGEMM consumes the dequantized values.

Dequantization rule shared by all formats (element ``e`` of group ``g``)::

    value = tensor_scale * scales[g] * (decode(codes[e], tags[g]) - zeros[g])

with ``tensor_scale`` = 1, ``zeros`` = 0 and ``tags`` = None when a format has none.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


class FormatError(ValueError):
    """Bad input to a format (NaN, inf, group size not dividing the axis, unknown name…)."""


@dataclass(frozen=True, eq=False)
class QuantizedTensor:
    """A tensor held in a numeric format.

    Attributes:
        fmt: registry name of the format (``sim.formats.get(fmt)`` gives it back).
        codes: unsigned integer codes, same shape as the original tensor.
        scales: float64 group scales, shape of the tensor with ``axis`` replaced by the
            number of groups; every value is exactly representable in the format's scale
            format. ``None`` for formats without scales (fp16, bf16, plain fp8).
        zeros: float64 zero points in *decoded* units, same shape as ``scales`` (``None`` = 0).
        group_size: elements per group along ``axis``.
        axis: the axis along which groups run (normalised to a non-negative index).
        tags: per-group int8 type tags (e.g. BitMoD's variant), same shape as ``scales``.
        tensor_scale: second-level per-tensor scale (NVFP4's FP32 scale), 1.0 when absent.
        codebook: per-group value tables (learned codebooks such as any4), shape of ``scales``
            plus one trailing axis of ``2^code_bits`` entries; ``None`` for fixed-table formats.
    """

    fmt: str
    codes: np.ndarray
    scales: np.ndarray | None
    zeros: np.ndarray | None
    group_size: int
    axis: int
    tags: np.ndarray | None = None
    tensor_scale: float = 1.0
    codebook: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.codes.shape

    @property
    def n_groups(self) -> int:
        return self.codes.shape[self.axis] // self.group_size

    def expand(self, per_group: np.ndarray | None, fill: float = 0.0) -> np.ndarray:
        """Broadcast a per-group array (like ``scales``) to one value per element."""
        if per_group is None:
            return np.full(self.codes.shape, fill, dtype=np.float64)
        return np.repeat(per_group, self.group_size, axis=self.axis)


def check_finite(x: np.ndarray, name: str = "x") -> np.ndarray:
    """Return ``x`` as float64, or raise FormatError naming NaN/inf entries."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        raise FormatError(f"{name}: expected an array with at least one axis, got a scalar")
    if x.size == 0:
        raise FormatError(f"{name}: empty array")
    bad = ~np.isfinite(x)
    if bad.any():
        kind = "NaN" if np.isnan(x[bad]).any() else "inf"
        raise FormatError(f"{name}: contains {int(bad.sum())} non-finite value(s) ({kind}); "
                          "quantization needs finite inputs")
    return x


def resolve_groups(shape: tuple[int, ...], group_size: int | None, axis: int) -> tuple[int, int]:
    """Normalise ``axis`` and ``group_size`` (None = the whole axis, i.e. per channel).

    Returns (axis, group_size). Raises FormatError when the group does not divide the axis.
    """
    ndim = len(shape)
    if not -ndim <= axis < ndim:
        raise FormatError(f"axis={axis} is out of range for a tensor with {ndim} dimension(s)")
    axis %= ndim
    length = shape[axis]
    if group_size is None:
        return axis, length
    if not isinstance(group_size, (int, np.integer)) or isinstance(group_size, bool) or group_size <= 0:
        raise FormatError(f"group_size must be a positive integer or None, got {group_size!r}")
    if length % group_size:
        raise FormatError(f"group_size={group_size} does not divide the axis length {length} "
                          f"(axis {axis} of shape {tuple(shape)})")
    return axis, int(group_size)


def grouped(x: np.ndarray, axis: int, group_size: int) -> np.ndarray:
    """View ``x`` as (..., n_groups, group_size) with the group axis last (a copy)."""
    moved = np.moveaxis(x, axis, -1)
    return moved.reshape(moved.shape[:-1] + (moved.shape[-1] // group_size, group_size))


def ungrouped(g: np.ndarray, axis: int) -> np.ndarray:
    """Inverse of :func:`grouped`."""
    flat = g.reshape(g.shape[:-2] + (g.shape[-2] * g.shape[-1],))
    return np.moveaxis(flat, -1, axis)


def per_group_to_axis(p: np.ndarray, axis: int) -> np.ndarray:
    """(..., n_groups) with the group axis last -> group axis at ``axis``."""
    return np.moveaxis(p, -1, axis)


def per_group_from_axis(p: np.ndarray, axis: int) -> np.ndarray:
    return np.moveaxis(p, axis, -1)


def round_half_even(x: np.ndarray) -> np.ndarray:
    """Round to nearest, ties to even (numpy's rint)."""
    return np.rint(x)


class Format(ABC):
    """One numeric format. Subclasses set the class attributes and implement the methods.

    Attributes:
        name: registry name.
        code_bits: bits of one element code.
        scale_format: name of the scale's format ("fp16", "fp32", "int8", "e8m0", "e4m3") or None.
        default_group_size: group (block) size used when the caller passes None; None = per channel.
        affine: (alpha, beta) when ``decode(c) = alpha * c + beta`` for every code (integer-like
            formats: the LUT and bit-serial hardware rely on this), else None.
        family: what a GPU computes it with, one of :data:`FAMILIES` (the GPU roofline's precision); every
            format states it, :func:`sim.formats.storage` refuses one that does not.
    """

    name: str = ""
    code_bits: int = 0
    scale_format: str | None = None
    default_group_size: int | None = None
    affine: tuple[float, float] | None = None
    family: str = ""

    @abstractmethod
    def quantize(self, x, group_size: int | None = None, axis: int = -1,
                 per_tensor: bool = False) -> QuantizedTensor:
        """Quantize a real tensor. ``group_size`` None = format default (per channel if none)."""

    @abstractmethod
    def decode(self, codes: np.ndarray, tags: np.ndarray | None = None) -> np.ndarray:
        """Element values before scale and zero point (float64), same shape as ``codes``.

        ``tags`` (when the format has them) is already expanded to one tag per element.
        """

    @property
    def values(self) -> np.ndarray | None:
        """The representable set before scaling, indexed by code (codebook-like formats)."""
        return None

    def levels(self, q: QuantizedTensor) -> np.ndarray:
        """Per-element values before zero point and scale (float64), shape of ``q.codes``.

        By default ``decode(codes, tags)``; formats whose element value depends on more than the
        code and its group's tag (a per-group codebook, a neighbouring element) override this.
        """
        tags = None if q.tags is None else q.expand(q.tags).astype(np.int64)
        return self.decode(q.codes, tags)

    def dequantize(self, q: QuantizedTensor) -> np.ndarray:
        """Real values (float64) of a quantized tensor."""
        v = self.levels(q)
        if q.zeros is not None:
            v = v - q.expand(q.zeros)
        if q.scales is not None:
            v = v * q.expand(q.scales)
        if q.tensor_scale != 1.0:
            v = v * q.tensor_scale
        return v

    def scale_bits(self) -> int:
        return SCALE_BITS[self.scale_format] if self.scale_format else 0

    def bits_per_element(self, group_size: int | None = None) -> float:
        """Storage bits per element, counting per-group metadata (scale, zero point, tag).

        With ``group_size`` None and no default group, per-channel metadata is amortised
        over an unknown length and not counted.
        """
        return amortised_bits(self.code_bits, self.metadata_bits_per_group(),
                              group_size if group_size is not None else self.default_group_size)

    def metadata_bits_per_group(self) -> int:
        """Bits stored once per group (scale + zero point + tag)."""
        return self.scale_bits()

    def bit_planes(self, q: QuantizedTensor) -> np.ndarray:
        """Split codes into 1-bit planes: uint8 array (code_bits, *shape); plane i = bit i."""
        codes = np.asarray(q.codes).astype(np.uint32)
        shifts = np.arange(self.code_bits, dtype=np.uint32).reshape((-1,) + (1,) * codes.ndim)
        return ((codes[None] >> shifts) & 1).astype(np.uint8)

    def from_bit_planes(self, planes: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`bit_planes` on the codes."""
        planes = np.asarray(planes).astype(np.uint32)
        shifts = np.arange(planes.shape[0], dtype=np.uint32).reshape((-1,) + (1,) * (planes.ndim - 1))
        return (planes << shifts).sum(axis=0).astype(code_dtype(self.code_bits))

    def __repr__(self) -> str:
        return f"<format {self.name}: {self.code_bits}-bit codes, scale {self.scale_format}>"


# Bits of each scale format. Sources: IEEE 754 (fp16 = binary16, fp32 = binary32);
# OCP MX v1.0 §5.1 (E8M0 = 8 bits); NVFP4 block scale is FP8 E4M3 (8 bits); int8 = 8 bits.
def amortised_bits(code_bits: int, group_bits: int, group_size: int | None) -> float:
    """Bits per element: ``code_bits`` plus ``group_bits`` shared by ``group_size`` elements (None: per channel,
    amortised over an unknown length and not counted)."""
    if group_size is None:
        return float(code_bits)
    if group_size <= 0:
        raise FormatError(f"group_size must be positive, got {group_size}")
    return code_bits + group_bits / group_size


#: GPU treatment of a format: ``float`` (fp16/bf16/fp32), ``int`` (integer codes with an affine decode), ``fp8``
#: (FP8/FP6 elements), ``fp4`` (FP4 elements), ``codebook`` (value tables, decoded to fp16 first)
FAMILIES = ("float", "int", "fp8", "fp4", "codebook")

SCALE_BITS = {"fp16": 16, "bf16": 16, "fp32": 32, "int8": 8, "e8m0": 8, "e4m3": 8}


def code_dtype(bits: int) -> type:
    """Smallest unsigned numpy dtype that holds ``bits``-bit codes."""
    if bits <= 8:
        return np.uint8
    if bits <= 16:
        return np.uint16
    return np.uint32
