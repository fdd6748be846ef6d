"""Tile search for one GEMM: candidates that fit the buffers, ranked by an analytic estimate, the best few
simulated with the engine; the one with the fewest simulated cycles wins.

Bounded and deterministic: at most :data:`MAX_INSTRUCTIONS` instructions per candidate (coarse tiles),
at most :data:`SIMULATED` candidates simulated and :data:`SEARCH_BUDGET` instructions simulated in all per
GEMM (an instruction budget, not a clock, so the same inputs always pick the same tile).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.arch import Arch
from sim.errors import InputError

from . import gemm, programs
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
                c = gemm.pe_cycles(spec, arch, -(-mt // t.am), -(-nt // t.an), kt)
                compute += c * cm * cn * ck
                first = c if first is None else first
                if gemm.uses_tables(arch) and not spec.tables_resident:
                    table += math.ceil(mt * math.ceil(kt / tu.group) / tu.tables_per_cycle) * cm * cn * ck
            if spec.groups:
                vector += math.ceil(mt * nt * spec.groups / (vec.lanes * vec.ops_per_cycle["dequant"])) * cm * cn
    traffic = gemm.traffic(spec, t)
    dma = traffic * 8 / arch.dram.bandwidth
    a_first = 0 if spec.tables_resident else t.mt * (spec.k if t.a_stationary else t.kt) * spec.a_bytes
    step_load = (a_first + t.nt * t.kt * spec.w_bytes) * 8 / arch.dram.bandwidth
    fill = step_load + arch.dram.latency + first
    return Estimate(t, max(compute, dma, table, vector) + fill, gemm.instructions(spec, arch, t), traffic)


def candidates(spec: GemmSpec, arch: Arch) -> list[Estimate]:
    """Every tile that fits the buffers (double buffered), with its estimate, best first."""
    cfg = arch.pe
    gm = cfg.tile[0] if cfg.tile else 1
    gn = cfg.tile[1] if cfg.tile else 1
    gk = spec.group if spec.group and spec.k % spec.group == 0 else (cfg.tile[2] if cfg.tile else 1)
    out = []
    for mt in _sizes(spec.m, gm):
        for nt in _sizes(spec.n, gn):
            for kt in _sizes(spec.k, max(gk, 16) if gk < spec.k else spec.k):
                if spec.group and spec.k % spec.group == 0 and kt % spec.group:
                    continue
                orders = [False] + ([True] if nt < spec.n and not spec.tables_resident else [])
                split = None
                for stationary in orders:
                    if not gemm.fits(spec, arch, Tile(mt, nt, kt, a_stationary=stationary)):
                        continue
                    split = split or gemm.best_split(spec, arch, mt, nt, kt)
                    out.append(estimate(spec, arch, Tile(mt, nt, kt, *split, a_stationary=stationary)))
    if not out:
        raise InputError("arch.buffers", f"no tile of the {spec.m}x{spec.n}x{spec.k} GEMM fits half of abuf/wbuf/"
                         "obuf (double buffering); enlarge the buffers")
    out.sort(key=lambda e: (e.cycles * (1 + INSTRUCTION_WEIGHT * e.instructions), e.instructions, e.tile.mt,
                            e.tile.nt, e.tile.kt))
    return out


@dataclass
class Found:
    """The chosen tile, its program and the engine's stats of it, and the search log."""

    tile: Tile
    program: object
    stats: object
    log: list[dict]


def search(spec: GemmSpec, arch: Arch) -> Found:
    """The tile with the fewest simulated cycles among the best estimated ones (ties: the better estimate)."""
    ranked = candidates(spec, arch)
    bounded = [e for e in ranked if e.instructions <= MAX_INSTRUCTIONS]
    if not bounded:
        bounded = [min(ranked, key=lambda e: (e.instructions, e.cycles))]
    best, log, spent = None, [], 0
    for e in bounded[:SIMULATED]:
        if best is not None and spent + e.instructions > SEARCH_BUDGET:
            break
        program = programs.gemm_program(spec, arch, e.tile)
        stats = programs.run(program, arch)
        spent += len(program)
        log.append({"tile": [e.tile.mt, e.tile.nt, e.tile.kt], "split": [e.tile.am, e.tile.an],
                    "a_stationary": e.tile.a_stationary,
                    "estimate": e.cycles, "simulated": stats.cycles, "instructions": len(program)})
        if best is None or stats.cycles < best.stats.cycles:
            best = Found(e.tile, program, stats, log)
    return best
