"""Accelerator description: frozen dataclasses, validated when built from a dict (YAML).

Units: clock in MHz, technology node in nm, buffer capacity in bytes (YAML may write ``512KiB``),
buffer width in bits per bank access, DRAM bandwidth in bits/cycle, DRAM latency in cycles,
DRAM energy in pJ/bit, DRAM static power in mW.

Each number's type, range and unit come from one table, :data:`sim.arch.fields.FIELDS`, used by the checks
and their messages. Every error is an :class:`sim.errors.InputError` whose field is the dotted path of the bad key
(``arch.buffers[1].capacity``), so the CLI prints one line naming it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from .. import pe as pe_registry
from ..errors import InputError
from ..pe.base import ARRAY_OPCODES, DATAFLOWS, PEConfig
from . import fields

#: accumulator formats a PEConfig may name (sim/pe/base.py PEConfig.acc)
ACCUMULATORS = ("int32", "fp16", "fp32")

#: Vector-unit operation kinds (VEC op=..., and "dequant" for the DEQUANT epilogue).
VECTOR_OPS = ("norm", "softmax", "act", "rope", "residual", "quantize", "dequant")

#: most on-chip buffers an arch may list
MAX_BUFFERS = 256

_SIZE = re.compile(r"^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$")
_SIZE_UNITS = {None: 1, "B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


def _get(d: dict, key: str, path: str, default: Any = ...):
    if not isinstance(d, dict):
        raise InputError(path, f"expected a mapping, got {type(d).__name__}")
    if key not in d or d[key] is None:
        if default is ...:
            raise InputError(f"{path}.{key}", "missing required field")
        return default
    return d[key]


#: bound of a number that :data:`fields.FIELDS` does not list (keeps every integer inside int64)
_INT_CAP = 2**62


def _int(v, path: str, minimum: int = 1) -> int:
    """An integer field: range and unit from :data:`fields.FIELDS` (``minimum`` for a field it does not list)."""
    spec = fields.lookup(path) or fields.Field("int", minimum, _INT_CAP, "")
    return fields.check_number(v, path, spec)


def _num(v, path: str, minimum: float = 0.0, strict: bool = False) -> float:
    """A finite number: range and unit from :data:`fields.FIELDS` (``minimum``/``strict`` for one it does not
    list)."""
    spec = fields.lookup(path) or fields.Field("num", minimum, 1e30, "", lo_open=strict)
    return fields.check_number(v, path, spec)


def _size(v, path: str) -> int:
    """Bytes from an int or a string like ``512KiB``."""
    if isinstance(v, str):
        m = _SIZE.match(v) if len(v) < 40 else None
        if not m:
            raise InputError(path, f"bad size {v!r}", "an integer number of bytes or N B/KiB/MiB/GiB")
        v = int(m.group(1)) * _SIZE_UNITS[m.group(2)]
    return _int(v, path, 1)


def _bool(v, path: str) -> bool:
    """A true/false field."""
    if not isinstance(v, bool):
        raise InputError(path, f"expected true or false, got {_short(v)}", "true, false")
    return v


def _text(v, path: str, nonempty: bool = False) -> str:
    """A string field (a name, a description, a source), at most :data:`fields.MAX_TEXT` characters."""
    if not isinstance(v, str):
        raise InputError(path, f"expected a string, got {type(v).__name__} {_short(v)}")
    if nonempty and not v.strip():
        raise InputError(path, "must not be empty")
    if len(v) > fields.MAX_TEXT:
        raise InputError(path, f"is {len(v):,} characters long", f"at most {fields.MAX_TEXT:,}")
    return v


def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown_keys(d: dict, allowed: set[str], path: str) -> None:
    """``d`` is a mapping with string keys, all in ``allowed`` (an unknown one says which it may have meant)."""
    if not isinstance(d, dict):
        raise InputError(path, f"expected a mapping, got {type(d).__name__} {_short(d)}")
    for k in d:
        if not isinstance(k, str):
            raise InputError(f"{path}.{_short(k)}", f"a key must be a string, got {type(k).__name__}",
                             ", ".join(sorted(allowed)))
    extra = sorted(set(d) - allowed)
    if extra:
        close = difflib.get_close_matches(extra[0], sorted(allowed), n=1)
        hint = f"unknown field; did you mean {close[0]!r}?" if close else "unknown field"
        name = extra[0] if len(extra[0]) <= 60 else extra[0][:57] + "..."
        raise InputError(f"{path}.{name}", hint, ", ".join(sorted(allowed)))


#: ``idle_pes`` of an arch: "gated" (idle PEs clock-gated: dynamic energy per active PE-cycle, leakage for idle
#: ones; sim/cost/energy.py) or "charged" (every PE of a busy array charged its full figure each active cycle and no
#: separate logic leakage: the energy models of the BitMoD and MixPE papers' simulators, kept for their presets)
IDLE_PES = ("gated", "charged")


def _choice(v, path: str, allowed: tuple[str, ...]) -> str:
    if v not in allowed:
        raise InputError(path, f"expected one of {', '.join(allowed)}, got {_short(v)}", ", ".join(allowed))
    return v


@dataclass(frozen=True)
class PESpec:
    """The processing element: a ``sim.pe`` registry name and its :class:`PEConfig` parameters.

    array: (rows, cols) of a PE grid; tile: (M, N, K) of a LUT unit; opcode: the array instruction
    it executes (default: the PE class's ``opcode``, :mod:`sim.pe.base`).
    """

    type: str
    array: tuple[int, int] | None = None
    tile: tuple[int, int, int] | None = None
    dataflow: str | None = None
    acc: str | None = None
    options: dict = field(default_factory=dict)
    opcode: str = ""
    mapping: str | None = None

    @property
    def pes_per_array(self) -> int:
        """PEs in one array (rows × cols), 1 for a LUT unit described by its tile."""
        return self.array[0] * self.array[1] if self.array else 1

    def config(self) -> PEConfig:
        return PEConfig(array=self.array, tile=self.tile, dataflow=self.dataflow, acc=self.acc,
                        options=dict(self.options), mapping=self.mapping)


@dataclass(frozen=True)
class TableUnit:
    """Table-precompute unit: builds ``tables_per_cycle`` tables (one per activation group of
    ``group`` values, ``2**(group-1)`` stored entries of ``entry_bits``) after ``latency`` cycles.
    ``streamed``: tbuf holds a window of two K-groups of tables per row that the LUT unit consumes as they
    are built (LUT Tensor Core's pipelined precompute); False: a PRECOMPUTE writes the tables of its whole
    k-tile, which stay in tbuf until the tile's SYNC frees them (the RTL array, rtl/gateware/lut_array.py)."""

    tables_per_cycle: int
    group: int = 4
    entry_bits: int = 16
    latency: int = 0
    streamed: bool = True

    @property
    def entries(self) -> int:
        return 2 ** (self.group - 1)


@dataclass(frozen=True)
class VectorUnit:
    """Vector unit: ``lanes`` lanes; ``ops_per_cycle[op]`` elements per lane per cycle for each op."""

    lanes: int
    ops_per_cycle: dict[str, float]
    latency: int = 0


@dataclass(frozen=True)
class Buffer:
    """On-chip SRAM buffer: capacity in bytes, ``banks`` banks of ``width``-bit words, ``ports`` per bank."""

    name: str
    capacity: int
    banks: int = 1
    ports: int = 1
    width: int = 512

    @property
    def bank_bytes(self) -> int:
        return self.capacity // self.banks


@dataclass(frozen=True)
class DRAMBanks:
    """Optional DRAM row-buffer model: each DRAM row (``row_bytes``) opened costs ``row_miss_cycles``,
    spread over ``banks`` banks working in parallel."""

    banks: int
    row_bytes: int
    row_miss_cycles: int


@dataclass(frozen=True)
class DRAM:
    """Off-chip memory: bandwidth in bits/cycle, latency in cycles, energy pJ/bit, static mW. ``aligned``: every
    transfer's rows, strides and addresses are whole port words (``bandwidth`` bits; the RTL array's DMA), so the
    compiler's tile search takes only tiles whose transfers are whole words, when the GEMM has any."""

    bandwidth: int
    latency: int
    pj_per_bit: float
    static_mw: float = 0.0
    pj_source: str = ""
    banks: DRAMBanks | None = None
    pj_per_bit_write: float | None = None  # None = same as pj_per_bit (reads)
    aligned: bool = False

    @property
    def write_pj_per_bit(self) -> float:
        return self.pj_per_bit if self.pj_per_bit_write is None else self.pj_per_bit_write


@dataclass(frozen=True)
class Arch:
    """A whole accelerator. ``arrays`` identical PE arrays run array instructions concurrently."""

    name: str
    clock_mhz: float
    node_nm: int
    pe: PESpec
    arrays: int
    vector: VectorUnit
    buffers: tuple[Buffer, ...]
    dram: DRAM
    table_unit: TableUnit | None = None
    pnr_factor: float = 1.0
    matrix_unit: PESpec | None = None  # a float matrix unit beside the PE array (attention, an FP16 lm_head)
    #: how the cost model charges PEs with no useful work in a cycle (:data:`IDLE_PES`)
    idle_pes: str = "gated"
    description: str = ""
    sources: tuple[str, ...] = ()

    def buffer(self, name: str) -> Buffer:
        for b in self.buffers:
            if b.name == name:
                return b
        raise InputError("buf", f"no buffer called {name!r} in arch {self.name!r}",
                         ", ".join(b.name for b in self.buffers))

    def to_dict(self) -> dict:
        """The resolved spec as plain data (the YAML schema, every default filled in)."""
        d = asdict(self)
        d["sources"] = list(self.sources)
        d["buffers"] = [asdict(b) for b in self.buffers]
        for unit in ("pe", "matrix_unit"):
            for key in ("array", "tile"):
                if d[unit] is not None and d[unit][key] is not None:
                    d[unit][key] = list(d[unit][key])
        return d


def _shape(v, path: str, n: int) -> tuple[int, ...]:
    if not isinstance(v, (list, tuple)) or len(v) != n:
        raise InputError(path, f"expected a list of {n} positive integers, got {_short(v)}")
    return tuple(_int(x, f"{path}[{i}]") for i, x in enumerate(v))


def _pe(d: dict, path: str) -> PESpec:
    _unknown_keys(d, {"type", "array", "tile", "dataflow", "mapping", "acc", "options", "opcode"}, path)
    kind = _get(d, "type", path)
    allowed = pe_registry.names()
    if kind not in allowed:
        raise InputError(f"{path}.type", f"unknown PE {kind!r}", ", ".join(allowed))
    array = _get(d, "array", path, None)
    tile = _get(d, "tile", path, None)
    if array is None and tile is None:
        raise InputError(f"{path}.array", "give the array shape [rows, cols] or the LUT tile [M, N, K]")
    model = pe_registry.get(kind)
    dataflow = _get(d, "dataflow", path, None)  # set: pins the dataflow (else the compiler's mapper picks one)
    if dataflow is not None and dataflow not in model.dataflows:
        what = "unknown dataflow" if dataflow not in DATAFLOWS else f"PE {kind!r} does not take dataflow"
        raise InputError(f"{path}.dataflow", f"{what} {dataflow!r}", ", ".join(model.dataflows))
    mapping = _get(d, "mapping", path, None)    # set: pins the mapping (sim.pe.base.MAPPINGS)
    if mapping is not None and mapping not in model.mappings:
        raise InputError(f"{path}.mapping", f"PE {kind!r} does not take mapping {mapping!r}",
                         ", ".join(model.mappings) or "(none: its mapping is fixed)")
    acc = _get(d, "acc", path, None)
    if acc is not None and acc not in ACCUMULATORS:
        raise InputError(f"{path}.acc", f"unknown accumulator {acc!r}", ", ".join(ACCUMULATORS))
    opcode = _get(d, "opcode", path, pe_registry.get(kind).opcode)
    if opcode not in ARRAY_OPCODES:
        raise InputError(f"{path}.opcode", f"{opcode!r} is not an array instruction", ", ".join(ARRAY_OPCODES))
    options = _get(d, "options", path, {})
    if not isinstance(options, dict):
        raise InputError(f"{path}.options", "expected a mapping")
    known = pe_registry.get(kind).known_options
    if options and not known:
        raise InputError(f"{path}.options", f"PE {kind!r} has no options", "(none)")
    _unknown_keys(options, set(known), f"{path}.options")
    for key, value in options.items():
        _bool(value, f"{path}.options.{key}")
    return PESpec(type=kind,
                  array=None if array is None else _shape(array, f"{path}.array", 2),
                  tile=None if tile is None else _shape(tile, f"{path}.tile", 3),
                  dataflow=dataflow, acc=acc,
                  options=dict(options), opcode=opcode, mapping=mapping)


def _table(d: dict, path: str) -> TableUnit:
    _unknown_keys(d, {"tables_per_cycle", "group", "entry_bits", "latency", "streamed"}, path)
    return TableUnit(tables_per_cycle=_int(_get(d, "tables_per_cycle", path), f"{path}.tables_per_cycle"),
                     group=_int(_get(d, "group", path, 4), f"{path}.group"),
                     entry_bits=_int(_get(d, "entry_bits", path, 16), f"{path}.entry_bits"),
                     latency=_int(_get(d, "latency", path, 0), f"{path}.latency", 0),
                     streamed=_bool(_get(d, "streamed", path, True), f"{path}.streamed"))


def _vector(d: dict, path: str) -> VectorUnit:
    _unknown_keys(d, {"lanes", "ops_per_cycle", "latency"}, path)
    ops = _get(d, "ops_per_cycle", path)
    if not isinstance(ops, dict):
        raise InputError(f"{path}.ops_per_cycle", "expected a mapping op -> elements per lane per cycle")
    _unknown_keys(ops, set(VECTOR_OPS), f"{path}.ops_per_cycle")
    rates = {}
    for op in VECTOR_OPS:
        if op not in ops:
            raise InputError(f"{path}.ops_per_cycle.{op}", "missing required field")
        rates[op] = _num(ops[op], f"{path}.ops_per_cycle.{op}", 0.0, strict=True)
    return VectorUnit(lanes=_int(_get(d, "lanes", path), f"{path}.lanes"), ops_per_cycle=rates,
                      latency=_int(_get(d, "latency", path, 0), f"{path}.latency", 0))


def _buffer(d: dict, path: str) -> Buffer:
    _unknown_keys(d, {"name", "capacity", "banks", "ports", "width"}, path)
    name = _get(d, "name", path)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name):
        raise InputError(f"{path}.name", f"bad buffer name {_short(name)}", "an identifier of at most 64 characters")
    b = Buffer(name=name, capacity=_size(_get(d, "capacity", path), f"{path}.capacity"),
               banks=_int(_get(d, "banks", path, 1), f"{path}.banks"),
               ports=_int(_get(d, "ports", path, 1), f"{path}.ports"),
               width=_int(_get(d, "width", path, 512), f"{path}.width"))
    if b.capacity % b.banks:
        raise InputError(f"{path}.banks", f"capacity {b.capacity} B is not divisible by {b.banks} banks")
    return b


def _dram(d: dict, path: str) -> DRAM:
    _unknown_keys(d, {"bandwidth", "latency", "pj_per_bit", "pj_per_bit_write", "static_mw", "pj_source", "banks",
                      "aligned"}, path)
    write = _get(d, "pj_per_bit_write", path, None)
    banks = _get(d, "banks", path, None)
    if banks is not None:
        bp = f"{path}.banks"
        _unknown_keys(banks, {"banks", "row_bytes", "row_miss_cycles"}, bp)
        banks = DRAMBanks(banks=_int(_get(banks, "banks", bp), f"{bp}.banks"),
                          row_bytes=_size(_get(banks, "row_bytes", bp), f"{bp}.row_bytes"),
                          row_miss_cycles=_int(_get(banks, "row_miss_cycles", bp), f"{bp}.row_miss_cycles", 0))
    return DRAM(bandwidth=_int(_get(d, "bandwidth", path), f"{path}.bandwidth"),
                latency=_int(_get(d, "latency", path), f"{path}.latency", 0),
                pj_per_bit=_num(_get(d, "pj_per_bit", path), f"{path}.pj_per_bit"),
                static_mw=_num(_get(d, "static_mw", path, 0.0), f"{path}.static_mw"),
                pj_source=_text(_get(d, "pj_source", path, ""), f"{path}.pj_source"), banks=banks,
                pj_per_bit_write=None if write is None else _num(write, f"{path}.pj_per_bit_write"),
                aligned=_bool(_get(d, "aligned", path, False), f"{path}.aligned"))


_TOP = {"name", "description", "sources", "clock_mhz", "node_nm", "pe", "arrays", "table_unit", "vector",
        "buffers", "dram", "pnr_factor", "matrix_unit",
        "idle_pes"}

#: the operand formats a matrix unit must take (attention scores and values, an FP16 lm_head)
MATRIX_FORMATS = ("fp16",)


def _matrix_unit(d: dict, path: str) -> PESpec:
    """A float matrix unit: a MAC PE grid of the registry (its tile model times its instructions, its cost
    figures cost it) that takes FP16 weights and activations."""
    spec = _pe(d, path)
    model = pe_registry.get(spec.type)
    if spec.opcode != "MMA" or not all(f in model.weight_formats and f in model.act_formats for f in MATRIX_FORMATS):
        takes = [n for n in pe_registry.names() if pe_registry.get(n).opcode == "MMA"
                 and all(f in pe_registry.get(n).weight_formats and f in pe_registry.get(n).act_formats
                         for f in MATRIX_FORMATS)]
        raise InputError(f"{path}.type", f"PE {spec.type!r} is not a float MAC array (a matrix unit takes "
                         f"{'/'.join(MATRIX_FORMATS)} x {'/'.join(MATRIX_FORMATS)})", ", ".join(takes))
    if spec.array is None:
        raise InputError(f"{path}.array", "give the matrix unit's PE grid [rows, cols]")
    return spec


def from_dict(d: dict, path: str = "arch") -> Arch:
    """Build and validate an :class:`Arch` from plain data (a parsed YAML document)."""
    if not isinstance(d, dict):
        raise InputError(path, f"expected a mapping at the top level, got {type(d).__name__}")
    _unknown_keys(d, _TOP, path)
    bufs = _get(d, "buffers", path)
    if not isinstance(bufs, list) or not 1 <= len(bufs) <= MAX_BUFFERS:
        raise InputError(f"{path}.buffers", f"expected a list of 1 to {MAX_BUFFERS} buffers, got {_short(bufs)}")
    buffers = tuple(_buffer(b, f"{path}.buffers[{i}]") for i, b in enumerate(bufs))
    seen: set[str] = set()
    for b in buffers:
        if b.name in seen:
            raise InputError(f"{path}.buffers", f"two buffers are called {b.name!r}")
        seen.add(b.name)
    table = _get(d, "table_unit", path, None)
    sources = _get(d, "sources", path, [])
    if not isinstance(sources, list):
        raise InputError(f"{path}.sources", "expected a list of strings")
    return Arch(
        name=_text(_get(d, "name", path), f"{path}.name", nonempty=True),
        description=_text(_get(d, "description", path, ""), f"{path}.description"),
        sources=tuple(_text(s, f"{path}.sources[{i}]") for i, s in enumerate(sources)),
        clock_mhz=_num(_get(d, "clock_mhz", path), f"{path}.clock_mhz", 0.0, strict=True),
        node_nm=_int(_get(d, "node_nm", path), f"{path}.node_nm"),
        pe=_pe(_get(d, "pe", path), f"{path}.pe"),
        arrays=_int(_get(d, "arrays", path, 1), f"{path}.arrays"),
        table_unit=None if table is None else _table(table, f"{path}.table_unit"),
        vector=_vector(_get(d, "vector", path), f"{path}.vector"),
        buffers=buffers,
        dram=_dram(_get(d, "dram", path), f"{path}.dram"),
        pnr_factor=_num(_get(d, "pnr_factor", path, 1.0), f"{path}.pnr_factor", 0.0, strict=True),
        idle_pes=_choice(_get(d, "idle_pes", path, "gated"), f"{path}.idle_pes", IDLE_PES),
        matrix_unit=None if _get(d, "matrix_unit", path, None) is None else _matrix_unit(d["matrix_unit"],
                                                                                          f"{path}.matrix_unit"),
    )
