"""Printing results: JSON for machines (``--json``), rich tables for people."""

from __future__ import annotations

import json
import math

import numpy as np


def _plain(obj):
    """Make numpy scalars/arrays and non-finite floats JSON-safe."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else str(f)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def to_json(obj) -> str:
    return json.dumps(_plain(obj), indent=2, sort_keys=False)


def print_json(obj) -> None:
    print(to_json(obj))


def print_table(title: str, rows: list[dict], columns: list[str] | None = None) -> None:
    """A rich table of dict rows (all keys of the first row unless ``columns`` is given)."""
    from rich.console import Console
    from rich.table import Table

    if not rows:
        Console().print(f"[bold]{title}[/bold]: (no rows)")
        return
    columns = columns or list(rows[0])
    table = Table(title=title)
    for c in columns:
        table.add_column(c, justify="right" if isinstance(rows[0].get(c), (int, float)) else "left")
    for r in rows:
        table.add_row(*[_fmt(r.get(c)) for c in columns])
    Console().print(table)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "" if v is None else str(v)
