"""The Assumptions table of a report: nested constants flattened with their nearest source; a sweep's manifest
and base-arch constants."""

from lutsim.sweep import parse_spec, run_sweep
from reports.assumptions import assumption_rows, sweep_assumptions
from reports.build import build_report


def test_nested_constants_get_dotted_names_and_the_nearest_source():
    rows = assumption_rows({"clock_hz": 1e9, "layers": {"value": 32, "source": "trace"},
                            "engine": {"arch_sources": ["paper A"], "arrays": 16,
                                       "dram": {"pj_per_bit": 18.75, "source": "paper B"}}})
    by = {r["name"]: r for r in rows}
    assert set(by) == {"clock_hz", "layers", "engine.arrays", "engine.dram.pj_per_bit"}
    assert by["layers"]["value"] == "32" and by["layers"]["source"] == "trace"
    assert by["engine.arrays"]["source"] == "paper A" and by["engine.dram.pj_per_bit"]["source"] == "paper B"
    assert by["clock_hz"]["value"] == "1e+09" and by["clock_hz"]["source"] == ""


def test_sweep_report_lists_the_manifest_and_the_base_arch_constants(tmp_path):
    spec = parse_spec({"name": "one", "base_arch": "lut-tc-28nm", "axes": {"arrays": [8, 16]},
                       "workloads": [{"model": "llama-2-7b", "quant": "w4a16-g128", "phase": "decode", "kv_len": 64}],
                       "constraints": {"area_mm2": 50}})
    run_sweep(spec, tmp_path / "run", jobs=1, progress=False)
    rows = {r["name"]: r for r in sweep_assumptions(tmp_path / "run")}
    assert rows["sweep.base_arch"]["value"] == "lut-tc-28nm"
    assert rows["sweep.constraints"]["value"] == '{"area_mm2": 50}'
    dram = rows["base arch lut-tc-28nm: engine.dram.pj_per_bit"]
    assert float(dram["value"]) > 0 and "references" in dram["source"]
    page = build_report(tmp_path / "run", tmp_path / "report").read_text()
    assert "sweep.base_arch_spec" in page and "engine.dram.pj_per_bit" in page
    assert sweep_assumptions(tmp_path / "nothing") == []
