"""The contract every processing-element model follows.

A PE model answers one question: *what does this unit compute for a GEMM, and in how many
cycles?* — ``O[M, N] = A[M, K] · dequant(W[N, K])ᵀ``. It offers three modes:

* ``"per-cycle"``: steps the array cycle by cycle carrying real data; returns outputs and cycles.
* ``"tile"``: the same machine at tile granularity, without data; same cycle count exactly.
* ``"scalesim"`` (only where a peer formula exists): a compatibility mode, reported beside ours.

Every PE defines :meth:`PEModel.expected`, the output its hardware must produce *exactly*, built
from :mod:`sim.reference` primitives (exact group sums for integer datapaths, the FP16/BF16
rounding emulators in the hardware's order for floating-point datapaths). Tests and
``lutsim gemm --check`` compare the per-cycle output with it bit for bit.

Besides the GEMM itself, a PE class declares what the rest of the simulator needs to know about it
(the compiler, the arch spec and the cost model read these, never the PE's name):

* ``opcode``: the array instruction it executes (one of :data:`ARRAY_OPCODES`);
* ``dataflows`` and ``dataflow_source``: the dataflows it supports (of :data:`DATAFLOWS`) and where they
  come from; ``mappings`` and ``mapping_source`` (output-stationary grids): which GEMM dimension its rows and
  columns may hold (of :data:`MAPPINGS`, the first its native one) and where that comes from — the compiler's
  mapper (:mod:`compiler.search`) picks a dataflow and a mapping per GEMM;
* ``weight_formats`` / ``act_formats``: the ``sim.formats`` weight formats and activation formats it takes;
* :meth:`PEModel.partial_sum_format`: the accumulator default the compiler sizes ``obuf`` by;
* :meth:`PEModel.check_arch`: its checks against the rest of an arch (e.g. a table unit feeding it);
* cost hooks: its energy/area figures are the constants entry ``pe.<name>`` of
  ``sim/cost/data/constants.yaml`` (or, for a plug-in, its own :attr:`PEModel.cost_entry`), scaled to the
  arch's configuration of the unit by :meth:`PEModel.cost_scale`; without a figure its ``pe:<event>``
  counts are costed per event (events named after the constants' ``events``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

ACTIVATION_FORMATS = ("int4", "int8", "int16", "fp8_e4m3", "fp8_e5m2", "fp16", "bf16")
MODES = ("per-cycle", "tile", "scalesim")
DATAFLOWS = ("os", "ws", "is")
#: which GEMM dimension an output-stationary grid's rows and columns hold: "nm" rows ↔ N, columns ↔ M; "mn" rows ↔ M,
#: columns ↔ N (the transposed product Oᵀ = W·Aᵀ on the same grid); "nn": N over rows × columns, one row of A per
#: fold (a GEMV uses the whole grid)
MAPPINGS = ("nm", "mn", "nn")
#: the ``map`` operand of an array instruction that keeps the arch's PE configuration as it is (sim/isa/instr.py)
ARCH_MAP = "arch"
#: array instructions of the ISA (sim/isa/instr.py): LUT mpGEMM, bit-serial mpGEMM, MAC GEMM
ARRAY_OPCODES = ("LMMA", "BSMMA", "MMA")
INT_ACTIVATIONS = ("int4", "int8", "int16")
#: the event of every shipped PE's results (tile and per-cycle modes alike) that counts its useful work: PE-cycles
#: in which a PE steps at least one product of the GEMM (a PE of an edge tile or a pipeline bubble is idle); for a
#: PE costed per unit (``per: unit``), lane-cycles of the unit (:meth:`PEModel.active_lanes`). The cost model
#: charges dynamic energy to these only (sim/cost/energy.py)
ACTIVE_EVENT = "pe_active_cycles"


@dataclass(frozen=True)
class GemmProblem:
    """One GEMM: shapes and formats. ``weights`` is a sim.formats name; ``acts`` one of
    ACTIVATION_FORMATS (activations are given as values already representable in it)."""

    m: int
    n: int
    k: int
    weights: str
    acts: str
    group_size: int | None = None  # None = the weight format's default (per channel if none)


@dataclass(frozen=True)
class PEConfig:
    """Array / unit parameters. Unset fields take the PE's default (see ``PEModel.default_config``).

    array: (rows, cols) of a PE grid (MAC arrays, BitMoD, MixPE, BitFusion).
    tile: (M, N, K) of a LUT unit (LUT Tensor Core; default M2N64K4).
    dataflow: "os", "ws" or "is" (systolic arrays).
    mapping: one of MAPPINGS (output-stationary grids that declare ``mappings``; None: the native one).
    acc: accumulator format ("int32", "fp16", "fp32").
    options: PE-specific switches (e.g. {"table_quant": True}); documented by each PE.
    """

    array: tuple[int, int] | None = None
    tile: tuple[int, int, int] | None = None
    dataflow: str | None = None
    acc: str | None = None
    options: dict = field(default_factory=dict)
    mapping: str | None = None


@dataclass
class GemmResult:
    """What a PE model returns. ``out`` is None in data-free modes (tile, scalesim).

    cycles: clock cycles of the whole GEMM on this unit.
    utilization: useful MACs / (MAC slots × cycles), in [0, 1].
    events: action counts for the energy model (lookups, adds, shifts, table_writes,
        multiplies, reg_reads, sram_reads, …) — names documented by each PE.
    """

    cycles: int
    utilization: float
    events: dict[str, int]
    mode: str
    out: np.ndarray | None = None
    extra: dict = field(default_factory=dict)


class PEModel(ABC):
    """One processing-element type. Subclasses are registered by setting ``PE = TheClass`` in
    their module (discovered by :mod:`sim.pe`), or by :func:`sim.pe.register` (plug-ins)."""

    name: str = ""          # CLI name, e.g. "lut-tc"
    description: str = ""
    modes: tuple[str, ...] = ("per-cycle", "tile")
    opcode: str = ""        # the array instruction it executes, one of ARRAY_OPCODES
    dataflows: tuple[str, ...] = ()   # of DATAFLOWS
    dataflow_source: str = ""         # where the dataflows come from (paper, peer simulator)
    mappings: tuple[str, ...] = ()    # of MAPPINGS, native first; () = one fixed mapping (PEConfig.mapping unset)
    mapping_source: str = ""          # where the mappings come from, and what the hardware must offer for each
    weight_formats: tuple[str, ...] = ()  # sim.formats names of the weights it takes
    act_formats: tuple[str, ...] = ()     # activation formats it takes (of ACTIVATION_FORMATS)
    known_options: dict[str, str] = {}    # PE-specific switches of PEConfig.options: name -> what it does (bool)
    #: a plug-in's own energy/area figures, the fields of a ``pe:`` entry of sim/cost/data/constants.yaml
    #: (pj_per_cycle, area_um2, per: "pe" | "unit", node_nm, source); shipped PEs keep theirs in that file
    cost_entry: dict | None = None

    @abstractmethod
    def default_config(self) -> PEConfig:
        """The unit's default parameters (with a cited source in the module)."""

    @abstractmethod
    def check(self, problem: GemmProblem, config: PEConfig) -> None:
        """Raise ``sim.errors.InputError`` naming the field when unsupported."""

    @abstractmethod
    def run(self, problem: GemmProblem, config: PEConfig, mode: str,
            a: np.ndarray | None = None, qw=None) -> GemmResult:
        """Simulate. ``per-cycle`` needs ``a`` (M, K) and ``qw`` (QuantizedTensor (N, K));
        ``tile``/``scalesim`` need neither."""

    @abstractmethod
    def expected(self, problem: GemmProblem, config: PEConfig, a: np.ndarray, qw) -> np.ndarray:
        """The exact output the hardware must produce (M, N), from sim.reference primitives."""

    def partial_sum_format(self, acts: str) -> str:
        """The accumulator format of the partial sums a GEMM keeps in ``obuf`` between k-steps when the arch
        leaves ``acc`` unset: INT32 for integer activations, FP32 otherwise (a PE whose datapath defaults
        to another accumulator overrides this)."""
        return "int32" if acts in INT_ACTIVATIONS else "fp32"

    def check_arch(self, arch, problem: GemmProblem, config: PEConfig) -> None:
        """Checks of ``problem`` on this PE against the rest of ``arch`` (a :class:`sim.arch.Arch`; the PE's own
        limits are :meth:`check`'s); raise ``sim.errors.InputError`` naming the arch field. None by default."""
        return None

    def cost_scale(self, arch, kind: str, acts: str | None = None) -> tuple[float, dict | None]:
        """(factor, how it was derived) by which ``arch``'s configuration of this PE, running ``acts`` activations
        (None: the arch's own reading), scales its published figure, ``kind`` ``"area"`` (µm²) or ``"energy"``
        (pJ per active cycle); (1.0, None): the figure as published."""
        return 1.0, None

    def active_lanes(self, config: PEConfig) -> int:
        """Lanes of one cost unit that :data:`ACTIVE_EVENT` counts per cycle when the unit is fully busy: 1 for a PE
        costed per PE (the event counts PE-cycles); a PE costed per unit overrides it."""
        return 1

    def resolve(self, config: PEConfig | None) -> PEConfig:
        """Fill unset fields of ``config`` from the defaults."""
        d = self.default_config()
        if config is None:
            return d
        return PEConfig(
            array=config.array or d.array,
            tile=config.tile or d.tile,
            dataflow=config.dataflow or d.dataflow,
            acc=config.acc or d.acc,
            options={**d.options, **config.options},
            mapping=config.mapping or d.mapping,
        )

    def mapping_of(self, config: PEConfig) -> str | None:
        """The mapping ``config`` selects: its own, else the PE's native one (None for a PE without ``mappings``)."""
        return config.mapping or (self.mappings[0] if self.mappings else None)


def kernel_array(array: tuple[int, int], mapping: str, rows_hold: str) -> tuple[int, int]:
    """The (rows, cols) a kernel whose rows hold GEMM dimension ``rows_hold`` ("n" or "m"; its columns the other)
    steps for the physical ``array`` under ``mapping`` (of :data:`MAPPINGS`): the grid itself, its transpose, or
    for "nn" one chain of rows × cols PEs along N (a single column or row of the kernel)."""
    rows, cols = array
    if mapping == "nn":
        return (rows * cols, 1) if rows_hold == "n" else (1, rows * cols)
    return (rows, cols) if mapping[0] == rows_hold else (cols, rows)
