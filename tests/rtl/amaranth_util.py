"""Packing helpers for driving Amaranth array ports from tests (element 0 in the low bits)."""

from __future__ import annotations

from collections.abc import Iterable


def pack(values: Iterable[int], width: int) -> int:
    """Two's-complement pack of ``values`` into one integer, element 0 lowest."""
    mask = (1 << width) - 1
    out = 0
    for i, v in enumerate(values):
        out |= (int(v) & mask) << (i * width)
    return out


def unpack(word: int, width: int, count: int, signed: bool = True) -> list[int]:
    """Inverse of :func:`pack`."""
    mask = (1 << width) - 1
    out = []
    for i in range(count):
        v = (int(word) >> (i * width)) & mask
        if signed and v >> (width - 1):
            v -= 1 << width
        out.append(v)
    return out
