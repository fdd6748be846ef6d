"""Assemble report sections from sweep results or simulation stats (``lutsim simulate --json``: the schema of
:class:`lutsim.results.SimResult`)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from lutsim.results import SimResult
from lutsim.schema import check_result
from lutsim.sweep import load_results
from sim.gpu.roofline import get_gpu, roofline_trace
from sim.userfile import read_user_file
from workloads.models import get_model
from workloads.models import names as model_names
from workloads.recipes import get_recipe
from workloads.trace import build_trace

from . import figures
from .assumptions import assumption_rows, sweep_assumptions
from .html_report import Section, write_report

COMPARISON_COLUMNS = ["design", "tokens_per_s", "latency_ms", "energy_per_token_mj", "area_mm2", "power_w"]


#: report components: the simulator's breakdown keys (``sram:<buffer>`` for every buffer) -> one bar segment
COMPONENT_GROUPS = {"array": "PE array", "pe": "PE array", "table": "table unit", "vector": "vector unit",
                    "sram": "buffers (SRAM)", "dram": "DRAM", "sram_leakage": "leakage / static",
                    "dram_static": "leakage / static"}


def group_breakdown(bd: dict[str, float]) -> dict[str, float]:
    """Sum a breakdown into :data:`COMPONENT_GROUPS` (``sram:wbuf`` -> buffers); unknown keys stay as they are."""
    out: dict[str, float] = {}
    for k, v in bd.items():
        name = COMPONENT_GROUPS.get(k, COMPONENT_GROUPS.get(k.split(":")[0], k))
        out[name] = out.get(name, 0.0) + float(v)
    order = list(dict.fromkeys(COMPONENT_GROUPS.values()))
    return dict(sorted(out.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))


def _prefixed(df: pd.DataFrame, prefix: str) -> list[str]:
    return [c for c in df.columns if c.startswith(prefix)]


def _design_labels(df: pd.DataFrame) -> pd.Series:
    """Short labels: the swept parameters that vary between rows (``arrays=8, bandwidth=512``), else the
    evaluator's ``design`` name, else the point id."""
    params = [c for c in _prefixed(df, "p.") if df[c].astype(str).nunique() > 1]
    if params:
        named = pd.DataFrame({c: _param_name(c[2:]) + "=" + df[c].astype(str) for c in params}, index=df.index)
        return named.agg(", ".join, axis=1)
    if "design" in df:
        return df["design"].astype(str)
    return df["point_id"].astype(str)


def _param_name(path: str) -> str:
    """A short name of a dotted arch path: its last two parts (``buffers.wbuf.capacity`` -> ``wbuf.capacity``)."""
    return ".".join(path.split(".")[-2:])


def _plain(v) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def workload_label(row) -> str:
    """``llama-2-7b w4a16-g128 decode kv_len=1024 batch=1`` from a row's ``w.*`` columns."""
    keys = [c for c in row.index if c.startswith("w.") and pd.notna(row[c])]
    head = [str(row[c]) for c in ("w.model", "w.quant", "w.phase") if c in keys]
    rest = [f"{c[2:]}={_plain(row[c])}" for c in keys if c not in ("w.model", "w.quant", "w.phase")]
    return " ".join(head + rest)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")[:60]


def _workload_slugs(groups: list) -> list[str]:
    """File-name suffixes of the workload groups: none for one workload, else the shortest of phase, model +
    quant + phase, or the whole workload label that tells them apart (plus the workload id if nothing does)."""
    if len(groups) == 1:
        return [""]
    first = [rows.iloc[0] for _, rows in groups]
    for keys in (("w.phase",), ("w.model", "w.quant", "w.phase"), None):
        slugs = [_slug(workload_label(r) if keys is None else " ".join(str(r[k]) for k in keys if k in r.index))
                 for r in first]
        if len(set(slugs)) == len(slugs) and all(slugs):
            return [f"_{s}" for s in slugs]
    return [f"_{_slug(workload_label(r))}_{wid[:6]}" for (wid, _), r in zip(groups, first)]


def sweep_sections(df: pd.DataFrame, caption: str) -> list[Section]:
    """Per workload: Pareto fronts, breakdowns (top designs by throughput); then a table of every ok row."""
    ok = df[df["status"] == "ok"].copy()
    if ok.empty:
        raise ValueError("the sweep has no successful rows to report (all skipped or failed)")
    groups = list(ok.groupby("workload_id", sort=True)) if "workload_id" in ok else [("", ok)]
    sections = []
    for (_, rows), suffix in zip(groups, _workload_slugs(groups)):
        rows = rows.copy()
        rows["design"] = _design_labels(rows)
        wl = workload_label(rows.iloc[0])
        cap = f"{wl}. {caption}" if wl else caption
        title_wl = f" ({wl})" if len(groups) > 1 and wl else ""
        sections += _sweep_workload_sections(rows, cap, suffix, title_wl)
    cols = [c for c in COMPARISON_COLUMNS if c in ok]
    ok["design"] = _design_labels(ok)
    sections.append(Section("designs", "Design points", table=ok[cols + _prefixed(ok, "w.")]
                            .sort_values(cols[1] if len(cols) > 1 else cols[0], ascending=False)))
    return sections


