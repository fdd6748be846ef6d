"""The pipeline: trace a quantized model's pass, compile every op for an arch, run it, cost it.

:func:`simulate` returns a :class:`lutsim.results.SimResult`. Per-op rows give one occurrence of the op
(``cycles``, ``energy_pj``, ``ops``, ``bytes``); identical decoder layers are one row with ``repeat`` = layers,
simulated once and multiplied by ``repeat`` in the totals. Ops run one after another (no overlap between ops);
each op's own program overlaps DMA, table unit, arrays and vector unit. The result records the assumptions
behind its numbers (:class:`lutsim.results.Assumptions`). :func:`run_program` runs one ISA program.

The CLI (:mod:`lutsim.commands`), the sweep evaluator and the reports all call this module; it imports
neither of them.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import compiler
from compiler import gemm, search
from compiler.specs import GemmSpec
from sim import cost
from sim import engine as sim_engine
from sim.arch import Arch, from_dict
from sim.arch import load as load_arch
from sim.errors import InputError
from workloads.models import ModelConfig, get_model
from workloads.recipes import Recipe, get_recipe
from workloads.trace import build_trace

from .results import Assumptions, OpRow, RunResult, SimResult, Stalls, Tile, Totals
from .results.pipeline import MapChoice, Mapper

#: which unit's busy time names an op's bound
BOUND_OF_UNIT = {"dma": "memory", "array": "compute", "table": "table", "vector": "vector", "matrix": "matrix"}
#: the GEMM whose PE tile-model rate defines the peak (large enough that edge effects vanish)
PEAK_SHAPE = (1024, 1024, 4096)


def resolve_arch(arch) -> Arch:
    """An Arch from an Arch, a preset name, a YAML path or a dict."""
    if isinstance(arch, Arch):
        return arch
    if isinstance(arch, dict):
        return from_dict(arch)
    return load_arch(arch)


def resolve_model(model) -> ModelConfig:
    """A ModelConfig from itself or a model name / config path."""
    return model if isinstance(model, ModelConfig) else get_model(model)


def resolve_recipe(quant) -> Recipe:
    """A Recipe from itself or a recipe name / YAML path."""
    return quant if isinstance(quant, Recipe) else get_recipe(quant)


def peak_macs_per_cycle(arch: Arch, weights: str, acts: str, group) -> float | None:
    """MACs per cycle of all arrays for this format pair (PE tile model on :data:`PEAK_SHAPE`); None when the
    PE cannot run the pair."""
    m, n, k = PEAK_SHAPE
    spec = GemmSpec(m, n, k, weights, acts, group, 0, 0, 0, False)
    try:
        gemm.check(spec, arch)
    except InputError:
        return None
    return m * n * k / gemm.pe_cycles(spec, arch, m, n, k) * arch.arrays


def _choice(entry: dict) -> MapChoice:
    return MapChoice(entry["dataflow"], entry["mapping"], list(entry["tile"]), entry["simulated"])


def mapper_of(log: list[dict]) -> Mapper:
    """The mapper's choice and runner-up from a tile-search log (:func:`compiler.search.search`)."""
    other = search.runner_up(log)
    return Mapper(_choice(next(x for x in log if x.get("chosen"))), None if other is None else _choice(other))


def engine_peak(low, arch: Arch) -> float | None:
    """MACs per cycle of the engine an op ran on at its peak rate for the op's formats: the PE arrays (a GEMM with a
    tile, or a fused attention on the array: FP16 × FP16) or the matrix unit (FP16 × FP16); None for other ops."""
    if low.unit == "array" and low.tile is not None:
        return peak_macs_per_cycle(arch, low.spec.weights, low.spec.acts, low.spec.group)
    if low.unit == "array" and low.schedule.startswith("fused"):
        return peak_macs_per_cycle(arch, "fp16", "fp16", None)
    if low.unit == "matrix" and low.stats.cycles and arch.matrix_unit is not None:
        return peak_macs_per_cycle(replace(arch, pe=arch.matrix_unit, arrays=1), "fp16", "fp16", None)
    return None


