"""Result assembly shared by the systolic MAC PE models (int8-systolic, fp16-mac)."""

from __future__ import annotations

from sim.pe import systolic_array as sa
from sim.pe.base import GemmProblem, GemmResult


def timing_result(problem: GemmProblem, rows: int, cols: int, dataflow: str, seg: int, mode: str) -> GemmResult:
    """Data-free result (tile or scalesim mode) of a GEMM on the array."""
    m, n, k = problem.m, problem.n, problem.k
    cycles, events = sa.tile_timing(dataflow, m, n, k, seg, rows, cols)
    pl = sa.plan(dataflow, m, n, k, seg, rows, cols)
    extra = {"folds": pl.folds, "period": pl.period, "dataflow": dataflow, "array": [rows, cols]}
    if mode == "scalesim":
        extra["overlapped_cycles"] = cycles
        extra["note"] = "cycles and utilization follow SCALE-Sim 3.0.0 (references §7); events are ours"
        cycles = sa.scalesim_cycles(dataflow, m, n, k, rows, cols)
    return GemmResult(cycles=cycles, utilization=sa.utilization(m, n, k, rows, cols, cycles),
                      events=with_sram_total(events), mode=mode, extra=extra)


def with_sram_total(events: dict) -> dict:
    """Add ``sram_reads`` (operands entering the array) and name the operand sides."""
    return {**events, "sram_reads": events["left_sram_reads"] + events["top_sram_reads"]}


def side_events(events: dict, dataflow: str) -> dict:
    """Rename left/top SRAM reads to activation/weight reads for this dataflow."""
    acts, wts = ("top_sram_reads", "left_sram_reads") if dataflow == "is" else ("left_sram_reads",
                                                                                "top_sram_reads")
    return {**events, "act_sram_reads": events[acts], "weight_sram_reads": events[wts]}
