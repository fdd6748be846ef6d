"""The LUT Tensor Core's table precompute unit: K activations → 2^(K−1) odd-symmetric table entries.

Algebra (docs/references.md#lut-tensor-core, arXiv 2408.06003 §3; docs/lut_tensor_core_contract.md "Algebra"): for a
K-group of activations a_0..a_{K−1} the full table is ``T[p] = Σ_t (+a_t if bit t of p else −a_t)`` over the 2^K
index patterns p. It is odd-symmetric, ``T[~p] = −T[p]``, so only the half with the top bit set is
stored: entry e ∈ [0, 2^(K−1)) holds ``S[e] = T[(1 << (K−1)) | e]``. The last entry is the group sum.

Datapaths:

* INT activations: entries are exact integers (INT8 × K=4 → 10-bit signed).
* FP16 activations: entries are FP16, built by a pairwise adder tree with one rounding per adder,
  adjacent pairs first: for K = 4, ``S = fp16(fp16(±a0 ± a1) + fp16(±a2 + a3))``.
* Optional INT8 table quantization (lossy, FP16 tables only; docs/references.md#lut-tensor-core): one FP16 scale per
  stored table, ``scale = fp16(max|S| / 127)``, codes ``q = round(S / scale)`` (RNE, in float64);
  the lookup yields the FP16 value ``fp16(q · scale)`` (an INT8 × FP16 product rounded once).

Timing: the unit builds Mu tables (one per row of an M-block, for one K-group) per cycle; its adder
tree has one level per cycle, ``precompute_latency(K) = log2 K`` (``PRECOMPUTE_LATENCY = 2`` for K = 4,
the LUT contract "Timing"). Loop order is m-block outer, K-group inner, the order the tensor core consumes.

Events: ``table_adds`` counts the adders of the tree (every sign pattern of each block of adjacent
activations, the block holding a_{K−1} with its sign fixed) — (4 + 2) + 8 = 14 for K = 4;
``table_writes`` counts stored entries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..jit import njit
from ._rounding import FP16, round_float
from .checks import INT_ACT_BITS

PRECOMPUTE_LATENCY = 2  # cycles for K = 4: one adder-tree level per cycle (docs/lut_tensor_core_contract.md "Timing")
INT8_TABLE_LEVELS = 127  # symmetric INT8 table codes in [−127, 127] (docs/references.md#lut-tensor-core,
                         # docs/references.md#t-mac: scale = max/127)
DEFAULT_TILE = (2, 64, 4)  # M2N64K4, 512 lookup slots (docs/references.md#lut-tensor-core: LUT Tensor Core, arXiv
                           # 2408.06003)
FP_TABLE_BITS = 16  # FP16 table entries for FP activations (docs/lut_tensor_core_contract.md "Datapath widths")
TABLE_QUANT_BITS = 8  # INT8 table codes with option table_quant (docs/references.md#lut-tensor-core "Table
                      # quantization")
TABLE_K = (2, 4, 8)  # K-group sizes with a pairwise tree (powers of two); K = 4 is the paper's choice


def stored_entries(k: int) -> int:
    """Entries stored per table: 2^(K−1)."""
    return 1 << (k - 1)


def precompute_latency(k: int) -> int:
    """Pipeline latency of the table adder tree in cycles: one level per cycle, log2 K levels."""
    return int(k).bit_length() - 1


def table_adds_per_table(k: int) -> int:
    """Adders of the tree for one table: at level l (span 2^l) each block of activations sums every
    sign pattern of its span (2^span), except the block holding a_{K−1}, whose top sign is fixed
    (2^(span−1)). K = 4 → (4 + 2) + 8 = 14, the tree of rtl/gateware/table_precompute.py."""
    total, span = 0, 2
    while span <= k:
        total += (k // span - 1) * (1 << span) + (1 << (span - 1))
        span *= 2
    return total


def entry_signs(k: int) -> np.ndarray:
    """(2^(K−1), K) int64 of ±1: the sign of activation t in stored entry e (pattern top|e)."""
    e = np.arange(stored_entries(k))[:, None]
    pattern = e | (1 << (k - 1))
    bits = (pattern >> np.arange(k)[None, :]) & 1
    return (2 * bits - 1).astype(np.int64)


@njit(cache=True)
def _build_tables(acts, signs, mu, man_bits, emin, emax, tables):
    """Step the unit: one cycle per (m-block, K-group) builds the tables of the block's rows.

    acts (M, KG, K) float64; signs (E, K) int64; tables (M, KG, E) float64, written.
    Returns (cycles, tables built) — cycles without the pipeline latency.
    """
    m_total, kgroups, k = acts.shape
    n_entries = signs.shape[0]
    buf = np.empty(k)
    cycles = 0
    built = 0
    for m0 in range(0, m_total, mu):
        for kg in range(kgroups):
            cycles += 1
            for m in range(m0, min(m0 + mu, m_total)):
                built += 1
                for e in range(n_entries):
                    for t in range(k):
                        buf[t] = acts[m, kg, t] if signs[e, t] > 0 else -acts[m, kg, t]
                    width = k
                    while width > 1:  # pairwise tree, adjacent pairs first, rounding per adder
                        width //= 2
                        for j in range(width):
                            buf[j] = round_float(buf[2 * j] + buf[2 * j + 1], man_bits, emin, emax)
                    tables[m, kg, e] = buf[0]
    return cycles, built


@dataclass
class PrecomputeResult:
    """Tables (M, KG, 2^(K−1)) float64 (exact integers or FP16 values), the unit's busy cycles
    (including its pipeline latency), and its events."""

    tables: np.ndarray
    cycles: int
    events: dict[str, int]
    scales: np.ndarray | None = None  # (M, KG) FP16 table scales when quantized to INT8


def quantize_tables_int8(tables: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """INT8 table quantization: returns (codes int64 in [−127, 127], FP16 scales (…), the FP16 values
    the lookups yield). ``tables`` (…, E) holds FP16 values; one scale per table (last axis)."""
    fp16 = np.float16
    amax = np.abs(tables).max(axis=-1)
    scale = (amax / INT8_TABLE_LEVELS).astype(fp16).astype(np.float64)
    safe = np.where(scale > 0, scale, 1.0)[..., None]
    codes = np.clip(np.rint(tables / safe), -INT8_TABLE_LEVELS, INT8_TABLE_LEVELS)
    codes = np.where(scale[..., None] > 0, codes, 0.0)
    values = (codes * scale[..., None]).astype(fp16).astype(np.float64)
    return codes.astype(np.int64), scale, values


def precompute(acts: np.ndarray, mu: int, value_format: tuple[int, int, int] = FP16,
               table_quant: bool = False) -> PrecomputeResult:
    """Build every table of a GEMM's activations.

    acts: (M, KG, K) float64 — activations cut into K-groups (zero-padded by the caller).
    mu: tables built per cycle (the tensor core's M). value_format: ``_rounding.FP16`` for FP16
    tables, ``_rounding.EXACT_INT`` for integer activations. table_quant: INT8 tables (FP16 only).
    """
    acts = np.ascontiguousarray(acts, dtype=np.float64)
    m, kgroups, k = acts.shape
    if k not in TABLE_K:
        raise ValueError(f"table K must be one of {TABLE_K}, got {k}")
    tables = np.empty((m, kgroups, stored_entries(k)))
    man_bits, emin, emax = (int(v) for v in value_format)
    cycles, built = _build_tables(acts, entry_signs(k), int(mu), man_bits, emin, emax, tables)
    scales = None
    if table_quant:
        _, scales, tables = quantize_tables_int8(tables)
    events = {"table_adds": built * table_adds_per_table(k), "table_writes": built * stored_entries(k)}
    return PrecomputeResult(tables, int(cycles) + precompute_latency(k), events, scales)


def lookup(stored: np.ndarray, idx: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """``neg ? −S[idx] : S[idx]`` (the tensor core's lookup); stored (…, E) broadcast against idx."""
    v = np.take_along_axis(stored, idx, axis=-1)
    return np.where(neg.astype(bool), -v, v)


#: the table datapath of each FP activation format: BF16 tables for BF16 activations, FP16 for the rest (FP8
#: runs on the FP16 datapath, :func:`table_entry_bits`)
FP_TABLE_FORMAT = {"bf16": "bf16"}


def table_format(acts: str) -> str:
    """The value format of the tables (and precompute adders) for ``acts``: "int32" (exact) for integer
    activations, "bf16" for BF16, "fp16" for the other FP formats (the LUT unit's and the cost model's one
    reading)."""
    return "int32" if acts in INT_ACT_BITS else FP_TABLE_FORMAT.get(acts, "fp16")


def table_entry_bits(acts: str, k: int, table_quant: bool = False) -> int:
    """Bits one stored table entry needs for ``acts`` activations in K-groups of ``k``.

    INT: S[e] = a_{K−1} + Σ_{t<K−1} ±a_t spans [−K·2^(w−1), K·2^(w−1) − 1], so w + ⌈log2 K⌉ bits are exact
    (INT8 × K = 4 → 10; docs/lut_tensor_core_contract.md "Datapath widths"). FP16 and FP8 (which run on the
    FP16 datapath): FP16 entries, 16 bits; with ``table_quant``, INT8 codes (one FP16 scale per table,
    docs/references.md#lut-tensor-core).
    """
    if acts in INT_ACT_BITS:
        return INT_ACT_BITS[acts] + (k - 1).bit_length()
    return TABLE_QUANT_BITS if table_quant else FP_TABLE_BITS
