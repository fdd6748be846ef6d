"""Compiled programs on the generated LUT array Verilog (Icarus and Verilator): one build per simulator runs
the compiler's programs for preset lut-tc-rtl-small, unchanged (DEQUANT and the bias add on the array), of
(a) GEMMs with K not a multiple of the k-tile (several k-tiles writing their groups' terms, buffer regions
reused; one whose terms do not fit obuf, dequantized in K-chunks accumulating in FP32: compiler.gemm.chunked)
and (b) every linear layer of one pythia-14m decoder layer (recipe w4a8kv4, 8 prefill tokens, FP16
biases; v_proj's outputs quantized for the INT4 KV cache on the array, VEC quantize) one after another, each
loaded through the instruction load port and the DRAM write port; stored FP16 outputs equal
sim.reference.mpgemm_rounded (+ bias) bit for bit (v_proj: the packed int4_asym stream of sim.formats'
quantization of them), and the RTL's cycle count equals the engine's. Prints the cycle counts it compared. A
missing simulator skips with its install command unless $REQUIRE_SIMS names it (tests/hdl/test_hdl.py). The same
for the FPGA-sized array (preset lut-tc-rtl-fpga) on the compiler's searched tiles of three GEMMs."""

from __future__ import annotations

import json

import pytest

from rtl.gateware.array_params import MEMORIES
from rtl.gateware.lut_array import FPGA_PRESET, LutArraySystem
from rtl.tools import hdl_sim, verilog
from tests.hdl.test_hdl import _need
from tests.rtl.array_case import (
    FPGA_CASES,
    K_CHUNKED_PRESET,
    K_TILED,
    LAYER_DRAM_WORDS,
    LAYER_MAX_INSTRS,
    gemm_case,
    layer_cases,
    searched_case,
)

# Verilator: the array (64 FP32 multipliers, 32 FP32 and 32 FP16 adders) compiles several minutes faster
# unoptimised (-O0), and the runs are short (10^3 to 10^5 cycles)
CXX_OPT = "-O0"


def _cases() -> list[tuple[str, object]]:
    random = [(f"M{s['m']}N{s['n']}K{s['k']}kt{s['kt']}-{s['weights']}",
               gemm_case(seed=20 + i, dram_words=LAYER_DRAM_WORDS, **{**s, "max_instrs": LAYER_MAX_INSTRS}))
              for i, s in enumerate(K_TILED + K_CHUNKED_PRESET)]
    p = random[0][1].params
    return random + [(f"pythia-14m.{name}", case) for name, case in layer_cases(p)]


@pytest.mark.parametrize("sim", hdl_sim.SIMULATORS)
def test_compiled_programs(sim, tmp_path, record_property):
    _run_programs(sim, tmp_path, record_property, _cases())


@pytest.mark.parametrize("sim", hdl_sim.SIMULATORS)
def test_fpga_array_programs(sim, tmp_path, record_property):
    """The array the ECP5 flow places (design lut-array-fpga, preset lut-tc-rtl-fpga) runs the compiler's programs
    in the tile search's own tiles: bit-exact, the engine's cycles, on the generated Verilog."""
    _run_programs(sim, tmp_path, record_property,
                  [(f"fpga-M{s['m']}N{s['n']}K{s['k']}-{s['weights']}", searched_case(FPGA_PRESET, **s))
                   for s in FPGA_CASES])


def _run_programs(sim, tmp_path, record_property, named) -> None:
    """Build ``named`` cases' array (one ArrayParams) as Verilog on ``sim``, run each case's program through the
    load ports and check stored outputs and cycles (recorded as the test's ``cycles`` properties)."""
    _need(sim)
    cases = [c for _, c in named]
    p = cases[0].params
    assert all(c.params == p for c in cases)
    cfg = {"results": str(tmp_path / "results.json"), "cases": []}
    for name, case in named:
        words = case.asm.words(p)
        cfg["cases"].append({"name": name, "mems": {str(i): words[m] for i, m in enumerate(MEMORIES)},
                             "image": case.image, "out_addr": case.out_addr,
                             "out_words": case.out_words,
                             "engine_cycles": case.engine_cycles, "max_cycles": 2 * case.engine_cycles})
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    top = "lut_array_system"
    src = tmp_path / "rtl" / f"{top}.v"
    src.parent.mkdir()
    src.write_text(verilog.to_verilog(LutArraySystem(p), top))
    runner = hdl_sim.build(sim, src, top, tmp_path / "build", cxx_opt=CXX_OPT)
    results = hdl_sim.run(runner, "tests.hdl.tb_lut_programs", top, tmp_path, {"LUTSIM_TB": str(tmp_path / "cfg.json")})
    from cocotb_tools.runner import get_results

    tests, failed = get_results(results)
    got = json.loads((tmp_path / "results.json").read_text())
    for r, case in zip(got, cases):
        record_property("cycles", f"{sim} {r['name']}: RTL {r['cycles']} cycles, engine {case.engine_cycles}")
        bad = case.mismatches(r["words"])
        assert len(bad) == 0, f"{r['name']}: {len(bad)} outputs differ from sim.reference, first at {bad[:4].tolist()}"
        assert r["cycles"] == case.engine_cycles, r["name"]
    assert len(got) == len(cases) and tests == 1 and failed == 0
