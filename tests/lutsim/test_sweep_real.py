"""Sweeps with the real evaluator (lutsim.api.evaluate) on examples/sweeps/lut_tc_tiny.yaml: local processes,
a Dask LocalCluster and the CLI give identical rows, bit for bit, and invalid points are recorded with a reason."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import compiler
from lutsim.api import apply_params, evaluate
from lutsim.cli import main
from lutsim.sweep import load_results, load_spec, run_sweep
from sim.arch import from_dict
from sim.arch import load as load_arch

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "examples" / "sweeps" / "lut_tc_tiny.yaml"
FULL = ROOT / "examples" / "sweeps" / "lut_tc_decode.yaml"


def _check_rows(df: pd.DataFrame, spec) -> None:
    assert len(df) == len(spec.tasks()) and not df.duplicated(["point_id", "workload_id"]).any()
    bad_k = df["p.pe.tile"].str.endswith("16]")
    assert (df.loc[bad_k, "status"] == "skipped").all()
    assert df.loc[bad_k, "reason"].str.contains("K in").all()
    over = df["area_mm2"] > spec.constraints["area_mm2"]
    assert over.any() and (df.loc[over, "status"] == "skipped").all()
    assert df.loc[over, "reason"].str.startswith("constraint: area_mm2").all()
    ok = df[df["status"] == "ok"]
    assert len(ok) > 0 and (ok["area_mm2"] <= spec.constraints["area_mm2"]).all()
    assert (ok["power_w"] <= spec.constraints["power_w"]).all() and (ok["tokens_per_s"] > 0).all()
    assert (df["status"] != "error").all(), df.loc[df["status"] == "error", "reason"].tolist()


def test_tiny_spec_serial_and_cli_on_a_dask_local_cluster_rows_identical_bit_for_bit(tmp_path):
    distributed = pytest.importorskip("distributed")
    spec = load_spec(TINY)
    run_sweep(spec, tmp_path / "serial", jobs=1, progress=False)
    serial = load_results(tmp_path / "serial")
    _check_rows(serial, spec)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                                  processes=True) as cluster:
        assert main(["sweep", str(TINY), "--out", str(tmp_path / "dask"), "--scheduler", cluster.scheduler_address,
                     "--chunk-size", "3", "--json"]) == 0
    pd.testing.assert_frame_equal(serial, load_results(tmp_path / "dask"), check_exact=True)


def test_cli_with_two_local_workers_is_deterministic_across_runs(tmp_path):
    """A CLI run (fresh worker processes) and two in-process runs (cold, then warm caches) agree bit for bit."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "lutsim", "sweep", str(TINY), "--out", str(tmp_path / "cli"), "--jobs", "2",
                    "--chunk-size", "2", "--json"], check=True, cwd=ROOT, env=env, capture_output=True)
    cli = load_results(tmp_path / "cli")
    _check_rows(cli, load_spec(TINY))
    compiler.clear_caches()
    for name in ("cold", "warm"):
        run_sweep(load_spec(TINY), tmp_path / name, jobs=1, progress=False)
        pd.testing.assert_frame_equal(cli, load_results(tmp_path / name), check_exact=True)


def test_clock_node_and_energy_axes_reuse_programs_with_the_same_results_as_a_fresh_process():
    """Points that differ only in untimed fields share lowered programs; the metrics equal a cold compile."""
    work = {"model": "llama-2-7b", "quant": "w4a16-g128", "phase": "decode", "kv_len": 256}
    params = {"clock_mhz": 700, "node_nm": 16, "dram.pj_per_bit": 9.5, "pnr_factor": 1.2}
    compiler.clear_caches()
    cold = evaluate("lut-tc-28nm", params, work)
    compiler.clear_caches()
    evaluate("lut-tc-28nm", {}, work)
    warm = evaluate("lut-tc-28nm", params, work)
    assert warm == cold
    base = evaluate("lut-tc-28nm", {}, work)
    assert warm["tokens_per_s"] == pytest.approx(base["tokens_per_s"] * 0.7)  # same cycles at 700 of 1000 MHz
    assert warm["energy.dram"] < base["energy.dram"]


def test_full_example_spec_axes_are_all_valid_arch_paths():
    spec = load_spec(FULL)
    assert len(spec.tasks()) == len(spec.points()) * len(spec.workloads) > 1000
    assert set(spec.constraints) == {"area_mm2", "power_w"}
    base = load_arch(spec.base_arch).to_dict()
    for path, values in spec.axes.items():
        archs = {str(from_dict(apply_params(base, {path: v})).to_dict()) for v in values}
        assert len(archs) == len(values), f"{path}: some values give the same arch"


