"""Golden figures of LUT Tensor Core Table 1 (arXiv 2408.06003; docs/references.md#lut-tensor-core)."""

import pytest

from reports import validation


@pytest.mark.parametrize("row", validation.ltc_table1_rows(), ids=lambda r: r.metric)
def test_table1_rows_within_tolerance(row):
    assert row.within, f"{row.metric}: published {row.published}, ours {row.ours} ({row.rel_error:+.2%})"


def test_report_renders_every_table(tmp_path):
    out = tmp_path / "v.md"
    assert validation.main(["--out", str(out)]) == 0
    text = out.read_text()
    for title in validation.CHECKS:
        assert f"## {title}" in text
    assert "FAILS" not in text


def test_report_separates_consistency_checks_from_our_model():
    # Table 1's "ours" is the paper's own arithmetic (a formula fitted to its rows, its areas): a consistency check
    assert validation.KINDS[next(t for t, f in validation.CHECKS.items() if f is validation.ltc_table1_rows)] == \
        validation.CONSISTENCY
    assert set(validation.KINDS) == set(validation.CHECKS)
    assert {validation.KINDS[t] for t, f in validation.CHECKS.items()
            if f in (validation.scalesim_rows, validation.bitmod_rows, validation.llm_viewer_rows)} == \
        {validation.COMPAT}
    text = validation.render()
    model_at, compat_at, consistency_at = (text.index(f"## {validation.KIND_SECTIONS[k][0]}") for k in
                                           (validation.MODEL, validation.COMPAT, validation.CONSISTENCY))
    assert model_at < compat_at < consistency_at < text.index("A100-LUT-4X peak")
    assert text.index("DP4 density W1×FP16, LUT") < compat_at  # the component model validates the simulator
    assert set(validation.KINDS.values()) <= set(validation.KIND_SECTIONS)
