"""Tables for people: every number in full (plain columns off a terminal), human-scaled SI values."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lutsim.cli import main
from lutsim.output import fmt, plain_table, si


@pytest.mark.parametrize("value,unit,text", [(0.1312, "s", "131.2 ms"), (871.016, "s", "871 s"),
                                             (1e9, "Hz", "1 GHz"), (5e8, "Hz", "500 MHz"), (2.5e-7, "J", "250 nJ"),
                                             (1.377e10, "B", "13.77 GB"), (3e-6, "s", "3 µs")])
def test_si_scales_to_a_readable_prefix(value, unit, text):
    assert si(value, unit) == text


@pytest.mark.parametrize("value,text", [(33554432.0, "33554432"), (8.734567891, "8.73457"), (0.25, "0.25"),
                                        (1074266112.0, "1074266112"), (7, "7"), (None, "")])
def test_fmt_keeps_every_digit_of_large_numbers(value, text):
    assert fmt(value) == text


def test_plain_table_aligns_and_cuts_nothing():
    text = plain_table("t", ["name", "bytes (B)"], {"name": False, "bytes (B)": True},
                       [["a_very_long_layer_name", "33554432"], ["b", "1"]])
    lines = text.splitlines()
    assert lines[0] == "t" and "a_very_long_layer_name   33554432" in text
    assert len({len(line) for line in lines[1:3]}) == 1  # header and rule line up


@pytest.mark.parametrize("argv,numbers", [
    (["trace", "--model", "llama-2-7b", "--phase", "prefill"], ["34359738368", "16777216"]),
    (["roofline", "--gpu", "a100-80g", "--model", "llama-2-7b", "--phase", "decode"], ["33554432"]),
])
def test_piped_tables_show_whole_numbers(argv, numbers):
    r = subprocess.run([sys.executable, "-m", "lutsim", *argv], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "…" not in r.stdout and all(n in r.stdout for n in numbers)
    assert "rows per occurrence" in r.stdout


def test_roofline_table_rows_are_per_occurrence(capsys):
    assert main(["roofline", "--gpu", "a100-80g", "--model", "llama-2-7b", "--phase", "decode"]) == 0
    q = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("q_proj"))
    assert "33554432" in q.split()  # 2·4096·4096 ops in one layer, not x32


def test_gemm_utilization_in_percent_like_simulate(capsys):
    assert main(["gemm", "--pe", "lut-tc", "--m", "8", "--n", "64", "--k", "128"]) == 0
    out = capsys.readouterr().out
    assert "utilization (%)" in out and "99.4175" in out


def test_arch_show_names_units_and_still_loads(tmp_path, capsys):
    assert main(["arch", "show", "lut-tc-28nm"]) == 0
    text = capsys.readouterr().out
    assert "capacity: 524288  # bytes (512 KiB)" in text and "bandwidth: 256  # bits/cycle (32 GB/s" in text
    assert "clock_mhz: 1000.0  # MHz" in text
    f = tmp_path / "a.yaml"
    f.write_text(text)
    assert main(["arch", "show", str(f)]) == 0 and capsys.readouterr().out == text


def test_simulate_prints_stand_in_costs(capsys):
    """MixPE's PE cost is the INT8 PE's (no MixPE synthesis figure is public): it decides the area and energy."""
    assert main(["simulate", "--arch", "mixpe-w4a16-28nm", "--model", "llama-2-7b", "--quant", "w4a16-g128",
                 "--phase", "decode", "--kv-len", "64"]) == 0
    out = capsys.readouterr().out
    assert "stand-in (energy array, area pe): PROXY" in out and "8-bit PE" in out


def test_a_long_run_shows_progress_on_a_terminal():
    """stderr on a pseudo-terminal: ``simulate`` shows what it works on and the elapsed time (rich)."""
    import os
    import pty

    master, slave = pty.openpty()
    try:
        r = subprocess.run([sys.executable, "-m", "lutsim", "simulate", "--arch", "lut-tc-28nm", "--model",
                            "llama-2-7b", "--quant", "w4a16-g128", "--phase", "decode", "--kv-len", "64", "--json"],
                           stdout=subprocess.PIPE, stderr=slave, timeout=300,
                           env={**os.environ, "TERM": "xterm", "COLUMNS": "120"})
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
    assert r.returncode == 0 and b"compiling and simulating llama-2-7b decode on lut-tc-28nm" in seen
    assert r.stdout.startswith(b"{")  # the JSON on stdout is untouched
