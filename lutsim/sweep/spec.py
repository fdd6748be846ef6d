"""Sweep specs: a base arch, parameter axes, workloads and constraints, read from YAML.

Example::

    name: lut-tc-shapes
    base_arch: lut-tc-28nm            # preset name or YAML path
    axes:                             # dotted paths into the arch spec -> values to try
      pe.tile: [[2, 64, 4], [4, 64, 4]]
      dram.bandwidth: [256, 512]        # bits per cycle
    sampling: {mode: grid}            # or {mode: random, n: 200, seed: 0}: n distinct grid points
    workloads:
      - {model: llama-2-7b, quant: w4a16-g128, phase: decode, kv_len: 1024, batch: 1}
    constraints: {area_mm2: 50, power_w: 10}   # optional upper bounds
    evaluator: lutsim                 # optional: a registered evaluator (lutsim.sweep.evaluators)

A *design point* is one assignment of every axis; each (point, workload) pair is one result row,
keyed by ``point_id`` and ``workload_id`` — stable hashes of their canonical JSON, so re-running a
sweep finds the rows it already has.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sim.errors import InputError
from sim.userfile import read_user_file

from . import evaluators
from .evaluators import DEFAULT_EVALUATOR

SAMPLING_MODES = ("grid", "random")
CONSTRAINTS = ("area_mm2", "power_w", "energy_per_token_mj", "latency_ms")


def stable_id(obj) -> str:
    """A 12-hex-digit id of a JSON-able object, independent of key order and Python session."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


#: rows (design points x workloads) a sweep may have unless the caller raises the limit (``--max-rows``)
MAX_ROWS = 1_000_000
#: size limits of a spec's parts (a hand-written spec is far smaller)
MAX_AXES, MAX_VALUES, MAX_WORKLOADS, MAX_NAME = 64, 10_000, 10_000, 200
#: bounds of the workload lengths lutsim's evaluator reads (tokens; batch in sequences)
WORKLOAD_BOUNDS = {"seq_len": (1, 2**20), "kv_len": (0, 2**20), "batch": (1, 4096)}
_SAMPLING_KEYS = ("mode", "n", "seed")
_SEED_MAX = 2**63 - 1


@dataclass(frozen=True)
class SweepSpec:
    name: str
    base_arch: str
    axes: dict[str, list]
    workloads: list[dict]
    sampling: dict = field(default_factory=lambda: {"mode": "grid"})
    constraints: dict[str, float] = field(default_factory=dict)
    evaluator: str = DEFAULT_EVALUATOR

    @property
    def n_points(self) -> int:
        """Design points, counted without building them."""
        if self.sampling.get("mode", "grid") == "grid":
            return math.prod(len(v) for v in self.axes.values())
        return int(self.sampling["n"])

    @property
    def n_rows(self) -> int:
        """Result rows: design points x workloads."""
        return self.n_points * len(self.workloads)

    def iter_points(self) -> Iterator[dict]:
        """Every design point as {axis path: value}, in a deterministic order, one at a time: a grid varies the
        last axis of the spec fastest (so points that differ only in late axes, e.g. clock or node, land in the
        same worker chunk and reuse its compiled programs); random sampling draws ``n`` distinct points of the
        grid (without replacement, seeded), axes in sorted order."""
        if self.sampling.get("mode", "grid") == "grid":
            keys = list(self.axes)
            for combo in itertools.product(*(self.axes[k] for k in keys)):
                yield dict(zip(keys, combo))
            return
        keys = sorted(self.axes)
        sizes = [len(self.axes[k]) for k in keys]
        rng = random.Random(int(self.sampling.get("seed", 0)))
        drawn = rng.sample(range(math.prod(sizes)), int(self.sampling["n"]))
        for index in drawn:  # n distinct grid points: an index in mixed radix, the last key fastest
            point = {}
            for k, size in zip(reversed(keys), reversed(sizes)):
                index, i = divmod(index, size)
                point[k] = self.axes[k][i]
            yield {k: point[k] for k in keys}

    def iter_tasks(self) -> Iterator[dict]:
        """One task per (design point, workload), streamed: ids, parameters and workload."""
        wids = [stable_id(w) for w in self.workloads]
        for p in self.iter_points():
            pid = stable_id({"base": self.base_arch, "params": p})
            for w, wid in zip(self.workloads, wids):
                yield {"point_id": pid, "workload_id": wid, "params": p, "workload": w}

    def points(self) -> list[dict]:
        """:meth:`iter_points` as a list (small sweeps, tests)."""
        return list(self.iter_points())

    def tasks(self) -> list[dict]:
        """:meth:`iter_tasks` as a list (small sweeps, tests)."""
        return list(self.iter_tasks())

    def check_size(self, max_rows: int = MAX_ROWS) -> None:
        """Refuse a sweep of more than ``max_rows`` rows before anything is built."""
        if self.n_rows > max_rows:
            raise InputError("--max-rows", f"the spec has {self.n_points:,} design points x {len(self.workloads)} "
                             f"workloads = {self.n_rows:,} rows, more than the limit of {max_rows:,}",
                             "fewer axis values or samples, or raise the limit with --max-rows N")


def _require(d: dict, key: str, kind, where: str):
    if key not in d:
        raise InputError(f"{where}.{key}", "is missing")
    if not isinstance(d[key], kind) or isinstance(d[key], bool):
        raise InputError(f"{where}.{key}", f"must be a {getattr(kind, '__name__', kind)}, got {_short(d[key])}")
    return d[key]


def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _mapping(v, where: str, what: str) -> dict:
    if not isinstance(v, dict):
        raise InputError(where, f"must be a mapping ({what}), got {type(v).__name__} {_short(v)}")
    for k in v:
        if not isinstance(k, str):
            raise InputError(f"{where}.{_short(k)}", f"a key must be a string, got {type(k).__name__}")
    return v


