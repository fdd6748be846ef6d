"""The report gallery: a reduced gallery built in a temporary directory, and the committed reports/gallery/."""

import re
from pathlib import Path

import pandas as pd

from reports.gallery import OUT, PHASES, build_gallery

GALLERY_LIMIT_BYTES = 3_000_000  # issue 7: the committed gallery stays under 3 MB

SMALL_SWEEP = {
    "name": "gallery-test", "base_arch": "lut-tc-28nm",
    "axes": {"arrays": [8, 16], "pe.tile": [[2, 64, 4], [2, 64, 16]], "clock_mhz": [800, 1000]},
    "workloads": [{"model": "llama-2-7b", "quant": "w4a16-g128", "phase": "decode", "kv_len": 128, "batch": 1}],
    "constraints": {"area_mm2": 9.4},  # skips the 16-array designs (9.63 mm² with FP16 tables and the matrix unit)
}
SMALL_DESIGNS = (("LUT Tensor Core", "lut-tc-28nm", "w4a16-g128"), ("FP16 MAC", "fp16-mac-28nm", "fp16"))
SMALL_WORKLOAD = {"model": "llama-2-7b", "seq_len": 16, "kv_len": 128, "batch": 1}


def _check_page(out: Path) -> str:
    page = (out / "report.html").read_text()
    images = re.findall(r'<img alt="[^"]*" src="([^"]+)"', page)
    assert images and all((out / src).stat().st_size > 5000 for src in images)
    assert sorted(images) == sorted(p.name for p in out.glob("*.png")), "every PNG is shown, every image exists"
    assert not list(out.glob("*.svg")) and "base64" not in page
    assert sum(f.stat().st_size for f in out.iterdir()) < GALLERY_LIMIT_BYTES
    return page


def test_reduced_gallery_has_every_figure_and_table(tmp_path):
    page = build_gallery(tmp_path, jobs=1, sweep=SMALL_SWEEP, designs=SMALL_DESIGNS, workload=SMALL_WORKLOAD)
    out = page.parent
    html = _check_page(out)
    for name in ("sweep_pareto_throughput_area.png", "sweep_pareto_energy_area.png", "sweep_energy_breakdown.png",
                 "sweep_area_breakdown.png", "designs_area.png", "roofline_prefill.png", "roofline_decode.png",
                 "utilization_prefill.png", "utilization_decode.png", *(f"designs_energy_{p}.png" for p in PHASES)):
        assert (out / name).is_file(), name
    comp = pd.read_csv(out / "designs_comparison.csv")
    assert len(comp) == len(SMALL_DESIGNS) * len(PHASES) and (comp["tokens_per_s"] > 0).all()
    assert set(comp["design"]) == {d[0] for d in SMALL_DESIGNS} and set(comp["phase"]) == set(PHASES)
    rows = pd.read_csv(out / "sweep_rows.csv")
    assert len(rows) == 8 and (rows["status"] != "error").all()
    skipped = pd.read_csv(out / "sweep_skipped.csv")
    assert skipped["points"].sum() == (rows["status"] == "skipped").sum() > 0
    assert skipped["reason"].str.contains("K in").any() and skipped["reason"].str.contains("area_mm2").any()
    assert "llama-2-7b decode" in html and "FP16 MAC" in html
    assert (comp["memory"] == "bitmod").all() and comp["weight_sqnr_db"].notna().any()  # one memory system
    prec = pd.read_csv(out / "designs_precision.csv")
    assert {"w2a16-g64", "w1.58a8"} <= set(prec["quant"])  # LUT-TC takes W2 and ternary weights
    batch = pd.read_csv(out / "designs_batch.csv")
    assert set(batch["batch"]) == {1, 8, 32}
    long = pd.read_csv(out / "designs_long_context.csv")
    assert long["quant"].str.endswith("-kv4").any() and (long["kv_len"] == 8 * SMALL_WORKLOAD["kv_len"]).all()
    sens = pd.read_csv(out / "designs_sensitivity.csv")
    assert set(sens["memory"]) == {"hbm2e", "lpddr5", "ddr4"} and set(sens["sram_leakage_scale"]) == {0.5, 1, 2}
    assert (out / "designs_batch.png").is_file() and (out / "designs_sensitivity.png").is_file()


def test_committed_gallery_is_complete_and_small():
    assert (OUT / "report.html").is_file(), "run: python -m reports.gallery"
    html = _check_page(OUT)
    comp = pd.read_csv(OUT / "designs_comparison.csv")
    assert {"LUT Tensor Core", "BitMoD", "MixPE", "FP16 MAC", "ANT", "OliVe"} == set(comp["design"])
    assert "sweep_pareto_throughput_area_decode.png" in html and "roofline_decode.png" in html and "Roofline" in html


def test_limits_text_follows_the_table():
    """The comparison's 'limited by' sentence is derived from pe_busy_pct / dram_roofline_pct, not written by hand."""
    from reports.gallery import LIMIT_PCT, limits_text

    table = pd.DataFrame([
        {"design": "A", "phase": "decode", "pe_busy_pct": 95.0, "dram_roofline_pct": 20.0},
        {"design": "B", "phase": "decode", "pe_busy_pct": 5.0, "dram_roofline_pct": 99.0},
        {"design": "A", "phase": "prefill", "pe_busy_pct": LIMIT_PCT - 1, "dram_roofline_pct": 10.0},
        {"design": "B", "phase": "prefill", "pe_busy_pct": 50.0, "dram_roofline_pct": 30.0},
    ])
    text = limits_text(table)
    assert "Decode, limited by the PE array: A; on the DRAM roof: B" in text and "Prefill" not in text
    assert "output-stationary arrays of A" in text
    assert "output-stationary" not in limits_text(table.assign(pe_busy_pct=1.0))


def test_committed_comparison_says_where_the_time_goes():
    comp = pd.read_csv(OUT / "designs_comparison.csv")
    assert comp["pe_busy_pct"].between(0, 100).all() and comp["dram_roofline_pct"].between(0, 100.5).all()
    decode = comp[comp["phase"] == "decode"].set_index("design")
    assert decode.loc["LUT Tensor Core", "dram_roofline_pct"] > 90  # W4 decode on the memory roof


def test_a_failing_build_leaves_the_gallery_as_it_was(tmp_path):
    """The gallery is built in a sibling directory and moved in only when complete: a run that fails half way
    (here: a design whose arch does not exist) leaves the previous files untouched and no temporary directory."""
    out = tmp_path / "gallery"
    out.mkdir()
    (out / "report.html").write_text("previous page")
    (out / "designs_comparison.csv").write_text("previous,table\n")
    bad = (*SMALL_DESIGNS, ("Nope", "no-such-arch", "fp16"))
    try:
        build_gallery(out, jobs=1, sweep=SMALL_SWEEP, designs=bad, workload=SMALL_WORKLOAD)
    except ValueError:
        pass
    else:
        raise AssertionError("an unknown arch must fail the build")
    assert (out / "report.html").read_text() == "previous page"
    assert sorted(p.name for p in out.iterdir()) == ["designs_comparison.csv", "report.html"]
    assert [p.name for p in tmp_path.iterdir()] == ["gallery"]
