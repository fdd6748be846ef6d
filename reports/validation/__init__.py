"""The validation report: published figures next to ours, one table per source.

Each check is a function returning :class:`Row` objects (:mod:`.compat`: compatibility modes and formulas;
:mod:`.ltc`, :mod:`.bitmod`, :mod:`.mixpe`: those papers' designs in our own model); :mod:`.report` lists them
in :data:`CHECKS` and renders them. ``python -m reports.validation`` writes ``reports/validation.md``. The golden
tests (tests/validation) call the same functions, so a change that moves a figure fails CI as well as changing
the report. Modules import downwards only: row <- compat, ltc, bitmod, mixpe <- report <- this package.
"""

from .compat import bitmod_rows, llm_viewer_rows, ltc_table1_rows, lut_peak_ops, scalesim_rows
from .report import CHECKS, COMPAT, CONSISTENCY, KIND_SECTIONS, KINDS, MODEL, main, render
from .row import OWN_MODEL_TARGET, Row

__all__ = ["CHECKS", "COMPAT", "CONSISTENCY", "KINDS", "KIND_SECTIONS", "MODEL", "OWN_MODEL_TARGET", "Row",
           "bitmod_rows", "llm_viewer_rows", "ltc_table1_rows", "lut_peak_ops", "main", "render", "scalesim_rows"]
