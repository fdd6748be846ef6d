"""``lutsim report``: an HTML page with embedded figures, plus PNG/SVG figures and CSV tables."""

from __future__ import annotations

NAME = "report"
HELP = "write an HTML report (rooflines, Pareto fronts, breakdowns) from a sweep directory or stats JSON"


def add_arguments(p) -> None:
    p.add_argument("source", metavar="DIR_OR_STATS", help="sweep output directory, stats JSON, or a folder of them")
    p.add_argument("--out", default=None, help="output directory (default: SOURCE_report)")
    p.add_argument("--gpu", action="append", default=None,
                   help="GPU preset(s) on the roofline (repeatable; default a100-80g and h100-sxm; 'none' for none)")


def run(args) -> int:
    from pathlib import Path

    from reports.build import DEFAULT_GPUS, build_report
    from sim.gpu.roofline import get_gpu

    gpus = tuple(args.gpu) if args.gpu else DEFAULT_GPUS
    gpus = () if gpus == ("none",) else gpus
    for g in gpus:
        get_gpu(g)  # unknown names fail before anything is written
    out = args.out or f"{Path(args.source).with_suffix('')}_report"
    page = build_report(args.source, out, gpus)
    print(f"wrote {page}")
    return 0
