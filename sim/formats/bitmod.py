"""BitMoD's per-group mixture of data types: FP3 and FP4 with one special value per group (BitMoD,
arXiv 2411.11745; docs/references.md#bitmod).

Codes are sign-magnitude with the −0 code holding the group's special value; each group of 128 (default)
keeps the variant (ER±, EA±) of least squared error; scales are an FP16 per-channel scale times a 6-bit
integer group scale, and the 2 tag + 6 scale bits give 3.0625 / 4.0625 bits per weight. Value tables,
code layout, quantization and scale rules: docs/formats.md, "BitMoD FP3 / FP4".
"""

from __future__ import annotations

import numpy as np

from ..jit import njit
from ..pairwise_sum import pairwise_sum
from ._tables import nearest_level
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

TAG_NAMES = ("ER+", "ER-", "EA+", "EA-")  # tag order = tie-break order (docs/references.md#bitmod)
GROUP_SCALE_BITS = 6   # unsigned integer group scale; + 2 tag bits = 8 bits/group (docs/references.md#bitmod)
TAG_BITS = 2
GROUP_SCALE_MAX = (1 << GROUP_SCALE_BITS) - 1
DEFAULT_GROUP = 128    # docs/references.md#bitmod


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
        order = np.argsort(self.tables, axis=1, kind="stable")
        self._ascending_codes = order                                   # [tag] codes by ascending value
        self._ascending = np.take_along_axis(self.tables, order, axis=1)  # [tag] values, ascending

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
        # The table's values are distinct and include 0, so neighbours never straddle 0 and nearest_level's
        # "ties towards zero" is "ties to the smaller magnitude". Same codes as comparing all the distances
        # |y - v| (exact: neighbours have b <= 2a or a = 0), without a (..., 2^b) temporary.
        return self._ascending_codes[tag][nearest_level(y, self._ascending[tag])]

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
        if xg.flags.c_contiguous:
            best_codes, best_tag, best_q = self._search_fused(xg, absmax, s_c)
        else:
            best_codes, best_tag, best_q = self._search_numpy(xg, absmax, s_c)
        meta = (best_q << TAG_BITS) | best_tag
        return QuantizedTensor(
            fmt=self.name,
            codes=ungrouped(best_codes, axis).astype(np.uint8, copy=False),
            scales=per_group_to_axis(s_c * best_q, axis),
            zeros=None,
            group_size=g,
            axis=axis,
            tags=per_group_to_axis(meta.astype(np.uint8), axis),
        )

    def _search_numpy(self, xg: np.ndarray, absmax: np.ndarray, s_c: np.ndarray):
        """Per group, the variant of least squared error: codes (..., G, g), tags and group scales (..., G)."""
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
        return best_codes, best_tag, best_q

    def _search_fused(self, xg: np.ndarray, absmax: np.ndarray, s_c: np.ndarray):
        """:meth:`_search_numpy` in one Numba pass over C-contiguous ``xg``: the same codes, tags and scales,
        bit for bit (each variant's error is summed in numpy's order, :func:`sim.pairwise_sum.pairwise_sum`)."""
        g = xg.shape[-1]
        rows = xg.reshape(-1, g)
        n_groups = rows.shape[0]
        channel = np.broadcast_to(s_c, absmax.shape).reshape(-1)
        codes = np.empty(rows.shape, dtype=np.uint8)
        tags = np.empty(n_groups, dtype=np.int64)
        qs = np.empty(n_groups, dtype=np.int64)
        mids = (self._ascending[:, :-1] + self._ascending[:, 1:]) / 2
        _search_groups(rows, absmax.reshape(-1), np.ascontiguousarray(channel), self.v_max, self.tables,
                       self._ascending_codes, mids, codes, tags, qs)
        return codes.reshape(xg.shape), tags.reshape(absmax.shape), qs.reshape(absmax.shape)

    def dequantize(self, q: QuantizedTensor) -> np.ndarray:
        """Real values (float64): ``tables[variant, code] · scale`` of the code's group (:meth:`Format.dequantize`,
        in one Numba pass for C-contiguous uint8 codes grouped along the last axis)."""
        c = q.codes
        fast = (c.dtype == np.uint8 and c.flags.c_contiguous and q.axis == c.ndim - 1 and q.tags is not None
                and q.scales is not None and q.zeros is None and q.tensor_scale == 1.0 and c.size > 0
                and int(c.max()) < (1 << self.code_bits))
        if not fast:
            return super().dequantize(q)
        g = q.group_size
        rows = c.reshape(-1, g)
        out = np.empty(rows.shape)
        _dequantize_groups(rows, np.ascontiguousarray(self.variant_of(q.tags)).reshape(-1), self.tables,
                           np.ascontiguousarray(q.scales, dtype=np.float64).reshape(-1), out)
        return out.reshape(c.shape)

    def channel_scales(self, q: QuantizedTensor) -> np.ndarray:
        """The per-channel FP16 scale ``s_c`` (group axis kept with length 1); 0 for all-zero channels."""
        qi = self.group_scale_of(q.tags)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(qi > 0, q.scales / np.where(qi > 0, qi, 1), 0.0)
        return ratio.max(axis=q.axis, keepdims=True)


