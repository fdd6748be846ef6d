"""``lutsim accuracy`` on checkpoints the tests write (several shards, bf16 and fp16 tensors)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from lutsim.cli import main
from tests.workloads.checkpoint_fixtures import LLAMA_CONFIG, checkpoint_tensors, write_checkpoint

FORMATS = "int4,mxfp4,nvfp4,bitmod_fp4,nf4,any4"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    d = tmp_path_factory.mktemp("ck") / "tiny-llama"
    write_checkpoint(d, shards=3)
    return d


def test_csv_and_json(ckpt, tmp_path, capsys):
    out = tmp_path / "rows.csv"
    assert main(["accuracy", "--weights", str(ckpt), "--formats", FORMATS, "--out", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == len(doc["layers"]) == 14 * 6
    assert [s["format"] for s in doc["summary"]] == FORMATS.split(",")
    for s in doc["summary"]:
        sq = [r["weight_sqnr_db"] for r in doc["layers"] if r["format"] == s["format"]]
        assert s["worst_weight_sqnr_db"] == min(sq) and s["mean_weight_sqnr_db"] == pytest.approx(np.mean(sq))
        assert 10 < s["mean_weight_sqnr_db"] < 30  # 4-bit formats on heavy-tailed rows
    bits = {s["format"]: s["bits_per_element"] for s in doc["summary"]}
    assert bits["mxfp4"] == 4.25 and bits["nvfp4"] == 4.5 and bits["bitmod_fp4"] == 4.0625
    assert {r["acts_source"] for r in rows} == {"synthetic"}


def test_a_fresh_lutsim_process_reads_bf16_shards(ckpt, tmp_path):
    """As a user runs it: a new process, where nothing has imported ml_dtypes before the bf16 shards are read
    (this test process has, through the checkpoint writer)."""
    out = tmp_path / "rows.csv"
    r = subprocess.run([sys.executable, "-m", "lutsim", "accuracy", "--weights", str(ckpt), "--formats", "int4",
                        "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert len(list(csv.DictReader(out.open()))) == 14


def test_table_output_and_group_size(ckpt, capsys):
    assert main(["accuracy", "--weights", str(ckpt), "--formats", "int4,int8", "--group-size", "32"]) == 0
    text = capsys.readouterr().out
    assert "Model summary" in text and "int8" in text


def test_calibration_file_is_used_where_it_has_the_layer(ckpt, tmp_path, capsys):
    calib = tmp_path / "calib.npz"
    x = np.random.default_rng(0).standard_normal((3, 5, 64)).astype(np.float32)
    np.savez(calib, **{"model.layers.0.self_attn.q_proj": x})
    assert main(["accuracy", "--weights", str(ckpt), "--formats", "int4", "--calib", str(calib), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["layers"]
    assert [r["acts_source"] for r in rows].count("calibration") == 1
    assert rows[0]["acts_source"] == "calibration"


@pytest.mark.parametrize("argv, needle", [
    (["--formats", "int4,nope"], "unknown format 'nope'"),
    (["--formats", "int4", "--acts", "int99"], "--acts"),
    (["--formats", "int4", "--group-size", "48"], "--group-size: 48"),
    (["--formats", "int4", "--group-size", "0"], "--group-size"),
    (["--formats", "int4", "--calib", "/nonexistent/c.npz"], "--calib"),
    (["--formats", "int4", "--out", "/nonexistent/dir/x.csv"], "--out"),
])
def test_bad_flags_exit_2_with_one_error_line(ckpt, capsys, argv, needle):
    assert main(["accuracy", "--weights", str(ckpt), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0]


def _missing_shard(d):
    (d / "model-00001-of-00002.safetensors").unlink()
    return "model-00001-of-00002.safetensors"


def _shape_mismatch(d):
    (d / "config.json").write_text(json.dumps({**LLAMA_CONFIG, "intermediate_size": 96}))
    return "config.json implies [96, 64]"


def _unknown_dtype(d):
    t = checkpoint_tensors(LLAMA_CONFIG)
    t["model.layers.1.mlp.up_proj.weight"] = t["model.layers.1.mlp.up_proj.weight"].view(np.int16)
    write_checkpoint(d, shards=2, tensors=t)
    return "model.layers.1.mlp.up_proj.weight' in"


@pytest.mark.parametrize("breakage", [_missing_shard, _shape_mismatch, _unknown_dtype])
def test_bad_checkpoints_exit_2_and_write_nothing(tmp_path, capsys, breakage):
    d = tmp_path / "m"
    write_checkpoint(d, shards=2)
    needle = breakage(d)
    out = tmp_path / "rows.csv"
    assert main(["accuracy", "--weights", str(d), "--formats", "int4", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --weights: ") and needle in err[0], err
    assert not out.exists()  # nothing half-written
