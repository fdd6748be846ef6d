"""One BitMoD PE's inputs and expected outputs, for driving the RTL (rtl/gateware/bitmod_pe.py) from the model.

The model (:mod:`sim.pe.bitmod_pe`) is run unchanged on a 1 × 1 array, so every fold is one output
(m, n) of one PE, folds in the model's order (n outer, m inner). For each fold this module lists the
lane steps the PE consumes (4 FP16 activation patterns and 4 weight codes per step, each group
zero-padded to a multiple of 4 lanes with the codes of level 0), the group metadata, the expected
FP32 result and the fold's cycles; each group's dequant value ``d · 2^e`` comes from the model's
kernel run on that group alone (its FP32 output is that value exactly: |d| < 2^20).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..formats import get as get_format
from .base import GemmProblem, PEConfig
from .bitmod_pe import (
    LANES,
    WEIGHTS,
    BitModPE,
    _bitmod_array,
    _fold_cycles,
    _group_scales,
    _scale_bits,
)


@dataclass
class Step:
    """One lane step: FP16 patterns, weight codes (LANES each) and its group's metadata."""

    act: list[int]
    w: list[int]
    tag: int            # variant (BitMoD formats; 0 for INT)
    last: bool          # the group's last step
    last_group: bool    # ... of the fold's last group
    scale: int          # integer group scale (6-bit BitMoD q, or the FP16 scale's 11-bit significand)
    scale_exp: int      # LSB exponent of the FP16 group scale (INT formats; 0 for BitMoD)


@dataclass
class Fold:
    """One PE fold: output (m, n), its steps, channel scale (FP16 bits), expected FP32 and cycles."""

    m: int
    n: int
    steps: list[Step]
    chan: int
    out: np.float32
    group_values: list[float]
    cycles: int


def _zero_code(fmt_name: str) -> int:
    """Code of weight level 0 (BitMoD: magnitude index 0; symmetric INTb: 2^(b−1))."""
    fmt = get_format(fmt_name)
    return 0 if fmt_name.startswith("bitmod") else 1 << (fmt.code_bits - 1)


def pe_folds(a: np.ndarray, qw) -> tuple[list[Fold], int]:
    """Folds of an (M, K) FP16 × (N, K) ``qw`` GEMM on one PE, and the model's total cycles."""
    a = np.asarray(a, dtype=np.float64)
    m_all, k = a.shape
    n_all = qw.codes.shape[0]
    g, n_groups = qw.group_size, qw.n_groups
    fmt = get_format(qw.fmt)
    n_terms, booth = WEIGHTS[qw.fmt]
    problem = GemmProblem(m_all, n_all, k, qw.fmt, "fp16", g)
    res = BitModPE().run(problem, PEConfig(array=(1, 1), acc="fp32"), "per-cycle", a, qw)
    sig, exp, scale_bits, chan, _ = _group_scales(qw)
    tags = np.zeros((n_all, n_groups), dtype=np.int64) if qw.tags is None else fmt.variant_of(qw.tags)
    levels = np.rint(get_format(qw.fmt).decode(qw.codes, None if qw.tags is None else qw.expand(qw.tags))
                     - (0 if qw.zeros is None else qw.expand(qw.zeros))).astype(np.int64)
    act_bits = a.astype(np.float16).view(np.uint16).astype(np.int64)
    gsp = -(-g // LANES) * LANES
    fold_cycles = _fold_cycles(g, n_groups, n_terms, scale_bits)
    folds = []
    for n in range(n_all):
        for m in range(m_all):
            steps, values = [], []
            for gi in range(n_groups):
                ks = slice(gi * g, (gi + 1) * g)
                acts = np.zeros(gsp, dtype=np.int64)
                codes = np.full(gsp, _zero_code(qw.fmt), dtype=np.int64)
                lv = np.zeros(gsp, dtype=np.int64)
                acts[:g], codes[:g], lv[:g] = act_bits[m, ks], qw.codes[n, ks], levels[n, ks]
                for s0 in range(0, gsp, LANES):
                    steps.append(Step([int(x) for x in acts[s0:s0 + LANES]], [int(x) for x in codes[s0:s0 + LANES]],
                                      int(tags[n, gi]), s0 + LANES == gsp, gi == n_groups - 1,
                                      int(sig[n, gi]), int(exp[n, gi])))
                one, _, _ = _bitmod_array(acts[None], lv[None], booth, n_terms, gsp, 1, sig[n:n + 1, gi:gi + 1],
                                          exp[n:n + 1, gi:gi + 1], scale_bits, np.ones(1), 1, 1, g, 1, 0, 0)
                values.append(float(one[0, 0]))
            chan_bits = int(np.float16(chan[n]).view(np.uint16))
            folds.append(Fold(m, n, steps, chan_bits, np.float32(res.out[m, n]), values, fold_cycles))
    if res.cycles != fold_cycles * len(folds):
        raise RuntimeError(f"model cycles {res.cycles} != {len(folds)} folds × {fold_cycles}")
    return folds, res.cycles


def scale_bits_of(weights: str) -> int:
    """Bits of the integer group scale the dequant unit steps through (cycles per dequant); the RTL
    testbenches size their drain time with it."""
    return _scale_bits(weights)
