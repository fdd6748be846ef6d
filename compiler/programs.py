"""Emitted programs shared across archs that differ only in what the emitters do not read.

:func:`compiler.gemm.emit` and :func:`compiler.vector.emit` read a few arch fields (:func:`emit_key`: the
name, the PE's type, accumulator, opcode and options, the table unit's K-group, entry width and streaming, the
buffer capacities); archs equal in those get the same program for the same op spec and tile, whatever their DRAM,
clock, vector unit, array count or energy constants. A sweep over such axes emits each program once per worker
process; the engine still decodes and schedules it for every arch (:func:`sim.engine.run`).
"""

from __future__ import annotations

from functools import lru_cache

from sim import engine
from sim.arch import Arch
from sim.errors import InputError
from sim.isa.columns import ColumnProgram

from . import gemm, vector
from .cache import ProgramCache
from .gemm import Tile
from .specs import GemmSpec, VectorSpec


def emit_key(arch: Arch) -> tuple:
    """Every arch field the emitters read (equal keys, equal programs)."""
    tu = arch.table_unit
    return (arch.name, arch.pe.type, arch.pe.acc, arch.pe.opcode, tuple(sorted(arch.pe.options.items())),
            None if tu is None else (tu.group, tu.entry_bits, tu.streamed),
            tuple((b.name, b.capacity) for b in arch.buffers))


@lru_cache(maxsize=2)  # the programs of a couple of emit keys, each cache bounded by instructions
def _programs(key: tuple) -> ProgramCache:
    return ProgramCache()


def gemm_program(spec: GemmSpec, arch: Arch, tile: Tile) -> ColumnProgram:
    """:func:`compiler.gemm.emit`, shared by archs of one :func:`emit_key`."""
    cache, key = _programs(emit_key(arch)), ("gemm", spec, tile)
    program = cache.get(key)
    if program is None:
        program = gemm.emit(spec, arch, tile)
        cache.put(key, program, len(program))
    return program


def vector_program(spec: VectorSpec, arch: Arch) -> ColumnProgram:
    """:func:`compiler.vector.emit`, shared by archs of one :func:`emit_key`."""
    cache, key = _programs(emit_key(arch)), ("vector", spec)
    program = cache.get(key)
    if program is None:
        program = vector.emit(spec, arch)
        cache.put(key, program, len(program))
    return program


def run(program: ColumnProgram, arch: Arch) -> engine.Stats:
    """:func:`sim.engine.run` of a compiled program. The compiler checked the op against the arch before
    emitting, so an input error here (a buffer wait that never ends, an operand the arch rejects) is a compiler
    bug, raised as RuntimeError: a sweep records the point as an error, not as an invalid design."""
    try:
        return engine.run(program, arch)
    except InputError as exc:
        raise RuntimeError(f"internal error, please report: a compiled program fails on arch {arch.name!r}: "
                           f"{exc}") from exc


def clear() -> None:
    _programs.cache_clear()
