"""The workload of a sweep: its fields (model, quant, phase, lengths) and a check that its trace builds."""

from __future__ import annotations

from sim.errors import InputError
from workloads.trace import build_trace

from ..pipeline import resolve_model, resolve_recipe

WORKLOAD_KEYS = ("model", "quant", "phase", "seq_len", "kv_len", "batch", "lm_head_all_tokens")
#: the keyword arguments of :func:`lutsim.pipeline.simulate` a workload may set
LENGTH_KEYS = ("seq_len", "kv_len", "batch", "lm_head_all_tokens")


def check_workload_fields(workload: dict) -> None:
    """The fields of a sweep workload: known ones only, model / quant / phase given."""
    unknown = sorted(set(workload) - set(WORKLOAD_KEYS))
    if unknown:
        raise InputError(f"workload.{unknown[0]}", "unknown workload field", ", ".join(WORKLOAD_KEYS))
    for k in ("model", "quant", "phase"):
        if k not in workload:
            raise InputError(f"workload.{k}", "missing")


def check_workload(workload: dict) -> None:
    """A sweep workload's fields, model, recipe, phase and lengths (its trace builds), independent of the arch."""
    check_workload_fields(workload)
    build_trace(resolve_model(workload["model"]), resolve_recipe(workload["quant"]), workload["phase"],
                **{k: workload[k] for k in LENGTH_KEYS if k in workload})
