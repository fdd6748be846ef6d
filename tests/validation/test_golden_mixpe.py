"""Golden figures: MixPE's configurations in our model (reports/validation/mixpe.py) against MixPE (arXiv
2411.16158; docs/references.md#mixpe; github.com/yuzhang712/mixpe_simulator results/mixpe_res.csv, Llama2-13B column
of the last table): normalized time (FP16 = 1) MixPE-W4A8 0.10, ANT 0.40, BitFusion 0.68, INT8 0.86, MixPE-W4A16
0.19; normalized energy 0.14 / 0.25 / 0.43 / 0.51 / 0.22. Simulate results are cached in the module under test."""

import pytest

from reports import validation
from reports.validation import mixpe as vm
from sim.arch import load

ROWS = vm.mixpe_rows()
BY_METRIC = {r.metric: r for r in ROWS}

# Our figures when the tolerances were set; a change that moves one by more than 1 % must update this table.
SNAPSHOT = {
    "MixPE-W4A8 normalized time (FP16 = 1), Llama-2-13B": 0.218374,
    "ANT normalized time (FP16 = 1), Llama-2-13B": 0.798173,
    "BitFusion normalized time (FP16 = 1), Llama-2-13B": 0.413825,
    "INT8 normalized time (FP16 = 1), Llama-2-13B": 0.790555,
    "MixPE-W4A16 normalized time (FP16 = 1), Llama-2-13B": 0.815664,
    "MixPE-W4A8 normalized energy (FP16 = 1), Llama-2-13B": 0.262972,
    "ANT normalized energy (FP16 = 1), Llama-2-13B": 0.769751,
    "BitFusion normalized energy (FP16 = 1), Llama-2-13B": 0.408199,
    "INT8 normalized energy (FP16 = 1), Llama-2-13B": 0.62873,
    "MixPE-W4A16 normalized energy (FP16 = 1), Llama-2-13B": 0.828764,  # its PE costed as FP16-activation
}
PINNED = 0.01


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.metric)
def test_row_within_its_tolerance(row):
    assert row.within, f"{row.metric}: published {row.published}, ours {row.ours} ({row.rel_error:+.2%})"


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.metric)
def test_tolerance_beyond_target_only_with_a_note(row):
    if row.tolerance > vm.TARGET:
        assert row.note and abs(row.rel_error) > vm.TARGET
    else:
        assert row.tolerance == vm.TARGET


def test_snapshot_pins_every_row():
    assert set(SNAPSHOT) == set(BY_METRIC)
    drift = {m: (BY_METRIC[m].ours, v) for m, v in SNAPSHOT.items() if abs(BY_METRIC[m].ours / v - 1) > PINNED}
    assert not drift, f"figures moved by more than {PINNED:.0%} (ours now, pinned): {drift}"


def test_int8_time_meets_the_target():
    """The one design whose PE retires what their simulator's does (one product per PE per cycle)."""
    assert abs(BY_METRIC["INT8 normalized time (FP16 = 1), Llama-2-13B"].rel_error) <= vm.TARGET


@pytest.mark.parametrize("design,array", [("fp16", (32, 28)), ("w4a8", (64, 64)), ("w4a16", (32, 32)),
                                          ("bitfusion", (32, 40)), ("int8", (32, 32)), ("ant", (32, 32))])
def test_presets_are_their_configuration(design, array):
    """mixpe_simulator conf_*.ini: 500 MHz, if_width 1024, Wgt/Act/Out SRAM 131072/262144/131072 bytes."""
    a = load(f"mixpe-paper-{design}")
    assert a.pe.array == array and a.clock_mhz == 500 and a.dram.bandwidth == 1024
    assert [b.capacity for b in a.buffers] == [131072, 262144, 131072]


def test_registered_in_the_report():
    assert validation.CHECKS[vm.MIXPE_TABLE[0]] is vm.mixpe_rows
