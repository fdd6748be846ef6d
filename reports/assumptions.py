"""The constants behind a report, as rows of a table: name, value, source.

Stats carry their constants as nested dicts (``assumptions``: engine, energy, area…), each level with its
``source`` where it has one. :func:`assumption_rows` flattens them into dotted names (``engine.dram.pj_per_bit``)
with the nearest source; :func:`sweep_assumptions` gives the rows of a sweep directory: its manifest
(``sweep.json``: base arch, constraints, evaluator, axes) and the constants of its base arch that the sweep
recorded there. Both read results as data: nothing here simulates.
"""

from __future__ import annotations

import json
from pathlib import Path

SOURCE_KEYS = ("source", "sources", "pj_source", "event_source", "arch_sources")


def _text(v) -> str:
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True, default=str)
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_text(x) for x in v)
    return str(v)


def assumption_rows(d: dict, prefix: str = "", source: str = "") -> list[dict]:
    """Rows ``{name, value, source}`` of a nested assumptions dict; a value's source is its own level's
    ``source`` (or ``*_source``, ``*sources``) keys, else the nearest enclosing level's."""
    own = "; ".join(_text(d[k]) for k in SOURCE_KEYS if k in d and d[k])
    source = own or source
    rows = []
    for k, v in d.items():
        if k in SOURCE_KEYS:
            continue
        name = f"{prefix}{k}"
        if isinstance(v, dict) and "value" in v and set(v) <= {"value", *SOURCE_KEYS}:  # {value, source}: one row
            rows += [{**row, "name": name} for row in assumption_rows(v, "", source)]
        elif isinstance(v, dict):
            rows += assumption_rows(v, f"{name}.", source)
        else:
            rows.append({"name": name, "value": _text(v), "source": source})
    return rows


def sweep_assumptions(sweep_dir: Path) -> list[dict]:
    """Rows of a sweep directory: its manifest, then the constants of its base arch on the sweep's first
    workload as the sweep recorded them (``assumptions`` of ``sweep.json``; the swept parameters replace some of
    them row by row: each row's own are in its ``p.*`` columns). None for a directory without ``sweep.json``."""
    path = Path(sweep_dir) / "sweep.json"
    if not path.is_file():
        return []
    manifest = json.loads(path.read_text())
    fp = manifest.get("fingerprint", {})
    rows = [{"name": f"sweep.{k}", "value": _text(v), "source": "sweep.json"}
            for k, v in [("name", manifest.get("name")), *fp.items(), ("axes", manifest.get("axes"))]]
    if manifest.get("assumptions"):
        rows += assumption_rows(manifest["assumptions"], f"base arch {fp.get('base_arch')}: ")
    return rows
