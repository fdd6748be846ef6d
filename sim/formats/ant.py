"""ANT's FLINT4 weights (Guo et al., "ANT: Exploiting Adaptive Numerical Data Type for Low-bit
DNN Quantization", MICRO'22, arXiv 2208.14286; docs/references.md#baselines).

Values are kept in units of ¼ so that every magnitude is an integer: FLINT4's magnitudes ×4 are
{0, 1, 2, 3, 4, 6, 8, 16} (docs/references.md#baselines). The 4-bit code is sign–magnitude::

    bit 3      sign (1 = negative)
    bits 2..0  magnitude index i: 0→0, 1→1, 2→2, 3→3, 4→4, 5→6, 6→8, 7→16

Code 0b1000 (−0) decodes to 0 and is never produced by :meth:`quantize`. The scale is one FP16
absmax scale per group (per channel by default, as ANT scales per channel):
``scale = absmax / 16``, so the group's largest magnitude lands on ±16 (the ¼ unit folds into
the scale). Decoded values are integers, so integer datapaths give exact group sums.
"""

from __future__ import annotations

import numpy as np

from ._tables import TableFormat

# FLINT4 magnitudes ×4 (docs/references.md#baselines; ANT, arXiv 2208.14286).
FLINT4_MAGNITUDES = np.array([0, 1, 2, 3, 4, 6, 8, 16], dtype=np.float64)


class Flint4Format(TableFormat):
    """FLINT4 with a sign bit: 16 codes, values ±{0, 1, 2, 3, 4, 6, 8, 16}, FP16 absmax scale."""

    name = "flint4"
    code_bits = 4
    scale_format = "fp16"
    default_group_size = None
    VALUES = np.concatenate([FLINT4_MAGNITUDES, 0.0 - FLINT4_MAGNITUDES])


REGISTRY = {"flint4": Flint4Format}
