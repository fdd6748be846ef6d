"""Processing-element models, one module each; ``get(name)`` returns one.

A module that sets ``PE = SomeModel`` (a :class:`sim.pe.base.PEModel` subclass) is registered
under ``SomeModel.name``; modules are discovered, so a new PE touches only its own file.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import GemmProblem, GemmResult, PEConfig, PEModel

_MODELS: dict[str, PEModel] = {}


def _discover() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name == "base" or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        cls = getattr(module, "PE", None)
        if cls is not None:
            model = cls()
            if model.name in _MODELS:
                raise RuntimeError(f"two PE models are called {model.name!r}")
            _MODELS[model.name] = model


def names() -> list[str]:
    if not _MODELS:
        _discover()
    return sorted(_MODELS)


def get(name: str) -> PEModel:
    """The PE model called ``name``; a ValueError lists the allowed names otherwise."""
    if not _MODELS:
        _discover()
    if name not in _MODELS:
        from ..errors import InputError

        raise InputError("--pe", f"unknown PE {name!r}", ", ".join(sorted(_MODELS)) or "(none registered)")
    return _MODELS[name]


__all__ = ["GemmProblem", "GemmResult", "PEConfig", "PEModel", "get", "names"]
