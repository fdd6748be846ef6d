"""Terminal summary of the RTL volume tests (tests/hdl/test_volume.py): the vectors and cycles each compared,
from the tests' ``volume`` user property (which pytest-xdist carries back from its workers)."""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter):
    lines = [value for reports in terminalreporter.stats.values() for r in reports
             for name, value in getattr(r, "user_properties", ()) if name == "volume" and r.when == "call"]
    if lines:
        terminalreporter.section("RTL ≡ model at volume (Verilator)")
        for line in sorted(lines):
            terminalreporter.write_line(line)
