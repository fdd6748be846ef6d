"""Results of the simulation pipeline: ``simulate``, ``run``, ``demo``, ``roofline`` and ``sweep``."""

from __future__ import annotations

from dataclasses import dataclass

from .base import Result, omitted_when


@dataclass
class Stalls(Result):
    """Stall cycles of an op's main unit, per array: waiting for a dependency, or for buffer space."""

    dependency: float
    buffer_space: float


@dataclass
class Tile(Result):
    """The compiler's tile of an array op: ``m``×``n``×``k`` elements, the arrays grid, which operand stays."""

    m: int
    n: int
    k: int
    arrays_grid: list[int]
    a_stationary: bool


@dataclass
class MapChoice(Result):
    """One simulated candidate of the compiler's mapper: the PE grid's ``dataflow`` and ``mapping`` (None: the PE
    has no choice of it; mappings: rows ↔ N / cols ↔ M ``nm``, the transpose ``mn``, N over the whole grid ``nn``),
    its ``tile`` (m, n, k elements) and its simulated ``cycles``."""

    dataflow: str | None
    mapping: str | None
    tile: list[int]
    cycles: int


@dataclass
class Mapper(Result):
    """The mapper's choice for an array op and the runner-up: the best simulated candidate with another dataflow
    or mapping (None when the PE offers no other, or none was simulated)."""

    chosen: MapChoice
    runner_up: MapChoice | None


@dataclass
class OpRow(Result):
    """One occurrence of a trace op (totals multiply by ``repeat``).

    cycles: the op's program, end to end; bound: the unit with the most busy cycles (memory, compute, table,
    vector); utilization: busy / cycles of the op's unit; ops: operations (one MAC = 2); bytes: bytes moved
    (the trace's; ops with a schedule: their program's DRAM bytes);
    energy_pj: energy (pJ); instructions: program length; cache: compiler cache ``hit`` or ``miss``;
    roofline_cycles (array ops): max of the op's MACs at the PE's peak rate and its bytes at the DRAM
    bandwidth; tile, search (array ops): the tile and the tile search's log; mapper (array ops): the chosen
    dataflow / mapping and the runner-up; note: what the compiler noted; schedule (fused attention, an FP16
    GEMM on the matrix unit): how the op was scheduled, or for softmax and SV that the attention program has them;
    spatial_utilization (ops on the PE array or the matrix unit: GEMMs, a fused attention, an FP16 GEMM on the matrix
    unit; 0..1): useful MACs (a fused attention: its QK and SV) over the MACs its busy engine could do at that
    engine's peak rate (PE-cycles doing useful work over PE-cycles available while busy).
    """

    name: str
    kind: str
    layer: int | None
    repeat: int
    unit: str
    cycles: int
    bound: str
    utilization: float
    ops: int
    bytes: float
    energy_pj: float
    stalls: Stalls
    instructions: int
    cache: str
    M: int
    N: int
    K: int
    count: int
    w_fmt: str | None
    a_fmt: str | None
    roofline_cycles: float | None = omitted_when(None)
    tile: Tile | None = omitted_when(None)
    search: list | None = omitted_when(None)
    mapper: Mapper | None = omitted_when(None)
    note: str = omitted_when("")
    schedule: str = omitted_when("")
    spatial_utilization: float | None = omitted_when(None)


@dataclass
class Totals(Result):
    """One pass, all ops × repeat (ops run one after another).

    cycles; latency_ms; tokens_per_s; energy_pj (pJ); energy_per_token_mj (mJ); area_mm2; power_w (W, average);
    peak_ops_per_s (ops/s of all arrays for the recipe's weight/activation pair, None when the PE cannot run
    it); dram_bytes_per_s (peak DRAM bandwidth); ops; bytes; tokens (batch × tokens of the pass);
    ttft_ms (prefill only: time to first token); spatial_utilization (0..1): the useful MACs of the ops on the PE
    array and the matrix unit (GEMMs and fused attention) over the MACs their busy engines could do at their peak
    rates; spatial_utilization_by_unit: the same per engine (``array``, ``matrix``); spatial_utilization_covers:
    which ops the pass figure covers, in words.
    """

    cycles: int
    latency_ms: float
    tokens_per_s: float
    energy_pj: float
    energy_per_token_mj: float
    area_mm2: float
    power_w: float
    peak_ops_per_s: float | None
    dram_bytes_per_s: float
    ops: int
    bytes: float
    tokens: int
    ttft_ms: float | None = omitted_when(None)
    spatial_utilization: float | None = omitted_when(None)
    spatial_utilization_by_unit: dict[str, float] | None = omitted_when(None)
    spatial_utilization_covers: str = omitted_when("")


