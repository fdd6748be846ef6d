"""JSON schemas generated from the result dataclasses (:mod:`lutsim.results` and others), and a small validator.

:func:`schema_of` reads a dataclass's type hints: ``int`` -> integer, ``float`` -> number, ``str``, ``bool``,
``X | None`` -> X or null, ``list[X]`` and ``tuple[X, ...]``, ``dict[str, X]``, a nested dataclass -> its own
object schema, a bare ``dict`` / ``list`` -> any object / array. A field with :func:`lutsim.results.omitted_when`
is optional, every other field required; no other keys are allowed; a field with :func:`lutsim.results.json_key`
is named by that key. A command that prints a list has ``list[X]`` as its result type. Numbers may also be the
strings ``"inf"``, ``"-inf"``, ``"nan"``: that is how ``--json`` writes a non-finite float (:mod:`lutsim.output`).

:func:`validate` checks a JSON value against such a schema (the subset of JSON Schema draft 2020-12 that
:func:`schema_of` writes: ``type``, ``properties``, ``required``, ``additionalProperties``, ``items``,
``anyOf``, ``enum``) and returns the first violation as a message naming its path, or None.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import sys
import types
import typing

from sim.arch.spec import Arch

from . import results
from .results import OMIT, key_of

NON_FINITE = ["inf", "-inf", "nan"]
_NUMBER = {"anyOf": [{"type": "number"}, {"enum": NON_FINITE}]}
_SCALARS = {int: {"type": "integer"}, float: _NUMBER, str: {"type": "string"}, bool: {"type": "boolean"},
            type(None): {"type": "null"}}


def _type_schema(tp, defs: dict) -> dict:
    if tp in _SCALARS:
        return dict(_SCALARS[tp])
    if tp is typing.Any:
        return {}
    if dataclasses.is_dataclass(tp):
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # placeholder against recursion
            defs[name] = _object_schema(tp, defs)
        return {"$ref": f"#/$defs/{name}"}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_type_schema(a, defs) for a in args]}
    if tp is list or origin is list:
        return {"type": "array", **({"items": _type_schema(args[0], defs)} if args else {})}
    if origin is tuple:  # tuple[X, ...] or a fixed tuple[X, Y]: an array of those
        items = [a for a in args if a is not Ellipsis]
        return {"type": "array", "items": _type_schema(items[0], defs) if len(set(items)) == 1 else
                {"anyOf": [_type_schema(a, defs) for a in dict.fromkeys(items)]}}
    if tp is dict or origin is dict:
        return {"type": "object", **({"additionalProperties": _type_schema(args[1], defs)} if args else {})}
    raise TypeError(f"no JSON schema for type {tp!r}")


def _object_schema(cls, defs: dict) -> dict:
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    return {"type": "object", "description": inspect.cleandoc(cls.__doc__ or ""),
            "properties": {key_of(f): _type_schema(hints[f.name], defs) for f in fields},
            "required": [key_of(f) for f in fields if OMIT not in f.metadata],
            "additionalProperties": False}


def schema_of(tp, title: str | None = None) -> dict:
    """The JSON schema of the ``to_dict`` form of a dataclass ``tp`` or a ``list`` of one (nested dataclasses
    under ``$defs``)."""
    defs: dict = {}
    if dataclasses.is_dataclass(tp):
        root = _object_schema(tp, defs)
        defs.pop(tp.__name__, None)
    else:
        root = _type_schema(tp, defs)
    name = getattr(tp, "__name__", str(tp))
    out = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title or name, **root}
    if defs:
        out["$defs"] = defs
    return out


def _is_type(value, name: str) -> bool:
    if name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, {"string": str, "boolean": bool, "null": type(None), "object": dict,
                              "array": list}[name])


def validate(value, schema: dict, root: dict | None = None, path: str = "$", extra_ok: bool = False) -> str | None:
    """The first place where ``value`` breaks ``schema`` (a message with its JSON path), None when it fits;
    ``extra_ok``: fields the schema does not list are allowed (a reader that ignores them)."""
    root = root or schema
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:
        if all(validate(value, s, root, path, extra_ok) for s in schema["anyOf"]):
            return f"{path}: {value!r} matches none of {schema['anyOf']}"
        return None
    if "enum" in schema and value not in schema["enum"]:
        return f"{path}: {value!r} not one of {schema['enum']}"
    if "type" in schema and not _is_type(value, schema["type"]):
        return f"{path}: expected {schema['type']}, got {type(value).__name__} {value!r}"
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                return f"{path}: missing field {key!r}"
        extra = schema.get("additionalProperties", True)
        for key, v in value.items():
            sub = props.get(key, extra)
            if sub is False and not extra_ok:
                return f"{path}: unexpected field {key!r}"
            if isinstance(sub, dict):
                err = validate(v, sub, root, f"{path}.{key}", extra_ok)
                if err:
                    return err
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            err = validate(v, schema["items"], root, f"{path}[{i}]", extra_ok)
            if err:
                return err
    return None


def check_result(value, cls, where: str = "stats", hint: str = "") -> dict:
    """``value`` unchanged when it fits the schema of ``cls`` (other fields allowed), else a ValueError naming
    ``where`` and the first violation (and ``hint``)."""
    err = validate(value, schema_of(cls), path=where, extra_ok=True)
    if err:
        raise ValueError(err + hint)
    return value


#: the result type of each command's ``--json`` output (``python -m lutsim.schema NAME`` prints its schema)
COMMAND_RESULTS = {"simulate": results.SimResult, "run": results.RunResult, "demo": results.DemoResult,
                   "roofline": results.RooflineResult, "sweep": results.SweepSummary,
                   "sweep --dry-run": results.SweepPlan, "gemm": results.GemmResult,
                   "compat bitmod": results.BitmodResult, "compat scalesim": results.ScalesimResult,
                   "trace": results.TraceResult, "arch list": list[results.ArchSummary], "arch show": Arch,
                   "rtl designs": list[results.RtlDesign], "rtl verilog": results.VerilogResult,
                   "rtl synth": results.SynthResult, "rtl fpga": results.FpgaResult, "accuracy": results.AccuracyResult,
                   "models": results.ModelsResult, "recipes": list[results.RecipeRow],
                   "compare": results.CompareResult}


def main(argv: list[str] | None = None) -> int:
    """Print the JSON schema of one command's ``--json`` output (all of them by name without an argument)."""
    args = sys.argv[1:] if argv is None else argv
    name = " ".join(args)
    if name not in COMMAND_RESULTS:
        print(f"usage: python -m lutsim.schema {{{', '.join(COMMAND_RESULTS)}}}", file=sys.stderr)
        return 2
    print(json.dumps(schema_of(COMMAND_RESULTS[name], f"lutsim {name} --json"), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
