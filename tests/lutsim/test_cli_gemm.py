import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lutsim.cli import main
from lutsim.commands.gemm import parse_dims, random_activations
from sim.errors import InputError


def _json(capsys, argv):
    rc = main(argv)
    out = capsys.readouterr().out
    return rc, json.loads(out)


def test_readme_example_is_exact(capsys):
    rc, r = _json(capsys, ["gemm", "--pe", "lut-tc", "--m", "7", "--n", "130", "--k", "260", "--weights", "int4",
                           "--acts", "int8", "--check", "--json"])
    assert rc == 0
    assert r["exact"] is True and r["max_abs_error"] == 0.0 and r["cycles_agree"] is True
    assert r["cycles"] == 4 * 3 * 65 * 4 + 1 + 2  # ceil(7/2)·ceil(130/64)·ceil(260/4)·b + 1 + 2
    assert {"cycles", "utilization", "events", "exact", "max_abs_error", "mode", "pe", "m", "n", "k"} <= set(r)
    assert r["events"]["lookups"] == 7 * 130 * 65 * 4


@pytest.mark.parametrize("extra", [["--acts", "fp16"], ["--acts", "fp16", "--option", "table_quant=true"],
                                   ["--acts", "fp8_e4m3", "--acc", "fp32"],
                                   ["--weights", "ternary", "--tile", "3x16x8"],
                                   ["--weights", "binary", "--group-size", "26", "--mode", "per-cycle"]])
def test_check_is_exact_across_formats(capsys, extra):
    rc, r = _json(capsys, ["gemm", "--pe", "lut-tc", "--m", "3", "--n", "70", "--k", "52", "--check", "--json", *extra])
    assert rc == 0 and r["exact"] is True and r["per_cycle_cycles"] == r["cycles"]


def test_table_output(capsys):
    assert main(["gemm", "--pe", "lut-tc", "--m", "2", "--n", "8", "--k", "16"]) == 0
    out = capsys.readouterr().out
    assert "cycles" in out and "lookups" in out


@pytest.mark.parametrize("bad,flag", [
    (["--m", "-3"], "--m"), (["--k", "0"], "--k"), (["--array", "3by3"], "--array"), (["--tile", "2x64"], "--tile"),
    (["--pe", "nope"], "--pe"), (["--weights", "fp99"], "--weights"), (["--acts", "int3"], "--acts"),
    (["--mode", "scalesim"], "--mode"), (["--mode", "fast"], "--mode"), (["--dataflow", "xs"], "--dataflow"),
    (["--group-size", "7"], "--group-size"), (["--option", "novalue"], "--option"),
])
def test_bad_input_exits_2_naming_the_flag(capsys, bad, flag):
    args = {"--pe": "lut-tc", "--m": "4", "--n": "8", "--k": "16"}
    rest = []
    for i in range(0, len(bad), 2):
        if bad[i] in args:
            args[bad[i]] = bad[i + 1]
        else:
            rest += bad[i:i + 2]
    argv = ["gemm"] + [x for kv in args.items() for x in kv] + rest
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {flag}") and "allowed" in err and "Traceback" not in err


def test_exit_status_2_from_the_command_line():
    p = subprocess.run([sys.executable, "-m", "lutsim", "gemm", "--pe", "lut-tc", "--m", "-1", "--n", "2", "--k", "4"],
                       capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
    assert p.returncode == 2 and "--m" in p.stderr and "Traceback" not in p.stderr


def test_parse_dims():
    assert parse_dims("32x32", "--array", 2) == (32, 32)
    assert parse_dims("2X64x4", "--tile", 3) == (2, 64, 4)
    for bad in ("0x4", "4x", "axb", "1x2x3"):
        with pytest.raises(InputError):
            parse_dims(bad, "--array", 2)


@pytest.mark.parametrize("acts,lo,hi", [("int8", -128, 127), ("int4", -8, 7), ("int16", -32768, 32767)])
def test_random_int_activations_hit_both_extremes(acts, lo, hi):
    a = random_activations(acts, 3, 5, np.random.default_rng(0))
    assert a.min() == lo and a.max() == hi and np.array_equal(a, np.rint(a))


def test_random_fp16_activations_are_fp16_values():
    a = random_activations("fp16", 4, 9, np.random.default_rng(0))
    assert np.array_equal(a.astype(np.float16).astype(np.float64), a) and a.std() > 0.5


def test_lossy_table_quantization_reports_its_error(capsys):
    rc, r = _json(capsys, ["gemm", "--pe", "lut-tc", "--m", "4", "--n", "64", "--k", "256", "--acts", "fp16",
                           "--option", "table_quant=true", "--check", "--json"])
    assert rc == 0 and r["exact"] is True  # bit-exact against the hardware-order emulation
    assert 0 < r["max_abs_error_vs_exact"] < 5  # but lossy against the float64 mpGEMM


_IMPORTS = ("import json, runpy, sys; sys.argv = ['lutsim', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('lutsim', run_name='__main__')\n"
            "except SystemExit as e:\n    code = e.code\n"
            "print(json.dumps([code, sorted(m for m in ('numpy', 'numba', 'pandas', 'ml_dtypes', 'sim.formats', "
            "'yaml') if m in sys.modules)]), file=sys.stderr)")


@pytest.mark.parametrize("argv", [
    ["--pe", "int8-systolic", "--m", "20", "--n", "12", "--k", "30", "--array", "8x8", "--mode", "scalesim"],
    ["--pe", "fp16-mac", "--m", "1", "--n", "128", "--k", "1024", "--dataflow", "ws", "--acts", "fp16",
     "--weights", "nf4", "--mode", "scalesim", "--json"],
    ["--pe", "int8-systolic", "--m", "4", "--n", "8", "--k", "64", "--group-size", "32", "--mode", "tile"]])
def test_data_free_systolic_run_imports_no_numpy(argv):
    """The SCALE-Sim compatible mode (and tile mode) of the MAC arrays starts as fast as the interpreter: no numpy,
    Numba, pandas, ml_dtypes, yaml or format registry (issue 20: faster than SCALE-Sim on every shape)."""
    res = subprocess.run([sys.executable, "-c", _IMPORTS, "gemm", *argv], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2])
    code, loaded = json.loads(res.stderr.strip().splitlines()[-1])
    assert code == 0 and loaded == [], res.stdout
    assert main(["gemm", *argv, "--json"] if "--json" not in argv else ["gemm", *argv]) == 0  # same run in-process
