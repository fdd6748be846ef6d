"""The sweep's parameter patcher: an arch dict with ``{dotted.path: value}`` set (the axes of a sweep spec)."""

from __future__ import annotations

import copy
import re

from sim.errors import InputError

_INDEX = re.compile(r"^(.*)\[(\d+)\]$")


def apply_params(base: dict, params: dict) -> dict:
    """A copy of the arch dict ``base`` with ``{dotted.path: value}`` set. Path parts name mapping keys,
    list items by index (``buffers[1]``) or, in a list of named items, by name (``buffers.wbuf.capacity``)."""
    d = copy.deepcopy(base)
    for path, value in sorted(params.items()):
        parts = str(path).split(".")
        node = d
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            m = _INDEX.match(part)
            if m:
                node = _child(node, m.group(1), path)
                idx = int(m.group(2))
                if not isinstance(node, list) or idx >= len(node):
                    raise InputError(f"params.{path}", f"no item {idx} in {m.group(1)!r}")
                if last:
                    node[idx] = value
                else:
                    node = node[idx]
                continue
            if isinstance(node, list):
                named = [x for x in node if isinstance(x, dict) and x.get("name") == part]
                if not named:
                    raise InputError(f"params.{path}", f"no item named {part!r}",
                                     ", ".join(str(x.get("name")) for x in node if isinstance(x, dict)))
                if last:
                    raise InputError(f"params.{path}", "names a whole list item; give one of its fields")
                node = named[0]
                continue
            if last:
                if not isinstance(node, dict) or (part not in node and not _optional(parts)):
                    raise InputError(f"params.{path}", "no such arch field",
                                     ", ".join(sorted(node)) if isinstance(node, dict) else None)
                node[part] = value
            else:
                node = _child(node, part, path)
                if node is None:
                    raise InputError(f"params.{path}", f"{part!r} is not set in the base arch")
    return d


def _optional(parts: list[str]) -> bool:
    """Optional fields a sweep may set although the base arch leaves them out."""
    return parts[0] in ("pe",) and parts[-1] in ("acc", "dataflow", "array", "tile", "options")


def _child(node, key: str, path: str):
    if not isinstance(node, dict) or key not in node:
        raise InputError(f"params.{path}", f"no arch field {key!r}",
                         ", ".join(sorted(node)) if isinstance(node, dict) else None)
    return node[key]
