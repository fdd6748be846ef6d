"""The report gallery: a small built-in sweep and a design comparison, written to ``reports/gallery/``.

``python -m reports.gallery [--out DIR] [--jobs N]`` runs

* a sweep of lut-tc-28nm (:data:`SWEEP`: arrays x weight buffer x DRAM bandwidth x clock) on Llama-2-7B
  prefill and decode, with area and power limits (points over them are recorded as skipped, with the reason);
* the design comparison (:data:`DESIGNS`, by :func:`lutsim.compare.compare`): LUT Tensor Core, BitMoD, MixPE,
  an FP16 MAC array, ANT and OliVe presets, each with 4-bit weights in its own format (FP16 for the MAC
  baseline), on the same workload (:data:`WORKLOAD`) and one memory system (:data:`MEMORY`), prefill and
  decode; and the design points of :mod:`reports.gallery_designs` (W2 and ternary weights, batch 1/8/32
  decode, long-context decode with an INT4 KV cache, and the ranking's sensitivity to DRAM pJ/bit and SRAM
  leakage);

and writes ``report.html`` (linking its PNGs), one PNG per figure and one CSV per table: Pareto fronts,
energy and area breakdowns by component, rooflines (GPU presets and the accelerator, one point per layer),
per-layer utilization and stall cycles, and the comparison table. No SVGs (the gallery is committed).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from lutsim.compare import Design, compare, memory_of
from lutsim.pipeline import resolve_arch, simulate
from lutsim.sweep import load_results, parse_spec, run_sweep
from sim import cost
from sim.arch.memory import apply as apply_memory
from workloads.recipes import get_recipe, recipe_from_dict

from . import accuracy_figures, figures
from .assumptions import assumption_rows
from .build import COMPARISON_COLUMNS, DEFAULT_GPUS, gpu_roofs_and_points, group_breakdown, sweep_sections
from .gallery_designs import design_point_sections
from .html_report import Section, write_report

OUT = Path(__file__).with_name("gallery")

#: the workload every design runs: Llama-2-7B, a 256-token prompt (prefill) and one token at 1024 (decode)
WORKLOAD = {"model": "llama-2-7b", "seq_len": 256, "kv_len": 1024, "batch": 1}
PHASES = ("prefill", "decode")
#: the memory system of the design comparison (sim/arch/memory/bitmod.yaml: 1 GHz, 32 GB/s, 18.75 pJ/bit)
MEMORY = "bitmod"


def _recipe(name: str, weights: str, acts: str, group: int | None) -> dict:
    return {"name": name, "weights": {"format": weights, "group_size": group}, "activations": {"format": acts},
            "kv_cache": {"format": "fp16"}, "lm_head": {"format": "fp16"}}


#: (label, arch preset, recipe name or recipe dict): each design's own 4-bit weight format; lm_head FP16
DESIGNS = (
    ("LUT Tensor Core", "lut-tc-28nm", "w4a16-g128"),
    ("BitMoD", "bitmod-28nm", _recipe("w4a16-bitmod_fp4-g128", "bitmod_fp4", "fp16", 128)),
    ("MixPE", "mixpe-w4a16-28nm", "w4a16-g128"),
    ("FP16 MAC", "fp16-mac-28nm", "fp16"),
    ("ANT", "ant-28nm", "w4a8-flint4"),
    ("OliVe", "olive-28nm", "w4a8-olive4"),
)

#: the built-in sweep (a lut-tc-28nm slice of examples/sweeps/lut_tc_decode.yaml)
SWEEP = {
    "name": "gallery-lut-tc",
    "base_arch": "lut-tc-28nm",
    "axes": {"arrays": [4, 8, 16, 32], "buffers.wbuf.capacity": ["128KiB", "512KiB"],
             "dram.bandwidth": [256, 512, 1024], "clock_mhz": [800, 1200]},
    "workloads": [{"model": "llama-2-7b", "quant": "w4a16-g128", "phase": "prefill", "seq_len": 256, "batch": 1},
                  {"model": "llama-2-7b", "quant": "w4a16-g128", "phase": "decode", "kv_len": 1024, "batch": 1}],
    "constraints": {"area_mm2": 9.5, "power_w": 12.0},  # mm²: the 32-array designs (and 16 with 512 KiB wbuf) exceed it
}

ASSUMPTIONS = ("Ops run back to back (no overlap between layers); identical decoder layers simulated once x 32; "
               "DRAM energy, SRAM and logic constants per arch preset (see Assumptions); area excludes DRAM.")


def recipe_of(spec):
    return get_recipe(spec) if isinstance(spec, str) else recipe_from_dict(spec["name"], spec)


def gallery_designs(designs=DESIGNS) -> list[Design]:
    """The (label, preset, recipe) triples as :class:`lutsim.compare.Design` (the label names the row)."""
    return [Design(label, resolve_arch(arch), recipe_of(rspec)) for label, arch, rspec in designs]


def compare_designs(designs=DESIGNS, workload: dict = WORKLOAD, memory: str = MEMORY) -> dict[str, object]:
    """{phase: :class:`lutsim.results.CompareResult`}: every design on one memory system, both phases."""
    ds = gallery_designs(designs)
    return {phase: compare(ds, workload["model"], phase, memory_of(memory), seq_len=workload["seq_len"],
                           kv_len=workload["kv_len"], batch=workload["batch"]) for phase in PHASES}


def first_design_stats(designs, workload: dict, memory: str = MEMORY) -> dict[str, dict]:
    """{phase: simulate stats} of the first design on the comparison's memory system (roofline, utilization)."""
    label, arch, rspec = designs[0]
    a = apply_memory(resolve_arch(arch), memory_of(memory))
    out = {}
    for phase in PHASES:
        st = simulate(a, workload["model"], recipe_of(rspec), phase, seq_len=workload["seq_len"],
                      kv_len=workload["kv_len"], batch=workload["batch"]).to_dict()
        out[phase] = st | {"design": label, "recipe_spec": rspec, "workload": workload}
    return out


