import json

from lutsim.cli import main


def test_demo_simulates_the_default_and_checks_the_lut_unit(capsys):
    assert main(["demo", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["lut_gemm_check"]["exact"] is True
    sim = out["simulate"]
    assert (sim["arch"], sim["model"], sim["phase"]) == ("lut-tc-28nm", "llama-2-7b", "decode")
    assert sim["totals"]["tokens_per_s"] > 0 and sim["totals"]["energy_per_token_mj"] > 0


def test_demo_prints_totals_for_people(capsys):
    assert main(["demo"]) == 0
    text = capsys.readouterr().out
    assert "tokens/s" in text and "bit-exact with the reference" in text
