"""Every command's ``--json`` output fits the JSON schema generated from its result dataclass
(:mod:`lutsim.schema`; validated with its own small validator), and the generator and validator themselves."""

from __future__ import annotations

import argparse
import json

import pytest
import yaml

from lutsim import results
from lutsim.cli import build_parser, main
from lutsim.results import SimResult
from lutsim.schema import COMMAND_RESULTS, check_result, schema_of, validate

#: commands whose --json output is not yet built from a result dataclass: their dicts come from sim.pe (gemm),
#: sim.compat (compat), workloads.trace (trace), sim.arch (arch) and rtl (rtl), whose owners type them next
NOT_TYPED = {"gemm", "compat bitmod", "compat scalesim", "trace", "arch list", "arch show", "rtl designs",
             "rtl verilog", "rtl synth", "accuracy", "models", "recipes"}


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


def test_every_json_command_has_a_schema_or_is_listed():
    commands = _json_commands(build_parser())
    typed = {c for c in COMMAND_RESULTS if c != "sweep --dry-run"}
    assert commands == typed | NOT_TYPED, "a command with --json needs its result class in COMMAND_RESULTS"


def _out(capsys, argv) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def _argv(name: str, tiny: str, tmp_path) -> list[list[str]]:
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


@pytest.mark.parametrize("name", sorted(COMMAND_RESULTS))
def test_json_output_fits_the_schema(name, tiny, tmp_path, capsys):
    schema = schema_of(COMMAND_RESULTS[name])
    for argv in _argv(name, tiny, tmp_path):
        out = _out(capsys, argv)
        assert validate(out, schema) is None, argv
        assert COMMAND_RESULTS[name].from_dict(out).to_dict() == out  # the dataclass round-trips its JSON


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
