"""Sweeps cannot corrupt each other or leave a mess: one writer per OUT, workers die with their parent,
unreadable parts are set aside and recomputed, a failed write leaves nothing half-written."""

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from lutsim.cli import main
from lutsim.sweep import load_results, parse_spec, run_sweep, store

from .test_sweep_runner import SPEC, TRUST

SLOW = dict(SPEC, axes={"x": list(range(1, 21)), "y": [1, 2]}, constraints={},
            evaluator="tests.lutsim.sweep_fixtures:slow_evaluate")


def _cli(spec_file: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "lutsim", "sweep", str(spec_file), "--out", str(out), "--json",
            *(f"--allow-evaluator-import={t}" for t in TRUST), *extra]


def _wait_for_parts(out: Path, n: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and len(list((out / "parts").glob("part-*.parquet"))) < n:
        time.sleep(0.05)


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path, capsys):
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "out"
    out.mkdir()
    with store.out_lock(out):
        assert main(["sweep", str(spec_file), "--out", str(out), "--jobs", "1",
                     f"--allow-evaluator-import={TRUST[0]}"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --out:") and "another lutsim sweep" in err and f"pid {os.getpid()}" in err
    assert not list(out.glob("parts/*.parquet"))
    assert main(["sweep", str(spec_file), "--out", str(out), "--jobs", "1", "--json",
                 f"--allow-evaluator-import={TRUST[0]}"]) == 0


def test_two_concurrent_runs_one_refused_no_row_lost_or_duplicated(tmp_path):
    """A slow first run holds OUT while a second is refused; the first is then killed (kill -9: no stale lock)
    and a third run finishes the sweep."""
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(SLOW))
    out = tmp_path / "out"
    first = subprocess.Popen(_cli(spec_file, out, "--jobs", "1", "--chunk-size", "1"),
                             env=dict(os.environ, LUTSIM_TEST_DELAY="1.0"), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        _wait_for_parts(out, 1)
        second = subprocess.run(_cli(spec_file, out, "--jobs", "1"), env=dict(os.environ, LUTSIM_TEST_DELAY="0"),
                                capture_output=True, text=True)
        assert first.poll() is None, "the first run should still be writing"
    finally:
        first.kill()
        first.wait()
    assert second.returncode == 2 and "another lutsim sweep" in second.stderr and "Traceback" not in second.stderr
    third = subprocess.run(_cli(spec_file, out, "--jobs", "1"), env=dict(os.environ, LUTSIM_TEST_DELAY="0"),
                           capture_output=True, text=True)
    assert third.returncode == 0, third.stderr
    df = load_results(out)
    assert len(df) == 80 and not df.duplicated(["point_id", "workload_id"]).any()


def _children(pid: int) -> set[int]:
    kids = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids |= {int(c) for c in (task / "children").read_text().split()}
    return kids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the worker processes")
def test_workers_exit_when_the_parent_is_killed(tmp_path):
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(SLOW))
    env = dict(os.environ, LUTSIM_TEST_DELAY="0.2")
    proc = subprocess.Popen(_cli(spec_file, tmp_path / "out", "--jobs", "2", "--chunk-size", "1"), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_parts(tmp_path / "out", 1)
    kids = _children(proc.pid)
    assert len(kids) >= 2, "the sweep should have started its workers"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(k) for k in kids):
        time.sleep(0.1)
    assert not any(_alive(k) for k in kids), "workers outlived the killed sweep"


def test_zero_byte_and_truncated_parts_are_quarantined_and_recomputed(tmp_path, capsys):
    run_sweep(parse_spec(SPEC), tmp_path, jobs=1, chunk_size=4, progress=False, allow_imports=TRUST)
    full = load_results(tmp_path)
    parts = sorted((tmp_path / "parts").glob("part-*.parquet"))
    parts[0].write_bytes(b"")
    parts[1].write_bytes(parts[1].read_bytes()[:40])
    with pytest.raises(Exception) as exc:  # a reader is told, and nothing is moved
        load_results(tmp_path)
    assert "cannot be read" in str(exc.value) and parts[0].exists()
    capsys.readouterr()
    summary = run_sweep(parse_spec(SPEC), tmp_path, jobs=1, chunk_size=4, progress=False, allow_imports=TRUST)
    err = capsys.readouterr().err
    assert err.count("will be computed again") == 2 and "zero bytes" in err
    assert summary["already_done"] == 24 - 8 and summary["new_rows"] == 8
    assert sorted(p.name for p in (tmp_path / "quarantine").iterdir()) == [parts[0].name, parts[1].name]
    again = load_results(tmp_path)
    pd.testing.assert_frame_equal(again[full.columns], full, check_dtype=False)


@pytest.mark.parametrize("code,words", [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "read-only")])
def test_a_failed_write_is_one_error_and_leaves_nothing_half_written(tmp_path, monkeypatch, capsys, code, words):
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "out"
    calls = []

    def failing(self, path, **kw):
        calls.append(path)
        if len(calls) > 2:
            Path(path).write_bytes(b"PAR1 half")  # a partial temporary file, then the failure
            raise OSError(code, os.strerror(code))
        return real(self, path, **kw)

    real = pd.DataFrame.to_parquet
    monkeypatch.setattr(pd.DataFrame, "to_parquet", failing)
    argv = ["sweep", str(spec_file), "--out", str(out), "--jobs", "1", "--chunk-size", "4",
            f"--allow-evaluator-import={TRUST[0]}"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out: cannot write") and words in err and "8 rows" in err
    assert sorted(p.name for p in (out / "parts").iterdir()) == ["part-000000.parquet", "part-000001.parquet"]
    monkeypatch.setattr(pd.DataFrame, "to_parquet", real)
    assert main([*argv, "--json"]) == 0
    assert len(load_results(out)) == 24


def test_an_unwritable_out_is_an_input_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(SPEC))
    assert main(["sweep", str(spec_file), "--out", str(blocker / "out"), "--jobs", "1",
                 f"--allow-evaluator-import={TRUST[0]}"]) == 2
    assert capsys.readouterr().err.startswith("error: --out: cannot write")
