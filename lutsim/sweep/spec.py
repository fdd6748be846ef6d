"""Sweep specs: a base arch, parameter axes, workloads and constraints, read from YAML.

Example::

    name: lut-tc-shapes
    base_arch: lut-tc-28nm            # preset name or YAML path
    axes:                             # dotted paths into the arch spec -> values to try
      pe.tile: [[2, 64, 4], [4, 64, 4]]
      dram.bandwidth: [256, 512]        # bits per cycle
    sampling: {mode: grid}            # or {mode: random, n: 200, seed: 0}
    workloads:
      - {model: llama-2-7b, quant: w4a16-g128, phase: decode, kv_len: 1024, batch: 1}
    constraints: {area_mm2: 50, power_w: 10}   # optional upper bounds
    evaluator: lutsim                 # optional: a registered evaluator (lutsim.sweep.evaluators)

A *design point* is one assignment of every axis; each (point, workload) pair is one result row,
keyed by ``point_id`` and ``workload_id`` — stable hashes of their canonical JSON, so re-running a
sweep finds the rows it already has.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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


@dataclass(frozen=True)
class SweepSpec:
    name: str
    base_arch: str
    axes: dict[str, list]
    workloads: list[dict]
    sampling: dict = field(default_factory=lambda: {"mode": "grid"})
    constraints: dict[str, float] = field(default_factory=dict)
    evaluator: str = DEFAULT_EVALUATOR

    def points(self) -> list[dict]:
        """Every design point as {axis path: value}, in a deterministic order: a grid varies the last axis
        of the spec fastest (so points that differ only in late axes, e.g. clock or node, land in the same
        worker chunk and reuse its compiled programs); random sampling draws axes in sorted order."""
        if self.sampling.get("mode", "grid") == "grid":
            keys = list(self.axes)
            return [dict(zip(keys, combo)) for combo in itertools.product(*(self.axes[k] for k in keys))]
        keys = sorted(self.axes)
        rng = np.random.default_rng(int(self.sampling.get("seed", 0)))
        n = int(self.sampling["n"])
        return [{k: self.axes[k][int(rng.integers(len(self.axes[k])))] for k in keys} for _ in range(n)]

    def tasks(self) -> list[dict]:
        """One task per (design point, workload): ids, parameters and workload."""
        out = []
        for p in self.points():
            pid = stable_id({"base": self.base_arch, "params": p})
            for w in self.workloads:
                out.append({"point_id": pid, "workload_id": stable_id(w), "params": p, "workload": w})
        return out


def _require(d: dict, key: str, kind, where: str):
    if key not in d:
        raise InputError(f"{where}.{key}", "is missing")
    if not isinstance(d[key], kind):
        raise InputError(f"{where}.{key}", f"must be a {getattr(kind, '__name__', kind)}, got {d[key]!r}")
    return d[key]


def parse_spec(data: dict, where: str = "spec") -> SweepSpec:
    """Validate a sweep spec dict; every problem names its field."""
    if not isinstance(data, dict):
        raise InputError(where, "must be a mapping (YAML dictionary)")
    known = {"name", "base_arch", "axes", "sampling", "workloads", "constraints", "evaluator"}
    extra = sorted(set(data) - known)
    if extra:
        raise InputError(f"{where}.{extra[0]}", "is not a sweep field", ", ".join(sorted(known)))
    base = _require(data, "base_arch", str, where)
    axes = data.get("axes") or {}
    if not isinstance(axes, dict):
        raise InputError(f"{where}.axes", "must map parameter paths to lists of values")
    for k, v in axes.items():
        if not isinstance(v, list) or not v:
            raise InputError(f"{where}.axes.{k}", "must be a non-empty list of values")
    sampling = data.get("sampling") or {"mode": "grid"}
    mode = sampling.get("mode", "grid")
    if mode not in SAMPLING_MODES:
        raise InputError(f"{where}.sampling.mode", f"unknown mode {mode!r}", ", ".join(SAMPLING_MODES))
    if mode == "random":
        n = sampling.get("n")
        if not isinstance(n, int) or n <= 0:
            raise InputError(f"{where}.sampling.n", f"must be a positive integer, got {n!r}")
    workloads = _require(data, "workloads", list, where)
    if not workloads or not all(isinstance(w, dict) for w in workloads):
        raise InputError(f"{where}.workloads", "must be a non-empty list of mappings")
    constraints = data.get("constraints") or {}
    for k, v in constraints.items():
        if k not in CONSTRAINTS:
            raise InputError(f"{where}.constraints.{k}", "unknown constraint", ", ".join(CONSTRAINTS))
        if not isinstance(v, (int, float)) or v <= 0:
            raise InputError(f"{where}.constraints.{k}", f"must be a positive number, got {v!r}")
    evaluator = evaluators.check_syntax(data.get("evaluator", DEFAULT_EVALUATOR), f"{where}.evaluator")
    evaluator = evaluators.BUILTIN.get(evaluator, evaluator)  # one spelling per built-in: same fingerprint
    return SweepSpec(name=str(data.get("name", "sweep")), base_arch=base, axes=axes, workloads=workloads,
                     sampling=sampling, constraints=dict(constraints), evaluator=evaluator)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep spec YAML file."""
    p = Path(path)
    if not p.is_file():
        raise InputError("SPEC", f"no such file: {p}")
    return parse_spec(read_user_file(p, "SPEC", "yaml"), where=p.name)
