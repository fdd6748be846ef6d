"""Every report page in headless Chromium: a screenshot, and a DOM check that no table is wider than the page,
nothing scrolls sideways, every image loads and every figure has its caption once. Plus the figures
themselves: captions name each run's own recipe, components keep their colour across charts, legends sit
beside the bars.

Chromium comes from Debian (``apt-get install -y chromium``, in ``make system-deps``). Without it the page
checks fail in CI (``CI=true``) and skip locally with the install hint."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lutsim.cli import main
from lutsim.sweep import parse_spec, run_sweep
from reports.gallery import OUT as GALLERY

WIDTH = 1280
HINT = "headless Chromium is needed for the report page checks: apt-get install -y chromium (make system-deps)"

_PROBE = """<script>
window.addEventListener("load", () => {
  const de = document.documentElement, body = document.body.getBoundingClientRect();
  const box = (e) => { const r = e.getBoundingClientRect(); return {width: r.width, right: r.right}; };
  const out = {page: de.clientWidth, scroll: de.scrollWidth, body_right: body.right, height: de.scrollHeight,
               tables: [...document.querySelectorAll("table")].map(box),
               images: [...document.querySelectorAll("img")].map((i) => ({ok: i.complete && i.naturalWidth > 0,
                                                                           ...box(i)})),
               figures: document.querySelectorAll("figure").length,
               captions: [...document.querySelectorAll("figcaption")].map((c) => c.textContent)};
  const pre = document.createElement("pre"); pre.id = "layout-probe"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


@pytest.fixture(scope="module")
def chromium() -> str:
    exe = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail(HINT)
        pytest.skip(HINT)
    return exe


def _chromium(exe: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--window-size={WIDTH},900", "--virtual-time-budget=10000", *args],
                          capture_output=True, text=True, timeout=120)


def check_page(exe: str, page: Path, shot: Path) -> dict:
    """Lay ``page`` out at :data:`WIDTH` px: its layout facts (the probe's JSON) and a full-page screenshot."""
    probe = page.with_name("_layout_probe.html")
    probe.write_text(page.read_text().replace("</body>", _PROBE + "</body>"))
    try:
        r = _chromium(exe, "--dump-dom", probe.as_uri())
    finally:
        probe.unlink()
    m = re.search(r'<pre id="layout-probe">(.*?)</pre>', r.stdout, flags=re.S)
    assert m, f"no layout probe in Chromium's DOM: {r.stderr[-500:]}"
    layout = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                        .replace("&gt;", ">"))
    _chromium(exe, f"--window-size={WIDTH},{min(int(layout['height']), 16000)}", f"--screenshot={shot}",
              page.as_uri())
    return layout


def _assert_fits(layout: dict, shot: Path) -> None:
    assert shot.stat().st_size > 20_000, "the screenshot is empty"
    assert layout["scroll"] <= layout["page"], "the page scrolls sideways"
    for t in layout["tables"]:
        assert t["width"] <= layout["page"] and t["right"] <= layout["body_right"] + 1, f"a table overflows: {t}"
    assert layout["images"] and all(i["ok"] and i["right"] <= layout["page"] for i in layout["images"])
    assert len(layout["captions"]) == layout["figures"] == len(layout["images"])  # one caption per figure


RUNS = (("lut-tc-28nm", "w4a16-g128"), ("olive-28nm", "w4a8-olive4"), ("fp16-mac-28nm", "fp16"))


@pytest.fixture(scope="module")
def stats_report(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("stats")
    runs = d / "runs"
    runs.mkdir()
    for arch, quant in RUNS:
        r = subprocess.run([sys.executable, "-m", "lutsim", "simulate", "--arch", arch, "--model", "llama-2-7b",
                            "--quant", quant, "--phase", "decode", "--kv-len", "64", "--json"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        (runs / f"{arch}.json").write_text(r.stdout)
    assert main(["report", str(runs), "--out", str(d / "report")]) == 0
    return d / "report" / "report.html"


@pytest.fixture(scope="module")
def sweep_report(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("sweep")
    spec = {"base_arch": "toy", "axes": {"x": [1, 2, 3], "y": [1, 2]},
            "workloads": [{"n": 10, "phase": "prefill", "seq_len": 128}, {"n": 20, "phase": "decode", "kv_len": 512}],
            "evaluator": "tests.lutsim.sweep_fixtures:toy_evaluate"}
    run_sweep(parse_spec(spec), d / "sw", jobs=1, progress=False, allow_imports=[spec["evaluator"]])
    assert main(["report", str(d / "sw"), "--out", str(d / "report")]) == 0
    return d / "report" / "report.html"


def test_stats_report_page_fits(chromium, stats_report, tmp_path):
    _assert_fits(check_page(chromium, stats_report, tmp_path / "stats.png"), tmp_path / "stats.png")


def test_sweep_report_page_fits(chromium, sweep_report, tmp_path):
    _assert_fits(check_page(chromium, sweep_report, tmp_path / "sweep.png"), tmp_path / "sweep.png")


def test_committed_gallery_page_fits(chromium, tmp_path):
    _assert_fits(check_page(chromium, GALLERY / "report.html", tmp_path / "gallery.png"), tmp_path / "gallery.png")


def test_captions_name_each_runs_own_recipe_once(stats_report):
    html = stats_report.read_text()
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", html, flags=re.S)
    for arch, quant in RUNS:
        assert f"{arch}: {quant}" in captions[0]  # the roofline shows every run
        assert any(f"{quant} on {arch}." in c for c in captions)  # its own utilization figure
    util = [c for c in captions if " on olive-28nm." in c]
    assert util and "w4a8-olive4" in util[0] and "w4a16-g128" not in util[0]


def test_components_keep_their_colour_across_energy_and_area(stats_report):
    from matplotlib.colors import to_hex

    from reports.build import stats_sections

    runs = [json.loads(p.read_text()) for p in sorted((stats_report.parent.parent / "runs").glob("*.json"))]
    secs = {s.slug: s for s in stats_sections(runs, [])}

    def colours(fig):
        ax = fig.axes[0]
        return {c.get_label(): to_hex(c.patches[0].get_facecolor()) for c in ax.containers}

    energy, area = colours(secs["energy_breakdown"].figure), colours(secs["area_breakdown"].figure)
    shared = set(energy) & set(area)
    assert {"PE array", "buffers (SRAM)"} <= shared and all(energy[c] == area[c] for c in shared)


def test_figures_draw_no_caption_and_the_stalls_legend_sits_beside_the_bars():
    from reports import figures

    ops = [{"name": f"op{i}", "utilization": 0.5, "cycles": 100, "stalls": {"dependency": 40, "buffer_space": 5}}
           for i in range(6)]
    fig = figures.utilization_and_stalls(ops, "t")
    assert not fig.texts  # the caption is the page's text, once
    fig.canvas.draw()
    ax = fig.axes[1]
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1  # right of the axes, over no bar
