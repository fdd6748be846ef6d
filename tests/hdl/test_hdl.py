"""cocotb on the generated Verilog (Icarus and Verilator): bit-exact against the contract model,
cycle counts as the contract says, and `lutsim rtl verilog` output lint-clean under Verilator.

A missing simulator skips with its install command, unless $REQUIRE_SIMS (comma list, e.g.
"icarus,verilator") names it: then the test fails.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from lutsim.cli import main as lutsim_main
from rtl.tools import hdl_sim, verilog


def _need(sim: str) -> None:
    if hdl_sim.use_simulator(sim):
        return
    msg = f"{sim} not available; install with: {hdl_sim.INSTALL_HINT[sim]}"
    if sim in {s.strip() for s in os.environ.get("REQUIRE_SIMS", "").split(",")}:
        pytest.fail(msg + " (required by REQUIRE_SIMS)")
    pytest.skip(msg)


def _run(sim, tmp_path, design, params, tb_module, tb_cfg):
    _need(sim)
    path = verilog.write(design, tmp_path / "rtl", **params)
    top = verilog.design(design).top
    runner = hdl_sim.build(sim, path, top, tmp_path / "build")
    results = hdl_sim.run(runner, tb_module, top, tmp_path, {"LUTSIM_TB": json.dumps(tb_cfg)})
    from cocotb_tools.runner import get_results

    tests, failed = get_results(results)
    assert tests == 1 and failed == 0


@pytest.mark.parametrize("sim", hdl_sim.SIMULATORS)
def test_lut_tc_matches_model(sim, tmp_path):
    """Default unit M2N64K4, INT8 tables; 5 back-to-back tiles of 1..8 planes."""
    params = {"m": 2, "n": 64, "k": 4, "act_width": 8, "acc_width": 32}
    cfg = {**params, "bits": [2, 8, 1, 4, 3], "seed": 20}
    _run(sim, tmp_path, "lut-tc", params, "tests.hdl.tb_lut_tc", cfg)


def test_lut_tc_fp16_matches_model(tmp_path):
    """FP16 mode (Icarus only: the FP16 datapath is the same Verilog text family as above)."""
    params = {"m": 2, "n": 8, "k": 4}
    cfg = {**params, "act_width": 16, "acc_width": 16, "mode": "fp16", "bits": [4, 2, 8], "seed": 4}
    _run("icarus", tmp_path, "lut-tc-fp16", params, "tests.hdl.tb_lut_tc", cfg)


@pytest.mark.parametrize("sim", hdl_sim.SIMULATORS)
def test_table_precompute_matches_model(sim, tmp_path):
    params = {"k": 4, "act_width": 8}
    _run(sim, tmp_path, "table-precompute", params, "tests.hdl.tb_table_precompute",
         {**params, "count": 16, "seed": 3})


# The FP16 unit at M2N64 is 2 MB of Verilog (25 s to generate): lint its per-lane logic at N = 8.
_LINT_ARGS = {"lut-tc-fp16": ["--n", "8"]}


@pytest.mark.parametrize("name", list(verilog.DESIGNS))
def test_generated_verilog_lints_clean(name, tmp_path):
    """Each design as written by `lutsim rtl verilog` passes `verilator --lint-only -Wno-fatal`."""
    _need("verilator")
    assert lutsim_main(["rtl", "verilog", "--design", name, *_LINT_ARGS.get(name, []), "--out", str(tmp_path)]) == 0
    (path,) = tmp_path.glob("*.v")
    proc = subprocess.run(["verilator", "--lint-only", "-Wno-fatal", "--top-module", verilog.design(name).top,
                           str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, f"{name}: {proc.stderr[-2000:]}"
    assert "%Error" not in proc.stderr, f"{name}: {proc.stderr[-2000:]}"
