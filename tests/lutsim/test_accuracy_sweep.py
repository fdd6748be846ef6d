"""The accuracy sweep evaluator (lutsim.sweep.accuracy_eval) and its Pareto figures (reports.accuracy_figures)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from lutsim.sweep import load_results, load_spec, parse_spec, run_sweep
from lutsim.sweep.accuracy_eval import COLUMNS, accuracy_columns, evaluate
from reports.accuracy_figures import accuracy_figures, accuracy_rows
from sim.errors import InputError
from tests.workloads.checkpoint_fixtures import write_checkpoint

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "sweeps" / "accuracy_vs_efficiency.yaml"
SYNTH = {"model": "llama-2-7b", "phase": "decode", "kv_len": 128, "accuracy_rows": 8, "accuracy_tokens": 16}


def test_columns_follow_the_recipe_and_fewer_bits_cost_accuracy():
    a = accuracy_columns({**SYNTH, "quant": "w4a16-g128"})
    b = accuracy_columns({**SYNTH, "quant": "w2a16-g64"})
    assert set(a) == set(COLUMNS)
    assert (a["accuracy.weight_format"], a["accuracy.group_size"], a["accuracy.act_format"]) == \
        ("int4_asym", 128, "fp16")
    assert a["accuracy.bits_per_element"] == 4 + 20 / 128 and a["accuracy.layers"] == 7
    assert a["accuracy.weight_sqnr_db"] > b["accuracy.weight_sqnr_db"] + 6
    assert a["accuracy.output_rel_error"] < b["accuracy.output_rel_error"]
    assert a["accuracy.worst_weight_sqnr_db"] <= a["accuracy.weight_sqnr_db"]


def test_a_format_without_a_quantizer_gets_nan_and_says_why(tmp_path):
    recipe = tmp_path / "lossless.yaml"
    recipe.write_text("weights: {format: bitmod_int6, group_size: 128}\nactivations: {format: fp16}\n"
                      "kv_cache: {format: fp16}\n")
    c = accuracy_columns({**SYNTH, "quant": str(recipe)})
    assert math.isnan(c["accuracy.weight_sqnr_db"]) and "bitmod_int6" in c["accuracy.source"]


def test_evaluator_on_a_checkpoint_adds_columns_to_the_efficiency_row(tmp_path):
    write_checkpoint(tmp_path / "m", shards=2)
    row = evaluate("lut-tc-28nm", {"arrays": 8},
                   {**SYNTH, "quant": "w2a16-g64", "accuracy_weights": str(tmp_path / "m")})
    assert row["energy_per_token_mj"] > 0 and row["tokens_per_s"] > 0
    assert row["accuracy.layers"] == 14 and row["accuracy.source"].startswith("checkpoint")
    assert 0 < row["accuracy.output_rel_error"] < 1


def test_example_spec_uses_the_evaluator_and_a_trimmed_run_draws_both_fronts(tmp_path):
    spec = load_spec(SPEC)
    assert spec.evaluator == "lutsim.sweep.accuracy_eval:evaluate" and len(spec.tasks()) == 20
    small = parse_spec({"name": "t", "base_arch": spec.base_arch, "axes": {"arrays": [8, 16]},
                        "evaluator": spec.evaluator,
                        "workloads": [{**w, "accuracy_rows": 8, "accuracy_tokens": 16} for w in spec.workloads[:2]]})
    summary = run_sweep(small, tmp_path / "run", jobs=1, progress=False)
    assert summary["ok"] == 4
    df = load_results(tmp_path / "run")
    figs = accuracy_figures(df)
    assert set(figs) == {"accuracy_vs_energy", "accuracy_vs_throughput"}
    for name, fig in figs.items():
        fig.savefig(tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000


def test_figures_need_accuracy_columns():
    df = pd.DataFrame({"status": ["ok"], "energy_per_token_mj": [1.0], "tokens_per_s": [2.0], "design": ["d"]})
    with pytest.raises(InputError, match="evaluator: accuracy"):
        accuracy_rows(df)