@njit(cache=True)
def _search_groups(rows, absmax, s_c, v_max, tables, ascending_codes, mids, codes, tags, qs):
    """For every group (row of ``rows``, float64): the variant of least squared error (ties: lower tag),
    its integer group scale and codes, written to ``tags``, ``qs`` and ``codes`` (uint8). ``s_c`` is the
    group's channel scale, ``mids[tag]`` the midpoints of ``tables[tag]``'s ascending values. Same rules and
    arithmetic as :meth:`BitModFormat._search_numpy`, one group at a time."""
    n_groups, g = rows.shape
    n_tags, n_mid = mids.shape
    sq = np.empty(g)
    trial = np.empty(g, dtype=np.uint8)
    for r in range(n_groups):
        c = s_c[r]
        safe_c = c if c > 0 else 1.0
        best_err = np.inf
        tags[r] = 0
        qs[r] = 0
        for j in range(g):
            codes[r, j] = 0
        for tag in range(n_tags):
            q = 0
            if absmax[r] > 0:
                q = int(min(max(np.ceil(absmax[r] / v_max[tag] / safe_c), 1.0), float(GROUP_SCALE_MAX)))
            s = c * q
            div = s if s > 0 else 1.0
            for j in range(g):
                x = rows[r, j]
                code = 0
                if s > 0:
                    y = x / div
                    neg = y < 0
                    k = 0
                    for m in range(n_mid):      # nearest_level's count, branch-free
                        k += (mids[tag, m] < y) | (neg & (mids[tag, m] == y))
                    code = ascending_codes[tag, k]
                trial[j] = code
                d = x - s * tables[tag, code]
                sq[j] = d * d
            err = pairwise_sum(sq, g)
            if err < best_err:
                best_err = err
                tags[r] = tag
                qs[r] = q
                for j in range(g):
                    codes[r, j] = trial[j]



@njit(cache=True)
def _dequantize_groups(codes, variants, tables, scales, out):
    """``out[r, j] = tables[variants[r], codes[r, j]] * scales[r]`` for every group ``r`` (a row of ``codes``)."""
    n_groups, g = codes.shape
    for r in range(n_groups):
        v, s = variants[r], scales[r]
        for j in range(g):
            out[r, j] = tables[v, codes[r, j]] * s

def _fp3() -> BitModFormat:
    # docs/references.md#bitmod: FP3 base 0, ±1, ±2, ±4; specials ER± 3, EA± 6
    return BitModFormat("bitmod_fp3", (0, 1, 2, 4), (3, -3, 6, -6))


def _fp4() -> BitModFormat:
    # docs/references.md#bitmod: FP4 base 0, ±1, ±2, ±3, ±4, ±6, ±8, ±12; specials ER± 10, EA± 16
    return BitModFormat("bitmod_fp4", (0, 1, 2, 3, 4, 6, 8, 12), (10, -10, 16, -16))


REGISTRY = {"bitmod_fp3": _fp3, "bitmod_fp4": _fp4}
