"""Storage of every format a recipe may name: bits per element, group metadata, GPU family.

One source per fact: a registered format (:func:`sim.formats.get`) states its own ``code_bits``,
``metadata_bits_per_group()``, ``default_group_size`` and ``family``; :data:`STORAGE_ONLY` adds the formats the
simulator stores and moves but has no quantizer for. An unknown name, or a registered format that states no
family, is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import FAMILIES, FormatError, amortised_bits


@dataclass(frozen=True)
class Storage:
    """Storage of one format: ``code_bits`` per element plus ``group_bits`` once per group (bits).

    ``family``: how a GPU computes with it (:data:`sim.formats.base.FAMILIES`). ``default_group``: group used
    when a recipe gives none (None = per channel/token/tensor, metadata amortised over an unknown length and
    not counted). ``source``: where the figures come from.
    """

    code_bits: int
    group_bits: int
    family: str
    source: str
    default_group: int | None = None

    def bits_per_element(self, group_size: int | None = None) -> float:
        """Storage bits per element (group metadata amortised over ``group_size`` or the default group)."""
        return amortised_bits(self.code_bits, self.group_bits,
                              group_size if group_size is not None else self.default_group)


#: formats without a quantizer in this package (storage and GPU treatment only)
STORAGE_ONLY: dict[str, Storage] = {
    "fp32": Storage(32, 0, "float", "IEEE 754 binary32"),
    # BitMoD counts 8 extra bits per 128-weight group for its lossless INT6 (6.0625 bits/weight):
    # BitMoD, arXiv 2411.11745 (HPCA'25), github.com/yc2367/BitMoD-HPCA-25.
    "bitmod_int6": Storage(6, 8, "int", "BitMoD lossless INT6, 6.0625 b/weight (arXiv 2411.11745)", 128),
}


def storage_names(registered: list[str]) -> list[str]:
    """Every format name with a storage figure: the ``registered`` ones and :data:`STORAGE_ONLY`."""
    return sorted(set(registered) | set(STORAGE_ONLY))


def storage_of(fmt) -> Storage:
    """The storage of a registered :class:`sim.formats.base.Format` (its own attributes)."""
    if fmt.family not in FAMILIES:
        raise FormatError(f"format {fmt.name!r} states no GPU family (family = {fmt.family!r}); "
                          f"allowed: {', '.join(FAMILIES)}")
    return Storage(fmt.code_bits, fmt.metadata_bits_per_group(), fmt.family, f"sim.formats.{fmt.name}",
                   fmt.default_group_size)