def _workload_text(phase: str, w: dict) -> str:
    shape = f"{w['seq_len']}-token prompt" if phase == "prefill" else f"1 token at kv_len {w['kv_len']}"
    return f"{w['model']} {phase} ({shape}, batch {w['batch']})"


def comparison_table(results: dict[str, object]) -> pd.DataFrame:
    """One row per (design, phase) of the ``compare`` results: the totals, the precision (bits per weight,
    weight SQNR), the memory system, and how the time is spent: ``pe_busy_pct`` (% of the pass's cycles the
    PE arrays are busy: near 100 = limited by the array), ``spatial_utilization_pct`` (useful MACs over what
    the busy arrays could do) and ``dram_roofline_pct`` (the ops' compulsory DRAM bytes at peak bandwidth
    over the simulated time, %: near 100 = on the memory roof); ``note`` says why a row is under the roof."""
    rows = []
    for phase, res in results.items():
        mem = res.memory_system or {}
        for r in res.rows:
            if r.status != "ok":
                rows.append({"design": r.design, "arch": r.arch, "phase": phase, "note": r.note})
                continue
            rows.append({"design": r.design, "arch": r.arch, "phase": phase, "weights": r.weights,
                         "activations": r.activations, "tokens_per_s": r.tokens_per_s, "latency_ms": r.latency_ms,
                         "energy_per_token_mj": r.energy_per_token_mj, "area_mm2": r.area_mm2, "power_w": r.power_w,
                         "peak_tops": r.peak_tops, "clock_mhz": mem.get("clock_mhz"),
                         "dram_gb_per_s": mem.get("gb_per_s"), "dram_pj_per_bit": mem.get("pj_per_bit"),
                         "tokens_per_s_per_mm2": r.tokens_per_s / r.area_mm2, "pe_busy_pct": r.array_busy_pct,
                         "dram_roofline_pct": r.dram_roofline_pct, "peak_pct": r.peak_pct,
                         "spatial_utilization_pct": 100 * (r.spatial_utilization or 0.0),
                         "tops_per_mm2": r.tops_per_mm2, "tops_per_w": r.tops_per_w,
                         "bits_per_weight": r.bits_per_weight, "weight_sqnr_db": r.weight_sqnr_db,
                         "tokens_per_s_ratio": r.tokens_per_s_ratio, "energy_per_token_ratio": r.energy_per_token_ratio,
                         "memory": res.memory, "note": r.note})
    return pd.DataFrame(rows).sort_values(["phase", "tokens_per_s"], ascending=[False, False])