def _sweep_workload_sections(ok: pd.DataFrame, caption: str, suffix: str, title_wl: str) -> list[Section]:
    sections = []
    n_front = 8
    if {"tokens_per_s", "area_mm2"} <= set(ok):
        sections.append(Section(f"pareto_throughput_area{suffix}", f"Throughput vs area{title_wl}",
                                figures.pareto(ok, "area_mm2", "tokens_per_s", True, "area (mm²)",
                                               "throughput (tokens/s)", "Pareto front: tokens/s vs area",
                                               max_labels=n_front), caption))
    if {"energy_per_token_mj", "area_mm2"} <= set(ok):
        sections.append(Section(f"pareto_energy_area{suffix}", f"Energy per token vs area{title_wl}",
                                figures.pareto(ok, "area_mm2", "energy_per_token_mj", False, "area (mm²)",
                                               "energy per token (mJ)", "Pareto front: energy/token vs area",
                                               max_labels=n_front), caption))
    best = ok.sort_values("tokens_per_s", ascending=False).head(8) if "tokens_per_s" in ok else ok.head(8)
    per_token = best["tokens"].astype(float) if "tokens" in best else pd.Series(1.0, index=best.index)
    for prefix, unit, scale, slug, title in (("energy.", "energy per token (mJ)", 1e-9, "energy_breakdown",
                                              "Energy breakdown (top designs by throughput)"),
                                             ("area.", "area (mm²)", 1.0, "area_breakdown",
                                              "Area breakdown (top designs by throughput)")):
        cols = _prefixed(best, prefix)
        if cols:
            div = per_token if prefix == "energy." else pd.Series(1.0, index=best.index)
            bd = {r["design"]: group_breakdown({c[len(prefix):]: float(r[c]) / div[i] for c in cols})
                  for i, r in best.iterrows()}
            sections.append(Section(f"{slug}{suffix}", f"{title}{title_wl}",
                                    figures.stacked_breakdown(bd, unit, title, scale), caption))
    return sections


def check_stats(stats: dict, where: str = "stats") -> dict:
    """A simulate result read back from JSON, unchanged; ValueError naming its first missing or mistyped field
    (the schema of :class:`lutsim.results.SimResult`; other fields are allowed)."""
    return check_result(stats, SimResult, where, " (is this the JSON of 'lutsim simulate --json'?)")


def run_label(r: dict, i: int = 0) -> str:
    """The name of a run in a multi-design report: its arch (``run<i>`` without one)."""
    return str(r.get("arch") or f"run{i}")


def run_workload(r: dict) -> str:
    """``llama-2-7b decode (seq 1, kv 512, batch 1)``: a run's workload, without its recipe."""
    return (f"{r.get('model')} {r.get('phase')} (seq {r.get('seq_len')}, kv {r.get('kv_len')}, "
            f"batch {r.get('batch')})")


def stats_captions(runs: list[dict]) -> tuple[str, list[str]]:
    """The caption of the figures that show every run (each run's own recipe named), and one per run."""
    tail = "DRAM and energy constants in Assumptions."
    workloads = list(dict.fromkeys(run_workload(r) for r in runs))
    per_run = [f"{run_workload(r)}, {r.get('quant')} on {run_label(r, i)}. {tail}" for i, r in enumerate(runs)]
    recipes = "; ".join(f"{run_label(r, i)}: {r.get('quant')}" for i, r in enumerate(runs))
    if len(workloads) == 1:
        return f"{workloads[0]}. Recipes: {recipes}. {tail}", per_run
    runs_text = "; ".join(f"{run_label(r, i)}: {run_workload(r)}, {r.get('quant')}" for i, r in enumerate(runs))
    return f"Runs: {runs_text}. {tail}", per_run


