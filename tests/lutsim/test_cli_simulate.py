"""CLI: ``lutsim simulate`` — JSON in the stats schema, CSV, the table, every preset × recipe (a result or a
clear error, exit 2), and bad input."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from lutsim.cli import main
from lutsim.results import SimResult
from lutsim.schema import schema_of, validate
from sim import arch
from workloads import recipes

OLIVE_RECIPE = "weights: {format: olive4}\nactivations: {format: int8}\nkv_cache: {format: fp16}\n" \
               "lm_head: {format: fp16}\nsource: test recipe for the OliVe PE (olive4 weights, int8 activations)\n"


def _json(capsys, argv) -> dict:
    assert main(argv) == 0
    stats = json.loads(capsys.readouterr().out)
    assert validate(stats, schema_of(SimResult)) is None
    return stats


def _check_totals(stats: dict) -> None:
    t = stats["totals"]
    for k in ("cycles", "latency_ms", "tokens_per_s", "energy_per_token_mj", "area_mm2", "power_w", "peak_ops_per_s",
              "dram_bytes_per_s"):
        assert isinstance(t[k], (int, float)) and t[k] > 0, k
    assert stats["assumptions"]["clock_hz"] > 0 and stats["ops"]


def test_llama_2_7b_decode_on_lut_tc_json(capsys):
    s = _json(capsys, ["simulate", "--arch", "lut-tc-28nm", "--model", "llama-2-7b", "--quant", "w4a16-g128",
                       "--phase", "decode", "--kv-len", "1024", "--json"])
    _check_totals(s)
    assert s["kv_len"] == 1024 and s["phase"] == "decode" and "ttft_ms" not in s["totals"]
    rows = {r["name"]: r for r in s["ops"]}
    assert rows["q_proj"]["repeat"] == 32 and rows["q_proj"]["bound"] == "memory"
    assert s["totals"]["cycles"] == sum(r["cycles"] * r["repeat"] for r in s["ops"])


def test_llama_2_7b_prefill_on_lut_tc_json(capsys):
    s = _json(capsys, ["simulate", "--arch", "lut-tc-28nm", "--model", "llama-2-7b", "--quant", "w4a16-g128",
                       "--phase", "prefill", "--seq-len", "128", "--json"])
    _check_totals(s)
    assert s["totals"]["ttft_ms"] == s["totals"]["latency_ms"] and s["seq_len"] == 128


def test_subprocess_json_exit_0(tiny):
    r = subprocess.run([sys.executable, "-m", "lutsim", "simulate", "--arch", "lut-tc-28nm", "--model", tiny,
                        "--quant", "w2a16-g64", "--phase", "decode", "--kv-len", "64", "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    _check_totals(json.loads(r.stdout))


@pytest.mark.parametrize("preset", arch.names())
def test_every_preset_with_every_recipe_runs_or_fails_clearly(preset, tiny, tmp_path, capsys):
    olive = tmp_path / "olive.yaml"
    olive.write_text(OLIVE_RECIPE)
    ok = 0
    for quant in [*recipes.names(), str(olive)]:
        rc = main(["simulate", "--arch", preset, "--model", tiny, "--quant", quant, "--phase", "decode",
                   "--kv-len", "32", "--json"])
        out, err = capsys.readouterr()
        if rc == 0:
            _check_totals(json.loads(out))
            ok += 1
        else:
            assert rc == 2, (quant, err)
            line = err.strip()
            assert line.startswith("error:") and "\n" not in line and "allowed" in line, (quant, line)
    assert ok >= 1  # every preset runs at least one recipe


def test_csv_has_one_row_per_op(tiny, capsys):
    assert main(["simulate", "--arch", "int8-systolic-28nm", "--model", tiny, "--quant", "w8a8", "--phase",
                 "prefill", "--seq-len", "32", "--csv", "--attention", "fused"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["name"] for r in rows][:2] == ["attn_norm", "q_proj"]
    fused = {r["name"]: r for r in rows if r["schedule"]}
    assert fused["attn_qk"]["unit"] == "matrix" and fused["attn_qk"]["schedule"].startswith("fused flash")
    assert fused["softmax"]["schedule"] == fused["attn_sv"]["schedule"] == "in attn_qk (fused)"
    assert all(int(r["cycles"]) > 0 for r in rows if r["name"] not in ("softmax", "attn_sv"))
    assert int(fused["softmax"]["cycles"]) == int(fused["attn_sv"]["cycles"]) == 0  # inside attn_qk's program


def test_table_output_names_totals(tiny, capsys):
    assert main(["simulate", "--arch", "lut-tc-28nm", "--model", tiny, "--quant", "w4a16-g128", "--phase",
                 "prefill", "--seq-len", "32"]) == 0
    out = capsys.readouterr().out
    for word in ("latency", "tokens/s", "time to first token", "J/token", "mm²", "W", "q_proj", "assumptions:",
                 "pJ/bit", "clock", "util (%)", "energy (µJ)"):
        assert word in out
    assert "…" not in out and "e+" not in out  # nothing cut, human-scaled values


@pytest.mark.parametrize("argv,field", [
    (["--arch", "no-such-arch"], "--arch"),
    (["--model", "no-such-model"], "model"),
    (["--quant", "no-such-recipe"], "quant"),
    (["--phase", "training"], "phase"),
    (["--seq-len", "-4"], "seq-len"),
    (["--arch", "int8-systolic-28nm", "--quant", "mxfp4"], "q_proj"),
])
def test_bad_input_exit_2_one_line(argv, field, tiny, capsys):
    base = {"--arch": "lut-tc-28nm", "--model": tiny, "--quant": "w4a16-g128", "--phase": "prefill",
            "--seq-len": "16"}
    base.update(dict(zip(argv[::2], argv[1::2])))
    assert main(["simulate", *[x for kv in base.items() for x in kv]]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and field in err and "Traceback" not in err


def test_emit_asm_programs_rerun_to_the_same_cycles(tiny, tmp_path, capsys):
    out = tmp_path / "asm"
    s = _json(capsys, ["simulate", "--arch", "lut-tc-28nm", "--model", tiny, "--quant", "w4a16-g128", "--phase",
                       "decode", "--kv-len", "32", "--json", "--emit-asm", str(out)])
    files = sorted(out.glob("*.s"))
    assert [f.name.split("_", 1)[1][:-2] for f in files] == [r["name"] for r in s["ops"]]
    q = next(f for f in files if f.name.endswith("_q_proj.s"))
    assert main(["run", str(q), "--arch", "lut-tc-28nm", "--json"]) == 0
    rerun = json.loads(capsys.readouterr().out)
    row = next(r for r in s["ops"] if r["name"] == "q_proj")
    assert rerun["cycles"] == row["cycles"] and rerun["instructions"] == row["instructions"]


def test_same_json_bit_for_bit_across_processes_and_hash_seeds(tiny):
    import os

    outs = []
    for seed in ("1", "2"):
        r = subprocess.run([sys.executable, "-m", "lutsim", "simulate", "--arch", "lut-tc-28nm", "--model", tiny,
                            "--quant", "w4a8kv4", "--phase", "prefill", "--seq-len", "64", "--batch", "2", "--json"],
                           capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed})
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout)
    assert outs[0] == outs[1]
