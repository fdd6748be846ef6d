"""What the systolic MAC PE models (int8-systolic, fp16-mac) share: checks, the run over
:mod:`sim.pe.systolic_array` in every mode, and result assembly. A subclass says which formats it
takes, what enters the array and what leaves it."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING

from sim.pe import _systolic_timing as st
from sim.pe import checks
from sim.pe.base import ACTIVE_EVENT, DATAFLOWS, GemmProblem, GemmResult, PEConfig, PEModel

if TYPE_CHECKING:
    import numpy as np


class SystolicMac(PEModel):
    """Base of the MAC arrays on :mod:`sim.pe.systolic_array` (``--dataflow os|ws|is``)."""

    modes = ("per-cycle", "tile", "scalesim")
    opcode = "MMA"
    dataflows = DATAFLOWS
    dataflow_source = ("SCALE-Sim 3.0.0 (pip scalesim): output, weight and input stationary; our timing of them in "
                       "sim/pe/systolic_array.py")
    acc_formats: tuple[str, ...] = ()

    @abstractmethod
    def segment(self, problem: GemmProblem) -> int:
        """Elements of K summed inside the array before a partial sum leaves it."""

    @abstractmethod
    def dequant_ops(self, problem: GemmProblem, events: dict) -> int:
        """Dequantization operations of the GEMM (given the array's side events)."""

    @abstractmethod
    def array_operands(self, problem: GemmProblem, config: PEConfig, a: np.ndarray, qw) -> tuple:
        """(activations, weights, keyword arguments of :func:`sim.pe.systolic_array.per_cycle`)."""

    @abstractmethod
    def array_output(self, problem: GemmProblem, config: PEConfig, psums: np.ndarray, qw) -> tuple[np.ndarray, dict]:
        """(output (M, N), extra) from the array's partial sums (M, N, K/segment)."""

    def check_group(self, group: int) -> None:
        """PE-specific limit on the group size (elements); none by default."""

    def check(self, problem: GemmProblem, config: PEConfig) -> None:
        config = self.resolve(config)
        g = checks.check_problem(problem, config, self.name, weights=self.weight_formats, acts=self.act_formats,
                                 accs=self.acc_formats, dataflows=self.dataflows, mappings=self.mappings)
        self.check_group(g)

    def run(self, problem: GemmProblem, config: PEConfig, mode: str, a=None, qw=None) -> GemmResult:
        config = self.resolve(config)
        self.check(problem, config)
        checks.check_mode(mode, self.modes, self.name)
        rows, cols = config.array
        dataflow = config.dataflow
        seg = self.segment(problem)
        if mode != "per-cycle":
            res = timing_result(problem, rows, cols, dataflow, seg, mode)
            res.events = side_events(res.events, dataflow)
            res.events["dequant_ops"] = self.dequant_ops(problem, res.events)
            return res
        from sim.pe import systolic_array as sa  # numpy and the Numba kernel: per-cycle runs only

        checks.check_operands(problem, a, qw, checks.group_size(problem))
        a_in, w_in, kwargs = self.array_operands(problem, config, checks.check_act_values(a, problem.acts), qw)
        psums, cycles, events, hazards = sa.per_cycle(dataflow, a_in, w_in, seg, rows, cols, **kwargs)
        if hazards:
            raise RuntimeError(f"systolic schedule hit {hazards} structural hazards")  # a model bug
        events = side_events(with_sram_total(events), dataflow)
        events["dequant_ops"] = self.dequant_ops(problem, events)
        out, extra = self.array_output(problem, config, psums, qw)
        return GemmResult(cycles=cycles, utilization=st.utilization(problem.m, problem.n, problem.k, rows, cols,
                                                                    cycles),
                          events=events, mode=mode, out=out, extra=extra)


def timing_result(problem: GemmProblem, rows: int, cols: int, dataflow: str, seg: int, mode: str) -> GemmResult:
    """Data-free result (tile or scalesim mode) of a GEMM on the array."""
    m, n, k = problem.m, problem.n, problem.k
    cycles, events = st.tile_timing(dataflow, m, n, k, seg, rows, cols)
    pl = st.plan(dataflow, m, n, k, seg, rows, cols)
    extra = {"folds": pl.folds, "period": pl.period, "dataflow": dataflow, "array": [rows, cols]}
    if mode == "scalesim":
        extra["overlapped_cycles"] = cycles
        extra["note"] = "cycles and utilization follow SCALE-Sim 3.0.0 (docs/references.md#peer-tools); events are ours"
        cycles = st.scalesim_cycles(dataflow, m, n, k, rows, cols)
    return GemmResult(cycles=cycles, utilization=st.utilization(m, n, k, rows, cols, cycles),
                      events=with_sram_total(events), mode=mode, extra=extra)


def with_sram_total(events: dict) -> dict:
    """Add ``sram_reads`` (operands entering the array) and the PE-cycles of useful work (one MAC per PE-cycle:
    ``multiplies``, as the array steps them)."""
    return {**events, "sram_reads": events["left_sram_reads"] + events["top_sram_reads"],
            ACTIVE_EVENT: events["multiplies"]}


def side_events(events: dict, dataflow: str) -> dict:
    """Rename left/top SRAM reads to activation/weight reads for this dataflow."""
    acts, wts = ("top_sram_reads", "left_sram_reads") if dataflow == "is" else ("left_sram_reads",
                                                                                "top_sram_reads")
    return {**events, "act_sram_reads": events[acts], "weight_sram_reads": events[wts]}