#: a design is "limited by" its PE arrays or DRAM in a phase when they are busy this share of the time (%)
LIMIT_PCT = 80


def limits_text(table: pd.DataFrame) -> str:
    """Which designs the PE array limits and which sit on the memory roof, per phase (from the table)."""
    out = []
    for phase in PHASES:
        rows = table[table["phase"] == phase]
        pe = rows.loc[(rows["pe_busy_pct"] >= LIMIT_PCT) & (rows["dram_roofline_pct"] < LIMIT_PCT), "design"].tolist()
        mem = rows.loc[rows["dram_roofline_pct"] >= LIMIT_PCT, "design"].tolist()
        parts = ([f"limited by the PE array: {', '.join(pe)}"] if pe else []) + (
            [f"on the DRAM roof: {', '.join(mem)}"] if mem else [])
        if parts:
            out.append(f"{phase.capitalize()}, {'; '.join(parts)} (pe_busy_pct / dram_roofline_pct >= {LIMIT_PCT} %).")
        if phase == "decode" and pe:
            out.append(f"A decode GEMV has one token row, and the output-stationary arrays of {', '.join(pe)} hold "
                       "one output per PE, a token per PE row or column: one line of PEs works (see the "
                       "utilization figures).")
    return " ".join(out)


#: the comparison columns the gallery page shows (the CSV beside it has every column of ``lutsim compare``)
PAGE_COMPARISON_COLUMNS = ("design", "phase", "weights", "activations", "bits_per_weight", "weight_sqnr_db",
                           "tokens_per_s", "latency_ms", "energy_per_token_mj", "area_mm2", "dram_roofline_pct",
                           "peak_pct", "spatial_utilization_pct", "note")


def design_sections(results: dict[str, object], workload: dict, designs=DESIGNS) -> list[Section]:
    """The comparison table, energy per token by component (per phase), area by component."""
    w = workload
    first = next(iter(results.values()))
    common = (f"{ASSUMPTIONS} Every design on one memory system ({first.memory}: `lutsim compare`, "
              f"sim/arch/memory/{first.memory}.yaml); fields that still differ: "
              f"{', '.join(first.differing_fields) or 'none'}.")
    table = comparison_table(results)
    sections = [Section("designs_comparison", "Designs on the same workload and memory system", table=table,
                        text=f"{_workload_text('prefill', w)} and {_workload_text('decode', w)}. {common} "
                             f"{limits_text(table)} The page shows the main columns; designs_comparison.csv has "
                             "all of them (power, peak, clock, DRAM figures, ratios, TOPS/mm² and TOPS/W).",
                        page_columns=PAGE_COMPARISON_COLUMNS)]
    for phase, res in results.items():
        per = "prompt token" if phase == "prefill" else "generated token"
        cap = f"{_workload_text(phase, w)}; energy per {per}. {common}"
        bd = {r.design: group_breakdown({k: v / (r.tokens_per_s * r.latency_ms * 1e-3)
                                         for k, v in r.energy_breakdown_pj.items()})
              for r in res.rows if r.status == "ok"}
        sections.append(Section(f"designs_energy_{phase}", f"Energy per token by component: {phase}",
                                figures.stacked_breakdown(bd, "energy per token (mJ)",
                                                          f"Energy per token by component, {phase}", 1e-9),
                                cap))
    cap = f"Area by component of each design on the memory system (logic and SRAM; DRAM excluded). {common}"
    mem = memory_of(first.memory)
    ab = {label: group_breakdown(cost.area(apply_memory(resolve_arch(arch), mem)).breakdown)
          for label, arch, _ in designs}
    sections.append(Section("designs_area", "Area by component", figures.stacked_breakdown(
        ab, "area (mm²)", "Area by component", 1.0), cap))
    return sections


