"""``lutsim accuracy``: quantization error of every linear layer of a checkpoint, per format.

Per layer and format: weight SQNR (dB), relative Frobenius error of the layer's output against FP32 on
calibration or synthetic activations, bits per element; then a model-level summary (mean and worst layer).
See :mod:`lutsim.accuracy` and docs/accuracy.md.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from lutsim.accuracy import ROW_COLUMNS, checkpoint_layers, measure_layers, summarize
from lutsim.output import print_json, print_table
from lutsim.results import AccuracyResult, AccuracyRow, AccuracySummary
from sim.errors import InputError
from workloads.calibration import open_calibration
from workloads.checkpoint import open_checkpoint
from workloads.synthetic import TOKENS

NAME = "accuracy"
HELP = "quantization error (weight SQNR, GEMM output error, bits/element) of a checkpoint's layers per format"

TABLE_COLUMNS = ["layer", "format", "bits_per_element", "weight_sqnr_db", "output_rel_error", "acts_source"]
SUMMARY_COLUMNS = ["format", "bits_per_element", "mean_weight_sqnr_db", "worst_weight_sqnr_db",
                   "mean_output_rel_error", "worst_output_rel_error", "worst_error_layer"]


def add_arguments(p) -> None:
    p.add_argument("--weights", required=True, metavar="PATH",
                   help="Hugging Face model folder (config.json + *.safetensors) or one .safetensors file")
    p.add_argument("--formats", required=True, help="comma-separated weight formats, e.g. int4,mxfp4,nvfp4,bitmod_fp4")
    p.add_argument("--group-size", type=int, default=None, help="weights per group (default: each format's own)")
    p.add_argument("--acts", default="fp16", help="activation format (default fp16; e.g. int8, mxfp4)")
    p.add_argument("--calib", default=None, metavar="FILE",
                   help="per-layer input activations (.safetensors or .npz); synthetic where a layer has none")
    p.add_argument("--tokens", type=int, default=None, help="tokens of synthetic activations per layer (default 128)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic activations (default 0)")
    p.add_argument("--json", action="store_true", help="print rows and summary as JSON")
    p.add_argument("--out", default=None, metavar="CSV", help="also write the per-layer rows to this CSV file")


def _progress_bar(total: int):
    console = Console(stderr=True)
    return Progress(TextColumn("layers"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    TextColumn("{task.description}"), console=console, transient=True,
                    disable=not console.is_terminal)


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    """Write ``rows`` to ``path`` through a temporary file (nothing half-written on failure)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def run(args) -> int:
    fmts = [f.strip() for f in args.formats.split(",") if f.strip()]
    if args.group_size is not None and args.group_size <= 0:
        raise InputError("--group-size", f"must be a positive integer, got {args.group_size}")
    tokens = TOKENS if args.tokens is None else args.tokens
    if tokens <= 0:
        raise InputError("--tokens", f"must be a positive integer, got {tokens}")
    out = Path(args.out) if args.out else None
    if out is not None and not out.parent.is_dir():
        raise InputError("--out", f"directory {str(out.parent)!r} does not exist")
    ckpt = open_checkpoint(args.weights)
    calib = open_calibration(args.calib) if args.calib else None
    layers = checkpoint_layers(ckpt)
    with _progress_bar(len(layers)) as bar:
        task = bar.add_task("", total=len(layers))
        rows = measure_layers(layers, fmts, args.group_size, args.acts, calib, tokens, args.seed,
                              progress=lambda src: bar.update(task, advance=1, description=src.name))
    summary = summarize(rows)
    if out is not None:
        write_csv(out, rows, ROW_COLUMNS)
    if args.json:
        print_json(AccuracyResult(weights=str(ckpt.path), acts=args.acts, group_size=args.group_size,
                                  layers=[AccuracyRow(**r) for r in rows],
                                  summary=[AccuracySummary(**r) for r in summary]).to_dict())
        return 0
    print_table(f"Quantization error per layer ({len(layers)} layers, activations {args.acts})", rows, TABLE_COLUMNS)
    print_table("Model summary (mean and worst layer; all columns in --json)", summary, SUMMARY_COLUMNS)
    if out is not None:
        print(f"per-layer rows written to {out}", file=sys.stderr)
    return 0
