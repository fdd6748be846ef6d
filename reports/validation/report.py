"""The validation report as Markdown: every table of :data:`CHECKS`, written to ``reports/validation.md``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from .bitmod import BITMOD_TABLE
from .compat import bitmod_rows, llm_viewer_rows, ltc_table1_rows, scalesim_rows
from .ltc import LTC_TABLE
from .mixpe import MIXPE_TABLE
from .row import Row

REPORT_FILE = Path(__file__).parent.with_name("validation.md")  # reports/validation.md

#: every table of the report in order: title -> function returning its rows
CHECKS: dict[str, Callable[[], list[Row]]] = {
    "LUT Tensor Core Table 1 (peak and density formulas)": ltc_table1_rows,
    "SCALE-Sim compatibility mode (systolic baseline)": scalesim_rows,
    "BitMoD tile-model compatibility mode": bitmod_rows,
    "LLM-Viewer roofline compatibility mode": llm_viewer_rows,
    LTC_TABLE[0]: LTC_TABLE[1],
    BITMOD_TABLE[0]: BITMOD_TABLE[1],
    MIXPE_TABLE[0]: MIXPE_TABLE[1],
}


def _num(v: float) -> str:
    """Integers in full with thousands separators (cycle counts), others to 6 significant digits."""
    return f"{int(v):,}" if float(v).is_integer() and abs(v) < 1e15 else f"{v:,.6g}"


def render(checks: dict[str, Callable[[], list[Row]]] | None = None) -> str:
    """The whole report as Markdown."""
    lines = ["# lutsim validation report", "",
             "Published figures from the papers and peer tools (`shared/references.md`), our figure, the",
             "relative error and its status: *exact* (compatibility modes), *within ±N %* (our own model; the",
             "target is ±15 %), or *gap explained* (outside ±15 %, with the modelling difference in the note;",
             "the golden tests pin our figure so that it cannot drift). Regenerate with `make validation`; the same",
             "figures are golden tests (`tests/validation/`).", ""]
    for title, fn in (checks or CHECKS).items():
        lines += [f"## {title}", "", "| metric | published | ours | rel. error | status | note |",
                  "|---|---:|---:|---:|:---:|---|"]
        for r in fn():
            lines.append(f"| {r.metric} | {_num(r.published)} | {_num(r.ours)} | {100 * r.rel_error:+.3f} % | "
                         f"{r.status} | {r.note} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="regenerate reports/validation.md")
    ap.add_argument("--out", default=str(REPORT_FILE))
    args = ap.parse_args(argv)
    Path(args.out).write_text(render())
    print(f"wrote {args.out}")
    return 0
