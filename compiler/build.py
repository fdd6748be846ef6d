"""Appending instructions fast: the compiler's instructions are well formed by construction, so they skip
the operand checks of :func:`sim.isa.make` (tests re-check compiled programs through ``make``).
Operands are filled with the schema's defaults, in schema order, exactly as ``make`` fills them."""

from __future__ import annotations

from functools import lru_cache

from sim.isa import SCHEMA, Instr, Program

_DEFAULTS = {op: tuple((name, spec[1]) for name, spec in schema.items()) for op, schema in SCHEMA.items()}


@lru_cache(maxsize=65536)
def _args(opcode: str, given: tuple) -> tuple:
    args = dict(given)
    return tuple((name, args.get(name, default)) for name, default in _DEFAULTS[opcode])


@lru_cache(maxsize=65536)
def _access(items: tuple) -> tuple:
    return tuple((b, n, 1) for b, n in items)


def instr(opcode: str, /, deps=(), alloc=(), free=(), rd=(), wr=(), **args) -> Instr:
    """An instruction; ``rd``/``wr`` entries are (buf, bytes) pairs (stride 1)."""
    return Instr(opcode, _args(opcode, tuple(args.items())), tuple(deps), tuple(alloc), tuple(free),
                 _access(tuple(rd)) if rd else (), _access(tuple(wr)) if wr else ())


def add(p: Program, opcode: str, /, **kw) -> int:
    """Append an instruction to ``p``; its index."""
    p.instrs.append(instr(opcode, **kw))
    return len(p.instrs) - 1