def roofline_section(label: str, stats: dict, gpus=DEFAULT_GPUS) -> Section:
    """GPU roofs with the workload's layers on each GPU (its precision), and the accelerator's roof with its
    simulated layers (one point per distinct layer)."""
    phase = stats["phase"]
    roofs, points = gpu_roofs_and_points(stats, gpus)
    t = stats["totals"]
    roofs.append({"name": label, "peak_ops_per_s": t["peak_ops_per_s"], "bytes_per_s": t["dram_bytes_per_s"],
                  "kind": "accelerator"})
    clock_hz = stats["assumptions"]["clock_hz"]
    for op in stats["ops"]:
        if op["ops"] > 0 and op["bytes"] > 0 and op["cycles"] > 0:
            points.append({"label": op["name"], "device": label, "kind": op["kind"],
                           "intensity": op["ops"] / op["bytes"], "ops_per_s": op["ops"] / (op["cycles"] / clock_hz)})
    cap = (f"{_workload_text(phase, stats['workload'])}, {stats['quant']} on {stats['arch']} (its roof: PE "
           f"tile-model peak, DRAM bandwidth); GPUs run the same layers in the precision they support "
           f"(weight-only 4-bit as FP16, roofline model of each layer). One point per distinct layer. {ASSUMPTIONS}")
    fig = figures.roofline(roofs, points, f"Roofline, {phase}: layers on GPUs and on {label}")
    return Section(f"roofline_{phase}", f"Roofline: {phase}", fig, cap)


def utilization_section(label: str, stats: dict) -> Section:
    phase = stats["phase"]
    cap = (f"{_workload_text(phase, stats['workload'])}, {stats['quant']} on {stats['arch']}. Utilization: busy "
           f"cycles of the unit that runs the layer (PE arrays for linear layers, the vector unit otherwise) "
           f"over the layer's cycles; stalls of that unit waiting on a dependency or for buffer space. {ASSUMPTIONS}")
    fig = figures.utilization_and_stalls(stats["ops"], f"{label}, {phase}: per layer")
    return Section(f"utilization_{phase}", f"Utilization and stalls per layer: {label}, {phase}", fig, cap)


def skipped_table(df: pd.DataFrame) -> pd.DataFrame:
    """Skipped/failed sweep rows: how many, and why (constraint reasons grouped by bound)."""
    bad = df[df["status"] != "ok"].copy()
    if bad.empty:
        return pd.DataFrame({"status": [], "reason": [], "points": []})
    bad["why"] = bad["reason"].str.replace(r" [0-9.e+-]+ > ", " > ", regex=True)
    return (bad.groupby(["status", "why"]).size().reset_index(name="points")
            .rename(columns={"why": "reason"}).sort_values("points", ascending=False))


