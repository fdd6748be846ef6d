import json

import pytest

from lutsim.cli import main
from lutsim.sweep import parse_spec, run_sweep


def fake_stats(arch: str, scale: float) -> dict:
    """A hand-made result in the shape of ``lutsim simulate --json`` (lutsim.results.SimResult)."""
    ops = [{"name": f"L0.{n}", "kind": "linear", "layer": 0, "repeat": 32, "unit": "array",
            "cycles": int(1000 * scale * (i + 1)), "bound": "memory", "utilization": 0.1 * (i + 1),
            "ops": 2e6 * (i + 1), "bytes": 1e5, "energy_pj": 5e5, "stalls": {"dependency": 3, "buffer_space": 100 * i},
            "instructions": 10, "cache": "miss", "M": 1, "N": 4096, "K": 4096, "count": 1, "w_fmt": "int4",
            "a_fmt": "fp16"} for i, n in enumerate(["q", "k", "v"])]
    return {"arch": arch, "model": "llama-2-7b", "quant": "w4a16-g128", "phase": "decode", "seq_len": 1,
            "kv_len": 1024, "batch": 1, "ops": ops,
            "totals": {"cycles": 6000, "latency_ms": 6e-3 * scale, "tokens_per_s": 1e5 / scale, "energy_pj": 1e6,
                       "energy_per_token_mj": 0.5 * scale, "area_mm2": 2.0, "power_w": 1.0,
                       "peak_ops_per_s": 1e12, "dram_bytes_per_s": 3.2e10, "ops": 1.2e7, "bytes": 3e5, "tokens": 1},
            "energy_breakdown_pj": {"array": 1e6, "dram": 3e6 * scale}, "area_breakdown_mm2": {"array": 1.5,
                                                                                              "sram:wbuf": 0.5},
            "assumptions": {"clock_hz": 1e9, "layers": {"value": 32, "source": "test"}, "op_overlap": "none",
                            "placement": "test", "peak": "test", "engine": {}, "area": {},
                            "energy": {"dram_pj_per_bit": {"value": 18.75, "source": "docs/references.md#bitmod"}}}}


def test_report_from_stats_writes_page_figures_and_tables(tmp_path):
    d = tmp_path / "stats"
    d.mkdir()
    (d / "a.json").write_text(json.dumps(fake_stats("lut-tc-28nm", 1.0)))
    (d / "b.json").write_text(json.dumps(fake_stats("fp16-mac-28nm", 3.0)))
    assert main(["report", str(d), "--out", str(tmp_path / "out")]) == 0
    page = (tmp_path / "out" / "report.html").read_text()
    assert "data:image/png;base64," in page and "fp16-mac-28nm" in page and "docs/references.md#bitmod" in page
    for name in ("roofline.png", "roofline.svg", "energy_breakdown.png", "area_breakdown.png", "designs.csv"):
        assert (tmp_path / "out" / name).stat().st_size > 0


def test_report_from_sweep_has_pareto_fronts(tmp_path):
    spec = {"base_arch": "toy", "axes": {"x": [1, 2, 3], "y": [1, 2]}, "workloads": [{"n": 10}],
            "evaluator": "tests.lutsim.sweep_fixtures:toy_evaluate"}
    run_sweep(parse_spec(spec), tmp_path / "sw", jobs=1, progress=False, allow_imports=[spec["evaluator"]])
    assert main(["report", str(tmp_path / "sw"), "--out", str(tmp_path / "rep")]) == 0
    for name in ("designs.csv", "pareto_throughput_area.png", "pareto_energy_area.png", "energy_breakdown.png"):
        assert (tmp_path / "rep" / name).exists()


@pytest.mark.parametrize("content", ["{not json", json.dumps({"ops": []})])
def test_bad_stats_is_a_clear_error(tmp_path, content, capsys):
    f = tmp_path / "s.json"
    f.write_text(content)
    assert main(["report", str(f), "--out", str(tmp_path / "o")]) == 2
    assert "error:" in capsys.readouterr().err


def test_a_long_table_shows_its_first_rows_and_keeps_all_in_the_csv(tmp_path):
    import pandas as pd

    from reports.html_report import MAX_TABLE_ROWS, Section, write_report

    n = MAX_TABLE_ROWS + 50
    df = pd.DataFrame({"design": [f"d{i}" for i in range(n)], "tokens_per_s": range(n)})
    page = write_report([Section("designs", "Design points", table=df)], tmp_path, title="t", source="s").read_text()
    assert page.count("<td>d") == MAX_TABLE_ROWS  # the rows shown
    assert f"The first {MAX_TABLE_ROWS} of {MAX_TABLE_ROWS + 50} rows" in page
    assert len(pd.read_csv(tmp_path / "designs.csv")) == MAX_TABLE_ROWS + 50


def test_report_from_a_sweep_mixing_prefill_and_decode_workloads(tmp_path):
    """Prefill rows have seq_len and no kv_len, decode rows the reverse: empty cells must not crash the page."""
    spec = {"base_arch": "toy", "axes": {"x": [1, 2], "y": [1, 2]},
            "workloads": [{"n": 10, "phase": "prefill", "seq_len": 128}, {"n": 20, "phase": "decode", "kv_len": 512}],
            "evaluator": "tests.lutsim.sweep_fixtures:toy_evaluate"}
    run_sweep(parse_spec(spec), tmp_path / "sw", jobs=1, progress=False, allow_imports=[spec["evaluator"]])
    assert main(["report", str(tmp_path / "sw"), "--out", str(tmp_path / "rep")]) == 0
    import re

    page = re.sub(r"data:image/png;base64,[^\"]+", "", (tmp_path / "rep" / "report.html").read_text())
    assert "prefill n=10 seq_len=128" in page and "decode n=20 kv_len=512" in page
    assert not re.search(r"\bnan\b", page, flags=re.I)  # a prefill row's missing kv_len is an empty cell
    assert (tmp_path / "rep" / "pareto_throughput_area_prefill.png").exists()
    assert (tmp_path / "rep" / "pareto_throughput_area_decode.png").exists()


def test_report_of_a_config_json_model_leaves_the_gpu_roofs_out(tmp_path):
    d = tmp_path / "stats"
    d.mkdir()
    (d / "a.json").write_text(json.dumps({**fake_stats("lut-tc-28nm", 1.0), "model": "my-own-model"}))
    assert main(["report", str(d), "--out", str(tmp_path / "out")]) == 0
    assert "No GPU roofs: &#39;my-own-model&#39; is not a zoo model" in (tmp_path / "out" / "report.html").read_text()
