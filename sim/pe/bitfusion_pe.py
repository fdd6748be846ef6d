"""BitFusion array (Sharma et al., "Bit Fusion: Bit-Level Dynamically Composable Architecture for
Accelerating Deep Neural Networks", ISCA'18, arXiv 1712.01507; docs/references.md#baselines).

A Fusion Unit holds 16 BitBricks, each a 2-bit × 2-bit multiplier (docs/references.md#baselines). A product of a
``wb``-bit weight and an ``ab``-bit activation splits into (wb/2)·(ab/2) brick products
``(w_j · a_i) << (2i + 2j)`` over 2-bit two's-complement slices (top slices signed, the others
unsigned, as BitBricks have a sign mode). So a unit does, per cycle:

==========  ============  =====================================
weights     activations   products per cycle per Fusion Unit
==========  ============  =====================================
int2        int4          16 / 2 = 8
int2        int8          16 / 4 = 4
int4        int4          16 / 4 = 4     (docs/references.md#baselines: 4× 4b×4b)
int4        int8          16 / 8 = 2
int8        int8          16 / 16 = 1    (docs/references.md#baselines: 1× 8b×8b)
int8        int16         16 / 32: one product every 2 cycles
==========  ============  =====================================

In our model the products a unit does in one cycle are consecutive k of the same output (the
brick results meet in one shift-add tree and one accumulator), and a cycle never mixes two
quantization groups: a group of g elements takes ⌈g · bricks / 16⌉ cycles.

Default array: 16 × 16 Fusion Units — our choice (a square array of 256 units; the paper's own
configuration is not modelled). Timing, events and exactness: :mod:`sim.pe._sliced_os`;
``multiplies`` counts BitBrick products.
"""

from __future__ import annotations

import numpy as np

from ._sliced_os import ACT_BITS, Decomposition, SlicedOSArray, slices

BRICK_BITS = 2        # BitBrick operand width (docs/references.md#baselines)
BRICKS_PER_UNIT = 16  # BitBricks per Fusion Unit (docs/references.md#baselines)
WEIGHT_BITS = {"int2": 2, "int4": 4, "int8": 8}


class BitFusionPE(SlicedOSArray):
    name = "bitfusion"
    description = "BitFusion: Fusion Units of 16 2b x 2b BitBricks, output-stationary array"
    opcode = "BSMMA"  # BitBricks compose a product from 2-bit slices: a bit-serial instruction
    weight_formats = ("int2", "int4", "int8")
    act_formats = ("int4", "int8", "int16")
    default_array = (16, 16)  # a choice (see the module docstring)

    def decomposition(self, weights: str, acts: str) -> Decomposition:
        return Decomposition(a_slices=ACT_BITS[acts] // BRICK_BITS, w_slices=WEIGHT_BITS[weights] // BRICK_BITS,
                             lanes=BRICKS_PER_UNIT)

    def weight_parts(self, w: np.ndarray, weights: str):
        return slices(w, BRICK_BITS, WEIGHT_BITS[weights] // BRICK_BITS)

    def act_parts(self, a: np.ndarray, acts: str):
        return slices(a, BRICK_BITS, ACT_BITS[acts] // BRICK_BITS)


PE = BitFusionPE
