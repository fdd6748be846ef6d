"""The mapper of one GEMM: dataflow, mapping of the PE grid, tiling and loop order.

Candidates are every (dataflow, mapping) the PE declares (:attr:`sim.pe.PEModel.dataflows`, ``mappings``; an arch
that sets ``pe.dataflow`` or ``pe.mapping`` pins it) × every tile and loop order that fits the buffers, ranked by
an analytic estimate from the PE's tile model; the best few are simulated with the engine. The winner has the
fewest simulated cycles, ties broken by energy (pJ, :func:`sim.cost.energy`), then DRAM traffic (bytes); the
runner-up is the best simulated candidate of another (dataflow, mapping), reported beside it.

Bounded and deterministic: at most :data:`MAX_INSTRUCTIONS` instructions per candidate (coarse tiles),
at most :data:`SIMULATED` candidates of the best-estimated dataflow/mapping plus the best of the next one simulated and
:data:`SEARCH_BUDGET` instructions simulated in all per GEMM (an instruction budget, not a clock, so the same
inputs always pick the same mapping and tile).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim import cost
from sim import pe as pe_registry
from sim.arch import Arch
from sim.errors import InputError

from . import choose, gemm, programs
from .gemm import Tile
from .specs import GemmSpec

MAX_INSTRUCTIONS = 40_000   # per candidate program
SIMULATED = 2               # candidates simulated per GEMM
SEARCH_BUDGET = 120_000     # instructions simulated per GEMM, all candidates together
# Ranking weighs simulation cost: each 1000 instructions of a candidate count as 1 % more cycles, so of
# near-equal estimates the coarser tiling is simulated (and instruction counts stay bounded).
INSTRUCTION_WEIGHT = 1e-5


@dataclass(frozen=True)
class Estimate:
    """Analytic cycles of a candidate: the slowest unit, plus one step of pipeline fill."""

    tile: Tile
    cycles: float
    instructions: int
    traffic: float


def _sizes(n: int, start: int) -> list[int]:
    """Powers of two × ``start`` below ``n``, and ``n`` itself."""
    out, s = [], max(1, start)
    while s < n:
        out.append(s)
        s *= 2
    out.append(n)
    return out


def _pieces(n: int, t: int) -> list[tuple[int, int]]:
    """(size, how many) of the tiles of a dimension: full tiles and a remainder."""
    full, rem = divmod(n, t)
    return [(t, full)] + ([(rem, 1)] if rem else [])


def estimate(spec: GemmSpec, arch: Arch, t: Tile) -> Estimate:
    """Cycles of the busiest unit (arrays: PE tile-model cycles of the slowest sub-tile per step; DMA: traffic
    over bandwidth; table unit; vector dequant epilogue) plus the pipeline fill (first loads, DRAM latency,
    first array step)."""
    compute = table = vector = 0.0
    tu, vec = arch.table_unit, arch.vector
    first = None
    for mt, cm in _pieces(spec.m, t.mt):
        for nt, cn in _pieces(spec.n, t.nt):
            for kt, ck in _pieces(spec.k, t.kt):
                c = gemm.pe_cycles(spec, arch, -(-mt // t.am), -(-nt // t.an), kt, t.map)
                compute += c * cm * cn * ck
                first = c if first is None else first
                if gemm.uses_tables(arch) and not spec.tables_resident:
                    table += math.ceil(mt * math.ceil(kt / tu.group) / tu.tables_per_cycle) * cm * cn * ck
            if spec.groups:  # a chunked tile's later chunks also read the FP32 accumulator (gemm.chunks)
                terms = spec.groups + gemm.chunks(spec, t) - 1
                vector += math.ceil(mt * nt * terms / (vec.lanes * vec.ops_per_cycle["dequant"])) * cm * cn
    traffic = gemm.traffic(spec, t)
    dma = traffic * 8 / arch.dram.bandwidth
    a_first = 0 if spec.tables_resident else t.mt * (spec.k if t.a_stationary else t.kt) * spec.a_bytes
    step_load = (a_first + t.nt * t.kt * spec.w_bytes) * 8 / arch.dram.bandwidth
    fill = step_load + arch.dram.latency + first
    return Estimate(t, max(compute, dma, table, vector) + fill, gemm.instructions(spec, arch, t), traffic)


def choices(arch: Arch) -> list[tuple[str | None, str | None]]:
    """The (dataflow, mapping) pairs the mapper tries on ``arch``'s PE, native first: the PE's declared ones, less
    what the arch pins; ``[(None, None)]`` when there is nothing to choose (the arch's PE configuration as is)."""
    model = pe_registry.get(arch.pe.type)
    dataflows = [arch.pe.dataflow] if arch.pe.dataflow else list(model.dataflows)
    mappings = [arch.pe.mapping] if arch.pe.mapping else list(model.mappings) or [None]
    if len(dataflows) * len(mappings) == 1:
        return [(None, None)]
    return [(d, m) for d in dataflows for m in mappings]


def _rank(e: Estimate) -> tuple:
    t = e.tile
    return e.cycles * (1 + INSTRUCTION_WEIGHT * e.instructions), e.instructions, t.mt, t.nt, t.kt


def candidates(spec: GemmSpec, arch: Arch, choice: tuple[str | None, str | None] = (None, None)) -> list[Estimate]:
    """Every tile that fits the buffers (double buffered; on a ``group_sums`` arch with the DEQUANT in K-chunks
    when all groups' terms do not fit obuf: :func:`compiler.gemm.chunked`) with dataflow and mapping ``choice``,
    with its estimate, best first. On a ``dram.aligned`` arch only the tiles whose transfers are whole port words
    (:func:`compiler.gemm.word_aligned`) when there are any; else all (the engine times them, and the RTL
    assembler refuses the program with its reason)."""
    dataflow, mapping = choice
    map_ = pe_registry.map_name(dataflow, mapping)
    cfg = arch.pe
    gm = cfg.tile[0] if cfg.tile else 1
    gn = cfg.tile[1] if cfg.tile else 1
    gk = spec.group if spec.group and spec.k % spec.group == 0 else (cfg.tile[2] if cfg.tile else 1)
    out, unaligned = [], []
    for mt in _sizes(spec.m, gm):
        for nt in _sizes(spec.n, gn):
            for kt in _sizes(spec.k, max(gk, 16) if gk < spec.k else spec.k):
                if spec.group and spec.k % spec.group == 0 and kt % spec.group:
                    continue
                if not gemm.whole_units(spec, arch, mt, nt, kt):
                    continue
                into = out if gemm.word_aligned(spec, arch, Tile(mt, nt, kt)) else unaligned
                orders = [False] + ([True] if nt < spec.n and not spec.tables_resident else [])
                split = None
                for stationary in orders:
                    fitting = gemm.chunked(spec, arch, Tile(mt, nt, kt, a_stationary=stationary))
                    if fitting is None:
                        continue
                    split = split or gemm.best_split(spec, arch, mt, nt, kt, map_)
                    into.append(estimate(spec, arch, Tile(mt, nt, kt, *split, a_stationary=stationary,
                                                          dataflow=dataflow, mapping=mapping, chunk=fitting.chunk)))
    out = out or unaligned
    if not out:
        raise InputError("arch.buffers", f"no tile of the {spec.m}x{spec.n}x{spec.k} GEMM fits half of abuf/wbuf/"
                         "obuf (double buffering)" + (" in whole unit tiles (pe.options.whole_units)"
                                                      if gemm.unit_granule(spec, arch) else "") +
                         "; enlarge the buffers")
    out.sort(key=_rank)
    return out


@dataclass
class Found:
    """The chosen tile (with its dataflow and mapping), its program and the engine's stats of it, and the search
    log (one entry per simulated candidate, the chosen one marked ``chosen``; :func:`runner_up` reads it)."""

    tile: Tile
    program: object
    stats: object
    log: list[dict]


def _ranked(spec: GemmSpec, arch: Arch) -> list[Estimate]:
    """The candidates to simulate, in order: the best :data:`SIMULATED` estimates of the best-estimated
    (dataflow, mapping), then the best estimate of the next choice (one not estimated exactly alike: on a square
    grid ``nm`` and ``mn`` are the same machine), so the runner-up choice is simulated too."""
    per_choice, tried = [], choices(arch)
    for choice in tried:
        try:
            found = candidates(spec, arch, choice)
        except InputError:
            if len(tried) == 1:
                raise
            continue  # a dataflow or mapping that this GEMM's formats or buffers do not allow
        bounded = [e for e in found if e.instructions <= MAX_INSTRUCTIONS]
        per_choice.append(bounded or [min(found, key=lambda e: (e.instructions, e.cycles))])
    if not per_choice:
        return candidates(spec, arch, tried[0])[:1]  # raises the first choice's error
    per_choice.sort(key=lambda c: _rank(c[0]))  # stable: of equal estimates, the PE's native choice first
    best, others = per_choice[0], [c[0] for c in per_choice[1:]]
    others.sort(key=lambda e: e.cycles == best[0].cycles)  # a twin of the best only when nothing else is left
    return best[:SIMULATED] + others[:1]


def search(spec: GemmSpec, arch: Arch) -> Found:
    """The candidate with the fewest simulated cycles among the best estimated ones (:func:`compiler.choose.choose`:
    in :func:`_ranked` order within :data:`SEARCH_BUDGET`); ties: less energy, then less DRAM traffic, then the
    better estimate. The log's runner-up (``runner_up``) is the best simulated candidate of another (dataflow,
    mapping)."""
    def option(e: Estimate) -> choose.Option:
        def simulate() -> choose.Run:
            program = programs.gemm_program(spec, arch, e.tile)
            stats = programs.run(program, arch)
            return choose.Run(stats.cycles, (program, stats), len(program))
        return choose.Option(e, simulate, cost=e.instructions, group=(e.tile.dataflow, e.tile.mapping))

    energy: dict[int, float] = {}

    def tie(t: choose.Tried) -> tuple:  # energy computed only for the candidates tied on cycles
        if t.index not in energy:
            energy[t.index] = cost.energy(t.run.result[1], arch).total_pj
        return energy[t.index], t.option.key.traffic

    found = choose.choose([option(e) for e in _ranked(spec, arch)], tie, SEARCH_BUDGET)
    log = []
    for t in found.tried:
        e, (program, stats) = t.option.key, t.run.result
        log.append({"tile": [e.tile.mt, e.tile.nt, e.tile.kt], "split": [e.tile.am, e.tile.an], "chunk": e.tile.chunk,
                    "a_stationary": e.tile.a_stationary, "dataflow": e.tile.dataflow, "mapping": e.tile.mapping,
                    "estimate": e.cycles, "simulated": stats.cycles, "traffic": e.traffic,
                    "instructions": len(program)})
        if t.index in energy:
            log[-1]["energy_pj"] = energy[t.index]
        if t is found.best:
            log[-1]["chosen"] = True
        if t is found.runner_up:
            log[-1]["runner_up"] = True
    e, (program, stats) = found.best.option.key, found.best.run.result
    return Found(e.tile, program, stats, log)


def runner_up(log: list[dict]) -> dict | None:
    """The runner-up of the search ``log`` (:func:`search`: the best simulated candidate of another (dataflow,
    mapping), by the choice's own rule), or None when no other was simulated."""
    return next((x for x in log if x.get("runner_up")), None)
