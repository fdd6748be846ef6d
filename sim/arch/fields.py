"""Type, range and unit of every number in an arch spec: one table, used for the checks and their messages.

The ranges are physical plausibility bounds, generous enough for any design a study might sweep and tight
enough that no value can overflow the engine's int64 cycle counts or make a derived quantity (e.g. the
``2**(group-1)`` entries of a table) explode. A field is named by its dotted path below the spec's root,
list items written ``[]`` (``buffers[].capacity``, ``pe.tile[]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InputError


@dataclass(frozen=True)
class Field:
    """``kind``: "int" or "num"; ``lo``..``hi`` inclusive (``lo_open``: ``lo`` itself excluded); ``unit``."""

    kind: str
    lo: float
    hi: float
    unit: str
    lo_open: bool = False

    def describe(self) -> str:
        what = "an integer" if self.kind == "int" else "a finite number"
        lo = f"> {_fmt(self.lo)}" if self.lo_open else _fmt(self.lo)
        return f"{what} from {lo} to {_fmt(self.hi)} {self.unit}".rstrip()


def _fmt(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


_K, _M, _G = 1024, 1024**2, 1024**3

#: every numeric field of an arch spec
FIELDS: dict[str, Field] = {
    "clock_mhz": Field("num", 0, 100_000, "MHz", lo_open=True),
    "node_nm": Field("int", 1, 1000, "nm"),
    "arrays": Field("int", 1, 65_536, "arrays"),
    "pnr_factor": Field("num", 0, 100, "(factor)", lo_open=True),
    "pe.array[]": Field("int", 1, 65_536, "PEs"),
    "pe.tile[]": Field("int", 1, 65_536, "elements"),
    "matrix_unit.array[]": Field("int", 1, 4096, "PEs"),
    "matrix_unit.tile[]": Field("int", 1, 4096, "elements"),
    "table_unit.tables_per_cycle": Field("int", 1, _M, "tables/cycle"),
    "table_unit.group": Field("int", 1, 16, "activations per table (2**(group-1) entries)"),
    "table_unit.entry_bits": Field("int", 1, 64, "bits"),
    "table_unit.latency": Field("int", 0, _M, "cycles"),
    "vector.lanes": Field("int", 1, _M, "lanes"),
    "vector.latency": Field("int", 0, _M, "cycles"),
    "vector.ops_per_cycle.*": Field("num", 0, 1e6, "elements/lane/cycle", lo_open=True),
    "buffers[].capacity": Field("int", 1, _K * _G, "bytes"),
    "buffers[].banks": Field("int", 1, 65_536, "banks"),
    "buffers[].ports": Field("int", 1, 64, "ports per bank"),
    "buffers[].width": Field("int", 1, 65_536, "bits"),
    "dram.bandwidth": Field("int", 1, 16 * _M, "bits/cycle"),
    "dram.latency": Field("int", 0, 10**7, "cycles"),
    "dram.pj_per_bit": Field("num", 0, 1000, "pJ/bit", lo_open=True),
    "dram.pj_per_bit_write": Field("num", 0, 1000, "pJ/bit", lo_open=True),
    "dram.static_mw": Field("num", 0, 10**7, "mW"),
    "dram.banks.banks": Field("int", 1, 65_536, "banks"),
    "dram.banks.row_bytes": Field("int", 1, _G, "bytes"),
    "dram.banks.row_miss_cycles": Field("int", 0, _M, "cycles"),
}

#: longest string field (a name, a source citation, a description), characters
MAX_TEXT = 10_000


def schema_key(path: str) -> str:
    """The :data:`FIELDS` key of a dotted path: root dropped, list indices ``[]``, ``ops_per_cycle.X`` ``*``."""
    parts = path.split(".")[1:]
    key = ".".join(p.split("[")[0] + ("[]" if "[" in p else "") for p in parts)
    if key.startswith("vector.ops_per_cycle."):
        return "vector.ops_per_cycle.*"
    return key


def lookup(path: str) -> Field | None:
    return FIELDS.get(schema_key(path))


def check_number(v, path: str, spec: Field):
    """``v`` as an int (kind "int") or float, inside ``spec``'s range; InputError naming field, value, range."""
    if spec.kind == "int":
        if isinstance(v, bool) or not isinstance(v, int):
            raise InputError(path, f"expected an integer, got {v!r}", spec.describe())
    elif isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InputError(path, f"expected a number, got {v!r}", spec.describe())
    elif not math.isfinite(v):
        raise InputError(path, f"{v!r} is not a finite number", spec.describe())
    low = v <= spec.lo if spec.lo_open else v < spec.lo
    if low or v > spec.hi:
        raise InputError(path, f"{v!r} is out of range", spec.describe())
    return v if spec.kind == "int" else float(v)
