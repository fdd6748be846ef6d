"""Printing results: JSON for machines (``--json``), rich tables for people."""

from __future__ import annotations

import contextlib
import json
import math
import sys


def _plain(obj):
    """Make numpy scalars/arrays and non-finite floats JSON-safe (numpy is not imported for it: there are no numpy
    values unless a command imported numpy)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(obj, np.ndarray):
            return _plain(obj.tolist())
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, np.floating):
            obj = float(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    return obj


def to_json(obj) -> str:
    return json.dumps(_plain(obj), indent=2, sort_keys=False)


def print_json(obj) -> None:
    print(to_json(obj))


def working(message: str):
    """A context showing ``message``, a spinner and the elapsed time on stderr while a long run works (a prefill
    of a 70B model compiles and simulates for a while); nothing when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return contextlib.nullcontext()
    # rich loads here, on a terminal only: ~35 ms of start-up that --json and piped output never use
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                        console=Console(stderr=True), transient=True)
    progress.add_task(message, total=None)
    return progress


def print_table(title: str, rows: list[dict], columns: list[str] | None = None) -> None:
    """A table of dict rows (all keys of the first row unless ``columns`` is given); every number in full.

    On a terminal: a rich table whose number columns never shrink below their widest value (text columns
    fold instead). Anywhere else (a pipe, a file, a test): plain space-separated columns, nothing cut."""
    if not rows:
        print(f"{title}: (no rows)")
        return
    columns = columns or list(rows[0])
    numeric = {c: all(isinstance(r.get(c), (int, float)) or r.get(c) is None for r in rows) for c in columns}
    cells = [[fmt(r.get(c)) for c in columns] for r in rows]
    if sys.stdout.isatty():
        _rich_table(title, columns, numeric, cells)
    else:
        print(plain_table(title, columns, numeric, cells))


def plain_table(title: str, columns: list[str], numeric: dict[str, bool], cells: list[list[str]]) -> str:
    """Aligned columns separated by two spaces: numbers right-aligned, text left-aligned, none cut."""
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]

    def line(values):
        return "  ".join(v.rjust(w) if numeric[c] else v.ljust(w)
                         for v, w, c in zip(values, widths, columns)).rstrip()

    body = [line(columns), "  ".join("-" * w for w in widths), *(line(row) for row in cells)]
    return "\n".join([title, *body])


def _rich_table(title: str, columns: list[str], numeric: dict[str, bool], cells: list[list[str]]) -> None:
    from rich.console import Console  # on a terminal only (see working)
    from rich.table import Table

    table = Table(title=title)
    for i, c in enumerate(columns):
        if numeric[c]:
            table.add_column(c, justify="right", no_wrap=True, min_width=max(len(row[i]) for row in cells))
        else:
            table.add_column(c, justify="left", overflow="fold")
    for row in cells:
        table.add_row(*row)
    Console().print(table)


def fmt(v) -> str:
    """A table cell: integers in full, floats to 6 significant digits (fixed-point, never ``…e+09`` below
    10^15), bools and text as they are."""
    if isinstance(v, float) and math.isfinite(v):
        if v == 0 or 1e-4 <= abs(v) < 1e15:
            digits = max(0, 5 - math.floor(math.log10(abs(v)))) if v else 0
            text = f"{v:.{digits}f}"
            return text.rstrip("0").rstrip(".") if "." in text else text
        return f"{v:.6g}"
    return "" if v is None else str(v)


def sig(v: float, digits: int = 4) -> str:
    """``v`` rounded to ``digits`` significant digits, written without an exponent (``271000``, ``7.621``)."""
    return fmt(float(f"{v:.{digits}g}"))


#: SI prefixes used for human-scaled values (value >= factor picks the prefix)
_PREFIXES = (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3), ("", 1.0), ("m", 1e-3), ("µ", 1e-6), ("n", 1e-9),
             ("p", 1e-12))
#: the largest prefix each unit takes (time stays in seconds above 1 s)
_MAX_PREFIX = {"s": "", "Hz": "G", "W": "", "J": "", "B": "T", "B/s": "T", "ops/s": "T", "flop": "T"}


def si(value: float, unit: str, digits: int = 4) -> str:
    """A value in base SI units, human-scaled: ``si(0.1312, "s")`` -> ``"131.2 ms"``, ``si(1e9, "Hz")`` ->
    ``"1 GHz"``. Time is never shown in ks, energy never in kJ."""
    if not value or not math.isfinite(value):
        return f"{value:g} {unit}"
    top = _MAX_PREFIX.get(unit, "T")
    allowed = _PREFIXES[[p for p, _ in _PREFIXES].index(top):]
    prefix, factor = next(((p, f) for p, f in allowed if abs(value) >= f), allowed[-1])
    return f"{value / factor:.{digits}g} {prefix}{unit}"
