import itertools
import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from lutsim.sweep import load_results, parse_spec, run_sweep
from sim.errors import InputError

SPEC = {
    "name": "toy",
    "base_arch": "toy-arch",
    "axes": {"x": [-1, 1, 2, 3], "y": [1, 2, 13]},
    "workloads": [{"n": 10}, {"n": 20}],
    "constraints": {"area_mm2": 5},
    "evaluator": "tests.lutsim.sweep_fixtures:toy_evaluate",
}
#: the test evaluators are import paths: allowed explicitly, as a user would with --allow-evaluator-import
TRUST = ("tests.lutsim.sweep_fixtures:toy_evaluate", "tests.lutsim.sweep_fixtures:slow_evaluate")


def test_grid_runs_every_point_and_records_skips_and_errors(tmp_path):
    summary = run_sweep(parse_spec(SPEC), tmp_path, jobs=1, progress=False, allow_imports=TRUST)
    df = load_results(tmp_path)
    assert len(df) == 4 * 3 * 2 == summary["rows"]
    assert not df.duplicated(["point_id", "workload_id"]).any()
    neg = df[df["p.x"] == -1]
    assert (neg["status"] == "skipped").all() and neg["reason"].str.contains("x must be").all()
    assert (df[(df["p.y"] == 13) & (df["p.x"] >= 0)]["status"] == "error").all()
    big = df[(df["p.x"] == 3) & (df["p.y"] == 2)]
    assert (big["status"] == "skipped").all() and big["reason"].str.contains("area_mm2 6 > 5").all()
    ok = df[df["status"] == "ok"]
    assert (ok["area_mm2"] == ok["p.x"] * ok["p.y"]).all()


def test_rerun_resumes_without_recomputing(tmp_path):
    run_sweep(parse_spec(SPEC), tmp_path, jobs=1, progress=False, allow_imports=TRUST)
    before = load_results(tmp_path)
    again = run_sweep(parse_spec(SPEC), tmp_path, jobs=1, progress=False, allow_imports=TRUST)
    assert again["new_rows"] == 0 and again["already_done"] == len(before)
    pd.testing.assert_frame_equal(load_results(tmp_path), before)


def test_resume_with_other_constraints_is_refused_and_writes_nothing(tmp_path):
    run_sweep(parse_spec(SPEC), tmp_path, jobs=1, progress=False, allow_imports=TRUST)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(InputError) as exc:
        run_sweep(parse_spec({**SPEC, "constraints": {"area_mm2": 7}}), tmp_path, jobs=1, progress=False,
                  allow_imports=TRUST)
    assert exc.value.field == "--out" and "constraints" in exc.value.problem
    with pytest.raises(InputError, match="evaluator"):
        run_sweep(parse_spec({**SPEC, "evaluator": "tests.lutsim.sweep_fixtures:slow_evaluate"}), tmp_path, jobs=1,
                  progress=False, allow_imports=TRUST)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_added_axis_values_and_workloads_resume_with_only_the_new_rows(tmp_path):
    run_sweep(parse_spec(SPEC), tmp_path, jobs=1, progress=False, allow_imports=TRUST)
    before = load_results(tmp_path)
    grown = {**SPEC, "axes": {**SPEC["axes"], "x": [-1, 1, 2, 3, 4]}, "workloads": SPEC["workloads"] + [{"n": 30}]}
    summary = run_sweep(parse_spec(grown), tmp_path, jobs=1, progress=False, allow_imports=TRUST)
    assert summary["already_done"] == len(before) == 24
    assert summary["new_rows"] == 5 * 3 * 3 - 24 and summary["rows"] == 45
    after = load_results(tmp_path)
    assert not after.duplicated(["point_id", "workload_id"]).any()
    old = after.merge(before[["point_id", "workload_id"]], on=["point_id", "workload_id"])
    pd.testing.assert_frame_equal(old[before.columns].reset_index(drop=True), before, check_dtype=False)


def test_local_processes_give_the_same_rows_as_serial(tmp_path):
    run_sweep(parse_spec(SPEC), tmp_path / "serial", jobs=1, progress=False, allow_imports=TRUST)
    run_sweep(parse_spec(SPEC), tmp_path / "pool", jobs=2, chunk_size=2, progress=False, allow_imports=TRUST)
    pd.testing.assert_frame_equal(load_results(tmp_path / "serial"), load_results(tmp_path / "pool"))


def test_dask_local_cluster_gives_identical_rows(tmp_path):
    distributed = pytest.importorskip("distributed")
    run_sweep(parse_spec(SPEC), tmp_path / "serial", jobs=1, progress=False, allow_imports=TRUST)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster:
        run_sweep(parse_spec(SPEC), tmp_path / "dask", scheduler=cluster.scheduler_address,
                  chunk_size=3, progress=False, allow_imports=TRUST)
    pd.testing.assert_frame_equal(load_results(tmp_path / "serial"), load_results(tmp_path / "dask"))