def sweep_gallery_sections(sweep: dict, jobs: int) -> tuple[list[Section], pd.DataFrame]:
    with tempfile.TemporaryDirectory() as tmp:
        run_sweep(parse_spec(sweep), tmp, jobs=jobs, progress=False)
        df = load_results(tmp)
    axes = ", ".join(f"{k} ∈ {v}" for k, v in sweep["axes"].items())
    limits = ", ".join(f"{k} ≤ {v:g}" for k, v in sweep.get("constraints", {}).items()) or "no limits"
    n_points = df["point_id"].nunique()
    caption = (f"Sweep of {sweep['base_arch']}: {axes}; {n_points} design points x {len(sweep['workloads'])} "
               f"workload(s) = {len(df)} rows, {int((df['status'] == 'ok').sum())} within {limits}. "
               f"{ASSUMPTIONS}")
    sections = [s for s in sweep_sections(df, caption) if s.slug != "designs"]
    for s in sections:
        s.slug, s.title = f"sweep_{s.slug}", f"Sweep: {s.title}"
    ok = df[df["status"] == "ok"]
    cols = [c for c in df.columns if c.startswith("p.")] + COMPARISON_COLUMNS[1:]
    sections.append(Section("sweep_points", "Sweep: design points within the limits",
                            table=ok[cols].sort_values("tokens_per_s", ascending=False)))
    sections.append(Section("sweep_skipped", "Sweep: points skipped, and why", table=skipped_table(df)))
    return sections, df


def build_gallery(out: str | Path = OUT, jobs: int = 2, sweep: dict = SWEEP, designs=DESIGNS,
                  workload: dict = WORKLOAD, accuracy_spec: str | Path | None = None) -> Path:
    """Run the sweep and the design comparison; write the gallery to ``out``; return the page. The roofline
    and utilization figures are of the first design."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))  # built aside: a failure leaves out as it was
    try:
        page = _build(work, jobs, sweep, designs, workload, accuracy_spec)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    for old in (*out.glob("*.png"), *out.glob("*.csv"), *out.glob("*.svg"), *out.glob("*.html")):
        old.unlink()
    for f in work.iterdir():
        f.replace(out / f.name)
    work.rmdir()
    return out / page.name


def _build(out: Path, jobs: int, sweep: dict, designs, workload: dict, accuracy_spec) -> Path:
    """:func:`build_gallery` into the empty directory ``out``."""
    sections, df = sweep_gallery_sections(sweep, jobs)
    df.to_csv(out / "sweep_rows.csv", index=False)
    results = compare_designs(designs, workload)
    sections += design_sections(results, workload, designs)
    sections += design_point_sections(gallery_designs(designs), workload)
    runs = first_design_stats(designs, workload)
    lut = designs[0][0]
    for phase in PHASES:
        sections.append(roofline_section(lut, runs[phase]))
    for phase in PHASES:
        sections.append(utilization_section(lut, runs[phase]))
    if accuracy_spec is not None:  # accuracy-vs-efficiency fronts of a sweep spec (reports/accuracy_figures.py)
        sections += accuracy_figures.gallery_sections(accuracy_spec, jobs)
    r0 = runs["decode"]
    assumptions = assumption_rows(r0["assumptions"])
    intro = ("Regenerate with: python -m reports.gallery. Figures are simulated by lutsim (compiled programs "
             "on the cycle-level engine, per-component energy and area models); GPU points are a roofline "
             "model. sweep_rows.csv holds every sweep row, skipped ones with their reason. The LUT unit's area and "
             "energy follow its tile shape, table entry width and accumulator (component model anchored at LUT "
             "Tensor Core's Table 2, sim/cost/lut_unit_scale.py); the design comparison puts every design on one "
             f"memory system ({MEMORY}, `lutsim compare`). "
             "Assumptions: the constants of the LUT Tensor Core decode run.")
    return write_report(sections, out, title="lutsim report gallery", source="reports/gallery.py",
                        assumptions=assumptions, svg=False, embed=False, intro=intro)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reports.gallery", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(OUT), help=f"output directory (default {OUT})")
    ap.add_argument("--jobs", type=int, default=2, help="sweep worker processes (default 2)")
    args = ap.parse_args(argv)
    page = build_gallery(args.out, args.jobs, accuracy_spec=accuracy_figures.SPEC)
    total = sum(f.stat().st_size for f in page.parent.iterdir() if f.is_file())
    print(f"wrote {page} ({len(list(page.parent.iterdir()))} files, {total / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
