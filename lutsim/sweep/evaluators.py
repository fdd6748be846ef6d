"""Which code a sweep may run: evaluators chosen by registered name, never imported on a spec's say-so.

A sweep spec is data that people share, so its ``evaluator`` field names a *registered* evaluator:

* the built-ins ``lutsim`` (:func:`lutsim.api.evaluate`, also spelled ``lutsim.api:evaluate``) and
  ``accuracy`` (the same plus the quantization-error columns, :mod:`lutsim.sweep.accuracy_eval`);
* a plug-in declared by an installed package in the entry-point group :data:`ENTRY_POINT_GROUP`,
  e.g. in its ``pyproject.toml``::

      [project.entry-points."lutsim.evaluators"]
      my-model = "my_package.sweep:evaluate"

An import path ``module:function`` that is not registered runs only when the person running the sweep
allows that exact path on the command line (``lutsim sweep --allow-evaluator-import module:function``,
or ``allow_imports=`` in the Python API); nothing in the spec can grant that.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points

from sim.errors import InputError

ENTRY_POINT_GROUP = "lutsim.evaluators"
DEFAULT_EVALUATOR = "lutsim.api:evaluate"
#: built-in evaluators by name: efficiency only, and efficiency plus the accuracy columns of the recipe's formats
BUILTIN = {"lutsim": DEFAULT_EVALUATOR, "accuracy": "lutsim.sweep.accuracy_eval:evaluate"}

_IMPORT_PATH = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")
_NAME = re.compile(r"[A-Za-z_][\w.-]*")


def registered() -> dict[str, str]:
    """Registered evaluator name -> its import path: the built-ins, then installed plug-ins."""
    names = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        names.setdefault(ep.name, ep.value)
    return names


def check_syntax(ref, field: str) -> str:
    """``ref`` is a registered-name-shaped string or ``module:function`` (resolved later by :func:`resolve`)."""
    if not isinstance(ref, str) or not (_NAME.fullmatch(ref) or _IMPORT_PATH.fullmatch(ref)):
        raise InputError(field, f"expected an evaluator name, got {ref!r}", ", ".join(registered()))
    return ref


def resolve(ref: str, allow_imports: Iterable[str] = (), field: str = "evaluator") -> str:
    """The import path ``module:function`` that ``ref`` stands for; InputError for an unknown name or an
    import path that is neither registered nor in ``allow_imports``."""
    names = registered()
    if ref in names:
        return names[ref]
    if ref in names.values() or ref in set(allow_imports):
        return ref
    allowed = ", ".join(names)
    if ":" in ref:
        raise InputError(field, f"{ref!r} is an import path, and a spec cannot make lutsim import code; run it "
                         f"only if you trust it, with --allow-evaluator-import {ref}", allowed)
    raise InputError(field, f"unknown evaluator {ref!r}", allowed)


def load(target: str) -> Callable[[str, dict, dict], dict]:
    """The function ``f(base_arch, params, workload) -> metrics`` at ``target`` (an import path that
    :func:`resolve` returned)."""
    module, _, func = target.partition(":")
    try:
        fn = getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as exc:
        raise InputError("evaluator", f"cannot load {target!r}: {exc}") from None
    if not callable(fn):
        raise InputError("evaluator", f"{target!r} is not a function")
    return fn
