"""BitMoD's per-group mixture of data types: FP3 and FP4 with one special value per group.

Source: BitMoD, arXiv 2411.11745 (HPCA'25), code github.com/yc2367/BitMoD-HPCA-25 (references §3).

Values before scaling (references §3):

* FP3 base 0, ±1, ±2, ±4; FP4 base (twice the E2M1 grid) 0, ±1, ±2, ±3, ±4, ±6, ±8, ±12.
* Each group adds one special value, chosen among four variants (the group's *type*)::

      tag   name   FP3   FP4
      0     ER+    +3    +10      extra resolution
      1     ER-    -3    -10
      2     EA+    +6    +16      extra asymmetry
      3     EA-    -6    -16

Codes are sign-magnitude: ``code = sign << (b-1) | index`` with ``index`` into the base magnitudes;
the otherwise redundant −0 code (``1 << (b-1)``) holds the special value (references §3).

Quantization (per group of 128 along ``axis``, references §3): every variant is tried with a
symmetric absmax scale (``absmax / max|value|`` of the variant); each element goes to the nearest
value (ties to the smaller magnitude); the variant with the lowest squared error is kept, ties to
the lowest tag (ER+, ER−, EA+, EA−).

Scale storage (two levels; references §3 counts 8 extra bits per 128-weight group, 3.0625 /
4.0625 bits per weight, read there as an integer group scale under a per-channel FP16 scale [I]):

* one FP16 scale ``s_c`` per channel (every index of the tensor other than ``axis``), not counted
  per group (amortised over the channel, like any per-channel metadata in this package);
* one metadata byte per group: bits 0–1 the variant tag, bits 2–7 an unsigned 6-bit integer
  group scale ``q`` in 1..63 (0 for an all-zero group). The byte is what ``QuantizedTensor.tags``
  holds. 2 + 6 = 8 bits, so ``bits_per_element(128)`` = 3 + 8/128 = 3.0625 (FP4: 4.0625).

The group scale is ``scales = s_c · q`` (exact in float64): dequantization follows the common rule
of :mod:`sim.formats.base`. ``s_c`` is the FP16 value at or above ``max_g(absmax_g / v_min) / 63``
(``v_min`` = the smallest variant maximum: 4 for FP3, 12 for FP4), so ``q`` never exceeds 63;
``q = ceil(absmax / v_max / s_c)``, so the scale never clips a group's largest element.

Default group: 128 when it divides the axis, otherwise the whole axis (per channel) — so a
K that 128 does not divide still quantizes with the default; pass ``group_size`` to choose.
"""

from __future__ import annotations

import numpy as np

from .base import (
    Format,
    FormatError,
    QuantizedTensor,
    check_finite,
    grouped,
    per_group_to_axis,
    resolve_groups,
    ungrouped,
)
from .scales import round_scale_covering

TAG_NAMES = ("ER+", "ER-", "EA+", "EA-")  # tag order = tie-break order (references §3)
GROUP_SCALE_BITS = 6   # unsigned integer group scale; + 2 tag bits = 8 bits/group (references §3)
TAG_BITS = 2
GROUP_SCALE_MAX = (1 << GROUP_SCALE_BITS) - 1
DEFAULT_GROUP = 128    # references §3


