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
    parameters: dict[str, bool | int | str]
    description: str


@dataclass
class VerilogResult(Result):
    """``lutsim rtl verilog --json``: the design, the Verilog file written, the parameters it was built with."""

    design: str
    path: str
    params: dict[str, bool | int | str]


@dataclass
class SynthResult(Result):
    """``lutsim rtl synth --json``: the design and its parameters, the target, the Yosys version, the cell
    counts by cell type; ``generic``: area in gate equivalents (``ge``, 1 digit) and flip-flops (``ff``);
    an FPGA target: cells per class (``lut``, ``ff``, ``carry``, ``dsp``, ``bram``, ``lutram``, ``mux``,
    ``other``; I/O buffers left out)."""

    design: str
    params: dict[str, bool | int | str]
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


@dataclass
class FpgaResult(Result):
    """``lutsim rtl fpga --json``: the design and its parameters, the ECP5 part, package and speed grade,
    whether multipliers were kept out of the DSP blocks (``nodsp``, synth_ecp5 -nodsp), the Yosys and nextpnr
    versions; placed cells (``lut4``, ``ff``, ``dsp`` MULT18X18D, ``ebr`` DP16KD block RAMs; the measurement
    harness included: its flip-flops ``harness_ff``, its XOR tree's LUT4s ``harness_lut4``) and the part's
    ``available`` cells; the achieved Fmax (MHz) from nextpnr's timing report; the cost model's
    ``ops_per_cycle`` (a MAC = 2 ops; LUT units at ``weight_bits``-bit weights) and ``ops_per_s`` at that Fmax
    (omitted for designs the model gives no throughput for); the flow's wall time (s) and whether the result
    came from the cache."""

    design: str
    params: dict[str, bool | int | str]
    part: str
    package: str
    speed: int
    nodsp: bool
    yosys: str
    nextpnr: str
    lut4: int
    ff: int
    dsp: int
    ebr: int
    available: dict[str, int]
    harness_ff: int
    harness_lut4: int
    fmax_mhz: float
    weight_bits: int | None = omitted_when(None)
    ops_per_cycle: float | None = omitted_when(None)
    ops_per_s: float | None = omitted_when(None)
    seconds: float = 0.0
    cached: bool = False
