"""The front door as a newcomer meets it: every preset runs a built-in recipe on Llama-2-7B, errors name the
flags of the command that was run, and a closed pipe ends a command without a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lutsim.cli import main, own_flags
from sim import arch
from workloads import recipes


@pytest.mark.parametrize("preset", arch.names())
def test_every_preset_simulates_llama_2_7b_with_a_built_in_recipe(preset, capsys):
    for quant in recipes.names():
        rc = main(["simulate", "--arch", preset, "--model", "llama-2-7b", "--quant", quant, "--phase", "decode",
                   "--kv-len", "64", "--json"])
        out, _ = capsys.readouterr()
        if rc == 0:
            assert json.loads(out)["totals"]["tokens_per_s"] > 0
            return
    pytest.fail(f"no built-in recipe runs Llama-2-7B on {preset}")


def test_simulate_error_names_its_own_flag_not_gemms(capsys):
    assert main(["simulate", "--arch", "olive-28nm", "--model", "llama-2-7b", "--quant", "fp16", "--phase",
                 "decode"]) == 2
    err = capsys.readouterr().err
    assert "--quant weights format" in err and "--weights" not in err and "olive4" in err


def test_gemm_keeps_its_own_weights_flag(capsys):
    assert main(["gemm", "--pe", "olive", "--m", "2", "--n", "8", "--k", "8", "--weights", "int4"]) == 2
    assert "--weights:" in capsys.readouterr().err


def test_own_flags_renames_only_whole_flags():
    flags = frozenset({"--quant", "--model"})
    assert own_flags("x: --acts: bad; --weights-ish", flags) == "x: --quant activations format: bad; --weights-ish"
    assert own_flags("--group-size: odd", frozenset()) == "quant weights group_size: odd"


@pytest.mark.parametrize("argv", [["trace", "--model", "llama-2-7b", "--phase", "prefill", "--csv"],
                                  ["arch", "list"]])
def test_a_closed_pipe_ends_quietly(argv):
    """stdout is a real pipe whose reader is gone (what ``| head`` leaves once it has its lines)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        r = subprocess.run([sys.executable, "-m", "lutsim", *argv], stdout=write_end, stderr=subprocess.PIPE,
                           text=True, timeout=120)
    finally:
        os.close(write_end)
    assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr, r.stderr
    assert r.returncode == 1


def test_piped_into_head_shell():
    r = subprocess.run(f"{sys.executable} -m lutsim trace --model llama-2-70b --phase prefill --csv | head -1",
                       shell=True, capture_output=True, text=True, timeout=120)
    assert r.stdout.startswith("name,kind") and "Traceback" not in r.stderr


def test_models_lists_the_zoo_and_the_hf_types(capsys):
    from workloads.models import HF_MODEL_TYPES, names

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert all(n in out for n in names()) and "2 of 8" in out and "gpt_neox" in out
    assert main(["models", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in d["models"]] == names() and d["hf_model_types"] == list(HF_MODEL_TYPES)


def test_recipes_lists_every_built_in_recipe_with_its_source(capsys):
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    assert all(f"{n}: " in out for n in recipes.names()) and "olive4" in out and "flint4" in out
    assert main(["recipes", "--json"]) == 0
    assert [r["recipe"] for r in json.loads(capsys.readouterr().out)] == recipes.names()


_BLAS = ("import os, sys; from lutsim import cli; cli._blas_threads(cli._chosen(sys.argv[1:])); "
         "print(os.environ.get('OPENBLAS_NUM_THREADS'))")


@pytest.mark.parametrize("argv,env_value,want", [
    (["simulate", "--arch", "x"], None, "1"),       # BLAS_THREADS = 1 in lutsim/commands/simulate.py
    (["gemm", "--pe", "lut-tc"], None, "1"),
    (["accuracy", "--model", "x"], None, "None"),   # no BLAS_THREADS: OpenBLAS keeps its default
    (["simulate"], "3", "3"),                        # the environment wins
    (["--help"], None, "None"),
])
def test_commands_without_linear_algebra_ask_openblas_for_one_thread(argv, env_value, want):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if env_value is not None:
        env["OPENBLAS_NUM_THREADS"] = env_value
    out = subprocess.run([sys.executable, "-c", _BLAS, *argv], capture_output=True, text=True, env=env, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert out.stdout.strip() == want
