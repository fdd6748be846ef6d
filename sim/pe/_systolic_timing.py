"""The closed forms of the R×C systolic array (pure Python: no numpy, no Numba), shared by the MAC-based PE models.

:func:`plan` cuts a GEMM into folds, :func:`tile_timing` is our closed-form timing of the overlapped schedule (the
numbers :func:`sim.pe.systolic_array.per_cycle` steps to), :func:`scalesim_cycles` the SCALE-Sim 3.0.0 formula
(docs/references.md#peer-tools). A data-free run (tile or scalesim mode) needs only this module, so that
``lutsim gemm --mode scalesim`` imports neither numpy nor Numba. Units: cycles; events are counts of actions.
The micro-architecture, the fill/drain derivation and the events: docs/systolic_arrays.md, "MAC systolic array".
"""

from __future__ import annotations

from dataclasses import dataclass

DATAFLOWS = ("os", "ws", "is")


@dataclass(frozen=True)
class FoldPlan:
    """How a GEMM is cut into folds on the array.

    rows, cols: array shape. folds: number of folds. stream: operands streamed per fold
    (cycles an edge is busy). period: cycles between fold starts. first_issue: cycle of the
    first fold's first operand (0 for OS; 1 for WS/IS, after the first weight row is written).
    """

    dataflow: str
    rows: int
    cols: int
    folds: int
    stream: int
    period: int
    first_issue: int


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _roles(dataflow: str, m: int, n: int) -> tuple[int, int]:
    """(P, Q) of the kernel: rows of the left and top operand matrices."""
    return (n, m) if dataflow == "is" else (m, n)


def plan(dataflow: str, m: int, n: int, k: int, seg: int, rows: int, cols: int) -> FoldPlan:
    """Fold plan of ``O[m, n] = A[m, k] · W[n, k]ᵀ`` with K segments of ``seg`` (``seg`` | ``k``)."""
    if dataflow not in DATAFLOWS:
        raise ValueError(f"dataflow must be one of {DATAFLOWS}, got {dataflow!r}")
    p, q = _roles(dataflow, m, n)
    g = k // seg
    if dataflow == "os":
        folds, stream = _ceil(p, rows) * _ceil(q, cols) * g, seg
        first = 0
    else:
        folds, stream = _ceil(q, cols) * g * _ceil(seg, rows), p
        first = 1
    return FoldPlan(dataflow, rows, cols, folds, stream, max(stream, rows), first)


def tile_timing(dataflow: str, m: int, n: int, k: int, seg: int, rows: int, cols: int) -> tuple[int, dict]:
    """Closed-form cycles and events of the overlapped schedule (no data). Same numbers as
    :func:`per_cycle`."""
    pl = plan(dataflow, m, n, k, seg, rows, cols)
    p, q = _roles(dataflow, m, n)
    r, c, g = rows, cols, k // seg
    pt, qt = _ceil(p, r), _ceil(q, c)
    macs = m * n * k
    if dataflow == "os":
        cycles = (pl.folds - 1) * pl.period + pl.stream + 2 * r + c - 1
        last_rows = p - (pt - 1) * r

        def drain_reads(h: int) -> int:  # rows 0..h-1 of a tile: hold read + chain cells i..R-1
            return h * (r + 1) - h * (h - 1) // 2

        ev = dict(multiplies=macs, adds=macs, reg_reads=p * k * qt * c + q * k * pt * r,
                  psum_reg_reads=g * q * ((pt - 1) * drain_reads(r) + drain_reads(last_rows)),
                  left_sram_reads=p * k * qt, top_sram_reads=q * k * pt,
                  out_sram_writes=p * q * g, acc_sram_reads=0)
    else:
        st = _ceil(seg, r)
        cycles = (pl.folds - 1) * pl.period + pl.stream + r + c + pl.first_issue - 1
        ev = dict(multiplies=macs, adds=macs + p * q * g * (st - 1), reg_reads=p * k * qt * c,
                  psum_reg_reads=p * q * g * st * r, left_sram_reads=p * k * qt, top_sram_reads=q * k,
                  out_sram_writes=p * q * g * st, acc_sram_reads=p * q * g * (st - 1))
    return cycles, ev


def scalesim_cycles(dataflow: str, m: int, n: int, k: int, rows: int, cols: int) -> int:
    """SCALE-Sim 3.0.0 GEMM cycles (docs/references.md#peer-tools, measured by running scalesim 3.0.0):
    folds × cycles-per-fold − 1 with OS ⌈M/R⌉⌈N/C⌉ × (R+C+K−2), WS ⌈K/R⌉⌈N/C⌉ × (2R+C+M−2),
    IS ⌈K/R⌉⌈M/C⌉ × (2R+C+N−2)."""
    r, c = rows, cols
    if dataflow == "os":
        folds, per_fold = _ceil(m, r) * _ceil(n, c), r + c + k - 2
    elif dataflow == "ws":
        folds, per_fold = _ceil(k, r) * _ceil(n, c), 2 * r + c + m - 2
    elif dataflow == "is":
        folds, per_fold = _ceil(k, r) * _ceil(m, c), 2 * r + c + n - 2
    else:
        raise ValueError(f"dataflow must be one of {DATAFLOWS}, got {dataflow!r}")
    return folds * per_fold - 1


def output_folds(m: int, n: int, rows: int, cols: int, rows_over_n: bool) -> int:
    """Folds of an output-stationary array holding ``rows × cols`` outputs at a time: rows over M
    and columns over N, or rows over N and columns over M with ``rows_over_n``."""
    if rows_over_n:
        return _ceil(n, rows) * _ceil(m, cols)
    return _ceil(m, rows) * _ceil(n, cols)


def utilization(m: int, n: int, k: int, rows: int, cols: int, cycles: int) -> float:
    """Useful MACs / (MAC slots × cycles)."""
    return m * n * k / (rows * cols * cycles)
