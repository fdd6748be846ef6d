"""``lutsim rtl``: Verilog is written, bad design / target / parameter exit with status 2."""

from __future__ import annotations

import json

import pytest

from lutsim.cli import main


def test_verilog_command_writes_module(tmp_path, capsys):
    assert main(["rtl", "verilog", "--design", "lut-tc", "--n", "4", "--param", "max_bits=4",
                 "--out", str(tmp_path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["params"]["n"] == 4 and info["params"]["max_bits"] == 4
    text = (tmp_path / "lut_tensor_core.v").read_text()
    assert "module lut_tensor_core(" in text and "input [255:0] psum_in;" in text  # 2 × 4 × 32


def test_designs_lists_every_design(capsys):
    assert main(["rtl", "designs", "--json"]) == 0
    names = {d["design"] for d in json.loads(capsys.readouterr().out)}
    assert {"lut-tc", "table-precompute", "mac-int8", "mac-dp4"} <= names


@pytest.mark.parametrize("argv,field", [
    (["verilog", "--design", "nope", "--out", "x"], "design"),
    (["synth", "--design", "lut-tc", "--target", "asic"], "target"),
    (["synth", "--design", "nope", "--target", "generic"], "design"),
    (["verilog", "--design", "mac-int8", "--m", "2", "--out", "x"], "param"),
    (["verilog", "--design", "lut-tc", "--k", "3", "--out", "x"], "k"),
    (["verilog", "--design", "lut-tc", "--param", "n", "--out", "x"], "param"),
])
def test_bad_input_exits_2(argv, field, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["rtl", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {field}:") and "Traceback" not in err
