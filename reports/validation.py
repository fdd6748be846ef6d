"""The validation report: published figures next to ours, one table per source.

Each check is a function returning :class:`Row` objects; ``python -m reports.validation`` writes
``reports/validation.md``. The golden tests (tests/validation) call the same functions, so a change
that moves a figure fails CI as well as changing the report.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    """One published figure and ours. ``tolerance`` is the relative error we accept (0 = exact)."""

    source: str
    metric: str
    published: float
    ours: float
    tolerance: float
    note: str = ""

    @property
    def rel_error(self) -> float:
        if self.published == 0:
            return abs(self.ours)
        return (self.ours - self.published) / abs(self.published)

    @property
    def within(self) -> bool:
        return abs(self.rel_error) <= self.tolerance


# --- LUT Tensor Core, Table 1 (arXiv 2408.06003): peak and density formulas --------------------
# A100: 108 SMs, 4 tensor cores per SM, normalised clock 1.41 GHz (references §1, Table 1).
A100_SMS = 108
TC_PER_SM = 4
A100_CLOCK_HZ = 1.41e9
LUT_SLOTS = 512  # M2N64K4 elongated tile: M·N·K lookup slots (references §1)


def lut_peak_ops(x: int, w_bits: int, sms: int = A100_SMS) -> float:
    """Peak ops/s of A100-LUT-<x>X: 2·(x·512)·4 TC/SM·#SM·f / W_BIT (references §1, derived [I])."""
    return 2 * (x * LUT_SLOTS) * TC_PER_SM * sms * A100_CLOCK_HZ / w_bits


def ltc_table1_rows() -> list[Row]:
    """Peak TOPs and compute density (TOPs/mm²) of Table 1's rows (BitNet W2A8)."""
    src = "LUT Tensor Core Table 1"
    rows = []
    for x, peak, area_sm, density in ((4, 1248, 0.187, 61.84), (8, 2496, 0.373, 61.95)):
        ours = lut_peak_ops(x, w_bits=2) / 1e12
        rows.append(Row(src, f"A100-LUT-{x}X peak (TOPs)", peak, ours, 0.001,
                        "formula 2·(X·512)·4·108·1.41 GHz / 2"))
        rows.append(Row(src, f"A100-LUT-{x}X density (TOPs/mm²)", density, ours / (A100_SMS * area_sm), 0.005,
                        "peak / (108 SMs × published TC area per SM); area rounded to 3 digits in the paper"))
    for name, peak, area_sm, density, note in (
            ("A100 FP16 TC", 312, 0.975, 2.96, ""),
            ("A100 INT8 TC", 624, 0.312, 17.73,
             "624 / (108 × 0.312) = 18.52: the paper's density implies 0.326 mm²/SM, not the 0.312 it prints")):
        rows.append(Row(src, f"{name} density (TOPs/mm²)", density, peak / (A100_SMS * area_sm),
                        0.05 if note else 0.005, note))
    return rows


CHECKS: dict[str, Callable[[], list[Row]]] = {
    "LUT Tensor Core Table 1 (peak and density formulas)": ltc_table1_rows,
}


def register(title: str, fn: Callable[[], list[Row]]) -> None:
    """Add a table to the report (modules that own a compatibility mode call this)."""
    CHECKS[title] = fn


def render(checks: dict[str, Callable[[], list[Row]]] | None = None) -> str:
    """The whole report as Markdown."""
    lines = ["# lutsim validation report", "",
             "Published figures from the papers and peer tools (`shared/references.md`), our figure, the",
             "relative error and the tolerance we hold it to. Regenerate with `make validation`; the same",
             "figures are golden tests (`tests/validation/`).", ""]
    for title, fn in (checks or CHECKS).items():
        lines += [f"## {title}", "", "| metric | published | ours | rel. error | within | note |",
                  "|---|---:|---:|---:|:---:|---|"]
        for r in fn():
            lines.append(f"| {r.metric} | {r.published:,.6g} | {r.ours:,.6g} | {100 * r.rel_error:+.3f} % | "
                         f"{'yes' if r.within else 'NO'} (±{100 * r.tolerance:g} %) | {r.note} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="regenerate reports/validation.md")
    ap.add_argument("--out", default=str(Path(__file__).with_name("validation.md")))
    args = ap.parse_args(argv)
    Path(args.out).write_text(render())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
