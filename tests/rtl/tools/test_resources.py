"""rtl.tools.resources: ratio arithmetic and the report's handling of missing figures (no synthesis run)."""

from __future__ import annotations

from rtl.tools import resources, synth


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


def test_tool_results_are_cached_by_their_inputs(empty_tool_caches):
    calls = []

    def compute():
        calls.append(1)
        return {"n": len(calls)}

    assert synth.cached("synth", ["module a", "Yosys 1"], compute) == ({"n": 1}, False)
    assert synth.cached("synth", ["module a", "Yosys 1"], compute) == ({"n": 1}, True)   # same key: no run
    assert synth.cached("synth", ["module a", "Yosys 2"], compute) == ({"n": 2}, False)  # new tool version
    assert synth.cached("synth", ["module a", "Yosys 1"], compute, reuse=False) == ({"n": 3}, False)
    assert len(list((empty_tool_caches / "synth-cache").glob("*.json"))) == 2


def test_fpga_section_ratios_use_the_designs_own_cells():
    def r(name, lut4, ff, dsp, fmax, m=2, hl=10, hf=100):
        return {"design": name, "params": {"m": m, "n": 8, "k": 4}, "lut4": lut4, "ff": ff, "dsp": dsp, "ebr": 0,
                "harness_lut4": hl, "harness_ff": hf, "fmax_mhz": fmax, "ops_per_cycle": 128.0,
                "ops_per_s": 128.0 * fmax * 1e6, "seconds": 1.0, "part": "LFE5U-85F", "package": "CABGA381",
                "speed": 6, "yosys": "Yosys X", "nextpnr": "nextpnr-X"}
    res = {"lut-tc": r("lut-tc", 1010, 300, 0, 80.0), "table-precompute": r("table-precompute", 20, 110, 0, 200.0),
           "mac-array": r("mac-array", 510, 500, 64, 60.0), "mac-array -nodsp": r("mac-array", 4010, 500, 0, 50.0)}
    text = "\n".join(resources.render_fpga(res))
    row = next(ln for ln in text.splitlines() if ln.startswith("| INT8 activations"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:7] == ["M2N8K4", "64", "0.50×", "2.00×", "**4.00×**", f"{4000 / (1000 + 2 * 10):.2f}×"]
    assert cells[7:9] == ["80.0, 60.0", "1.33×"] and cells[10] == "4–6×"
    assert "| lut-tc | m=2, n=8, k=4 | 1,010 | 300 | 10 | 100 | 0 | 0 | 80.0 | 128 | 10.2 | 1 |" in text


def test_unplaced_design_is_sized_against_the_part():
    """A design the flow could not place is listed with its error and, when the synthesis section has its
    synth_ecp5 counts, those beside the part's capacity (from any placed design's report)."""
    placed = {"design": "mac-int8", "params": {"k": 1}, "lut4": 81, "ff": 83, "dsp": 1, "ebr": 0, "harness_lut4": 11,
              "harness_ff": 51, "fmax_mhz": 110.0, "ops_per_cycle": 2.0, "ops_per_s": 2.2e8, "seconds": 7.0,
              "part": "LFE5U-85F", "package": "CABGA381", "speed": 6, "yosys": "Yosys X", "nextpnr": "nextpnr-X",
              "available": {"lut4": 83640, "ff": 83640, "dsp": 156, "ebr": 208}}
    synth_res = {"lut-array": {"ecp5": {"lut": 250000, "ff": 400000, "yosys": "Yosys 0.23"}}}
    text = "\n".join(resources.render_fpga({"mac-int8": placed, "lut-array": {"error": "yosys aborted"}},
                                           synth_res))
    line = next(ln for ln in text.splitlines() if ln.startswith("Not placed:"))
    assert "lut-array: yosys aborted; synth_ecp5 in the synthesis section above: 250,000 LUT4 and 400,000 FF " \
           "(Yosys 0.23), the part has 83,640 and 83,640" in line
    assert "table-precompute: not run" in line  # no synthesis figure: the reason alone
