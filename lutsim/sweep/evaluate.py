"""The default sweep evaluator: one design point (base arch + params) on one workload, as flat metrics."""

from __future__ import annotations

import math
from functools import lru_cache

from sim.arch import from_dict
from sim.errors import InputError

from ..pipeline import resolve_arch, simulate
from .params import apply_params
from .workload import check_workload_fields


@lru_cache(maxsize=16)
def base_dict(name: str) -> dict:
    """The arch dict of a preset name or YAML path, read once per process (a sweep evaluates many points of
    one base; :func:`apply_params` copies it before changing anything)."""
    return resolve_arch(name).to_dict()


def evaluate(base_arch, params: dict, workload: dict) -> dict:
    """Simulate ``workload`` on ``base_arch`` with ``params`` applied; flat metrics (totals, ``energy.<component>``
    pJ, ``area.<component>`` mm², ``design``, ``pe``). Invalid combinations raise InputError."""
    base = base_dict(base_arch) if isinstance(base_arch, str) else resolve_arch(base_arch).to_dict()
    a = from_dict(apply_params(base, params or {}))
    check_workload_fields(workload)
    res = simulate(a, workload["model"], workload["quant"], workload["phase"],
                   seq_len=workload.get("seq_len", 1024), kv_len=workload.get("kv_len"),
                   batch=workload.get("batch", 1), lm_head_all_tokens=workload.get("lm_head_all_tokens", False))
    out = res.totals.to_dict()
    out.update({f"energy.{k}": v for k, v in res.energy_breakdown_pj.items()})
    out.update({f"area.{k}": v for k, v in res.area_breakdown_mm2.items()})
    label = ",".join(f"{k}={v}" for k, v in sorted((params or {}).items()))
    out["design"] = f"{a.name}[{label}]" if label else a.name
    out["pe"] = a.pe.type
    if any(isinstance(v, float) and not math.isfinite(v) for v in out.values()):
        raise InputError("metrics", "a metric is not finite")
    return out