@dataclass
class Assumptions(Result):
    """The constants behind a simulation, each with its source where it has one.

    clock_hz; layers ({value, source}: decoder layers, simulated once); op_overlap; placement; peak (how
    the peak is derived); engine (:func:`sim.engine.assumptions`: arch constants); energy (per-component
    pJ figures of :func:`sim.cost.energy`); area (:func:`sim.cost.area`'s figures); routing (mixture-of-experts
    models only: which experts a pass touches, :attr:`workloads.trace.Trace.routing`).
    """

    clock_hz: float
    layers: dict
    op_overlap: str
    placement: str
    peak: str
    engine: dict
    energy: dict
    area: dict
    routing: str | None = omitted_when(None)


@dataclass
class SimResult(Result):
    """One simulated pass of a quantized model on an accelerator (``lutsim simulate --json``).

    seq_len: tokens of the pass (prompt length in prefill, 1 in decode); kv_len: KV-cache length;
    ops: one row per trace op; energy_breakdown_pj: pJ per component (``dram``, ``dram_static``, ``sram:<buffer>``,
    ``sram_leakage``, ``array``, ``table``, ``vector``), summed over ops × repeat; area_breakdown_mm2: mm² per
    component (``array``, ``table``, ``vector``, ``sram:<buffer>``).
    """

    arch: str
    model: str
    quant: str
    phase: str
    seq_len: int
    kv_len: int | None
    batch: int
    ops: list[OpRow]
    totals: Totals
    energy_breakdown_pj: dict[str, float]
    area_breakdown_mm2: dict[str, float]
    assumptions: Assumptions


@dataclass
class RunResult(Result):
    """One ISA program run on an arch (``lutsim run --json``).

    instructions: program length; cycles; seconds; utilization: busy / cycles per unit; units: per unit busy,
    stall_dep, stall_space, idle (cycles), utilization, instructions; events: action counts per component;
    peak_bytes: highest occupancy per buffer (bytes); energy_pj and energy_breakdown_pj (pJ); area_mm2 and
    area_breakdown_mm2 (mm²); assumptions: {engine, energy, area} constants; per_instruction: {op, unit, start,
    end} (cycles) of every instruction, with ``--per-instruction`` only.
    """

    arch: str
    instructions: int
    cycles: int
    seconds: float
    utilization: dict[str, float]
    units: dict[str, dict[str, float]]
    events: dict[str, dict[str, int]]
    peak_bytes: dict[str, int]
    energy_pj: float
    energy_breakdown_pj: dict[str, float]
    area_mm2: float
    area_breakdown_mm2: dict[str, float]
    assumptions: dict
    per_instruction: list[dict] | None = omitted_when(None)


@dataclass
class LutGemmCheck(Result):
    """The demo's bit-exact check: an ``m``×``n``×``k`` mpGEMM on the LUT Tensor Core's ``tile``, run cycle by
    cycle (``cycles``, ``utilization``); ``exact``: equal to the reference mpGEMM bit for bit."""

    m: int
    n: int
    k: int
    weights: str
    acts: str
    tile: list[int]
    cycles: int
    utilization: float
    exact: bool


@dataclass
class DemoResult(Result):
    """``lutsim demo --json``: the default simulation and the LUT mpGEMM check."""

    simulate: SimResult
    lut_gemm_check: LutGemmCheck


@dataclass
class GPUInfo(Result):
    """A GPU preset: memory bandwidth (GB/s) and dense peaks per precision (TOPS), with their source."""

    key: str
    name: str
    bandwidth_gbs: float
    peak_tops: dict[str, float]
    source: str


@dataclass
class RooflineTotal(Result):
    """All rows: latency (ms, summed without overlap), ops and bytes."""

    latency_ms: float
    ops: float
    bytes: float


@dataclass
class RooflineResult(Result):
    """``lutsim roofline --json``: per-op rows (name, repeat, precision, ops, bytes, arithmetic_intensity (ops/byte),
    peak_tops, bound, latency_ms; ``lutsim`` mode adds kind and bytes_weight, ``llm-viewer`` mode its load/store
    byte classes) and their total; mode: ``lutsim`` or ``llm-viewer``; meta: the workload."""

    gpu: GPUInfo
    ops: list[dict]
    total: RooflineTotal
    mode: str
    meta: dict


@dataclass
class SweepPlan(Result):
    """``lutsim sweep --dry-run --json``: design points, workloads, rows in all, rows already in OUT, rows left."""

    points: int
    workloads: int
    rows: int
    already_done: int
    to_compute: int


@dataclass
class SweepSummary(Result):
    """``lutsim sweep --json``: rows in OUT, new this run, already done; ok / skipped / error rows; wall seconds."""

    rows: int
    new_rows: int
    already_done: int
    ok: int
    skipped: int
    errors: int
    seconds: float
