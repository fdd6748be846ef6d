"""Reading a user's YAML or JSON file, with one clear error for every way it can go wrong.

Every stage reads user files (arch specs, recipes, HF config.json, sweep specs, stats); they all go
through :func:`read_user_file`, so a missing file, an unreadable one and a syntax error give the same
kind of message (an :class:`~sim.errors.InputError` naming ``field``) everywhere.

Hostile or broken input is refused before it can cost much: a file larger than :data:`MAX_BYTES` (per kind),
text that is not UTF-8, a YAML document whose aliases would expand to more than :data:`MAX_NODES` nodes
(a "billion laughs" bomb: each alias is a reference, so loading is cheap but every later walk is
exponential), and nesting deeper than :data:`MAX_DEPTH` levels.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import yaml

from .errors import InputError

#: bytes a user file may have, per kind (a YAML spec is hand-written; JSON stats files can be large)
MAX_BYTES = {"yaml": 1024**2, "json": 256 * 1024**2}
#: nodes a YAML document may have with every alias expanded
MAX_NODES = 1_000_000
#: levels of nested mappings / lists in a document
MAX_DEPTH = 64


class _Refused(Exception):
    """A YAML document that is too big once expanded, or too deep."""


def _check_graph(root: yaml.Node) -> None:
    """Count the nodes of the composed document with aliases expanded (memoized by node, so an alias bomb
    is measured without being walked) and its depth; :class:`_Refused` beyond the caps."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        kids = []
        if isinstance(node, yaml.SequenceNode):
            kids = node.value
        elif isinstance(node, yaml.MappingNode):
            kids = [x for pair in node.value for x in pair]
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if size[key] > MAX_NODES:
                raise _Refused(f"its aliases expand to more than {MAX_NODES:,} values")
            if depth[key] > MAX_DEPTH:
                raise _Refused(f"it nests more than {MAX_DEPTH} levels deep")
            continue
        if key in size:
            continue
        if key in on_path:
            raise _Refused("an alias refers to a node that contains it")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in size)


#: libyaml's safe loader where PyYAML was built with it: several times faster, and it refuses flow or block
#: nesting deeper than libyaml's limit at once (the pure-Python scanner takes seconds to reach a RecursionError)
_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CappedLoader(_SAFE):
    """The safe YAML loader, checking the composed document (:func:`_check_graph`) before building it."""

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            _check_graph(node)
        return node


def _yaml(text: str):
    return yaml.load(text, Loader=_CappedLoader)  # noqa: S506 - a safe loader


def _json(text: str):
    data = json.loads(text)
    stack = [(data, 1)]
    while stack:
        node, level = stack.pop()
        if level > MAX_DEPTH:
            raise _Refused(f"it nests more than {MAX_DEPTH} levels deep")
        if isinstance(node, dict):
            stack.extend((v, level + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, level + 1) for v in node)
    return data


_PARSERS = {"yaml": (_yaml, yaml.YAMLError, "YAML"), "json": (_json, json.JSONDecodeError, "JSON")}


def read_user_file(path: str | Path, field: str, kind: str | None = None):
    """Parse ``path`` as YAML or JSON (``kind``; default from the suffix: ``.json`` is JSON, else YAML)."""
    p = Path(path)
    kind = kind or ("json" if p.suffix.lower() == ".json" else "yaml")
    parse, error, label = _PARSERS[kind]
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_BYTES[kind] + 1)
    except FileNotFoundError:
        raise InputError(field, f"cannot read {str(p)!r}: the file does not exist") from None
    except OSError as exc:
        raise InputError(field, f"cannot read {str(p)!r}: {exc.strerror}") from None
    if len(raw) > MAX_BYTES[kind]:
        raise InputError(field, f"{str(p)!r} is larger than {MAX_BYTES[kind]:,} bytes, the most a {label} input "
                         "may have")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(field, f"{str(p)!r} is not UTF-8 text (byte {exc.start})") from None
    try:
        return parse(text)
    except error as exc:
        raise InputError(field, f"{str(p)!r} is not valid {label}: {exc}") from None
    except _Refused as exc:
        raise InputError(field, f"{str(p)!r} is refused: {exc}") from None
    except RecursionError:
        raise InputError(field, f"{str(p)!r} is refused: it nests too deeply") from None


@cache
def read_packaged_file(path: Path):
    """A YAML data file shipped inside lutsim (model zoo, recipes, GPU presets, cost tables), parsed once per
    process (libyaml's safe loader where PyYAML has it). It is part of the program, not user input, so the
    user-file limits and messages do not apply."""
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_SAFE)  # noqa: S506 - a safe loader
