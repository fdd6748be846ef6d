"""Sweep specs are counted, not built: a huge grid or sample is refused (or, when allowed, planned) at once."""

import itertools
import time

import pytest
import yaml

from lutsim.cli import main
from lutsim.sweep import parse_spec, plan_sweep
from lutsim.sweep.runner import chunked
from sim.errors import InputError

from .test_sweep_runner import SPEC, TRUST

HUGE = {**SPEC, "axes": {f"a{i}": list(range(10)) for i in range(10)}}  # 10**10 points


def test_a_huge_grid_is_counted_without_building_it_and_refused():
    spec = parse_spec(HUGE)
    t0 = time.perf_counter()
    assert spec.n_points == 10**10 and spec.n_rows == 2 * 10**10
    with pytest.raises(InputError) as exc:
        plan_sweep(spec, "/nonexistent/out", allow_imports=TRUST)
    assert exc.value.field == "--max-rows" and "20,000,000,000 rows" in exc.value.problem
    assert time.perf_counter() - t0 < 1


def test_raising_the_limit_plans_a_huge_sweep_without_building_it(tmp_path, capsys):
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(yaml.safe_dump({**HUGE, "sampling": {"mode": "random", "n": 10**8}}))
    argv = ["sweep", str(spec_file), "--out", str(tmp_path / "o"), "--dry-run", f"--allow-evaluator-import={TRUST[0]}"]
    assert main(argv) == 2 and "--max-rows" in capsys.readouterr().err
    t0 = time.perf_counter()
    assert main([*argv, "--max-rows", str(10**9)]) == 0
    assert "100000000 design points x 2 workloads = 200000000 rows" in capsys.readouterr().out
    assert time.perf_counter() - t0 < 5


def test_tasks_stream_in_chunks():
    spec = parse_spec(HUGE)
    first = list(itertools.islice(chunked(spec.iter_tasks(), 3), 2))
    assert [len(c) for c in first] == [3, 3]
    assert first[0][0]["params"] == {f"a{i}": 0 for i in range(10)}


@pytest.mark.parametrize("patch,field", [
    ({"sampling": "random"}, "spec.sampling"),
    ({"sampling": {"mode": "random", "n": 5, "seed": "x"}}, "spec.sampling.seed"),
    ({"sampling": {"mode": "random", "n": 5, "seed": -1}}, "spec.sampling.seed"),
    ({"sampling": {"mode": "random", "n": 5, "seed": 2**64}}, "spec.sampling.seed"),
    ({"sampling": {"mode": "random", "n": True}}, "spec.sampling.n"),
    ({"sampling": {"mode": "random", "n": 5, "sede": 1}}, "spec.sampling.sede"),
    ({"constraints": [1]}, "spec.constraints"),
    ({"constraints": {"area_mm2": float("nan")}}, "spec.constraints.area_mm2"),
    ({"constraints": {"area_mm": 5}}, "spec.constraints.area_mm"),
    ({"workloads": [{"seq_len": 10**15}]}, "spec.workloads[0].seq_len"),
    ({"workloads": [{"batch": 10**15}]}, "spec.workloads[0].batch"),
    ({"workloads": [5]}, "spec.workloads[0]"),
    ({"axes": {1: [1]}}, "spec.axes.1"),
    ({"name": ["x"]}, "spec.name"),
    ({"axis": {}}, "spec.axis"),
])
def test_wrong_types_and_bounds_name_the_field(patch, field):
    with pytest.raises(InputError) as exc:
        parse_spec({**SPEC, **patch})
    assert exc.value.field == field


def test_a_typo_in_a_field_says_what_was_meant():
    with pytest.raises(InputError) as exc:
        parse_spec({**SPEC, "constraint": {}})
    assert "did you mean 'constraints'" in exc.value.problem


def test_an_unknown_base_arch_names_the_field(tmp_path):
    spec = parse_spec({**SPEC, "base_arch": "no-such-arch", "evaluator": "lutsim"})
    with pytest.raises(InputError) as exc:
        plan_sweep(spec, tmp_path / "o")
    assert exc.value.field == "base_arch"
