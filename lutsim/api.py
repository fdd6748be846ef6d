"""Python API: simulate a quantized model on an accelerator, and the sweep evaluator.

::

    from lutsim.api import simulate, evaluate
    stats = simulate("lut-tc-28nm", "llama-2-7b", "w4a16-g128", "decode", kv_len=1024)
    stats["totals"]["latency_ms"], stats["ops"][0]["cycles"]
    row = evaluate("lut-tc-28nm", {"dram.bandwidth": 512}, {"model": "llama-2-7b", "quant": "w4a16-g128",
                                                            "phase": "decode", "kv_len": 1024})

``simulate`` returns the stats dict of :mod:`reports.stats_schema`. Per-op rows give one occurrence of the
op (``cycles``, ``energy_pj``, ``ops``, ``bytes``); identical decoder layers are one row with ``repeat`` =
layers, simulated once and multiplied by ``repeat`` in the totals. Ops run one after another (no overlap
between ops); each op's own program overlaps DMA, table unit, arrays and vector unit.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from sim import cost
from sim import engine as sim_engine
from sim.arch import Arch, from_dict
from sim.arch import load as load_arch
from sim.errors import InputError

#: which unit's busy time names an op's bound
BOUND_OF_UNIT = {"dma": "memory", "array": "compute", "table": "table", "vector": "vector"}
#: the GEMM whose PE tile-model rate defines the peak (large enough that edge effects vanish)
PEAK_SHAPE = (1024, 1024, 4096)
WORKLOAD_KEYS = ("model", "quant", "phase", "seq_len", "kv_len", "batch", "lm_head_all_tokens")


def resolve_arch(arch) -> Arch:
    """An Arch from an Arch, a preset name, a YAML path or a dict."""
    if isinstance(arch, Arch):
        return arch
    if isinstance(arch, dict):
        return from_dict(arch)
    return load_arch(arch)


def _model(model):
    from workloads.models import ModelConfig, get_model

    return model if isinstance(model, ModelConfig) else get_model(model)


def _recipe(quant):
    from workloads.recipes import Recipe, get_recipe

    return quant if isinstance(quant, Recipe) else get_recipe(quant)


def _peak_macs_per_cycle(arch: Arch, weights: str, acts: str, group) -> float | None:
    """MACs per cycle of all arrays for this format pair (PE tile model on :data:`PEAK_SHAPE`)."""
    from compiler import gemm
    from compiler.specs import GemmSpec

    m, n, k = PEAK_SHAPE
    spec = GemmSpec(m, n, k, weights, acts, group, 0, 0, 0, False)
    try:
        gemm.check(spec, arch)
    except InputError:
        return None
    return m * n * k / gemm.pe_cycles(spec, arch, m, n, k) * arch.arrays


def _row(op, low, arch: Arch, hit: bool) -> dict:
    """The stats row of one trace op (one occurrence). ``roofline_cycles`` (array ops): max of the op's MACs at
    the PE's peak rate for its formats and its bytes at the DRAM bandwidth."""
    st = low.stats
    e = low.energy
    busy = {u: st.units[u]["busy"] / (arch.arrays if u == "array" else 1) for u in BOUND_OF_UNIT if u in st.units}
    main = st.units.get(low.unit, {})
    per = arch.arrays if low.unit == "array" else 1
    row = {"name": op.name, "kind": op.kind, "layer": op.layer, "repeat": op.repeat, "unit": low.unit,
           "cycles": st.cycles, "bound": BOUND_OF_UNIT[max(busy, key=busy.get)], "utilization":
           main.get("utilization", 0.0), "ops": op.flops, "bytes": op.bytes, "energy_pj": e.total_pj,
           "stalls": {"dependency": main.get("stall_dep", 0) / per, "buffer_space": main.get("stall_space", 0) / per},
           "instructions": len(low.program), "cache": "hit" if hit else "miss",
           "M": op.M, "N": op.N, "K": op.K, "count": op.count, "w_fmt": op.w_fmt, "a_fmt": op.a_fmt}
    bw_cycles = op.bytes * 8 / arch.dram.bandwidth
    peak = low.unit == "array" and _peak_macs_per_cycle(arch, low.spec.weights, low.spec.acts, low.spec.group)
    if peak:
        row["roofline_cycles"] = max(op.flops / 2 / peak, bw_cycles)
    if low.tile is not None:
        row["tile"] = {"m": low.tile.mt, "n": low.tile.nt, "k": low.tile.kt, "arrays_grid": [low.tile.am, low.tile.an],
                       "a_stationary": low.tile.a_stationary}
        row["search"] = low.search_log
    if low.note:
        row["note"] = low.note
    return row