def op_row(op, low, arch: Arch, hit: bool, useful_macs: float | None = None) -> OpRow:
    """The row of one trace op (one occurrence). ``roofline_cycles`` (array GEMMs): max of the op's MACs at the
    PE's peak rate for its formats and its bytes at the DRAM bandwidth. ``useful_macs``: the MACs its spatial
    utilization counts (default the op's own, ops / 2; a fused attention: its QK's and SV's)."""
    st = low.stats
    busy = {u: st.units[u]["busy"] / (arch.arrays if u == "array" else 1) for u in BOUND_OF_UNIT if u in st.units}
    main = st.units.get(low.unit, {})
    per = arch.arrays if low.unit == "array" else 1
    bound = BOUND_OF_UNIT[max(busy, key=busy.get)] if st.cycles else "fused"  # no program of its own
    moved = op.bytes
    if low.schedule:  # a fused attention (and the ops it holds) moves what its program moves, not the trace's bytes
        dram = st.events.get("dram", {})
        moved = (dram.get("read_bits", 0) + dram.get("write_bits", 0)) / 8
    row = OpRow(name=op.name, kind=op.kind, layer=op.layer, repeat=op.repeat, unit=low.unit, cycles=st.cycles,
                bound=bound, utilization=main.get("utilization", 0.0),
                ops=op.flops, bytes=moved, energy_pj=low.energy.total_pj,
                stalls=Stalls(main.get("stall_dep", 0) / per, main.get("stall_space", 0) / per),
                instructions=len(low.program), cache="hit" if hit else "miss", M=op.M, N=op.N, K=op.K,
                count=op.count, w_fmt=op.w_fmt, a_fmt=op.a_fmt, note=low.note, schedule=low.schedule)
    peak = engine_peak(low, arch)
    if peak:
        if low.tile is not None:
            row.roofline_cycles = max(op.flops / 2 / peak, op.bytes * 8 / arch.dram.bandwidth)
        capacity = row.utilization * row.cycles * peak  # MACs the busy engine could do at its peak rate
        macs = op.flops / 2 if useful_macs is None else useful_macs
        row.spatial_utilization = macs / capacity if capacity else None
    if low.tile is not None:
        t = low.tile
        row.tile = Tile(t.mt, t.nt, t.kt, [t.am, t.an], t.a_stationary)
        row.search = low.search_log
        row.mapper = mapper_of(low.search_log)
    return row


def lower_trace(arch, model, quant, phase: str, seq_len: int = 1024, kv_len: int | None = None, batch: int = 1,
                lm_head_all_tokens: bool = False, attention: str = "auto", causal: bool = True):
    """Trace one pass and lower every op: ``(arch, recipe, trace, [(op, Lowered, cache_hit), ...])``;
    ``attention``: "auto" (one flash-attention program where that takes fewer cycles than the ops one by one),
    "fused" (wherever the arch has a matrix engine for it) or "unfused" (QK, softmax and SV op by op, through
    DRAM): :func:`compiler.fusion_plan`; ``causal``: :func:`workloads.trace.build_trace`."""
    a = resolve_arch(arch)
    recipe = resolve_recipe(quant)
    trace = build_trace(resolve_model(model), recipe, phase, seq_len=seq_len, kv_len=kv_len, batch=batch,
                        lm_head_all_tokens=lm_head_all_tokens, causal=causal)
    comp = compiler.for_arch(a)
    notes: dict[int, str] = {}  # attn_qk: the auto choice of fused or unfused attention and its runner-up
    plan = compiler.fusion_plan(trace.ops, a, recipe, attention, notes)
    lowered = []
    for i, op in enumerate(trace.ops):
        before = comp.hits
        low = comp.lower(op, recipe, i in plan)
        if i in notes:  # a copy: the cached Lowered is shared with other passes
            low = replace(low, note="; ".join(n for n in (low.note, notes[i]) if n))
        lowered.append((op, low, comp.hits > before))
    return a, recipe, trace, lowered


def simulate(arch, model, quant, phase: str, seq_len: int = 1024, kv_len: int | None = None, batch: int = 1,
             lm_head_all_tokens: bool = False, attention: str = "auto", causal: bool = True) -> SimResult:
    """Compile and simulate one pass (see the module docstring; ``attention``, ``causal``: :func:`lower_trace`)."""
    a, recipe, trace, lowered = lower_trace(arch, model, quant, phase, seq_len, kv_len, batch, lm_head_all_tokens,
                                            attention, causal)
    peak = peak_macs_per_cycle(a, recipe.weights.format, recipe.activations.format, recipe.weights.group_size)
    rows, energy_bd, useful = [], {}, []
    for i, (op, low, hit) in enumerate(lowered):
        macs = _fused_macs(lowered, i)
        rows.append(op_row(op, low, a, hit, macs))
        useful.append(op.flops / 2 if macs is None else macs)
        for c, v in low.energy.breakdown.items():
            energy_bd[c] = energy_bd.get(c, 0.0) + v * op.repeat
    return _assemble(a, trace, rows, useful, energy_bd, peak, _energy_constants(low.energy))  # the same for every op


