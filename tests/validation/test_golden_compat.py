"""Golden figures of every compatibility mode (sources beside each table in reports/validation/compat.py)."""

import pytest

from reports import validation


@pytest.mark.parametrize("check", [validation.scalesim_rows, validation.bitmod_rows, validation.llm_viewer_rows],
                         ids=lambda f: f.__name__)
def test_compatibility_modes_reproduce_published_figures(check):
    rows = check()
    assert rows
    for r in rows:
        assert r.within, f"{r.source} {r.metric}: published {r.published}, ours {r.ours} ({r.rel_error:+.3%})"


def test_exact_modes_are_exact():
    for r in validation.scalesim_rows() + validation.llm_viewer_rows():
        assert r.tolerance == 0 and r.ours == r.published


def test_compat_scalesim_cli_reports_peer_and_ours(capsys):
    import json

    from lutsim.cli import main

    assert main(["compat", "scalesim", "--m", "64", "--n", "64", "--k", "64", "--dataflow", "is", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["scalesim"]["cycles"] == 631  # docs/references.md#peer-tools, measured
    assert out["lutsim_overlapped"]["cycles"] > 0
    assert main(["compat", "scalesim", "--m", "64", "--n", "64", "--k", "64", "--dataflow", "diag"]) == 2
