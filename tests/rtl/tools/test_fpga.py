"""`lutsim rtl fpga`: a small LUT unit through yosys synth_ecp5 and nextpnr-ecp5 (YoWASP, a project dependency:
no skip when absent), the report parsing, the harness and the error paths (one `error:` line, exit 2)."""

from __future__ import annotations

import json
import math

import pytest

from lutsim.cli import main
from rtl.tools import fpga, verilog


@pytest.fixture
def cache(empty_tool_caches):
    return empty_tool_caches / "fpga-cache"   # tests/rtl/tools/conftest.py


def _fpga(capsys, *argv) -> tuple[int, str, str]:
    rc = main(["rtl", "fpga", *argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.mark.slow
def test_small_lut_unit_places_and_routes(cache, capsys):
    """M1N2K4 LUT unit on an LFE5U-25F: cells placed, a finite Fmax, throughput = model ops/cycle × Fmax;
    the second run comes from the cache with the same figures."""
    argv = ("--design", "lut-tc", "--m", "1", "--n", "2", "--part", "LFE5U-25F", "--weight-bits", "2", "--json")
    rc, out, err = _fpga(capsys, *argv)
    assert rc == 0, err
    r = json.loads(out)
    _, _, harness, params = fpga.harnessed("lut-tc", m=1, n=2)
    assert r["params"] == params and (r["harness_ff"], r["harness_lut4"]) == (harness["harness_ff"],
                                                                             harness["harness_lut4"])
    assert r["lut4"] > 0 and r["ff"] > r["harness_ff"]           # the unit's own registers on top of the harness
    assert r["available"]["lut4"] == 24288 and r["lut4"] < r["available"]["lut4"]  # LFE5U-25F: 24k LUT4
    assert math.isfinite(r["fmax_mhz"]) and 5 < r["fmax_mhz"] < 500
    assert r["ops_per_cycle"] == 2 * 1 * 2 * 4 / 2                # model: 2·M·N·K / weight bits
    assert r["ops_per_s"] == pytest.approx(r["ops_per_cycle"] * r["fmax_mhz"] * 1e6, rel=1e-3)
    assert r["yosys"].startswith("Yosys ") and r["nextpnr"].startswith("nextpnr-") and not r["cached"]
    rc, out, _ = _fpga(capsys, *argv)
    again = json.loads(out)
    assert rc == 0 and again["cached"] and again["fmax_mhz"] == r["fmax_mhz"] and again["lut4"] == r["lut4"]


def test_unknown_design_part_and_speed_are_one_error_line(cache, capsys):
    for argv, word in ((("--design", "nope"), "design"), (("--design", "mac-int8", "--part", "XC7A35T"), "part"),
                       (("--design", "mac-int8", "--speed", "9"), "speed"),
                       (("--design", "mac-int8", "--weight-bits", "0"), "weight-bits"),
                       (("--design", "mac-int8", "--timeout", "0"), "timeout")):
        rc, out, err = _fpga(capsys, *argv)
        assert rc == 2 and out == "" and err.startswith("error:") and word in err, err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_missing_tool_is_one_error_line(cache, capsys, monkeypatch):
    monkeypatch.setenv("LUTSIM_NEXTPNR_ECP5", "/nonexistent/nextpnr-ecp5")
    rc, out, err = _fpga(capsys, "--design", "mac-int8")
    assert rc == 2 and out == "" and err.startswith("error:") and "nextpnr-ecp5" in err
    assert len(err.strip().splitlines()) == 1


def test_the_lut_array_gets_more_time_than_the_default():
    """A design without its own limit gets DEFAULT_TIMEOUT_S, the LUT array more; --timeout wins over both."""
    assert fpga.timeout_for("mac-int8") == fpga.DEFAULT_TIMEOUT_S
    assert fpga.timeout_for("lut-array-fpga") > fpga.DEFAULT_TIMEOUT_S
    assert fpga.timeout_for("lut-array-fpga", 60) == 60.0


def _fake_nextpnr(monkeypatch, tmp_path, script: str) -> None:
    """$LUTSIM_NEXTPNR_ECP5: a shell script that answers ``--version`` as the real nextpnr does and otherwise runs
    ``script`` (its place and route)."""
    fake = tmp_path / "nextpnr-ecp5"
    fake.write_text("#!/bin/sh\ncase \"$*\" in *--version*) exec " + " ".join(fpga.nextpnr_command())
                    + " --version;; esac\n" + script + "\n")
    fake.chmod(0o755)
    monkeypatch.setenv("LUTSIM_NEXTPNR_ECP5", str(fake))


def test_webassembly_trap_is_one_clear_error_line(cache, capsys, monkeypatch, tmp_path):
    """A YoWASP tool that aborts with a wasmtime trap (no message of its own, e.g. out of its 4 GiB address
    space): one error line that says so, not the last line of wasmtime's Python traceback."""
    _fake_nextpnr(monkeypatch, tmp_path, "echo 'wasmtime._trap.Trap: error while executing at wasm backtrace:' >&2\n"
                  "echo '    0: 0x1 - nextpnr.wasm!abort' >&2\nexit 1")
    rc, out, err = _fpga(capsys, "--design", "mac-int8")
    assert rc == 2 and out == "" and err.startswith("error: nextpnr-ecp5") and "aborted inside WebAssembly" in err
    assert "4 GiB" in err and len(err.strip().splitlines()) == 1, err


def test_a_tools_error_line_wins_over_its_closing_count(cache, capsys, monkeypatch, tmp_path):
    """nextpnr's ERROR line (here: more cells than the part has) is the message, not its last line, the
    "0 warnings, 1 error" count."""
    _fake_nextpnr(monkeypatch, tmp_path, "echo 'ERROR: Design uses 99999 TRELLIS_COMB, device has 83640' >&2\n"
                  "echo '0 warnings, 1 error' >&2\nexit 125")
    rc, out, err = _fpga(capsys, "--design", "mac-int8")
    assert rc == 2 and out == "" and "99999 TRELLIS_COMB" in err and "warnings" not in err, err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_nextpnr_failure_is_one_error_line(cache, capsys):
    """nextpnr rejects a package the part does not come in: its error comes back, exit 2, nothing cached."""
    rc, out, err = _fpga(capsys, "--design", "mac-int8", "--package", "CABGA999")
    assert rc == 2 and out == "" and err.startswith("error: nextpnr-ecp5") and "CABGA999" in err, err
    assert len(err.strip().splitlines()) == 1
    assert not cache.exists() or not any(cache.iterdir())


def test_report_parsing_takes_the_slowest_clock():
    report = {"utilization": {"TRELLIS_COMB": {"used": 10, "available": 24288},
                              "TRELLIS_FF": {"used": 7, "available": 24288},
                              "MULT18X18D": {"used": 1, "available": 28}, "DP16KD": {"used": 0, "available": 56}},
              "fmax": {"$glbnet$clk": {"achieved": 120.5, "constraint": 250.0},
                       "other": {"achieved": 90.0, "constraint": 250.0}}}
    got = fpga.parse_report(report)
    assert got["fmax_mhz"] == 90.0
    assert got["utilization"]["lut4"] == {"used": 10, "available": 24288} and got["utilization"]["dsp"]["used"] == 1
    with pytest.raises(fpga.ToolError, match="no clock"):
        fpga.parse_report({"utilization": {}, "fmax": {}})


def test_harness_counts_every_port_bit():
    h = fpga.Harness(verilog.build("mac-int8"))
    assert (h.in_bits, h.out_bits) == (8 + 8 + 1 + 1, 32)         # a, w, en, clear → acc
    assert (h.harness_ff, h.harness_lut4) == (18 + 32 + 1, 11)    # 31 XORs, 3 per LUT4
    text = verilog.to_verilog(h, "h")
    assert "input si;" in text and "output so;" in text and "input [7:0] a" not in text


def test_throughput_model_of_the_arrays():
    assert fpga.ops_per_cycle("mac-array", verilog.design("mac-array").parameters()) == 2 * 2 * 64 * 4
    assert fpga.ops_per_cycle("lut-tc", verilog.design("lut-tc").parameters(), weight_bits=4) == 2 * 2 * 64
    assert fpga.ops_per_cycle("table-precompute", verilog.design("table-precompute").parameters()) is None
    # the LUT arrays: their preset's units × one unit's 2·M·N·K / weight bits (a program's own rate is the engine's)
    assert fpga.ops_per_cycle("lut-array", verilog.design("lut-array").parameters()) == 2 * 2 * 2 * 16 * 4
    assert fpga.ops_per_cycle("lut-array-fpga", verilog.design("lut-array-fpga").parameters(), weight_bits=2) == \
        1 * 2 * 1 * 8 * 4 / 2


@pytest.mark.slow
@pytest.mark.parametrize("nodsp", [False, True])
def test_split_synth_script_with_plain_share_is_synth_ecp5(tmp_path, nodsp):
    """The flow's split script (synth_ecp5's coarse commands written out, fpga._COARSE) with plain `share` and
    synth_ecp5's own LUT mapping writes the same cells and connections as one `synth_ecp5` for a design with
    multipliers (mac-dp4: 4 DSPs, or LUTs with -nodsp): the written-out commands are the installed Yosys's;
    `share -fast` and the LUT mapper (fpga.LUTS, in place of synth_ecp5's ABC9) are the only differences."""
    top, text, _, _ = fpga.harnessed("mac-dp4")
    split, whole = tmp_path / "split", tmp_path / "whole"
    split.mkdir(), whole.mkdir()
    cells = fpga.synthesize(text, top, split, nodsp, share="share", luts=None)["design"]["num_cells_by_type"]
    (whole / f"{top}.v").write_text(text)
    flags = f"-top {top}" + (" -nodsp" if nodsp else "")
    fpga._run([*fpga.yosys_command(), "-q", "-p", f"read_verilog -sv {top}.v; hierarchy -top {top}; proc; "
               f"splitnets -ports; synth_ecp5 {flags} -json {top}.json"], whole, "yosys", 600)
    assert cells.get("MULT18X18D", 0) == (0 if nodsp else 4)
    netlists = [json.loads((d / f"{top}.json").read_text())["modules"][top] for d in (split, whole)]
    for part in ("cells", "ports"):   # every cell, its type, parameters and connections; the net names may differ
        assert netlists[0][part] == netlists[1][part], part
    # the map_luts label written out (fpga._MAP_LUTS) with synth_ecp5's own `abc9 -W 300`: the same cells by type
    # and count (ABC9 run as its own command may wire equal LUTs of an XOR tree in another order)
    written = tmp_path / "written"
    written.mkdir()
    by_type = fpga.synthesize(text, top, written, nodsp, share="share", luts="abc9 -W 300")["design"]
    assert by_type["num_cells_by_type"] == cells