class BitModFormat(Format):
    """BitMoD FP3 or FP4: sign-magnitude codes, per-group variant tag and integer group scale."""

    scale_format = "fp16"       # the per-channel scale; group scales are 6-bit integers
    family = "codebook"
    default_group_size = DEFAULT_GROUP

    def __init__(self, name: str, magnitudes: tuple[int, ...], specials: tuple[int, ...]):
        self.name = name
        self.magnitudes = np.asarray(magnitudes, dtype=np.float64)
        self.code_bits = int(np.log2(len(magnitudes))) + 1
        self.specials = np.asarray(specials, dtype=np.float64)
        self.neg_zero_code = 1 << (self.code_bits - 1)
        half = self.magnitudes
        base = np.concatenate([half, -half])
        # tables[tag, code]: value before scale of every code for every variant
        self.tables = np.repeat(base[None], len(specials), axis=0)
        self.tables[:, self.neg_zero_code] = self.specials
        self.v_max = np.abs(self.tables).max(axis=1)   # per variant, for the absmax scale
        self.v_min = float(self.v_max.min())

    # ----------------------------------------------------------------------------------------
    def variant_values(self, tag: int) -> np.ndarray:
        """Value of every code (index = code) for variant ``tag`` (0..3)."""
        return self.tables[tag].copy()

    @property
    def values(self) -> np.ndarray:
        """Base values by code (the −0 code reads 0 here; a variant's table has its special value)."""
        return np.concatenate([self.magnitudes, -self.magnitudes])

    def metadata_bits_per_group(self) -> int:
        return TAG_BITS + GROUP_SCALE_BITS

    @staticmethod
    def variant_of(tags: np.ndarray) -> np.ndarray:
        """Variant (0..3) from metadata bytes."""
        return np.asarray(tags, dtype=np.int64) & ((1 << TAG_BITS) - 1)

    @staticmethod
    def group_scale_of(tags: np.ndarray) -> np.ndarray:
        """Unsigned integer group scale from metadata bytes."""
        return np.asarray(tags, dtype=np.int64) >> TAG_BITS

    def decode(self, codes, tags=None):
        c = np.asarray(codes, dtype=np.int64)
        if c.size and (c.min() < 0 or c.max() >= (1 << self.code_bits)):
            raise FormatError(f"{self.name} codes must be in 0..{(1 << self.code_bits) - 1}")
        if tags is None:
            return self.values[c]
        t = self.variant_of(np.broadcast_to(tags, c.shape))
        return self.tables[t, c]

    # ----------------------------------------------------------------------------------------
    def _nearest(self, y: np.ndarray, tag: int) -> np.ndarray:
        """Code of the nearest value of variant ``tag`` to each ``y`` (ties: smaller magnitude)."""
        table = self.tables[tag]
        order = np.argsort(np.abs(table), kind="stable")   # candidates by magnitude: ties -> smaller
        cand = table[order]
        best = np.argmin(np.abs(y[..., None] - cand), axis=-1)
        return order[best]

    def quantize(self, x, group_size=None, axis=-1, per_tensor=False) -> QuantizedTensor:
        x = check_finite(x)
        if group_size is None and -x.ndim <= axis < x.ndim and x.shape[axis] % DEFAULT_GROUP == 0:
            group_size = DEFAULT_GROUP   # else None: the whole axis (per channel), see module doc
        axis, g = resolve_groups(x.shape, group_size, axis)
        xg = grouped(x, axis, g)                             # (..., G, g)
        absmax = np.abs(xg).max(axis=-1)                     # (..., G)
        need = absmax.max(axis=-1, keepdims=True) / self.v_min / GROUP_SCALE_MAX
        if per_tensor:
            need = np.full_like(need, need.max())
        s_c = round_scale_covering(need, "fp16")             # (..., 1) per channel
        safe_c = np.where(s_c > 0, s_c, 1.0)
        best_err = np.full(absmax.shape, np.inf)
        best_tag = np.zeros(absmax.shape, dtype=np.int64)
        best_q = np.zeros(absmax.shape, dtype=np.int64)
        best_codes = np.zeros(xg.shape, dtype=np.int64)
        for tag in range(len(self.specials)):                # fixed order: ties keep the lower tag
            q = np.clip(np.ceil(absmax / self.v_max[tag] / safe_c), 1, GROUP_SCALE_MAX).astype(np.int64)
            q = np.where(absmax > 0, q, 0)
            s = (s_c * q)[..., None]
            codes = self._nearest(xg / np.where(s > 0, s, 1.0), tag)
            codes = np.where(s > 0, codes, 0)
            err = ((xg - s * self.tables[tag][codes]) ** 2).sum(axis=-1)
            better = err < best_err
            best_err = np.where(better, err, best_err)
            best_tag = np.where(better, tag, best_tag)
            best_q = np.where(better, q, best_q)
            best_codes = np.where(better[..., None], codes, best_codes)
        meta = (best_q << TAG_BITS) | best_tag
        return QuantizedTensor(
            fmt=self.name,
            codes=ungrouped(best_codes, axis).astype(np.uint8),
            scales=per_group_to_axis(s_c * best_q, axis),
            zeros=None,
            group_size=g,
            axis=axis,
            tags=per_group_to_axis(meta.astype(np.uint8), axis),
        )

    def channel_scales(self, q: QuantizedTensor) -> np.ndarray:
        """The per-channel FP16 scale ``s_c`` (group axis kept with length 1); 0 for all-zero channels."""
        qi = self.group_scale_of(q.tags)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(qi > 0, q.scales / np.where(qi > 0, qi, 1), 0.0)
        return ratio.max(axis=q.axis, keepdims=True)


def _fp3() -> BitModFormat:
    # references §3: FP3 base 0, ±1, ±2, ±4; specials ER± 3, EA± 6
    return BitModFormat("bitmod_fp3", (0, 1, 2, 4), (3, -3, 6, -6))


def _fp4() -> BitModFormat:
    # references §3: FP4 base 0, ±1, ±2, ±3, ±4, ±6, ±8, ±12; specials ER± 10, EA± 16
    return BitModFormat("bitmod_fp4", (0, 1, 2, 3, 4, 6, 8, 12), (10, -10, 16, -16))


REGISTRY = {"bitmod_fp3": _fp3, "bitmod_fp4": _fp4}
