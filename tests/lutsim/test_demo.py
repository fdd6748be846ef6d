import json

from lutsim.cli import main


def test_demo_is_exact_and_compares_every_pe(capsys):
    assert main(["demo", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["lut_tc"]["exact"] is True
    from sim import pe

    assert {r["pe"] for r in out["all_pes_tile_mode"]} == set(pe.names())
    assert all(r["cycles"] > 0 for r in out["all_pes_tile_mode"])
