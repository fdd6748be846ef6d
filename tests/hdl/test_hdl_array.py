"""The LUT array (rtl/gateware/lut_array.py) on Icarus and Verilator: the compiler's program for preset
lut-tc-rtl-small runs to completion with the engine's cycle count and sim.reference's partial sums.
A missing simulator skips with its install command unless $REQUIRE_SIMS names it (tests/hdl/test_hdl.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rtl.gateware.lut_array import LutArraySystem
from rtl.tools import hdl_sim, verilog
from rtl.tools.array_program import split_words
from tests.hdl.test_hdl import _need
from tests.rtl.array_case import gemm_case, reference_partial_sums


@pytest.mark.parametrize("sim", hdl_sim.SIMULATORS)
def test_lut_array_program(sim, tmp_path):
    _need(sim)
    case = gemm_case(m=4, n=64, k=64, weights="int2", seed=5)
    assert np.array_equal(case.partial_sums(case.acc), reference_partial_sums(case))  # the words below are exact
    p = case.params
    expected = split_words([int(v) & ((1 << p.acc_width) - 1) for v in _block_major(case.acc, p)], p.acc_width,
                           p.port_bits)
    top = "lut_array"
    src = tmp_path / "rtl" / f"{top}.v"
    src.parent.mkdir()
    src.write_text(verilog.to_verilog(LutArraySystem(p, case.asm, case.image), top))
    runner = hdl_sim.build(sim, src, top, tmp_path / "build")
    cfg = {"cycles": case.engine_cycles, "out_addr": case.out_addr, "words": expected, "max_cycles": 5000}
    results = hdl_sim.run(runner, "tests.hdl.tb_lut_array", top, tmp_path, {"LUTSIM_TB": json.dumps(cfg)})
    from cocotb_tools.runner import get_results

    tests, failed = get_results(results)
    assert tests == 1 and failed == 0


def _block_major(acc: np.ndarray, p) -> list[int]:
    """(M, N) → the obuf order: Mu×Nu blocks row-major, each block row-major."""
    m, n = acc.shape
    return list(acc.reshape(m // p.mu, p.mu, n // p.nu, p.nu).transpose(0, 2, 1, 3).reshape(-1))
