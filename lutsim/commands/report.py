"""``lutsim report``: an HTML page with embedded figures, plus PNG/SVG figures and CSV tables."""

from __future__ import annotations

NAME = "report"
HELP = "write an HTML report (rooflines, Pareto fronts, breakdowns) from a sweep directory or stats JSON"


def add_arguments(p) -> None:
    p.add_argument("source", metavar="DIR_OR_STATS", help="sweep output directory, stats JSON, or a folder of them")
    p.add_argument("--out", default=None, help="output directory (default: SOURCE_report)")


def run(args) -> int:
    from pathlib import Path

    from reports.build import build_report

    out = args.out or f"{Path(args.source).with_suffix('')}_report"
    page = build_report(args.source, out)
    print(f"wrote {page}")
    return 0