def test_entry_bits_too_narrow_for_the_activations_are_skipped_rows_with_the_reason(tmp_path):
    from lutsim.sweep.spec import parse_spec

    spec = parse_spec({"name": "entry-bits", "base_arch": "lut-tc-28nm", "axes": {"table_unit.entry_bits": [8, 10, 16]},
                       "workloads": [{"model": "llama-2-7b", "quant": q, "phase": "decode", "kv_len": 128}
                                     for q in ("w4a16-g128", "w4a8kv4")]})
    run_sweep(spec, tmp_path, jobs=1, progress=False)
    df = load_results(tmp_path)
    status = {(int(r["p.table_unit.entry_bits"]), r["w.quant"]): r["status"] for _, r in df.iterrows()}
    assert status == {(8, "w4a16-g128"): "skipped", (10, "w4a16-g128"): "skipped", (16, "w4a16-g128"): "ok",
                      (8, "w4a8kv4"): "skipped", (10, "w4a8kv4"): "ok", (16, "w4a8kv4"): "ok"}
    skipped = df[df["status"] == "skipped"]
    assert skipped["reason"].str.contains("arch.table_unit.entry_bits").all()
    reasons = skipped["reason"].str
    assert reasons.contains("16 or more").sum() == 2 and reasons.contains("10 or more").sum() == 1
    ok = df[df["status"] == "ok"].set_index("w.quant")
    wide = ok["p.table_unit.entry_bits"] == 16
    assert ok.loc[wide, "area_mm2"].loc["w4a8kv4"] > ok.loc[~wide, "area_mm2"].loc["w4a8kv4"]  # wider tables, more area


def test_resuming_after_the_base_arch_file_changed_exits_2_and_names_it(tmp_path, capsys):
    """An edited arch YAML would make the old rows a different design: the CLI refuses to resume into them."""
    arch_file = tmp_path / "mine.yaml"
    text = (ROOT / "sim" / "arch" / "presets" / "lut-tc-28nm.yaml").read_text()
    arch_file.write_text(text)
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"name: mine\nbase_arch: {arch_file}\naxes: {{arrays: [8]}}\n"
                    "workloads: [{model: llama-2-7b, quant: w4a16-g128, phase: decode, kv_len: 128}]\n")
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--jobs", "1", "--json"]) == 0
    arch_file.write_text(text.replace("clock_mhz: 1000", "clock_mhz: 900"))
    assert main(["sweep", str(spec), "--out", str(out), "--jobs", "1", "--json"]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "base_arch_spec" in err
    assert len(load_results(out)) == 1


def test_an_axis_that_names_no_arch_field_is_an_input_error_before_anything_runs(tmp_path):
    from lutsim.sweep.spec import parse_spec
    from sim.errors import InputError

    spec = parse_spec({"name": "typo", "base_arch": "lut-tc-28nm",
                       "axes": {"arrays": [8], "dram.bandwidth_bits_per_cycle": [256]},
                       "workloads": [{"model": "llama-2-7b", "quant": "w4a16-g128", "phase": "decode"}]})
    with pytest.raises(InputError) as exc:
        run_sweep(spec, tmp_path / "out", jobs=1, progress=False)
    assert exc.value.field == "axes.dram.bandwidth_bits_per_cycle" and "bandwidth" in exc.value.allowed
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("bad,field", [({"model": "llama2-7b"}, "workloads[1].model"),
                                       ({"phase": "decod"}, "workloads[1].phase"),
                                       ({"kvlen": 3}, "workloads[1].kvlen"),
                                       ({"phase": "prefill", "seq_len": -1}, "workloads[1].seq_len")])
def test_a_workload_that_cannot_be_traced_is_an_input_error_naming_it(tmp_path, bad, field):
    from lutsim.sweep.spec import parse_spec
    from sim.errors import InputError

    good = {"model": "llama-2-7b", "quant": "w4a16-g128", "phase": "decode"}
    with pytest.raises(InputError) as exc:  # caught by parse_spec (bounds) or before the run (the trace)
        spec = parse_spec({"name": "typo", "base_arch": "lut-tc-28nm", "axes": {"arrays": [8]},
                           "workloads": [good, {**good, **bad}]})
        run_sweep(spec, tmp_path / "out", jobs=1, progress=False)
    assert exc.value.field.removeprefix("spec.") == field
    assert not (tmp_path / "out").exists()
