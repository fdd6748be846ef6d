"""ANT PE array (Guo et al., MICRO'22, arXiv 2208.14286; docs/references.md#baselines): a decoder at the array
edge turns each weight code into an integer, then a 4-bit × 8-bit integer MAC per PE.

* Weights: ``flint4`` (decoded to ``mantissa << shift``: values that fit the 4-bit signed
  multiplier operand pass as they are, 8 and 16 become 1 << 3 and 1 << 4), ``int4`` (as is), or
  ``int8`` (two nibbles: a product takes 2 multiplier passes, low nibble unsigned, high signed,
  shifted by 4).
* Activations: ``int8`` or ``int4`` (one pass) or ``int16`` (two byte passes, low unsigned, high
  signed, shifted by 8). Each multiplier operand has a signed/unsigned mode for the low slices.
* One sub-product per PE per cycle (``lanes`` = 1), so cycles per MAC = weight passes × act passes.
* Default array 32 × 32 (rows × columns): BitMoD's iso-area prefill array for ANT
  (docs/references.md#bitmod, from github.com/yc2367/BitMoD-HPCA-25 ``bitmod_sim``).

Timing, events and exactness: see :mod:`sim.pe._sliced_os`.
"""

from __future__ import annotations

import numpy as np

from ._sliced_os import ACT_BITS, Decomposition, SlicedOSArray, mantissa_shift, slices

MULT_W_BITS = 4  # weight operand width of ANT's multiplier (docs/references.md#baselines / brief: 4-bit × 8-bit MAC)
MULT_A_BITS = 8  # activation operand width
MANT_MAX = (1 << (MULT_W_BITS - 1)) - 1  # largest decoded mantissa the 4-bit signed operand holds


class DecoderMacArray(SlicedOSArray):
    """A 4-bit × 8-bit MAC array behind a weight decoder (ANT; OliVe reuses it)."""

    act_formats = ("int4", "int8", "int16")

    def _w_slices(self, weights: str) -> int:
        if weights.startswith("int"):
            return -(-int(weights[3:]) // MULT_W_BITS)
        return 1  # decoded formats: one mantissa << shift

    def decomposition(self, weights: str, acts: str) -> Decomposition:
        a_slices = -(-ACT_BITS[acts] // MULT_A_BITS)
        return Decomposition(a_slices=a_slices, w_slices=self._w_slices(weights), lanes=1)

    def weight_parts(self, w: np.ndarray, weights: str):
        if weights.startswith("int"):
            return slices(w, MULT_W_BITS, self._w_slices(weights))
        mant, shift = mantissa_shift(w, MANT_MAX)
        return mant[..., None], shift[..., None]

    def act_parts(self, a: np.ndarray, acts: str):
        return slices(a, MULT_A_BITS, -(-ACT_BITS[acts] // MULT_A_BITS))


class AntPE(DecoderMacArray):
    name = "ant"
    description = "ANT: flint/int weight decoder + 4b x 8b integer MAC, output-stationary array"
    weight_formats = ("flint4", "int4", "int8")
    decoded_formats = ("flint4",)
    default_array = (32, 32)  # docs/references.md#bitmod (BitMoD's ANT prefill array, rows x cols)


PE = AntPE
