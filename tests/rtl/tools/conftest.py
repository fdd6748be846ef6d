"""Every test here gets empty synthesis and FPGA caches (rtl/tools/synth.py ``cached``), so a tool that
breaks cannot hide behind a result cached by an earlier run."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def empty_tool_caches(tmp_path, monkeypatch):
    for kind in ("synth", "fpga"):
        monkeypatch.setenv(f"LUTSIM_{kind.upper()}_CACHE", str(tmp_path / f"{kind}-cache"))
    return tmp_path
