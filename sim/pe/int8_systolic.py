"""INT8 × INT8 → INT32 systolic MAC array with a per-group dequantization epilogue.

Datapath: every PE multiplies an INT8 activation by an INT8 weight level (``code − zero`` of a
symmetric int2..int8, ternary or binary weight, all inside [−128, 127]) and accumulates in
INT32. The K axis is cut at quantization-group boundaries, so the array emits one exact INT32
partial sum per (m, n, group) — equal to :func:`sim.reference.group_partial_sums` — and an
epilogue unit at the array's output edge rescales each one once:
``out[m, n] = Σ_g s[n, g] · P[m, n, g]`` in float64, groups in increasing order (the order of
:func:`sim.reference.mpgemm`). The epilogue is pipelined behind the array; its few cycles of
latency per GEMM are not counted.

Timing comes from :mod:`sim.pe.systolic_array` (``--dataflow os|ws|is``; modes per-cycle, tile,
scalesim). Default array 32×32: the INT/ANT-class prefill array of BitMoD's system model
(docs/references.md#bitmod, github.com/yc2367/BitMoD-HPCA-25 ``bitmod_sim``) and the array of the SCALE-Sim
golden measurements (docs/references.md#peer-tools).

Events: those of the array (see :mod:`sim.pe.systolic_array`; ``sram_reads`` = left + top) plus
``dequant_ops`` (one rescale multiply-add per group partial sum, M·N·G).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.errors import InputError
from sim.pe import checks
from sim.pe._mac_common import SystolicMac
from sim.pe.base import GemmProblem, PEConfig

if TYPE_CHECKING:  # numpy and sim.reference are imported by the methods that take data (not tile/scalesim runs)
    import numpy as np

WEIGHT_FORMATS = tuple(f"int{b}" for b in range(2, 9)) + ("ternary", "binary")
ACT_FORMATS = ("int4", "int8")
INT8_MIN, INT8_MAX = -128, 127
INT32_MAX = 2**31 - 1
# Largest |product| of two INT8 values: (−128)·(−128).
_MAX_PRODUCT = 128 * 128


class Int8Systolic(SystolicMac):
    name = "int8-systolic"
    description = "INT8×INT8→INT32 systolic MAC array (OS/WS/IS) with a per-group rescale epilogue"
    weight_formats = WEIGHT_FORMATS
    act_formats = ACT_FORMATS
    acc_formats = ("int32",)

    def default_config(self) -> PEConfig:
        # 32×32: docs/references.md#bitmod (BitMoD's INT/ANT prefill array) and docs/references.md#peer-tools (SCALE-Sim
        # golden runs).
        return PEConfig(array=(32, 32), dataflow="os", acc="int32")

    def check_group(self, group: int) -> None:
        if group * _MAX_PRODUCT > INT32_MAX:  # a group partial sum could overflow the INT32 accumulator
            raise InputError("--group-size", f"{group} elements per INT32 partial sum may overflow",
                             f"at most {INT32_MAX // _MAX_PRODUCT}")

    def segment(self, problem: GemmProblem) -> int:
        return checks.group_size(problem)  # the K axis is cut at group boundaries

    def dequant_ops(self, problem: GemmProblem, events: dict) -> int:
        return problem.m * problem.n * (problem.k // self.segment(problem))  # one rescale per group sum

    def array_operands(self, problem: GemmProblem, config: PEConfig, a: np.ndarray, qw) -> tuple:
        return a, self._weight_levels(qw), {}

    def array_output(self, problem: GemmProblem, config: PEConfig, psums: np.ndarray, qw) -> tuple[np.ndarray, dict]:
        import numpy as np

        p = np.rint(psums).astype(np.int64)
        return self.epilogue(p, qw), {"group_partial_sums": p, "dataflow": config.dataflow,
                                      "array": [int(v) for v in config.array]}

    @staticmethod
    def epilogue(p: np.ndarray, qw) -> np.ndarray:
        """One rescale per INT32 group partial sum, summed over groups in increasing order (float64)."""
        import numpy as np

        from sim import reference

        s = reference.group_scales(qw)
        pf = p.astype(np.float64)
        out = np.zeros(pf.shape[:2])
        for g in range(pf.shape[2]):
            out += pf[:, :, g] * s[None, :, g]
        return out

    def expected(self, problem: GemmProblem, config: PEConfig, a, qw) -> np.ndarray:
        from sim import reference

        return reference.mpgemm(a, qw)

    @staticmethod
    def _weight_levels(qw) -> np.ndarray:
        import numpy as np

        from sim import reference

        w = reference.weight_levels(qw)
        if not np.all(w == np.rint(w)) or w.min() < INT8_MIN or w.max() > INT8_MAX:
            raise InputError("weights", "weight levels (code − zero) must be integers in [−128, 127]",
                             ", ".join(WEIGHT_FORMATS))
        return w


PE = Int8Systolic