def stats_sections(runs: list[dict], roofs: list[dict], gpu_points: list[dict] | None = None) -> list[Section]:
    """Roofline, breakdowns, utilization/stalls and a comparison table from simulate stats; every caption
    names the recipe of each run it shows."""
    runs = [check_stats(r, f"stats[{i}]") for i, r in enumerate(runs)]
    caption, run_captions = stats_captions(runs)
    points, acc_roofs = list(gpu_points or []), []
    for i, r in enumerate(runs):
        label = run_label(r, i)
        t = r["totals"]
        if t.get("peak_ops_per_s") and t.get("dram_bytes_per_s"):
            acc_roofs.append({"name": label, "peak_ops_per_s": t["peak_ops_per_s"],
                              "bytes_per_s": t["dram_bytes_per_s"], "kind": "accelerator"})
        clock_hz = r["assumptions"].get("clock_hz")
        for op in r["ops"]:
            if op.get("bytes") and op.get("cycles") and clock_hz:
                points.append({"label": op["name"], "device": label, "kind": op.get("kind", ""),
                               "intensity": op["ops"] / op["bytes"],
                               "ops_per_s": op["ops"] / (op["cycles"] / clock_hz)})
    sections = []
    if acc_roofs or roofs:
        roof_caption = caption + (f" GPU points: {runs[0].get('quant')} on each GPU preset." if roofs else "")
        sections.append(Section("roofline", "Roofline", figures.roofline(roofs + acc_roofs, points,
                                                                         "Roofline: layers on each device"),
                                roof_caption))
    per_token = all(r["totals"].get("tokens") for r in runs)
    bd = {run_label(r, i): group_breakdown({k: v / (r["totals"]["tokens"] if per_token else 1)
                                            for k, v in r["energy_breakdown_pj"].items()})
          for i, r in enumerate(runs)}
    unit = "energy per token (mJ)" if per_token else "energy per pass (mJ)"
    sections.append(Section("energy_breakdown", "Energy breakdown",
                            figures.stacked_breakdown(bd, unit, "Energy by component", 1e-9), caption))
    ab = {run_label(r, i): group_breakdown(r["area_breakdown_mm2"]) for i, r in enumerate(runs)}
    sections.append(Section("area_breakdown", "Area breakdown",
                            figures.stacked_breakdown(ab, "area (mm²)", "Area by component", 1.0), caption))
    for i, r in enumerate(runs):
        sections.append(Section(f"utilization_{i}", f"Utilization and stalls: {run_label(r, i)}",
                                figures.utilization_and_stalls(r["ops"], f"{run_label(r, i)} per op"),
                                run_captions[i]))
    rows = [{"design": run_label(r, i), "recipe": r.get("quant"),
             **{k: r["totals"].get(k) for k in COMPARISON_COLUMNS[1:]}} for i, r in enumerate(runs)]
    sections.append(Section("designs", "Designs on the same workload", table=pd.DataFrame(rows)))
    return sections


def load_stats(path: Path) -> list[dict]:
    """One stats JSON file, or every ``*.json`` in a directory."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    runs = []
    for f in files:
        runs.append(read_user_file(f, "DIR_OR_STATS", "json"))
    return runs


DEFAULT_GPUS = ("a100-80g", "h100-sxm")


def gpu_roofs_and_points(stats: dict, gpus: tuple[str, ...]) -> tuple[list[dict], list[dict]]:
    """Roofs of GPU presets and the same workload's ops on each GPU (in the precision it runs them)."""
    trace = build_trace(get_model(stats["model"]), get_recipe(stats["quant"]), stats["phase"],
                        seq_len=stats.get("seq_len") or 1, kv_len=stats.get("kv_len"), batch=stats.get("batch") or 1)
    roofs, points = [], []
    for key in gpus:
        gpu = get_gpu(key)
        res = roofline_trace(trace, gpu)
        roofs.append({"name": gpu.key, "peak_ops_per_s": max(gpu.peaks.values()), "bytes_per_s": gpu.bandwidth,
                      "kind": "gpu"})
        for r in res["ops"]:
            if r["bytes"] and r["ops"]:
                points.append({"label": r["name"], "device": gpu.key, "kind": r["kind"],
                               "intensity": r["ops"] / r["bytes"], "ops_per_s": r["ops"] / (r["latency_ms"] * 1e-3)})
    return roofs, points


def _zoo_model(stats: dict) -> bool:
    return str(stats.get("model", "")).lower() in model_names()


def build_report(source: str | Path, out: str | Path, gpus: tuple[str, ...] = DEFAULT_GPUS) -> Path:
    """A sweep directory (with ``parts/``) or stats JSON -> ``out/report.html`` and its files.

    For stats, the roofline shows the GPU presets ``gpus`` with the same workload's layers on them."""
    source = Path(source)
    if not source.exists():
        raise ValueError(f"DIR_OR_STATS: no such file or directory: {source}")
    if (source / "parts").is_dir():
        df = load_results(source)
        workloads = ", ".join(sorted({workload_label(r) for _, r in df.iterrows()}))
        caption = f"Sweep {source.name}; workloads: {workloads}."
        sections = sweep_sections(df, caption)
        assumptions = sweep_assumptions(source)
    else:
        runs = load_stats(source)
        if not runs:
            raise ValueError(f"DIR_OR_STATS: {source} holds no stats JSON files")
        r0 = runs[0]
        roofs, gpu_points = gpu_roofs_and_points(r0, gpus) if gpus and _zoo_model(r0) else ([], [])
        sections = stats_sections(runs, roofs, gpu_points)
        if gpus and not roofs:  # a model read from a config.json: the stats hold its name, not its shapes
            sections[0].caption += (f" No GPU roofs: {r0.get('model')!r} is not a zoo model, so its layers cannot "
                                    "be traced again for the GPUs.")
        assumptions = assumption_rows(r0.get("assumptions", {}))
    return write_report(sections, out, title=f"lutsim report: {source.name}", source=str(source.name),
                        assumptions=assumptions)
