"""The instruction set (``sim.isa``): what the engine executes and the compiler emits.

Build a program in Python::

    from sim import isa
    p = isa.Program(arch="lut-tc-28nm")
    w = p.add("LOAD", buf="wbuf", addr=0, bytes=128, alloc=[("wbuf", 128)])
    a = p.add("LOAD", buf="abuf", addr=4096, bytes=16, alloc=[("abuf", 16)])
    t = p.add("PRECOMPUTE", m=2, k=4, acts="fp16", deps=[a], free=[("abuf", 16)], alloc=[("tbuf", 32)])
    p.add("LMMA", m=2, n=64, k=4, weights="int2", acts="fp16", deps=[w, t], free=[("wbuf", 128), ("tbuf", 32)])

or write the text form (see :mod:`sim.isa.text`) and ``isa.parse(text)``; ``isa.format(p)`` prints it,
``isa.encode(p)`` / ``isa.decode(b)`` give the binary form (:mod:`sim.isa.binary` documents the layout).
Opcodes, operands and the alloc / free / rd / wr lists are documented in :mod:`sim.isa.instr`.
``isa.load(path)`` reads a ``.s`` (text) or ``.bin`` (binary) file; ``isa.check_fits(p, arch)`` checks that its
buffers exist and every transfer fits them. The compiler emits
:class:`~sim.isa.columns.ColumnProgram` (the same program stored in columns: cheap to build and to decode).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .binary import decode, encode
from .bounds import check_fits
from .columns import ColumnProgram
from .instr import OPCODES, SCHEMA, VEC_OPS, Instr, Program, make
from .text import format, parse  # noqa: A004

#: bytes a program file may have (a compiled Llama-2-7B decode pass is far smaller in binary form)
MAX_PROGRAM_BYTES = 2**30


def load(path: str | Path) -> Program:
    """Read a program file: binary if it starts with the binary magic, text otherwise."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_PROGRAM_BYTES:
            raise InputError("PROGRAM", f"{str(p)!r} is larger than {MAX_PROGRAM_BYTES:,} bytes",
                             "a program file of at most 1 GiB")
        data = p.read_bytes()
    except OSError as exc:
        raise InputError("PROGRAM", f"cannot read {str(p)!r}: {exc.strerror}") from None
    if data.startswith(b"LTSA"):
        return decode(data)
    try:
        return parse(data.decode())
    except UnicodeDecodeError:
        raise InputError("PROGRAM", f"{str(p)!r} is neither text nor a lutsim binary program") from None


__all__ = ["OPCODES", "SCHEMA", "VEC_OPS", "ColumnProgram", "Instr", "Program", "check_fits", "decode", "encode",
           "format", "load", "make", "parse"]
