"""A sweep spec cannot make lutsim import code: evaluators are registered names (built-in, entry-point
plug-ins); an import path runs only when the command line allows that exact path."""

from importlib.metadata import EntryPoint

import pytest
import yaml

from lutsim.cli import main
from lutsim.sweep import evaluators, load_results, parse_spec, plan_sweep, run_sweep
from sim.errors import InputError

from .test_sweep_runner import SPEC

TOY = "tests.lutsim.sweep_fixtures:toy_evaluate"


@pytest.mark.parametrize("ref", ["builtins:exec", "os:system", TOY])
def test_an_import_path_in_a_spec_is_refused_and_nothing_is_written(tmp_path, ref):
    spec = parse_spec({**SPEC, "evaluator": ref})
    for call in (lambda: plan_sweep(spec, tmp_path / "out"),
                 lambda: run_sweep(spec, tmp_path / "out", jobs=1, progress=False)):
        with pytest.raises(InputError) as exc:
            call()
        assert exc.value.field == "evaluator" and "--allow-evaluator-import" in exc.value.problem
        assert "lutsim" in exc.value.allowed
    assert not (tmp_path / "out").exists()


def test_the_cli_flag_allows_exactly_the_path_it_names(tmp_path, capsys):
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(SPEC))
    out = str(tmp_path / "out")
    assert main(["sweep", str(spec_file), "--out", out, "--jobs", "1", "--json"]) == 2
    assert "error: evaluator:" in capsys.readouterr().err
    other = "tests.lutsim.sweep_fixtures:slow_evaluate"
    assert main(["sweep", str(spec_file), "--out", out, "--jobs", "1", "--allow-evaluator-import", other]) == 2
    assert main(["sweep", str(spec_file), "--out", out, "--jobs", "1", "--json",
                 "--allow-evaluator-import", TOY]) == 0
    assert len(load_results(out)) == 24


@pytest.mark.parametrize("ref", ["no-such-evaluator", "lutsim.api:no_such_function"])
def test_unknown_evaluator_fails_the_dry_run(tmp_path, capsys, ref):
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump({**SPEC, "evaluator": ref}))
    flags = ["--allow-evaluator-import", ref] if ":" in ref else []
    assert main(["sweep", str(spec_file), "--out", str(tmp_path / "o"), "--dry-run", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: evaluator:") and "Traceback" not in err


@pytest.mark.parametrize("ref", [5, "", "a b", "mod:", ["x"]])
def test_a_malformed_evaluator_names_the_field(ref):
    with pytest.raises(InputError) as exc:
        parse_spec({**SPEC, "evaluator": ref})
    assert exc.value.field == "spec.evaluator"


def test_builtin_name_and_its_import_path_are_one_evaluator():
    assert parse_spec({**SPEC, "evaluator": "lutsim"}).evaluator == evaluators.DEFAULT_EVALUATOR
    assert evaluators.resolve(evaluators.DEFAULT_EVALUATOR) == evaluators.DEFAULT_EVALUATOR


def test_entry_point_plugins_are_registered_names(tmp_path, monkeypatch):
    ep = EntryPoint(name="toy", value=TOY, group=evaluators.ENTRY_POINT_GROUP)
    monkeypatch.setattr(evaluators, "entry_points",
                        lambda group: [ep] if group == evaluators.ENTRY_POINT_GROUP else [])
    assert evaluators.registered()["toy"] == TOY
    summary = run_sweep(parse_spec({**SPEC, "evaluator": "toy"}), tmp_path, jobs=1, progress=False)
    assert summary["rows"] == 24 and summary["ok"] > 0
