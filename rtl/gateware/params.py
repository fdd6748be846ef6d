"""Parameters shared by the RTL blocks and their checks (docs/lut_tensor_core_contract.md,
docs/references.md#lut-tensor-core).

Timing convention used by every block here: an edge *samples* an input when the input is
presented before it; "valid after L edges" counts that sampling edge as the first one. So the
LUT unit, whose ``start`` and plane 0 are sampled by the same edge, shows ``valid`` after
``b + LUT_OUTPUT_LATENCY`` edges: a tile of b planes costs b + 1 cycles, T back-to-back tiles
T·b + 1 cycles (the contract's tile-mode formula).
"""

from __future__ import annotations

from contextlib import contextmanager

from sim.errors import InputError

# Default unit M2N64K4: 2 rows, 64 columns, one K = 4 group (512 lookup slots) — docs/references.md#lut-tensor-core
# (LUT Tensor Core, arXiv 2408.06003, "elongated tile" M2N64K4).
DEFAULT_M, DEFAULT_N, DEFAULT_K = 2, 64, 4
DEFAULT_ACT_WIDTH = 8    # INT8 activations (contract default)
DEFAULT_ACC_WIDTH = 32   # INT32 accumulator (contract)
DEFAULT_MAX_BITS = 8     # widest weight code the plane counter accepts (int2..int8 formats)

# Edges from the edge that samples ``start`` (with plane 0) to ``valid``: b planes + this (contract).
LUT_OUTPUT_LATENCY = 1
# Table precompute: one adder-tree level per cycle; K = 4 → 2 levels (contract PRECOMPUTE_LATENCY).
PRECOMPUTE_LATENCY = 2

MODES = ("int", "fp16")       # datapath: exact integers, or IEEE binary16 (RNE) tables and accumulator
FP16_WIDTH = 16               # bits of an FP16 activation, table entry or accumulator
INT_ACT_WIDTHS = (4, 8, 16)  # INT activation widths the contract allows (int4 / int8 / int16)
TABLE_K = (2, 4, 8)          # K must be a power of two for the pairwise adder tree


def log2_exact(k: int, field: str = "k") -> int:
    """log2 of a power of two ≥ 2, else InputError naming ``field``."""
    if not isinstance(k, int) or k < 2 or k & (k - 1):
        raise InputError(field, f"must be a power of two ≥ 2, got {k!r}", ", ".join(map(str, TABLE_K)))
    return k.bit_length() - 1


def precompute_latency(k: int) -> int:
    """Pipeline depth (cycles) of the table precompute adder tree for groups of ``k``."""
    return log2_exact(k)


def entry_width(act_width: int, k: int) -> int:
    """Bits of one stored table entry S[e] = a_{K-1} + Σ_{t<K-1} ±a_t (two's complement).

    Its range is [−K·2^(w−1), K·2^(w−1) − 1] (only entries with the top pattern bit set are
    stored), so w + log2(K) bits are exact: e.g. INT8 × K=4 → 10 bits (contract).
    """
    return act_width + log2_exact(k)


def check_positive(value, field: str, lo: int = 1, hi: int | None = None) -> int:
    """An integer in [lo, hi] or InputError naming ``field``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < lo or (hi is not None and value > hi):
        allowed = f"integers {lo}..{hi}" if hi is not None else f"integers ≥ {lo}"
        raise InputError(field, f"got {value!r}", allowed)
    return value


def check_mode(mode) -> str:
    if mode not in MODES:
        raise InputError("mode", f"got {mode!r}", ", ".join(MODES))
    return mode


def check_act_width(act_width) -> int:
    if act_width not in INT_ACT_WIDTHS:
        raise InputError("act_width", f"got {act_width!r}", ", ".join(map(str, INT_ACT_WIDTHS)))
    return act_width


@contextmanager
def checking(component):
    """Run a constructor's parameter checks; on InputError mark the half-built component as
    deliberately unused so Amaranth does not also warn "created but never used"."""
    try:
        yield
    except InputError:
        component._MustUse__silence = True  # Amaranth's own opt-out flag (amaranth/_unused.py)
        raise
