"""The machinery of the result dataclasses: one ``to_dict`` (what ``--json`` prints) and ``from_dict`` back.

A field declared with :func:`omitted_when` is left out of ``to_dict`` while it holds that value (``ttft_ms``
outside prefill, ``tile`` of a vector op), so the JSON keeps the keys it has always had; one declared with
:func:`json_key` is written under a key that is not a Python name (``"weights (G)"``). Tuples become lists.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import field

OMIT = "omitted_when"
KEY = "json_key"


def omitted_when(value, **kw):
    """A dataclass field defaulting to ``value`` and left out of ``to_dict`` while it equals ``value``."""
    return field(default=value, metadata={OMIT: value}, **kw)


def json_key(key: str, **kw):
    """A dataclass field written to (and read from) JSON under ``key``."""
    return field(metadata={KEY: key}, **kw)


def key_of(f: dataclasses.Field) -> str:
    """The JSON key of dataclass field ``f``."""
    return f.metadata.get(KEY, f.name)


def to_dict(obj):
    """The JSON form of a result: dataclasses become dicts in field order (omitted fields left out), lists,
    tuples and dicts are converted item by item, anything else is kept."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {}
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if OMIT in f.metadata and v == f.metadata[OMIT]:
                continue
            out[key_of(f)] = to_dict(v)
        return out
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def from_dict(cls, d: dict):
    """A ``cls`` from its ``to_dict`` form (nested result dataclasses rebuilt from their type hints); a missing or
    unknown field is a TypeError."""
    hints = typing.get_type_hints(cls)
    kw = {}
    for f in dataclasses.fields(cls):
        if key_of(f) in d:
            kw[f.name] = load(hints[f.name], d[key_of(f)])
    unknown = set(d) - {key_of(f) for f in dataclasses.fields(cls)}
    if unknown:
        raise TypeError(f"{cls.__name__}: unknown field(s) {sorted(unknown)}")
    return cls(**kw)


def load(tp, value):
    """``value`` (JSON data) as type ``tp``: a result dataclass, a list or tuple of them, an optional one, or a
    tuple of scalars; anything else is kept."""
    origin = typing.get_origin(tp)
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if dataclasses.is_dataclass(tp) and isinstance(value, dict):
        return from_dict(tp, value)
    if origin is list and args and isinstance(value, list):
        return [load(args[0], v) for v in value]
    if origin is tuple and isinstance(value, list):
        items = args[:1] * len(value) if len(args) == 2 and typing.get_args(tp)[1] is Ellipsis else args
        return tuple(load(t, v) for t, v in zip(items, value, strict=True))
    if origin in (typing.Union, types.UnionType) and len(args) == 1:  # X | None
        return load(args[0], value)
    return value


class Result:
    """Mixin: ``to_dict()`` of a result dataclass and ``from_dict`` back."""

    def to_dict(self) -> dict:
        return to_dict(self)

    @classmethod
    def from_dict(cls, d: dict):
        return from_dict(cls, d)
