"""cocotb on the generated BitMoD and MixPE PE Verilog (Icarus and Verilator): every fold bit-exact
against the Numba models and out_valid at the models' fold cycles. Simulator handling ($REQUIRE_SIMS,
skips with an install hint) is tests/hdl/test_hdl.py's."""

from __future__ import annotations

import pytest

from rtl.tools import hdl_sim
from tests.hdl.test_hdl import _run

# Few folds per simulator: Verilator compiles each design (~10 s), Icarus runs the FP32 paths slowly.
BITMOD_CASES = {"icarus": ("bitmod_fp4", 8), "verilator": ("int8", 5)}   # INT8: a group padded 5 → 8
MIXPE_CASES = {"icarus": [("int4_asym", 6, "int8"), ("int4", 4, "fp16")], "verilator": [("int8", 4, "int8")]}


@pytest.mark.parametrize("sim", hdl_sim.SIMULATORS)
def test_bitmod_pe_matches_model(sim, tmp_path):
    weights, group = BITMOD_CASES[sim]
    cfg = {"weights": weights, "m": 1, "n": 2, "k": 2 * group, "group": group, "seed": 11}
    _run(sim, tmp_path, "bitmod", {"weights": weights}, "tests.hdl.tb_bitmod_pe", cfg)


@pytest.mark.parametrize("sim,weights,group,acts", [(s, *case) for s, cases in MIXPE_CASES.items() for case in cases])
def test_mixpe_pe_matches_model(sim, weights, group, acts, tmp_path):
    cfg = {"weights": weights, "acts": acts, "m": 2, "n": 1, "k": 2 * group, "group": group, "seed": 5}
    _run(sim, tmp_path, "mixpe", {"weights": weights, "acts": acts, "max_group": group}, "tests.hdl.tb_mixpe_pe", cfg)