def test_killed_sweep_resumes_with_no_gaps_and_no_duplicates(tmp_path):
    spec = dict(SPEC, axes={"x": list(range(1, 21)), "y": [1, 2]}, constraints={},
                evaluator="tests.lutsim.sweep_fixtures:slow_evaluate")
    code = textwrap.dedent(f"""
        from lutsim.sweep import parse_spec, run_sweep
        run_sweep(parse_spec({spec!r}), {str(tmp_path)!r}, jobs=1, chunk_size=2, progress=False,
                  allow_imports={TRUST!r})
    """)
    env = dict(os.environ, LUTSIM_TEST_DELAY="0.05")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=os.getcwd())
    deadline = time.time() + 60
    while time.time() < deadline and len(list((tmp_path / "parts").glob("part-*.parquet"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = load_results(tmp_path)
    assert 0 < len(partial) < 80, "the kill should land mid-sweep"
    os.environ["LUTSIM_TEST_DELAY"] = "0"
    try:
        summary = run_sweep(parse_spec(spec), tmp_path, jobs=1, progress=False, allow_imports=TRUST)
    finally:
        del os.environ["LUTSIM_TEST_DELAY"]
    df = load_results(tmp_path)
    assert summary["already_done"] == len(partial)
    assert len(df) == 80 and not df.duplicated(["point_id", "workload_id"]).any()


@pytest.mark.parametrize("patch,field", [
    ({"base_arch": None}, "base_arch"),
    ({"axes": {"x": []}}, "axes.x"),
    ({"sampling": {"mode": "sobol"}}, "sampling.mode"),
    ({"constraints": {"speed": 3}}, "constraints.speed"),
    ({"colour": "red"}, "colour"),
])
def test_bad_spec_names_the_field(patch, field):
    spec = {k: v for k, v in {**SPEC, **patch}.items() if v is not None}
    with pytest.raises(InputError, match=field.replace(".", r"\.")):
        parse_spec(spec)


def test_random_sampling_is_seeded_and_draws_distinct_points():
    spec = dict(SPEC, sampling={"mode": "random", "n": 7, "seed": 3})
    points = parse_spec(spec).points()
    assert points == parse_spec(spec).points()
    assert len(points) == 7 and len({tuple(p.items()) for p in points}) == 7
    assert all(p["x"] in SPEC["axes"]["x"] and p["y"] in SPEC["axes"]["y"] for p in points)
    every = parse_spec(dict(SPEC, sampling={"mode": "random", "n": 12, "seed": 1})).points()  # the whole 4 x 3 grid
    assert sorted((p["x"], p["y"]) for p in every) == sorted(itertools.product(SPEC["axes"]["x"], SPEC["axes"]["y"]))
    assert parse_spec(dict(SPEC, sampling={"mode": "random", "n": 7, "seed": 4})).points() != points


def test_random_sampling_of_more_points_than_the_grid_is_refused():
    with pytest.raises(InputError, match="13 distinct design points asked, but the axes make only 12"):
        parse_spec(dict(SPEC, sampling={"mode": "random", "n": 13}))


def test_cli_runs_one_local_worker_per_usable_core_by_default():
    from lutsim.cli import build_parser

    args = build_parser().parse_args(["sweep", "spec.yaml", "--out", "x"])
    assert args.jobs == len(os.sched_getaffinity(0)) >= 1


def test_ctrl_c_exits_130_saying_how_many_rows_are_saved(tmp_path):
    """Ctrl-C (SIGINT to the process group) mid-sweep: exit status 130, the saved row count, no traceback;
    the same command then finishes the sweep."""
    import yaml

    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(dict(SPEC, axes={"x": list(range(1, 21)), "y": [1, 2]}, constraints={},
                                             evaluator="tests.lutsim.sweep_fixtures:slow_evaluate")))
    cmd = [sys.executable, "-m", "lutsim", "sweep", str(spec_file), "--out", str(tmp_path / "out"), "--jobs", "2",
           "--chunk-size", "2", "--json",
           *(f"--allow-evaluator-import={t}" for t in TRUST)]
    env = dict(os.environ, LUTSIM_TEST_DELAY="0.05")
    proc = subprocess.Popen(cmd, env=env, cwd=os.getcwd(), stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while time.time() < deadline and len(list((tmp_path / "out" / "parts").glob("part-*.parquet"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    saved = len(load_results(tmp_path / "out"))
    assert proc.returncode == 130 and "Traceback" not in err
    assert f"{saved} of 80 rows are saved" in err and 0 < saved < 80
    done = subprocess.run(cmd, env=dict(os.environ, LUTSIM_TEST_DELAY="0"), cwd=os.getcwd(), capture_output=True)
    assert done.returncode == 0
    df = load_results(tmp_path / "out")
    assert len(df) == 80 and not df.duplicated(["point_id", "workload_id"]).any()


@pytest.mark.parametrize("address", ["not an address", "tcp://127.0.0.1:1"])
def test_unreachable_scheduler_is_an_input_error_before_anything_is_written(tmp_path, monkeypatch, address):
    pytest.importorskip("distributed")
    from lutsim.sweep import runner

    monkeypatch.setattr(runner, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(InputError) as exc:
        run_sweep(parse_spec(SPEC), tmp_path / "out", scheduler=address, progress=False, allow_imports=TRUST)
    assert exc.value.field == "--scheduler" and "dask scheduler" in exc.value.allowed
    assert not (tmp_path / "out").exists()


def test_dry_run_counts_rows_left_and_writes_nothing(tmp_path, capsys):
    import json

    import yaml

    from lutsim.cli import main

    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "out"
    assert main(["sweep", str(spec_file), "--out", str(out), "--dry-run", "--json",
                 f"--allow-evaluator-import={TRUST[0]}"]) == 0
    assert json.loads(capsys.readouterr().out) == {"points": 12, "workloads": 2, "rows": 24, "already_done": 0,
                                                   "to_compute": 24}
    assert not out.exists()
    run_sweep(parse_spec({**SPEC, "axes": {"x": [1, 2], "y": [1, 2, 13]}}), out, jobs=1, progress=False,
              allow_imports=TRUST)
    assert main(["sweep", str(spec_file), "--out", str(out), "--dry-run", f"--allow-evaluator-import={TRUST[0]}"]) == 0
    assert "12 design points x 2 workloads = 24 rows; 12 already in" in capsys.readouterr().out
