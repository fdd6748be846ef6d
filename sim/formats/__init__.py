"""Numeric formats: one registry, ``get(name)``.

Every format turns real tensors into unsigned codes plus per-group metadata and back; see
:mod:`sim.formats.base` for the contract and the dequantization rule.
"""

from __future__ import annotations

from collections.abc import Callable

from .base import Format, FormatError, QuantizedTensor
from .integer import BinaryFormat, IntFormat, TernaryFormat

_FACTORIES: dict[str, Callable[[], Format]] = {}
_CACHE: dict[str, Format] = {}


def register(name: str, factory: Callable[[], Format]) -> None:
    """Add a format under ``name`` (lower case). Later registrations of a name are an error."""
    key = name.lower()
    if key in _FACTORIES:
        raise FormatError(f"format {name!r} is already registered")
    _FACTORIES[key] = factory


def names() -> list[str]:
    """All registered format names, sorted."""
    return sorted(_FACTORIES)


def get(name: str) -> Format:
    """The format called ``name``; a FormatError lists the allowed names otherwise."""
    if not isinstance(name, str):
        raise FormatError(f"format name must be a string, got {type(name).__name__}")
    key = name.lower()
    if key not in _FACTORIES:
        raise FormatError(f"unknown format {name!r}; allowed: {', '.join(names())}")
    if key not in _CACHE:
        _CACHE[key] = _FACTORIES[key]()
    return _CACHE[key]


for _b in range(2, 9):
    register(f"int{_b}", lambda b=_b: IntFormat(b, symmetric=True))
for _b in range(1, 9):
    register(f"int{_b}_asym", lambda b=_b: IntFormat(b, symmetric=False))
register("int1", lambda: IntFormat(1, symmetric=False))
register("ternary", TernaryFormat)
register("binary", BinaryFormat)

__all__ = ["Format", "FormatError", "QuantizedTensor", "get", "names", "register"]