def _known(d: dict, known, where: str, what: str) -> None:
    extra = sorted(set(d) - set(known))
    if extra:
        close = difflib.get_close_matches(extra[0], sorted(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InputError(f"{where}.{extra[0][:60]}", f"is not a {what}{hint}", ", ".join(sorted(known)))


def _bounded_int(v, where: str, lo: int, hi: int, unit: str = "") -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise InputError(where, f"must be an integer from {lo:,} to {hi:,}{unit}, got {_short(v)}")
    return v


def _sampling(data: dict, where: str) -> dict:
    sampling = data.get("sampling")
    if sampling is None:
        return {"mode": "grid"}
    _mapping(sampling, f"{where}.sampling", "{mode: grid} or {mode: random, n: N, seed: S}")
    _known(sampling, _SAMPLING_KEYS, f"{where}.sampling", "sampling field")
    mode = sampling.get("mode", "grid")
    if mode not in SAMPLING_MODES:
        raise InputError(f"{where}.sampling.mode", f"unknown mode {_short(mode)}", ", ".join(SAMPLING_MODES))
    if "seed" in sampling:
        _bounded_int(sampling["seed"], f"{where}.sampling.seed", 0, _SEED_MAX)
    if mode == "random":
        if "n" not in sampling:
            raise InputError(f"{where}.sampling.n", "is missing (random sampling draws n design points)")
        _bounded_int(sampling["n"], f"{where}.sampling.n", 1, 2**62)
    elif "n" in sampling:
        raise InputError(f"{where}.sampling.n", "applies to mode: random only (a grid has every point)")
    return sampling


def _axes(data: dict, where: str) -> dict:
    axes = data.get("axes") or {}
    _mapping(axes, f"{where}.axes", "parameter paths to lists of values")
    if len(axes) > MAX_AXES:
        raise InputError(f"{where}.axes", f"has {len(axes)} axes", f"at most {MAX_AXES}")
    for k, v in axes.items():
        if not k or len(k) > MAX_NAME:
            raise InputError(f"{where}.axes.{k[:60]}", "must be a dotted parameter path of 1 to "
                             f"{MAX_NAME} characters")
        if not isinstance(v, list) or not v:
            raise InputError(f"{where}.axes.{k}", "must be a non-empty list of values")
        if len(v) > MAX_VALUES:
            raise InputError(f"{where}.axes.{k}", f"has {len(v):,} values", f"at most {MAX_VALUES:,}")
    return axes


def _workloads(data: dict, where: str) -> list[dict]:
    workloads = _require(data, "workloads", list, where)
    if not workloads or len(workloads) > MAX_WORKLOADS:
        raise InputError(f"{where}.workloads", f"must be a list of 1 to {MAX_WORKLOADS:,} mappings")
    for i, w in enumerate(workloads):
        _mapping(w, f"{where}.workloads[{i}]", "workload fields")
        for key, (lo, hi) in WORKLOAD_BOUNDS.items():
            if key in w and w[key] is not None:
                _bounded_int(w[key], f"{where}.workloads[{i}].{key}", lo, hi)
    return workloads


def _constraints(data: dict, where: str) -> dict[str, float]:
    constraints = data.get("constraints") or {}
    _mapping(constraints, f"{where}.constraints", "metric -> upper bound")
    for k, v in constraints.items():
        if k not in CONSTRAINTS:
            close = difflib.get_close_matches(k, CONSTRAINTS, n=1)
            raise InputError(f"{where}.constraints.{k[:60]}", "unknown constraint" +
                             (f"; did you mean {close[0]!r}?" if close else ""), ", ".join(CONSTRAINTS))
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise InputError(f"{where}.constraints.{k}", f"must be a positive finite number, got {_short(v)}")
    return dict(constraints)


_FIELDS = ("name", "base_arch", "axes", "sampling", "workloads", "constraints", "evaluator")


def parse_spec(data: dict, where: str = "spec") -> SweepSpec:
    """Validate a sweep spec dict; every problem names its field."""
    if not isinstance(data, dict):
        raise InputError(where, "must be a mapping (YAML dictionary)")
    _mapping(data, where, "sweep fields")
    _known(data, _FIELDS, where, "sweep field")
    base = _require(data, "base_arch", str, where)
    if not base.strip() or len(base) > 4096:
        raise InputError(f"{where}.base_arch", "must name a preset or an arch YAML file")
    name = data.get("name", "sweep")
    if not isinstance(name, str) or not name or len(name) > MAX_NAME:
        raise InputError(f"{where}.name", f"must be a string of 1 to {MAX_NAME} characters, got {_short(name)}")
    evaluator = evaluators.check_syntax(data.get("evaluator", DEFAULT_EVALUATOR), f"{where}.evaluator")
    evaluator = evaluators.BUILTIN.get(evaluator, evaluator)  # one spelling per built-in: same fingerprint
    axes, sampling = _axes(data, where), _sampling(data, where)
    grid = math.prod(len(v) for v in axes.values())
    if sampling.get("mode") == "random" and sampling["n"] > grid:
        raise InputError(f"{where}.sampling.n", f"{sampling['n']:,} distinct design points asked, but the axes "
                         f"make only {grid:,}", f"1 to {grid:,}, or mode: grid for every point")
    return SweepSpec(name=name, base_arch=base, axes=axes, workloads=_workloads(data, where),
                     sampling=sampling, constraints=_constraints(data, where), evaluator=evaluator)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep spec YAML file."""
    p = Path(path)
    if not p.is_file():
        raise InputError("SPEC", f"no such file: {p}")
    return parse_spec(read_user_file(p, "SPEC", "yaml"), where=p.name)
