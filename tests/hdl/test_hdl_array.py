"""The LUT array (rtl/gateware/lut_array.py) on Icarus and Verilator: the compiler's program for preset
lut-tc-rtl-small (DEQUANT included) runs to completion with the engine's cycle count and stores
sim.reference.mpgemm_rounded's FP16 outputs bit for bit.
A missing simulator skips with its install command unless $REQUIRE_SIMS names it (tests/hdl/test_hdl.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rtl.gateware.lut_array import LutArraySystem
from rtl.tools import hdl_sim, verilog
from tests.hdl.test_hdl import _need
from tests.rtl.array_case import gemm_case

# Verilator: the array (64 FP32 multipliers, 32 FP32 and 32 FP16 adders) compiles several minutes faster
# unoptimised (-O0), and the runs are short (10^3 to 10^5 cycles)
CXX_OPT = "-O0"


@pytest.mark.parametrize("sim", hdl_sim.SIMULATORS)
def test_lut_array_program(sim, tmp_path):
    _need(sim)
    case = gemm_case(m=4, n=64, k=64, weights="int2", group=16, seed=5)
    p = case.params
    halves = case.want.astype(np.float16).view(np.uint16).reshape(-1)    # row-major, as the STORE writes them
    expected = [sum(int(h) << (16 * j) for j, h in enumerate(halves[i:i + p.port_bits // 16]))
                for i in range(0, len(halves), p.port_bits // 16)]
    top = "lut_array"
    src = tmp_path / "rtl" / f"{top}.v"
    src.parent.mkdir()
    src.write_text(verilog.to_verilog(LutArraySystem(p, case.asm, case.image), top))
    runner = hdl_sim.build(sim, src, top, tmp_path / "build", cxx_opt=CXX_OPT)
    cfg = {"cycles": case.engine_cycles, "out_addr": case.out_addr, "words": expected, "max_cycles": 5000}
    results = hdl_sim.run(runner, "tests.hdl.tb_lut_array", top, tmp_path, {"LUTSIM_TB": json.dumps(cfg)})
    from cocotb_tools.runner import get_results

    tests, failed = get_results(results)
    assert tests == 1 and failed == 0

