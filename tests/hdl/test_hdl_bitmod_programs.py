"""Compiled programs on the generated BitMoD array Verilog (Icarus and Verilator): one build per simulator runs
the compiler's programs for preset bitmod-rtl-small unchanged (one BSMMA; k-tiles accumulating in obuf over several
output tiles with partial folds; DEQUANT with the channel scale on the array, FP16 STOREs) one after another, each
loaded through the instruction load port and the DRAM write port (testbench tests/hdl/tb_lut_programs.py, the LUT
array's: the systems share their ports); stored FP16 outputs equal sim.pe.bitmod_pe's rounded to FP16 bit for bit
and the RTL's cycle count equals the engine's. Prints the cycle counts it compared. A missing simulator skips with
its install command unless $REQUIRE_SIMS names it (tests/hdl/test_hdl.py)."""

from __future__ import annotations

import json

import pytest

from rtl.gateware.array_params import MEMORIES
from rtl.gateware.bitmod_array import BitModArray
from rtl.gateware.lut_array import LutArraySystem
from rtl.tools import hdl_sim, verilog
from tests.hdl.test_hdl import _need
from tests.rtl.bitmod_array_case import gemm_case

MAX_INSTRS, DRAM_WORDS = 32, 1024
CXX_OPT = "-O0"   # Verilator: 4 PEs' FP32 paths compile ~15 s (CPU) faster unoptimised; the runs are ~10^3 cycles
# per (simulator, PE format): one build and its programs; Icarus runs the FP32 paths slowly: few folds. int6:
# lane steps of 24 bits that straddle two 32-bit wbuf words
CASES = [("icarus", "bitmod_fp4", [dict(m=2, n=2, k=32, group=8),
                                   dict(m=3, n=4, k=64, kt=32, mt=3, nt=2, group=8)]),
         ("verilator", "int8", [dict(m=2, n=2, k=32, group=8),
                                dict(m=3, n=6, k=48, kt=16, nt=4, group=8)]),
         ("verilator", "int6", [dict(m=3, n=4, k=48, kt=16, nt=2, group=8)])]


@pytest.mark.parametrize(("sim", "weights", "shapes"), [c for c in CASES if c[0] in hdl_sim.SIMULATORS],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_compiled_bitmod_programs(sim, weights, shapes, tmp_path, record_property):
    _need(sim)
    named = [(f"M{s['m']}N{s['n']}K{s['k']}kt{s.get('kt', s['k'])}-{weights}",
              gemm_case(weights=weights, seed=30 + i, max_instrs=MAX_INSTRS, dram_words=DRAM_WORDS, **s))
             for i, s in enumerate(shapes)]
    p = named[0][1].params
    assert all(c.params == p for _, c in named)
    array = BitModArray(p)
    cfg = {"results": str(tmp_path / "results.json"), "cases": []}
    for name, case in named:
        words = case.asm.words(p, array._ctrl.layouts)
        cfg["cases"].append({"name": name, "mems": {str(i): words[m] for i, m in enumerate(MEMORIES)},
                             "image": case.image, "out_addr": case.out_addr, "out_words": case.out_words,
                             "engine_cycles": case.engine_cycles, "max_cycles": 2 * case.engine_cycles})
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    top = "bitmod_array_system"
    src = tmp_path / "rtl" / f"{top}.v"
    src.parent.mkdir()
    src.write_text(verilog.to_verilog(LutArraySystem(p, array=array), top))
    runner = hdl_sim.build(sim, src, top, tmp_path / "build", cxx_opt=CXX_OPT)
    results = hdl_sim.run(runner, "tests.hdl.tb_lut_programs", top, tmp_path, {"LUTSIM_TB": str(tmp_path / "cfg.json")})
    from cocotb_tools.runner import get_results

    tests, failed = get_results(results)
    got = json.loads((tmp_path / "results.json").read_text())
    for r, (_, case) in zip(got, named):
        record_property("cycles", f"{sim} {r['name']}: RTL {r['cycles']} cycles, engine {case.engine_cycles}")
        bad = case.mismatches(r["words"])
        assert len(bad) == 0, f"{r['name']}: {len(bad)} outputs differ from the model, first at {bad[:4].tolist()}"
        assert r["cycles"] == case.engine_cycles, r["name"]
    assert len(got) == len(named) and tests == 1 and failed == 0
