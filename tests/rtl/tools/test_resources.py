"""rtl.tools.resources: ratio arithmetic and the report's handling of missing figures (no synthesis run)."""

from __future__ import annotations

from rtl.tools import resources


def _fake(ge: float) -> dict:
    return {"generic": {"ge": ge, "ff": 1, "yosys": "Yosys X", "params": {"m": 2, "n": 64, "k": 4}},
            "ecp5": {"lut": 2, "ff": 1, "carry": 0, "mux": 0, "dsp": 0, "yosys": "Yosys X"}}


def test_area_ratio_counts_mac_array_and_precompute():
    res = {"lut-tc": _fake(1000.0), "table-precompute": _fake(50.0), "mac-dp4": _fake(25.0)}
    r = resources.area_ratio(res, "lut-tc", "table-precompute", "mac-dp4", 4)  # DP4: 512 / 4 = 128 PEs
    assert r["mac_pes"] == 128 and r["mac_array_ge"] == 3200.0
    assert r["ratio"] == 3.2 and r["ratio_with_precompute"] == 3200.0 / 1100.0  # M = 2 precompute units


def test_render_marks_failed_synthesis():
    res = {"lut-tc": _fake(1000.0), "table-precompute": _fake(50.0), "mac-dp4": _fake(25.0),
           "lut-tc-fp16": {"generic": {"error": "yosys took longer than 5 s"}, "ecp5": _fake(1)["ecp5"]}}
    text = resources.render(res)
    assert "| **3.20×** |" in text and "Yosys X" in text
    assert "—" in text and "lut-tc-fp16 on generic: yosys took longer than 5 s" in text
    assert "FP16 activations (" not in text  # no ratio from a missing figure