def lower_trace(arch, model, quant, phase: str, seq_len: int = 1024, kv_len: int | None = None, batch: int = 1,
                lm_head_all_tokens: bool = False):
    """Trace one pass and lower every op: ``(arch, recipe, trace, [(op, Lowered, cache_hit), ...])``."""
    import compiler
    from workloads.trace import build_trace

    a = resolve_arch(arch)
    recipe = _recipe(quant)
    trace = build_trace(_model(model), recipe, phase, seq_len=seq_len, kv_len=kv_len, batch=batch,
                        lm_head_all_tokens=lm_head_all_tokens)
    comp = compiler.for_arch(a)
    plan = compiler.fusion_plan(trace.ops, a, recipe)
    lowered = []
    for i, op in enumerate(trace.ops):
        before = comp.hits
        low = comp.lower(op, recipe, i in plan)
        lowered.append((op, low, comp.hits > before))
    return a, recipe, trace, lowered


def simulate(arch, model, quant, phase: str, seq_len: int = 1024, kv_len: int | None = None, batch: int = 1,
             lm_head_all_tokens: bool = False) -> dict:
    """Compile and simulate one pass; the stats dict (see :mod:`reports.stats_schema`)."""
    a, recipe, trace, lowered = lower_trace(arch, model, quant, phase, seq_len, kv_len, batch, lm_head_all_tokens)
    peak = _peak_macs_per_cycle(a, recipe.weights.format, recipe.activations.format, recipe.weights.group_size)
    rows, energy_bd = [], {}
    for op, low, hit in lowered:
        rows.append(_row(op, low, a, hit))
        for c, v in low.energy.breakdown.items():
            energy_bd[c] = energy_bd.get(c, 0.0) + v * op.repeat
    constants = {k: v for k, v in low.energy.assumptions.items() if k != "seconds"}  # the same for every op
    return _assemble(a, trace, rows, energy_bd, peak, constants)


def _assemble(a: Arch, trace, rows: list[dict], energy_bd: dict, peak, energy_constants: dict) -> dict:
    clock_hz = a.clock_mhz * 1e6
    cycles = sum(r["cycles"] * r["repeat"] for r in rows)
    seconds = cycles / clock_hz
    tokens = trace.batch * trace.tokens
    energy_pj = sum(energy_bd.values())
    ar = cost.area(a)
    totals = {
        "cycles": cycles, "latency_ms": seconds * 1e3, "tokens_per_s": tokens / seconds if seconds else 0.0,
        "energy_pj": energy_pj, "energy_per_token_mj": energy_pj * 1e-9 / tokens, "area_mm2": ar.total_mm2,
        "power_w": energy_pj * 1e-12 / seconds if seconds else 0.0,
        "peak_ops_per_s": 2 * peak * clock_hz if peak else None,
        "dram_bytes_per_s": a.dram.bandwidth / 8 * clock_hz,
        "ops": sum(r["ops"] * r["repeat"] for r in rows), "bytes": sum(r["bytes"] * r["repeat"] for r in rows),
        "tokens": tokens,
    }
    if trace.phase == "prefill":
        totals["ttft_ms"] = totals["latency_ms"]
    return {
        "arch": a.name, "model": trace.model.name, "quant": trace.recipe.name, "phase": trace.phase,
        "seq_len": trace.tokens, "kv_len": trace.kv_len, "batch": trace.batch,
        "ops": rows, "totals": totals, "energy_breakdown_pj": energy_bd, "area_breakdown_mm2": ar.breakdown,
        "assumptions": {
            "clock_hz": clock_hz,
            "layers": {"value": trace.model.layers, "source": "identical decoder layers are simulated once and "
                       "multiplied by their repeat count (ops rows: one occurrence; totals: × repeat)"},
            "op_overlap": "none between ops: each op's program starts when the previous one ends",
            "placement": "linear/lm_head on the PE array; attention (as FP16 multiply-accumulates) and "
                         "element-wise ops on the vector unit; dequantization as a per-group vector epilogue",
            "peak": f"PE tile-model rate on a {PEAK_SHAPE[0]}x{PEAK_SHAPE[1]}x{PEAK_SHAPE[2]} GEMM x arrays "
                    f"({trace.recipe.weights.format} weights, {trace.recipe.activations.format} activations)",
            "engine": sim_engine.assumptions(a),
            "energy": energy_constants,
            "area": ar.assumptions,
            **({"routing": trace.routing} if trace.model.is_moe else {}),  # MoE: which experts a pass touches
        },
    }


