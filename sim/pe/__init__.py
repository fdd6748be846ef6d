"""Processing-element models: a registry of :class:`sim.pe.base.PEModel` classes, and the one entry that times
an array instruction on them.

API::

    from sim import pe
    pe.names()                       # registered PE names, e.g. ["ant", ..., "lut-tc", ...]
    model = pe.get("lut-tc")         # the model (an InputError on field --pe lists the names otherwise)
    pe.tile_cycles("lut-tc", config, problem)   # TileTiming: cycles and events of one array instruction
    pe.register(MyPE)                # a plug-in PE class from outside this package

Registration. Every module of this package (except ``base`` and ``_``-prefixed helpers) that sets
``PE = SomeModel`` is registered under ``SomeModel.name``; modules are discovered on first use. A PE defined
elsewhere (a plug-in, a test) is registered with :func:`register` (and removed with :func:`unregister`).
Both paths check the class against the contract of :mod:`sim.pe.base` (a concrete ``PEModel`` subclass with a
unique name, an array opcode, known dataflows, modes and formats) and raise :class:`PERegistrationError`
naming what is wrong.

What a new PE takes: its module here (the class declares its opcode, dataflows, formats, accumulator default,
arch checks and cost hooks: :mod:`sim.pe.base`), its constants entry ``pe.<name>`` in
``sim/cost/data/constants.yaml``, an arch preset in ``sim/arch/presets/`` and its test. The arch spec, the
compiler, the engine and the cost model read everything else from the class (tests/sim/pe/test_plugin_pe.py
does it for a PE written to a temporary module).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from types import MappingProxyType

from .. import format_index
from ..errors import InputError
from .base import (
    ACTIVATION_FORMATS,
    ARCH_MAP,
    ARRAY_OPCODES,
    DATAFLOWS,
    MAPPINGS,
    MODES,
    GemmProblem,
    GemmResult,
    PEConfig,
    PEModel,
)

#: tile timings kept by :func:`tile_cycles` (distinct (PE, config, problem) triples; a few hundred per model)
TILE_CACHE_SIZE = 65536
#: fields of a PE's constants entry (sim/cost/data/constants.yaml ``pe:``, or ``PEModel.cost_entry``)
COST_FIELDS = ("pj_per_cycle", "area_um2", "per", "node_nm", "source")

_MODELS: dict[str, PEModel] = {}


class PERegistrationError(TypeError):
    """A PE class that does not satisfy the contract of :mod:`sim.pe.base`, or a name taken twice."""


def _check_class(cls, origin: str) -> None:
    """Raise PERegistrationError when ``cls`` does not satisfy the PE contract."""
    def bad(problem: str):
        return PERegistrationError(f"PE {getattr(cls, 'name', cls)!r} ({origin}): {problem}")

    if not (isinstance(cls, type) and issubclass(cls, PEModel)):
        raise PERegistrationError(f"{origin}: expected a subclass of sim.pe.PEModel, got {cls!r}")
    if getattr(cls, "__abstractmethods__", None):  # an ABC with abstract methods left
        raise bad(f"does not define {', '.join(sorted(cls.__abstractmethods__))}")
    if not isinstance(cls.name, str) or not cls.name:
        raise bad("needs a non-empty string `name`")
    if cls.opcode not in ARRAY_OPCODES:
        raise bad(f"opcode {cls.opcode!r} is not an array instruction (one of {', '.join(ARRAY_OPCODES)})")
    for attr, values, allowed in (("modes", cls.modes, MODES), ("dataflows", cls.dataflows, DATAFLOWS)):
        if not values or set(values) - set(allowed):
            raise bad(f"{attr} {tuple(values)!r} must be a non-empty subset of {allowed}")
    if not cls.dataflow_source:
        raise bad("needs a `dataflow_source` saying where its dataflows come from")
    if set(cls.mappings) - set(MAPPINGS) or len(set(cls.mappings)) != len(cls.mappings):
        raise bad(f"mappings {tuple(cls.mappings)!r} must be distinct values of {MAPPINGS}")
    if cls.mappings and not cls.mapping_source:
        raise bad("needs a `mapping_source` saying where its mappings come from")
    if cls.cost_entry is not None and (set(cls.cost_entry) != set(COST_FIELDS)
                                       or cls.cost_entry["per"] not in ("pe", "unit")):
        raise bad(f"cost_entry needs exactly the fields {', '.join(COST_FIELDS)} (per: pe or unit)")


def _check_formats(model: PEModel, origin: str) -> None:
    acts = set(model.act_formats) - set(ACTIVATION_FORMATS)
    known = set(format_index.names())
    weights = [w for w in model.weight_formats if w not in known]
    if not model.act_formats or acts or not model.weight_formats or weights:
        raise PERegistrationError(f"PE {model.name!r} ({origin}): weight_formats and act_formats must be non-empty "
                                  f"lists of sim.formats names and of {ACTIVATION_FORMATS}; unknown: "
                                  f"{sorted(acts) + weights}")


def _add(cls, origin: str) -> PEModel:
    _check_class(cls, origin)
    if cls.name in _MODELS:
        other = type(_MODELS[cls.name])
        raise PERegistrationError(f"PE {cls.name!r} ({origin}) is already registered by "
                                  f"{other.__module__}.{other.__qualname__}")
    model = cls()
    _check_formats(model, origin)
    _MODELS[model.name] = model
    _timed.cache_clear()
    return model


@cache  # once: this package's modules
def _discover() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name == "base" or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        cls = getattr(module, "PE", None)
        if cls is not None and type(_MODELS.get(cls.name)) is not cls:  # not registered by _named already
            _add(cls, module.__name__)


def _named(name: str) -> None:
    """Before discovery: register the PE called ``name`` from the module named after it (dashes as underscores:
    ``int8-systolic`` in ``int8_systolic.py``) when there is one, without importing the other PE modules (and the
    numpy and Numba they import: a data-free ``lutsim gemm`` needs one PE). Discovery adds the rest later."""
    module_name = name.replace("-", "_")
    if (_discover.cache_info().currsize or name in _MODELS or not module_name.isidentifier()
            or module_name == "base" or module_name.startswith("_")
            or not os.path.isfile(os.path.join(__path__[0], f"{module_name}.py"))):
        return
    module = importlib.import_module(f"{__name__}.{module_name}")
    cls = getattr(module, "PE", None)
    if cls is not None and getattr(cls, "name", None) == name:
        _add(cls, module.__name__)


def register(cls: type[PEModel]) -> PEModel:
    """Register the PE class ``cls`` (defined outside this package) under ``cls.name``; returns its model.

    Raises :class:`PERegistrationError` when the class breaks the contract of :mod:`sim.pe.base` or the name is
    taken (by a shipped PE or an earlier registration)."""
    _discover()
    return _add(cls, f"registered from {getattr(cls, '__module__', '?')}")


def unregister(name: str) -> None:
    """Remove the PE called ``name`` (a KeyError if there is none); cached tile timings are dropped."""
    _discover()
    del _MODELS[name]
    _timed.cache_clear()


def names() -> list[str]:
    """Names of the registered PEs, sorted."""
    _discover()
    return sorted(_MODELS)


def get(name: str) -> PEModel:
    """The PE model called ``name``; an InputError on field ``--pe`` lists the allowed names otherwise."""
    _named(name)
    if name in _MODELS:
        return _MODELS[name]
    _discover()
    if name not in _MODELS:
        raise InputError("--pe", f"unknown PE {name!r}", ", ".join(sorted(_MODELS)) or "(none registered)")
    return _MODELS[name]


@dataclass(frozen=True)
class TileTiming:
    """One array instruction on a PE: its cycles (clock cycles of the unit) and its event counts (names
    documented by each PE; read-only, the value is cached)."""

    cycles: int
    events: Mapping[str, int]


def _freeze(v):
    """A hashable stand-in for a config value (lists and dicts of PEConfig.options)."""
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    return v


class _Call:
    """The arguments of one :func:`tile_cycles` call, hashed and compared by value (PEConfig is not hashable:
    its options are a dict)."""

    __slots__ = ("pe_type", "config", "problem", "key", "hash")

    def __init__(self, pe_type: str, config: PEConfig, problem: GemmProblem):
        self.pe_type, self.config, self.problem = pe_type, config, problem
        self.key = (pe_type, _freeze(config.array), _freeze(config.tile), config.dataflow, config.acc,
                    _freeze(config.options), config.mapping, problem)
        self.hash = hash(self.key)

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other) -> bool:
        return isinstance(other, _Call) and self.key == other.key


@lru_cache(maxsize=TILE_CACHE_SIZE)
def _timed(call: _Call) -> TileTiming:
    model = get(call.pe_type)
    config = model.resolve(call.config)
    model.check(call.problem, config)
    res = model.run(call.problem, config, "tile")
    return TileTiming(int(res.cycles), MappingProxyType({k: int(v) for k, v in res.events.items()}))


def tile_cycles(pe_type: str, config: PEConfig | None, problem: GemmProblem) -> TileTiming:
    """Cycles and events of one array instruction ``problem`` on the PE ``pe_type`` with ``config`` (unset fields
    take the PE's defaults): the PE's ``check``, then its tile-mode ``run``. The compiler (tile search and
    lowering) and the engine (instruction durations) both time array instructions by this; results are cached
    (at most :data:`TILE_CACHE_SIZE`). Raises the PE's InputError for an unsupported problem."""
    return _timed(_Call(pe_type, config or PEConfig(), problem))


def map_name(dataflow: str | None, mapping: str | None) -> str:
    """The ``map`` operand of an array instruction (:mod:`sim.isa.instr`) for a dataflow and mapping chosen by the
    compiler's mapper: ``<dataflow>`` or ``<dataflow>-<mapping>``; :data:`ARCH_MAP` when nothing is chosen."""
    if dataflow is None:
        return ARCH_MAP
    return dataflow if mapping is None else f"{dataflow}-{mapping}"


@cache
def _parse_map(value: str) -> tuple[str, str | None]:
    dataflow, _, mapping = value.partition("-")
    return dataflow, mapping or None


def config_of(base: PEConfig, map_: str) -> PEConfig:
    """``base`` (an arch's PE configuration) with an array instruction's ``map`` operand applied; the PE's
    ``check`` rejects a dataflow or mapping it does not take (fields ``--dataflow`` / ``--mapping``)."""
    if map_ == ARCH_MAP:
        return base
    dataflow, mapping = _parse_map(map_)
    return replace(base, dataflow=dataflow, mapping=mapping)


__all__ = ["ARRAY_OPCODES", "MAPPINGS", "GemmProblem", "GemmResult", "PEConfig", "PEModel", "PERegistrationError",
           "TileTiming", "config_of", "get", "map_name", "names", "register", "tile_cycles", "unregister"]
