"""OliVe PE array (Guo et al., ISCA'23, arXiv 2304.07493; docs/references.md#baselines): a pair decoder at the
array edge resolves each outlier–victim pair (:mod:`sim.formats.olive`) into two integers — the
victim 0, the outlier ``mantissa << shift`` (8 = 1 << 3, 24 = 3 << 3, …, 96 = 3 << 5), normal
values as they are — then the same 4-bit × 8-bit integer MAC as ANT (:mod:`sim.pe.ant_pe`).

* Weights: ``olive4`` only. Activations: ``int8``/``int4`` (one pass) or ``int16`` (two passes).
* Default array 36 × 32 (rows × columns): BitMoD's iso-area prefill array for OliVe
  (docs/references.md#bitmod, github.com/yc2367/BitMoD-HPCA-25 ``bitmod_sim``).

Timing, events and exactness: see :mod:`sim.pe._sliced_os`; ``decodes`` counts weight elements
through the pair decoder.
"""

from __future__ import annotations

from .ant_pe import DecoderMacArray


class OlivePE(DecoderMacArray):
    name = "olive"
    description = "OliVe: outlier-victim pair decoder + 4b x 8b integer MAC, output-stationary array"
    weight_formats = ("olive4",)
    decoded_formats = ("olive4",)
    default_array = (36, 32)  # docs/references.md#bitmod (BitMoD's OliVe prefill array, rows x cols)


PE = OlivePE