def _fused_macs(lowered: list, i: int) -> float | None:
    """Useful MACs of a fused attention on its row's engine (its QK, unless the program ran QK on the PE array
    and the row's unit is the matrix unit, and the SV its program holds: the next ``attn_sv`` op of the same
    layer); None for any other op."""
    op, low, _ = lowered[i]
    if not low.schedule.startswith("fused"):
        return None
    sv = next((o for o, lo, _ in lowered[i + 1:] if o.kind == "attn_sv" and o.layer == op.layer
               and lo.schedule.startswith("in ")), None)
    qk = 0 if getattr(low.spec, "qk_array", False) and low.unit != "array" else op.flops
    on_engine = 1 - low.spec.sv_lanes / low.spec.hd  # the rest of P·V ran on the vector lanes
    return (qk + (sv.flops * on_engine if sv is not None else 0)) / 2


def _assemble(a: Arch, trace, rows: list[OpRow], useful: list[float], energy_bd: dict, peak,
              energy_constants: dict) -> SimResult:
    clock_hz = a.clock_mhz * 1e6
    cycles = sum(r.cycles * r.repeat for r in rows)
    seconds = cycles / clock_hz
    tokens = trace.batch * trace.tokens
    energy_pj = sum(energy_bd.values())
    ar = cost.area(a, acts=trace.recipe.activations.format)
    totals = Totals(
        cycles=cycles, latency_ms=seconds * 1e3, tokens_per_s=tokens / seconds if seconds else 0.0,
        energy_pj=energy_pj, energy_per_token_mj=energy_pj * 1e-9 / tokens, area_mm2=ar.total_mm2,
        power_w=energy_pj * 1e-12 / seconds if seconds else 0.0,
        peak_ops_per_s=2 * peak * clock_hz if peak else None,
        dram_bytes_per_s=a.dram.bandwidth / 8 * clock_hz,
        ops=sum(r.ops * r.repeat for r in rows), bytes=sum(r.bytes * r.repeat for r in rows), tokens=tokens)
    if trace.phase == "prefill":
        totals.ttft_ms = totals.latency_ms
    _spatial_totals(totals, rows, useful)
    return SimResult(arch=a.name, model=trace.model.name, quant=trace.recipe.name, phase=trace.phase,
                     seq_len=trace.tokens, kv_len=trace.kv_len, batch=trace.batch, ops=rows, totals=totals,
                     energy_breakdown_pj=energy_bd, area_breakdown_mm2=ar.breakdown,
                     assumptions=_assumptions(a, trace, ar, energy_constants, rows))


def _spatial_totals(totals: Totals, rows: list[OpRow], useful: list[float]) -> None:
    """The pass's spatial utilization (all ops on the PE array and the matrix unit) and per engine: useful MACs
    (``useful``, per row) over the MACs the busy engines could do (useful / the row's spatial utilization), × repeat."""
    sums: dict[str, tuple[float, float]] = {}
    for r, macs in zip(rows, useful):
        if r.spatial_utilization:
            done, capacity = sums.get(r.unit, (0.0, 0.0))
            sums[r.unit] = (done + macs * r.repeat, capacity + macs / r.spatial_utilization * r.repeat)
    if sums:
        totals.spatial_utilization = sum(u for u, _ in sums.values()) / sum(c for _, c in sums.values())
        totals.spatial_utilization_by_unit = {u: x / c for u, (x, c) in sorted(sums.items())}
        totals.spatial_utilization_covers = ("GEMMs and fused attention on " + " and ".join(
            _UNIT_WORDS[u] for u in sorted(sums)) + ": useful MACs over the MACs the busy engines could do at their "
            "peak rates")


