"""A float GEMM on the arch's matrix unit (``FMMA``): an FP16 lm_head that the PE array cannot take.

``out[M, N] = in[M, K] · W[N, K]ᵀ`` with FP16 weights and activations. The input rows are loaded once into
``abuf`` (in row blocks when they do not fit half of it); the weights stream through ``wbuf`` in column
tiles of at most half of it (double buffered: the DMA loads tile c+1 while the matrix unit works on tile c);
each tile's output goes from ``obuf`` to DRAM. Units: elements, bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from sim import pe as pe_registry
from sim.arch import Arch
from sim.isa.columns import ColumnProgram
from sim.pe.base import PEConfig

from .gemm import buffer_of

FP16_BYTES = 2


@dataclass(frozen=True)
class FloatGemmSpec:
    """An FP16 x FP16 GEMM for the matrix unit; ``out_bytes`` per output element, ``w_bytes`` per weight; the
    compiler runs it where it takes fewer cycles, the matrix unit or (``vector``) the vector lanes."""

    m: int
    n: int
    k: int
    w_bytes: float = FP16_BYTES
    out_bytes: float = FP16_BYTES
    vector: object = None  # the same GEMM as FP16 multiply-accumulates on the vector unit (compiler.specs.VectorSpec)


def matrix_map(arch: Arch, where: str, m: int, n: int, k: int) -> str:
    """The ``map`` operand of an (m, n, k) FP16 GEMM on the matrix engine ``where`` ("matrix": the arch's matrix
    unit, "array": its PE array): the engine's dataflow with the fewest tile-model cycles, unless it pins one."""
    unit = arch.pe if where == "array" else arch.matrix_unit
    return _best_map(unit.type, unit.array, unit.tile, unit.dataflow, unit.acc, tuple(sorted(unit.options.items())),
                     unit.mapping, m, n, k)


@lru_cache(maxsize=4096)  # by value: a few shapes per op, shared by every arch with the same engine
def _best_map(kind, array, tile, dataflow, acc, options, mapping, m, n, k) -> str:
    model = pe_registry.get(kind)
    if dataflow is not None or len(model.dataflows) < 2:
        return "arch"
    problem = pe_registry.GemmProblem(m=m, n=n, k=k, weights="fp16", acts="fp16")
    base = PEConfig(array=array, tile=tile, dataflow=dataflow, acc=acc, options=dict(options), mapping=mapping)
    return min(model.dataflows, key=lambda d: pe_registry.tile_cycles(
        kind, pe_registry.config_of(base, d), problem).cycles)


def gemm_cycles(arch: Arch, where: str, m: int, n: int, k: int) -> int:
    """Tile-model cycles of one (m, n, k) FP16 GEMM on the matrix engine ``where``, with :func:`matrix_map`'s
    dataflow (what the engine times the instruction at)."""
    unit = arch.pe if where == "array" else arch.matrix_unit
    problem = pe_registry.GemmProblem(m=m, n=n, k=k, weights="fp16", acts="fp16")
    config = pe_registry.config_of(unit.config(), matrix_map(arch, where, m, n, k))
    return pe_registry.tile_cycles(unit.type, config, problem).cycles


def tiling(spec: FloatGemmSpec, arch: Arch) -> tuple[int, int]:
    """(rows, columns) of one FMMA: input rows that fit half of abuf, weight columns half of wbuf and their
    FP32 accumulators half of obuf."""
    half_a, half_w, half_o = (buffer_of(arch, b).capacity // 2 for b in ("abuf", "wbuf", "obuf"))
    rows = max(1, min(spec.m, half_a // (spec.k * FP16_BYTES)))
    cols = max(1, min(spec.n, half_w // math.ceil(spec.k * spec.w_bytes),
                      half_o // math.ceil(rows * max(spec.out_bytes, 4))))
    return rows, cols


def matrix_cycles(spec: FloatGemmSpec, arch: Arch) -> int:
    """Busy cycles of the matrix unit alone over :func:`emit`'s FMMAs: a lower bound of the program's cycles."""
    rows, cols = tiling(spec, arch)
    return sum(times_m * times_n * gemm_cycles(arch, "matrix", m, n, spec.k)
               for m, times_m in _sizes(spec.m, rows) for n, times_n in _sizes(spec.n, cols))


def _sizes(total: int, step: int) -> list[tuple[int, int]]:
    """(size, count) of the full steps and the last partial one."""
    full, rest = divmod(total, step)
    return [(step, full)] * bool(full) + [(rest, 1)] * bool(rest)


def emit(spec: FloatGemmSpec, arch: Arch) -> ColumnProgram:
    """The program of ``spec`` on ``arch``'s matrix unit (see the module docstring)."""
    p = ColumnProgram(arch=arch.name)
    rows, cols = tiling(spec, arch)
    w_addr, a_addr = 0, math.ceil(spec.n * spec.k * spec.w_bytes)
    o_addr = a_addr + spec.m * spec.k * FP16_BYTES
    for r0 in range(0, spec.m, rows):
        m = min(rows, spec.m - r0)
        a_bytes = m * spec.k * FP16_BYTES
        la = p.add(p.template("LOAD", buf="abuf", bytes=a_bytes), alloc=p.space([("abuf", a_bytes)]),
                   addr=a_addr + r0 * spec.k * FP16_BYTES)
        pending = None  # the previous tile's store: after this tile's weight load in the DMA's queue
        for c0 in range(0, spec.n, cols):
            n = min(cols, spec.n - c0)
            w_b = math.ceil(n * spec.k * spec.w_bytes)
            acc = m * n * 4
            lw = p.add(p.template("LOAD", buf="wbuf", bytes=w_b), alloc=p.space([("wbuf", w_b)]),
                       addr=w_addr + math.floor(c0 * spec.k * spec.w_bytes))
            if pending is not None:
                p.add(*pending)
            mm = p.add(p.template("FMMA", m=m, n=n, k=spec.k, weights="fp16", acts="fp16",
                                  map=matrix_map(arch, "matrix", m, n, spec.k),
                                  rd=[("abuf", a_bytes), ("wbuf", w_b)], wr=[("obuf", acc)]),
                       [la, lw], alloc=p.space([("obuf", acc)]), free=p.space([("wbuf", w_b)]))
            out_b = max(1, math.ceil(m * n * spec.out_bytes))
            pending = (p.template("STORE", buf="obuf", bytes=out_b), [mm], 0, p.space([("obuf", acc)]),
                       o_addr + math.floor((r0 * spec.n + c0) * spec.out_bytes))
        last = p.add(*pending)
        p.add(p.template("SYNC"), [last], free=p.space([("abuf", a_bytes)]))
    return p.freeze()
