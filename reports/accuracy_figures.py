"""Accuracy beside efficiency: Pareto fronts of quantization error against energy and against throughput.

Input: the rows of a sweep run with ``evaluator: accuracy`` (columns
``accuracy.output_rel_error`` and the default evaluator's ``energy_per_token_mj``, ``tokens_per_s``). Drawn with
:func:`reports.figures.pareto`; a point is labelled by its recipe and design.

Run on a sweep directory: ``python -m reports.accuracy_figures runs/accuracy --out runs/accuracy/figures``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd

from lutsim.sweep import load_results, load_spec, run_sweep
from sim.errors import InputError

from .figures import pareto
from .html_report import Section

SPEC = Path(__file__).resolve().parents[1] / "examples" / "sweeps" / "accuracy_vs_efficiency.yaml"
ERROR = "accuracy.output_rel_error"
TABLE_COLUMNS = ["w.quant", "accuracy.weight_format", "accuracy.group_size", "accuracy.act_format",
                 "accuracy.bits_per_element", "accuracy.weight_sqnr_db", "accuracy.output_rel_error",
                 "accuracy.worst_output_rel_error"]
FIGURES = {  # name: (x, y, maximize y, x label, y label, title)
    "accuracy_vs_energy": ("energy_per_token_mj", ERROR, False, "energy per token (mJ)",
                           "GEMM output relative error (mean over layers)", "Accuracy vs energy"),
    "accuracy_vs_throughput": (ERROR, "tokens_per_s", True, "GEMM output relative error (mean over layers)",
                               "throughput (tokens/s)", "Accuracy vs throughput"),
}


def accuracy_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The ok rows that carry accuracy columns, with a ``label`` column (recipe @ design)."""
    if ERROR not in df:
        raise InputError("sweep", f"the rows have no {ERROR} column; run the sweep with "
                         "evaluator: accuracy")
    ok = df[(df["status"] == "ok") & df[ERROR].notna()].copy()
    quant = ok["w.quant"].astype(str) if "w.quant" in ok else ok["accuracy.weight_format"].astype(str)
    ok["label"] = quant + " @ " + ok["design"].astype(str)
    return ok


def accuracy_figures(df: pd.DataFrame) -> dict:
    """``{name: Figure}`` for :data:`FIGURES` (the front: least error for the energy, most throughput for the error)."""
    rows = accuracy_rows(df)
    if rows.empty:
        raise InputError("sweep", "no ok row with accuracy columns to draw")
    return {name: pareto(rows, x, y, maximize, xl, yl, title, label="label")
            for name, (x, y, maximize, xl, yl, title) in FIGURES.items()}


def gallery_sections(spec: str | Path = SPEC, jobs: int = 2) -> list:
    """Run the sweep ``spec`` and return the report sections of its two fronts and its per-recipe accuracy table."""
    sweep = load_spec(spec)
    with tempfile.TemporaryDirectory() as tmp:
        run_sweep(sweep, tmp, jobs=jobs, progress=False)
        df = load_results(tmp)
    caption = (f"Sweep {Path(spec).name} ({sweep.base_arch}, {df['point_id'].nunique()} design points x "
               f"{len(sweep.workloads)} recipes): error of each recipe's weight and activation formats on the layers "
               "(synthetic Llama-2-7B-shaped weights and activations with outlier channels unless a workload names "
               "a checkpoint; docs/accuracy.md) against the simulated energy and throughput.")
    figs = accuracy_figures(df)
    sections = [Section(name, f"Accuracy: {FIGURES[name][-1].lower()}", figure=fig, caption=caption)
                for name, fig in figs.items()]
    table = accuracy_rows(df)[TABLE_COLUMNS].drop_duplicates("w.quant").sort_values("accuracy.bits_per_element")
    sections.append(Section("accuracy_recipes", "Accuracy: error of each recipe", table=table))
    return sections


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="accuracy-vs-energy and accuracy-vs-throughput Pareto figures")
    ap.add_argument("sweep", help="sweep output directory (lutsim sweep --out)")
    ap.add_argument("--out", required=True, help="directory for the PNG files")
    args = ap.parse_args(argv)
    try:
        df = load_results(args.sweep)
        figs = accuracy_figures(df)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, fig in figs.items():
        fig.savefig(out / f"{name}.png", dpi=120, bbox_inches="tight")
        print(out / f"{name}.png")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
