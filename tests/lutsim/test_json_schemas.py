"""Every command's ``--json`` output fits the JSON schema generated from its result dataclass
(:mod:`lutsim.schema`; validated with its own small validator), and the generator and validator themselves."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

import pytest
import yaml

from lutsim import results
from lutsim.cli import build_parser, main
from lutsim.results import SimResult, json_key, load, omitted_when, to_dict
from lutsim.schema import COMMAND_RESULTS, check_result, schema_of, validate
from rtl.tools import fpga, synth
from tests.workloads.checkpoint_fixtures import write_checkpoint

#: what ``yosys stat -json`` writes, per target (cells of ge.lib for generic, iCE40 primitives for ice40)
STAT = {"generic": {"creator": "Yosys (test)", "design": {"num_cells_by_type": {"NAND2": 7, "DFF": 3}}},
        "ice40": {"creator": "Yosys (test)",
                  "design": {"num_cells_by_type": {"SB_LUT4": 5, "SB_DFF": 3, "SB_CARRY": 2, "SB_IO": 9}}}}

#: what :func:`rtl.tools.fpga.place_and_route` returns (nextpnr's utilization and Fmax)
PNR = {"yosys": "Yosys (test)", "nextpnr": "nextpnr-test", "part": "LFE5U-85F", "package": "CABGA381", "speed": 6,
       "nodsp": False, "utilization": {"lut4": {"used": 81, "available": 83640}, "ff": {"used": 83, "available": 83640},
                       "dsp": {"used": 1, "available": 156}, "io": {"used": 4, "available": 205}},
       "fmax_mhz": 111.4, "cells": {"LUT4": 81}, "seconds": 1.0, "cached": False}


def _json_commands(parser: argparse.ArgumentParser, prefix: str = "") -> set[str]:
    """Every (sub-)command with a --json flag."""
    out = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out |= _json_commands(sub, f"{prefix} {name}".strip())
        elif "--json" in action.option_strings:
            out.add(prefix)
    return out


def test_every_json_command_has_a_result_type():
    commands = _json_commands(build_parser())
    typed = {c for c in COMMAND_RESULTS if c != "sweep --dry-run"}
    assert commands == typed, "a command with --json needs its result type in lutsim.schema.COMMAND_RESULTS"


def _out(capsys, argv) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def _argv(name: str, tiny: str, tmp_path) -> list[list[str]]:
    other = _other_argv(name, tiny, tmp_path)
    if other is not None:
        return other
    if name == "simulate":
        return [["simulate", "--arch", a, "--model", tiny, "--quant", q, "--phase", ph, "--seq-len", "16", "--json"]
                for a, q, ph in (("lut-tc-28nm", "w4a16-g128", "decode"), ("lut-tc-28nm", "w4a16-g128", "prefill"),
                                 ("bitmod-28nm", "bitmod-lossy", "decode"), ("fp16-mac-28nm", "fp16", "decode"))]
    if name == "run":
        return [["run", "examples/lmma_tile.s", "--arch", "lut-tc-28nm", "--json", "--per-instruction"],
                ["run", "examples/lmma_tile.s", "--arch", "lut-tc-28nm", "--json"]]
    if name == "demo":
        return [["demo", "--json"]]
    if name == "roofline":
        return [["roofline", "--gpu", "h100-sxm", "--model", tiny, "--quant", "mxfp4", "--phase", "decode", "--json"],
                ["roofline", "--gpu", "a100-40g", "--model", "llama-2-7b", "--phase", "prefill", "--compat",
                 "llm-viewer", "--json"]]
    spec = tmp_path / "toy.yaml"
    spec.write_text(yaml.safe_dump({"name": "toy", "base_arch": "toy-arch", "axes": {"x": [1, 2], "y": [1, 13]},
                                    "workloads": [{"n": 10}],
                                    "evaluator": "tests.lutsim.sweep_fixtures:toy_evaluate"}))
    run = ["sweep", str(spec), "--out", str(tmp_path / "out"), "--jobs", "1", "--json",
           "--allow-evaluator-import", "tests.lutsim.sweep_fixtures:toy_evaluate"]
    return [run + ["--dry-run"]] if name == "sweep --dry-run" else [run]


def _other_argv(name: str, tiny: str, tmp_path) -> list[list[str]] | None:
    """The commands outside the simulation pipeline (None for the pipeline's)."""
    gemm = ["gemm", "--pe", "lut-tc", "--m", "3", "--n", "20", "--k", "24", "--json"]
    if name == "accuracy":
        write_checkpoint(tmp_path / "ck", shards=1)
        return [["accuracy", "--weights", str(tmp_path / "ck"), "--formats", "int4,mxfp4", "--tokens", "8", "--json"]]
    return {"gemm": [gemm, gemm + ["--check"], gemm + ["--check", "--acts", "fp16", "--option", "table_quant=true"],
                     ["gemm", "--pe", "int8-systolic", "--m", "9", "--n", "40", "--k", "24", "--mode", "scalesim",
                      "--check", "--json"]],
            "compat bitmod": [["compat", "bitmod", "--model", "llama-2-7b", "--design", "bitmod-lossy", "--phase",
                               "decode", "--json"]],
            "compat scalesim": [["compat", "scalesim", "--m", "64", "--n", "70", "--k", "90", "--json"]],
            "trace": [["trace", "--model", tiny, "--quant", "w4a16-g128", "--phase", "prefill", "--seq-len", "8",
                       "--json"], ["trace", "--model", "mixtral-8x7b", "--phase", "decode", "--json"]],
            "arch list": [["arch", "list", "--json"]],
            "arch show": [["arch", "show", "lut-tc-28nm", "--json"], ["arch", "show", "int8-systolic-28nm", "--json"]],
            "rtl designs": [["rtl", "designs", "--json"]],
            "rtl verilog": [["rtl", "verilog", "--design", "mac-int8", "--out", str(tmp_path), "--json"]],
            "rtl synth": [["rtl", "synth", "--design", "mac-int8", "--target", t, "--json"] for t in STAT],
            "rtl fpga": [["rtl", "fpga", "--design", d, "--json"] for d in ("mac-int8", "table-precompute")],
            "models": [["models", "--json"]], "recipes": [["recipes", "--json"]],
            "compare": [["compare", "--designs", "lut-tc-28nm,olive-28nm", "--model", tiny, "--quant", "w4a16-g128",
                         "--phase", "decode", "--kv-len", "16", "--json"]]}.get(name)


@pytest.mark.parametrize("name", sorted(COMMAND_RESULTS))
def test_json_output_fits_the_schema(name, tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(synth, "run_yosys", lambda text, top, target, timeout_s: STAT[target])  # no yosys needed
    monkeypatch.setattr(fpga, "place_and_route", lambda *a, **kw: PNR)                            # nor nextpnr
    schema = schema_of(COMMAND_RESULTS[name])
    for argv in _argv(name, tiny, tmp_path):
        out = _out(capsys, argv)
        assert validate(out, schema) is None, argv
        assert to_dict(load(COMMAND_RESULTS[name], out)) == out  # the result type round-trips its JSON


def test_optional_check_fields_and_fpga_classes_appear_only_when_computed(capsys, monkeypatch):
    gemm = ["gemm", "--pe", "lut-tc", "--m", "3", "--n", "20", "--k", "24", "--json"]
    assert "exact" not in _out(capsys, gemm) and _out(capsys, gemm + ["--check"])["exact"] is True
    monkeypatch.setattr(synth, "run_yosys", lambda text, top, target, timeout_s: STAT[target])
    ge = _out(capsys, ["rtl", "synth", "--design", "mac-int8", "--target", "generic", "--json"])
    ice = _out(capsys, ["rtl", "synth", "--design", "mac-int8", "--target", "ice40", "--json"])
    assert list(ge)[-2:] == ["ge", "ff"] and ge["ff"] == 3 and "lut" not in ge
    assert list(ice)[-8:] == ["lut", "ff", "carry", "dsp", "bram", "lutram", "mux", "other"] and "ge" not in ice
    assert (ice["lut"], ice["ff"], ice["carry"]) == (5, 3, 2)


@dataclass
class _Keyed(results.Result):
    weights_g: float = json_key("weights (G)")
    note: str = omitted_when("")


def test_json_key_names_the_field_in_json_and_schema():
    assert _Keyed(1.5).to_dict() == {"weights (G)": 1.5}
    assert _Keyed.from_dict({"weights (G)": 2.0, "note": "x"}) == _Keyed(2.0, "x")
    s = schema_of(_Keyed)
    assert s["required"] == ["weights (G)"] and set(s["properties"]) == {"weights (G)", "note"}
    with pytest.raises(TypeError, match="unknown field"):
        _Keyed.from_dict({"weights_g": 1.0})


def test_a_list_result_and_tuples_in_a_spec():
    s = schema_of(list[results.RecipeRow])
    assert s["type"] == "array" and s["items"] == {"$ref": "#/$defs/RecipeRow"}
    arch = schema_of(COMMAND_RESULTS["arch show"])
    assert arch["$defs"]["PESpec"]["properties"]["tile"]["anyOf"][0] == {"type": "array", "items": {"type": "integer"}}
    assert arch["properties"]["buffers"] == {"type": "array", "items": {"$ref": "#/$defs/Buffer"}}


def test_optional_fields_are_optional_and_others_required():
    s = schema_of(SimResult)
    row, totals = s["$defs"]["OpRow"], s["$defs"]["Totals"]
    assert {"roofline_cycles", "tile", "search", "note"}.isdisjoint(row["required"])
    assert {"name", "cycles", "stalls", "energy_pj"} <= set(row["required"])
    assert "ttft_ms" not in totals["required"] and "peak_ops_per_s" in totals["required"]
    assert totals["properties"]["peak_ops_per_s"]["anyOf"][-1] == {"type": "null"}
    assert s["properties"]["energy_breakdown_pj"]["type"] == "object"


def test_validator_finds_missing_mistyped_and_unexpected_fields():
    s = schema_of(results.SweepPlan)
    good = {"points": 4, "workloads": 1, "rows": 4, "already_done": 0, "to_compute": 4}
    assert validate(good, s) is None
    assert "missing field 'rows'" in validate({k: v for k, v in good.items() if k != "rows"}, s)
    assert "expected integer" in validate({**good, "rows": "four"}, s)
    assert "unexpected field 'extra'" in validate({**good, "extra": 1}, s)
    assert validate({**good, "extra": 1}, s, extra_ok=True) is None
    s = schema_of(results.RooflineTotal)
    assert validate({"latency_ms": "inf", "ops": 1, "bytes": 2.5}, s) is None  # how --json writes non-finite
    assert "matches none" in validate({"latency_ms": "fast", "ops": 1, "bytes": 2.5}, s)


def test_check_result_names_the_field():
    with pytest.raises(ValueError, match=r"stats\[0\]: missing field 'model' \(is this"):
        check_result({"arch": "a"}, SimResult, "stats[0]", " (is this the JSON of 'lutsim simulate --json'?)")


def test_schema_module_prints_a_schema(capsys):
    from lutsim.schema import main as schema_main

    assert schema_main(["sweep", "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "lutsim sweep --dry-run --json"
    assert schema_main(["nothing"]) == 2
