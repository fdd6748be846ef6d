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
