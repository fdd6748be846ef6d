"""Terminal summary of the RTL tests: the vectors and cycles each volume test compared (tests/hdl/test_volume.py,
user property ``volume``) and the cycles each compiled-program test compared, RTL against the engine
(tests/hdl/test_hdl_programs.py, test_hdl_bitmod_programs.py, user property ``cycles``); pytest-xdist carries the
properties back from its workers."""

from __future__ import annotations

SECTIONS = {"volume": "RTL ≡ model at volume (Verilator)",
            "cycles": "compiled programs on the RTL: cycles compared (RTL = engine)"}


def pytest_terminal_summary(terminalreporter):
    for key, title in SECTIONS.items():
        lines = [value for reports in terminalreporter.stats.values() for r in reports
                 for name, value in getattr(r, "user_properties", ()) if name == key and r.when == "call"]
        if lines:
            terminalreporter.section(title)
            for line in sorted(lines):
                terminalreporter.write_line(line)
