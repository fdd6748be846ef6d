"""One MixPE PE's per-cycle inputs and expected outputs, for driving the RTL (rtl/gateware/mixpe_pe.py).

The model (:mod:`sim.pe.mixpe`) is run unchanged on a 1 × 1 array: every fold is one output (m, n)
of one PE (folds in the model's order, m outer, n inner) and lasts ``K·c + 1`` cycles. Cycle
``t`` of a fold follows the model's schedule for PE (0, 0): a MAC cycle on pair ``t // c``, nibble
``t % c`` for ``t < K·c``; a dequant of group ``t // (g·c) − 1`` when ``t`` is a positive multiple
of ``g·c`` (it uses the sums of the cycles before it, and may share its cycle with the next
group's first MAC).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import GemmProblem, PEConfig
from .mixpe import MixPE, _cycles_per_weight


@dataclass
class Cycle:
    """Inputs of one cycle: MAC operands (``en``) and dequant operands (``dq``)."""

    en: bool
    a: int            # INT8 value, or FP16 bits
    code: int
    dq: bool
    zero: int
    scale: int        # FP16 bits of the group scale
    last: bool        # the fold's last dequant


@dataclass
class Fold:
    m: int
    n: int
    cycles: list[Cycle]
    out: np.float32


def pe_folds(a: np.ndarray, qw, acts: str = "int8") -> tuple[list[Fold], int]:
    """Folds of an (M, K) × (N, K) ``qw`` GEMM on one MixPE PE, and the model's total cycles."""
    a = np.asarray(a, dtype=np.float64)
    m_all, k = a.shape
    n_all = qw.codes.shape[0]
    g = qw.group_size
    c = _cycles_per_weight(qw.fmt)
    problem = GemmProblem(m_all, n_all, k, qw.fmt, acts, g)
    res = MixPE().run(problem, PEConfig(array=(1, 1), dataflow="os", acc="fp32"), "per-cycle", a, qw)
    a_port = a.astype(np.int64) if acts == "int8" else a.astype(np.float16).view(np.uint16).astype(np.int64)
    zeros = np.rint(np.asarray(qw.zeros, dtype=np.float64)).astype(np.int64)
    scales = np.asarray(qw.scales, dtype=np.float64).astype(np.float16).view(np.uint16).astype(np.int64)
    span, n_groups = g * c, k // g
    folds = []
    for m in range(m_all):
        for n in range(n_all):
            cyc = []
            for t in range(k * c + 1):
                mac = t < k * c
                dq = t > 0 and t % span == 0
                gi = t // span - 1
                cyc.append(Cycle(mac, int(a_port[m, t // c]) if mac else 0, int(qw.codes[n, t // c]) if mac else 0,
                                 dq, int(zeros[n, gi]) if dq else 0, int(scales[n, gi]) if dq else 0,
                                 dq and gi == n_groups - 1))
            folds.append(Fold(m, n, cyc, np.float32(res.out[m, n])))
    if res.cycles != len(folds) * (k * c + 1):
        raise RuntimeError(f"model cycles {res.cycles} != {len(folds)} folds × {k * c + 1}")
    return folds, res.cycles
