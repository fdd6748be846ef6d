"""Checks and result assembly shared by the systolic MAC PE models (int8-systolic, fp16-mac)."""

from __future__ import annotations

import numpy as np

from sim import formats
from sim.errors import InputError
from sim.pe import systolic_array as sa
from sim.pe.base import DATAFLOWS, MODES, GemmProblem, GemmResult, PEConfig


def _positive_pair(value, field: str) -> tuple[int, int]:
    if (not isinstance(value, tuple | list) or len(value) != 2
            or not all(isinstance(v, int | np.integer) and not isinstance(v, bool) and v > 0 for v in value)):
        raise InputError(field, f"must be two positive integers (rows, cols), got {value!r}", "e.g. 32x32")
    return int(value[0]), int(value[1])


def check_shape(problem: GemmProblem) -> None:
    """M, N, K positive integers (shared by the MAC PEs)."""
    for name in ("m", "n", "k"):
        v = getattr(problem, name)
        if not isinstance(v, int | np.integer) or isinstance(v, bool) or v < 1:
            raise InputError(f"--{name}", f"must be a positive integer, got {v!r}", "1, 2, 3, …")


def check_array(config: PEConfig) -> tuple[int, int, str]:
    """(rows, cols, dataflow) of a resolved config, or InputError."""
    rows, cols = _positive_pair(config.array, "--array")
    if config.dataflow not in DATAFLOWS:
        raise InputError("--dataflow", f"unknown dataflow {config.dataflow!r}", ", ".join(DATAFLOWS))
    return rows, cols, config.dataflow


def check_mode(mode: str, modes: tuple[str, ...]) -> None:
    if mode not in modes:
        raise InputError("--mode", f"unknown or unsupported mode {mode!r}", ", ".join(m for m in MODES if m in modes))


def group_size_of(problem: GemmProblem) -> int:
    """The group (K segment) size: the problem's, else the weight format's default, else K."""
    g = problem.group_size
    if g is None:
        g = formats.get(problem.weights).default_group_size or problem.k
    if not isinstance(g, int | np.integer) or isinstance(g, bool) or g < 1 or problem.k % g:
        raise InputError("--group-size", f"{g!r} must be a positive divisor of K={problem.k}",
                         "a divisor of K, or none for per-channel")
    return int(g)


def check_operands(problem: GemmProblem, a, qw) -> np.ndarray:
    """Shapes of ``a`` (M, K) and ``qw`` (N, K) against the problem; returns ``a`` as an array."""
    if a is None or qw is None:
        raise InputError("--mode", "per-cycle needs activations and weights", "tile, scalesim for data-free runs")
    a = np.asarray(a)
    if a.shape != (problem.m, problem.k):
        raise InputError("activations", f"shape {a.shape} differs from (M, K) = {(problem.m, problem.k)}")
    if qw.codes.shape != (problem.n, problem.k) or qw.axis != 1:
        raise InputError("weights", f"shape {qw.codes.shape} (axis {qw.axis}) differs from (N, K) = "
                         f"{(problem.n, problem.k)} quantized along K")
    if qw.fmt != problem.weights:
        raise InputError("weights", f"tensor is in {qw.fmt!r} but the problem says {problem.weights!r}")
    if qw.group_size != group_size_of(problem):
        raise InputError("--group-size", f"tensor groups of {qw.group_size} differ from the problem's "
                         f"{group_size_of(problem)}")
    return a


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
