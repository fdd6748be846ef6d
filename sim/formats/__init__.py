"""Numeric formats: one registry, ``get(name)``.

Every format turns real tensors into unsigned codes plus per-group metadata and back; see
:mod:`sim.formats.base` for the contract and the dequantization rule.

Each module of this package that defines ``REGISTRY = {name: factory}`` contributes its formats;
modules are discovered, so adding a format family touches only its own file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from .base import FAMILIES, Format, FormatError, QuantizedTensor
from .storage import STORAGE_ONLY, Storage, storage_names, storage_of

_FACTORIES: dict[str, Callable[[], Format]] = {}
_CACHE: dict[str, Format] = {}


def register(name: str, factory: Callable[[], Format]) -> None:
    """Add a format under ``name`` (lower case). Registering a name twice is an error."""
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


def storage(name: str) -> Storage:
    """Storage bits and GPU family of ``name``: a registered format's own figures, else :data:`STORAGE_ONLY`'s;
    a FormatError lists the allowed names otherwise."""
    if not isinstance(name, str):
        raise FormatError(f"format name must be a string, got {type(name).__name__}")
    key = name.lower()
    if key in _FACTORIES:
        return storage_of(get(key))
    if key in STORAGE_ONLY:
        return STORAGE_ONLY[key]
    raise FormatError(f"unknown format {name!r}; allowed: {', '.join(all_names())}")


def all_names() -> list[str]:
    """Every format name a recipe may use: the registered formats and the storage-only ones."""
    return storage_names(names())


def _discover() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, factory in getattr(module, "REGISTRY", {}).items():
            register(name, factory)


_discover()

__all__ = ["FAMILIES", "Format", "FormatError", "QuantizedTensor", "Storage", "all_names", "get", "names", "register",
           "storage"]