# ---------------------------------------------------------------------------------------------- sweeps

_INDEX = re.compile(r"^(.*)\[(\d+)\]$")


def apply_params(base: dict, params: dict) -> dict:
    """A copy of the arch dict ``base`` with ``{dotted.path: value}`` set. Path parts name mapping keys,
    list items by index (``buffers[1]``) or, in a list of named items, by name (``buffers.wbuf.capacity``)."""
    import copy

    d = copy.deepcopy(base)
    for path, value in sorted(params.items()):
        parts = str(path).split(".")
        node = d
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            m = _INDEX.match(part)
            if m:
                node = _child(node, m.group(1), path)
                idx = int(m.group(2))
                if not isinstance(node, list) or idx >= len(node):
                    raise InputError(f"params.{path}", f"no item {idx} in {m.group(1)!r}")
                if last:
                    node[idx] = value
                else:
                    node = node[idx]
                continue
            if isinstance(node, list):
                named = [x for x in node if isinstance(x, dict) and x.get("name") == part]
                if not named:
                    raise InputError(f"params.{path}", f"no item named {part!r}",
                                     ", ".join(str(x.get("name")) for x in node if isinstance(x, dict)))
                if last:
                    raise InputError(f"params.{path}", "names a whole list item; give one of its fields")
                node = named[0]
                continue
            if last:
                if not isinstance(node, dict) or (part not in node and not _optional(parts)):
                    raise InputError(f"params.{path}", "no such arch field",
                                     ", ".join(sorted(node)) if isinstance(node, dict) else None)
                node[part] = value
            else:
                node = _child(node, part, path)
                if node is None:
                    raise InputError(f"params.{path}", f"{part!r} is not set in the base arch")
    return d


def _optional(parts: list[str]) -> bool:
    """Optional fields a sweep may set although the base arch leaves them out."""
    return parts[0] in ("pe",) and parts[-1] in ("acc", "dataflow", "array", "tile", "options")


def _child(node, key: str, path: str):
    if not isinstance(node, dict) or key not in node:
        raise InputError(f"params.{path}", f"no arch field {key!r}",
                         ", ".join(sorted(node)) if isinstance(node, dict) else None)
    return node[key]


@lru_cache(maxsize=16)
def _base_dict(name: str) -> dict:
    """The arch dict of a preset name or YAML path, read once per process (a sweep evaluates many points of
    one base; :func:`apply_params` copies it before changing anything)."""
    return resolve_arch(name).to_dict()


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
    from workloads.trace import build_trace

    check_workload_fields(workload)
    build_trace(_model(workload["model"]), _recipe(workload["quant"]), workload["phase"],
                **{k: workload[k] for k in ("seq_len", "kv_len", "batch", "lm_head_all_tokens") if k in workload})


def evaluate(base_arch, params: dict, workload: dict) -> dict:
    """Sweep evaluator: simulate ``workload`` on ``base_arch`` with ``params`` applied; flat metrics (totals,
    ``energy.<component>`` pJ, ``area.<component>`` mm², ``design``). Invalid combinations raise InputError."""
    base = _base_dict(base_arch) if isinstance(base_arch, str) else resolve_arch(base_arch).to_dict()
    a = from_dict(apply_params(base, params or {}))
    check_workload_fields(workload)
    stats = simulate(a, workload["model"], workload["quant"], workload["phase"],
                     seq_len=workload.get("seq_len", 1024), kv_len=workload.get("kv_len"),
                     batch=workload.get("batch", 1), lm_head_all_tokens=workload.get("lm_head_all_tokens", False))
    out = {k: v for k, v in stats["totals"].items()}
    out.update({f"energy.{k}": v for k, v in stats["energy_breakdown_pj"].items()})
    out.update({f"area.{k}": v for k, v in stats["area_breakdown_mm2"].items()})
    label = ",".join(f"{k}={v}" for k, v in sorted((params or {}).items()))
    out["design"] = f"{a.name}[{label}]" if label else a.name
    out["pe"] = a.pe.type
    if any(isinstance(v, float) and not math.isfinite(v) for v in out.values()):
        raise InputError("metrics", "a metric is not finite")
    return out
