"""FP16 MAC systolic array: weights dequantized to FP16 on their way in, FP16 multiply-accumulate.

Datapath of one PE (the textbook "dequantize, then FP16 GEMM" baseline):

1. every weight is dequantized as it leaves the weight buffer: ``w16 = fp16(dequant(code))``,
   the float64 value of :meth:`sim.formats.base.Format.dequantize` rounded once to FP16 (RNE);
2. ``p = fp16(a · w16)`` (the exact product rounded to FP16);
3. ``acc = fmt(acc + p)`` with ``fmt`` the accumulator (``--acc fp16`` default, or ``fp32``).

The additions happen in the array's order (:mod:`sim.pe.systolic_array`): OS adds k = 0..K−1 in
one accumulator; WS and IS add R rows of a k-tile down a column, then the output buffer adds the
k-tile sums in increasing order (same ``fmt``). With ``--acts bf16`` the multiplier is BF16
(weights rounded to BF16, products rounded to BF16).

Weights: any registered format (integer-affine ones and the float/codebook formats alike),
since only their dequantized values enter the array. Activations: values representable in FP16
(or BF16).

Default array 32×24 rows×cols: BitMoD's FP16 baseline prefill array (docs/references.md#bitmod,
github.com/yc2367/BitMoD-HPCA-25 ``bitmod_sim``). Events: those of the array plus
``dequant_ops`` (one per weight entering the array).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim import format_index
from sim.errors import InputError
from sim.pe._mac_common import SystolicMac
from sim.pe.base import GemmProblem, PEConfig

if TYPE_CHECKING:  # numpy, sim.formats and sim.reference are imported by the methods that take data
    import numpy as np

ACT_FORMATS = ("fp16", "bf16")
ACC_FORMATS = ("fp16", "bf16", "fp32")


class Fp16Mac(SystolicMac):
    name = "fp16-mac"
    description = "FP16 MAC systolic array (OS/WS/IS); weights dequantized to FP16 per element"
    act_formats = ACT_FORMATS
    acc_formats = ACC_FORMATS

    def default_config(self) -> PEConfig:
        # 32×24: BitMoD's FP16 prefill array (docs/references.md#bitmod).
        return PEConfig(array=(32, 24), dataflow="os", acc="fp16")

    @property
    def weight_formats(self) -> tuple[str, ...]:
        return tuple(format_index.names())  # only dequantized values enter the array

    def segment(self, problem: GemmProblem) -> int:
        return problem.k  # no groups inside the array: one segment of K

    def dequant_ops(self, problem: GemmProblem, events: dict) -> int:
        return events["weight_sram_reads"]  # one per weight entering the array

    def array_operands(self, problem: GemmProblem, config: PEConfig, a: np.ndarray, qw) -> tuple:
        return a, self.weights_in_array(qw, problem.acts), {"prod": problem.acts, "acc": config.acc}

    def array_output(self, problem: GemmProblem, config: PEConfig, psums: np.ndarray, qw) -> tuple[np.ndarray, dict]:
        return psums[:, :, 0], {"dataflow": config.dataflow, "array": [int(v) for v in config.array],
                                "acc": config.acc}

    def expected(self, problem: GemmProblem, config: PEConfig, a, qw) -> np.ndarray:
        """Emulation with sim.reference rounding: fp16(a·fp16(w)), summed in the array's order."""
        import numpy as np

        from sim import formats, reference

        config = self.resolve(config)
        mul = reference.acc_dtype(problem.acts)
        acc = reference.acc_dtype(config.acc)
        w = reference.round_to(formats.get(qw.fmt).dequantize(qw), mul)
        with np.errstate(over="ignore", invalid="ignore"):  # IEEE overflow to inf (and inf − inf) is modelled
            products = reference.round_to(np.asarray(a, dtype=np.float64)[:, None, :] * w[None, :, :], mul)
            if config.dataflow == "os":
                return reference.sequential_sum(products, acc)
            rows = config.array[0]  # WS / IS: R-row k-tiles down a column, then k-tiles in order
            tiles = [reference.sequential_sum(products[:, :, i:i + rows], acc) for i in range(0, problem.k, rows)]
            return reference.sequential_sum(np.stack(tiles, axis=-1), acc)

    @staticmethod
    def weights_in_array(qw, acts: str) -> np.ndarray:
        """Dequantized weights rounded to the multiplier format (float64 values)."""
        import numpy as np

        from sim import formats, reference

        w = reference.round_to(formats.get(qw.fmt).dequantize(qw), reference.acc_dtype(acts))
        if not np.all(np.isfinite(w)):
            raise InputError("weights", f"dequantized weights overflow {acts}")
        return w


PE = Fp16Mac