def placement(rows: list[OpRow]) -> str:
    """Where the ops of a pass ran, in words (from the rows' units and schedules)."""
    def where(kinds):
        hit = [r for r in rows if r.kind in kinds]
        units = sorted({r.unit for r in hit})
        sched = sorted({r.schedule for r in hit if r.schedule and not r.schedule.startswith("in ")})
        return "/".join(_UNIT_WORDS.get(u, u) for u in units) + (f" ({'; '.join(sched)})" if sched else "")
    parts = [f"linear on {where(('linear',))}", f"lm_head on {where(('lm_head',))}"]
    if any(r.kind == "attn_qk" for r in rows):
        parts.append(f"attention on {where(('attn_qk', 'attn_sv'))}")
    parts.append("element-wise ops on the vector unit; dequantization as a per-group vector epilogue")
    return "; ".join(parts)


_UNIT_WORDS = {"array": "the PE array", "vector": "the vector unit (FP16 multiply-accumulates)",
               "matrix": "the matrix unit"}


def _assumptions(a: Arch, trace, ar, energy_constants: dict, rows: list[OpRow] | None = None) -> Assumptions:
    """The assumptions of ``trace`` on ``a`` (``ar``: its area report; ``energy_constants``: the energy model's
    figures without the run's seconds)."""
    return Assumptions(
        clock_hz=a.clock_mhz * 1e6,
        layers={"value": trace.model.layers, "source": "identical decoder layers are simulated once and "
                "multiplied by their repeat count (ops rows: one occurrence; totals: × repeat)"},
        op_overlap="none between ops: each op's program starts when the previous one ends",
        placement=placement(rows) if rows is not None else "linear on the PE array; see each op's unit",
        peak=f"PE tile-model rate on a {PEAK_SHAPE[0]}x{PEAK_SHAPE[1]}x{PEAK_SHAPE[2]} GEMM x arrays "
             f"({trace.recipe.weights.format} weights, {trace.recipe.activations.format} activations)",
        engine=sim_engine.assumptions(a), energy=energy_constants, area=ar.assumptions,
        routing=trace.routing if trace.model.is_moe else None)


def _energy_constants(report) -> dict:
    """The energy model's figures of a report, without the run's own seconds."""
    return {k: v for k, v in report.assumptions.items() if k != "seconds"}


def base_assumptions(arch, model, quant, phase: str, seq_len: int = 1024, kv_len: int | None = None,
                     batch: int = 1, lm_head_all_tokens: bool = False) -> Assumptions:
    """The assumptions of a pass without simulating it (what a sweep records for its base arch). The energy
    figures are those of a run with no events: a PE costed per event lists no per-event figure here (a
    simulation lists those of the events its ops raised)."""
    a = resolve_arch(arch)
    trace = build_trace(resolve_model(model), resolve_recipe(quant), phase, seq_len=seq_len, kv_len=kv_len,
                        batch=batch, lm_head_all_tokens=lm_head_all_tokens)
    no_run = SimpleNamespace(seconds=0.0, cycles=0, events={})
    return _assumptions(a, trace, cost.area(a, acts=trace.recipe.activations.format),
                        _energy_constants(cost.energy(no_run, a)))


def run_program(program, arch, per_instruction: bool = False, ge_count: float | None = None,
                um2_per_ge: float | None = None) -> tuple[RunResult, sim_engine.Stats]:
    """Run one ISA program on ``arch`` and cost it: the result and the engine's stats (for a trace export)."""
    a = resolve_arch(arch)
    stats = sim_engine.run(program, a)
    e = cost.energy(stats, a)
    ar = cost.area(a, ge_count=ge_count, um2_per_ge=um2_per_ge, acts=cost.run_acts(stats.events))
    res = RunResult(
        arch=a.name, instructions=len(program), cycles=stats.cycles, seconds=stats.seconds,
        utilization={name: u["utilization"] for name, u in stats.units.items()},
        units=stats.units, events=stats.events, peak_bytes=stats.peak_bytes,
        energy_pj=e.total_pj, energy_breakdown_pj=e.breakdown, area_mm2=ar.total_mm2, area_breakdown_mm2=ar.breakdown,
        assumptions={"engine": stats.assumptions, "energy": e.assumptions, "area": ar.assumptions})
    if per_instruction:
        res.per_instruction = stats.to_dict(per_instruction=True)["instructions"]
    return res, stats
