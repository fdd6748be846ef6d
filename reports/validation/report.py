"""The validation report as Markdown: every table of :data:`CHECKS`, written to ``reports/validation.md``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from .bitmod import BITMOD_TABLE
from .compat import bitmod_rows, llm_viewer_rows, ltc_table1_rows, scalesim_rows
from .ltc import LTC_TABLE
from .ltc_fp16 import LTC_FP16_TABLE
from .mixpe import MIXPE_TABLE
from .row import Row

REPORT_FILE = Path(__file__).parent.with_name("validation.md")  # reports/validation.md

# What produces "ours" in a table decides what its rows validate; render() groups the report by it.
MODEL, COMPAT, CONSISTENCY = "model", "compat", "consistency"
KIND_SECTIONS = {
    MODEL: ("lutsim's own model (these rows validate the simulator)",
            "Ours is what lutsim's own compiler, simulator and cost model produce (constants with their own "
            "sources, nothing fitted to the figure it is compared with)."),
    COMPAT: ("Compatibility modes (a peer's own model reproduced)",
             "Ours comes from our re-implementation of the peer tool's analytical model (`--compat`, `lutsim "
             "compat`): an exact row shows that we reproduce the peer, not that either model is right about "
             "hardware."),
    CONSISTENCY: ("Consistency checks (the source's own arithmetic; they do not validate the simulator)",
                  "Ours is derived from the same source's constants or from a formula fitted to its rows (peak from "
                  "the fitted formula, density = peak / the paper's own area): a match shows that the source is "
                  "self-consistent and that we read it right."),
}

#: every table of the report in order: title -> function returning its rows
CHECKS: dict[str, Callable[[], list[Row]]] = {
    "LUT Tensor Core Table 1 (the paper's peak and density arithmetic)": ltc_table1_rows,
    "SCALE-Sim compatibility mode (systolic baseline)": scalesim_rows,
    "BitMoD tile-model compatibility mode": bitmod_rows,
    "LLM-Viewer roofline compatibility mode": llm_viewer_rows,
    LTC_TABLE[0]: LTC_TABLE[1],
    LTC_FP16_TABLE[0]: LTC_FP16_TABLE[1],
    BITMOD_TABLE[0]: BITMOD_TABLE[1],
    MIXPE_TABLE[0]: MIXPE_TABLE[1],
}
#: title -> MODEL, COMPAT or CONSISTENCY (what produces the table's "ours")
KINDS: dict[str, str] = {
    "LUT Tensor Core Table 1 (the paper's peak and density arithmetic)": CONSISTENCY,
    "SCALE-Sim compatibility mode (systolic baseline)": COMPAT,
    "BitMoD tile-model compatibility mode": COMPAT,
    "LLM-Viewer roofline compatibility mode": COMPAT,
    LTC_TABLE[0]: MODEL,
    LTC_FP16_TABLE[0]: MODEL,
    BITMOD_TABLE[0]: MODEL,
    MIXPE_TABLE[0]: MODEL,
}


def _num(v: float) -> str:
    """Integers in full with thousands separators (cycle counts), others to 6 significant digits."""
    return f"{int(v):,}" if float(v).is_integer() and abs(v) < 1e15 else f"{v:,.6g}"


def render(checks: dict[str, Callable[[], list[Row]]] | None = None) -> str:
    """The whole report as Markdown, its tables grouped by what produces "ours" (:data:`KIND_SECTIONS`)."""
    checks = checks or CHECKS
    lines = ["# lutsim validation report", "",
             "Published figures from the papers and peer tools (`docs/references.md`), our figure, the",
             "relative error and its status: *exact* (compatibility modes), *within ±N %* (the target for our own",
             "model is ±15 %), or *gap explained* (outside ±15 %, with the modelling difference in the note;",
             "the golden tests pin our figure so that it cannot drift). The tables are grouped by what produces",
             "*ours*: only the first group validates lutsim's simulator. Regenerate with `make validation`; the same",
             "figures are golden tests (`tests/validation/`).", ""]
    for kind, (heading, text) in KIND_SECTIONS.items():
        titles = [t for t in checks if KINDS.get(t, MODEL) == kind]
        if not titles:
            continue
        lines += [f"## {heading}", "", text, ""]
        for title in titles:
            lines += [f"### {title}", "", "| metric | published | ours | rel. error | status | note |",
                      "|---|---:|---:|---:|:---:|---|"]
            for r in checks[title]():
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
