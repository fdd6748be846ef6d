"""Golden figures of the LUT Tensor Core's FP16 datapath at W_INT4 × A_FP16 against the paper (LUT Tensor Core,
arXiv 2408.06003, ISCA'25, TSMC 28 nm, 1 GHz; docs/references.md#lut-tensor-core): DP4 density W1×FP16 61.55
TFLOPs/mm² (FP16 MAC 3.39), W1×INT8 63.78 TOPs/W, MAC/LUT tensor-core power 4–6× at W1; a W4 weight takes 4 cycles
on the same bit-serial hardware, so the W4 figures are the W1 ones / 4 [I] (reports/validation/ltc_fp16.py)."""

import pytest

from reports import validation
from reports.validation.ltc_fp16 import LTC_FP16_TABLE, TARGET, figures, ltc_fp16_rows

ROWS = ltc_fp16_rows()

# Our figures when the tolerances were set: a change of the cost model or its constants that moves one by more than
# 0.5 % must update this table and the report's notes.
SNAPSHOT = {
    "W1×FP16 density, simulator's lut-tc-28nm unit (TFLOPs/mm²)": 23.8079,
    "W4×FP16 density, simulator's lut-tc-28nm unit (TFLOPs/mm²) [I: 61.55 / 4]": 5.95198,
    "W4×FP16 density, component model (TFLOPs/mm²) [I: 61.55 / 4]": 3.02273,
    "W1×INT8 energy efficiency, simulator's lut-tc-28nm unit, the FP16 figure's anchor (TOPs/W)": 51.7893,
    "W4×FP16 density ratio LUT / FP16 MAC, component model [I: 18.16 / 4]": 1.78784,
    "W4×FP16 energy ratio MAC / LUT per op, component model [I: (4–6×) / 4]": 2.43979,
}


def test_published_figures_and_their_w4_arithmetic():
    pub = {r.metric: r.published for r in ROWS}
    assert pub["W1×FP16 density, simulator's lut-tc-28nm unit (TFLOPs/mm²)"] == 61.55
    assert pub["W4×FP16 density, component model (TFLOPs/mm²) [I: 61.55 / 4]"] == pytest.approx(15.3875)
    assert pub["W4×FP16 density ratio LUT / FP16 MAC, component model [I: 18.16 / 4]"] == pytest.approx(
        61.55 / 3.39 / 4)
    assert pub["W4×FP16 energy ratio MAC / LUT per op, component model [I: (4–6×) / 4]"] == pytest.approx(1.25)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.metric)
def test_row_within_its_tolerance(row):
    assert row.within, f"{row.metric}: published {row.published}, ours {row.ours} ({row.rel_error:+.2%})"


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.metric)
def test_tolerance_beyond_target_only_with_a_note_and_just_wide_enough(row):
    if row.note:
        assert TARGET < abs(row.rel_error) <= row.tolerance < abs(row.rel_error) + 0.1
    else:
        assert row.tolerance == TARGET


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.metric)
def test_our_figures_match_the_snapshot(row):
    assert row.ours == pytest.approx(SNAPSHOT[row.metric], rel=0.005)


def test_w4_figures_are_a_quarter_of_w1_and_the_fp16_unit_costs_more_than_int8():
    f = figures()
    assert f["simulator_tflops_mm2"] == pytest.approx(ROWS[0].ours / 4)
    assert f["simulator_pj_per_op"] == pytest.approx(1 / f["simulator_tops_per_w"])
    assert f["simulator_tops_per_w"] < ROWS[3].ours / 4  # FP16 tables and adders cost more than INT8


def test_table_is_registered():
    assert validation.CHECKS[LTC_FP16_TABLE[0]] is ltc_fp16_rows
    assert validation.report.KINDS[LTC_FP16_TABLE[0]] == validation.report.MODEL
