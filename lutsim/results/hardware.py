"""Results about hardware: the accelerator presets (``lutsim arch list``; ``lutsim arch show`` prints a
:class:`sim.arch.spec.Arch` itself) and the RTL designs (``lutsim rtl designs / verilog / synth``)."""

from __future__ import annotations

from dataclasses import dataclass

from .base import Result, omitted_when


@dataclass
class ArchSummary(Result):
    """``lutsim arch list --json`` (a list of these): a preset's PE type, shape (``RxC`` PEs or ``MxNxK`` LUT
    tile), PE arrays, clock (MHz), node (nm), on-chip SRAM in all (KiB), DRAM bandwidth (bits/cycle)."""

    name: str
    pe: str
    shape: str
    arrays: int
    clock_mhz: float
    node_nm: int
    sram_kib: int
    dram_bits_per_cycle: int
    description: str


@dataclass
class RtlDesign(Result):
    """``lutsim rtl designs --json`` (a list of these): a design, its top module, its overridable parameters
    with their defaults (widths in bits, sizes in elements), what it is."""

    design: str
    top: str
    parameters: dict[str, int | str]
    description: str


@dataclass
class VerilogResult(Result):
    """``lutsim rtl verilog --json``: the design, the Verilog file written, the parameters it was built with."""

    design: str
    path: str
    params: dict[str, int | str]


@dataclass
class SynthResult(Result):
    """``lutsim rtl synth --json``: the design and its parameters, the target, the Yosys version, the cell
    counts by cell type; ``generic``: area in gate equivalents (``ge``, 1 digit) and flip-flops (``ff``);
    an FPGA target: cells per class (``lut``, ``ff``, ``carry``, ``dsp``, ``bram``, ``lutram``, ``mux``,
    ``other``; I/O buffers left out)."""

    design: str
    params: dict[str, int | str]
    target: str
    yosys: str
    cells: dict[str, int]
    ge: float | None = omitted_when(None)
    lut: int | None = omitted_when(None)
    ff: int = 0
    carry: int | None = omitted_when(None)
    dsp: int | None = omitted_when(None)
    bram: int | None = omitted_when(None)
    lutram: int | None = omitted_when(None)
    mux: int | None = omitted_when(None)
    other: int | None = omitted_when(None)
