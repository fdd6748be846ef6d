"""A program against the arch it runs on: every buffer it names exists and every transfer, access and
allocation fits that buffer's capacity (bytes). Operand bounds that need no arch are checked when each
instruction is built (:func:`sim.isa.instr.make`)."""

from __future__ import annotations

from ..errors import InputError


def check_fits(program, arch) -> None:
    """InputError naming ``instr[i].<field>`` for the first instruction that does not fit ``arch``."""
    caps = {b.name: b.capacity for b in arch.buffers}

    def fits(name: str, nbytes: int, field: str, what: str) -> None:
        if name not in caps:
            raise InputError(field, f"no buffer {name!r} in arch {arch.name!r}", ", ".join(caps))
        if nbytes > caps[name]:
            raise InputError(field, f"{what} of {nbytes:,} B does not fit buffer {name!r} ({caps[name]:,} B)",
                             f"at most {caps[name]:,} B")

    for i, ins in enumerate(program.instrs):
        where = f"instr[{i}]"
        if ins.op in ("LOAD", "STORE"):
            fits(ins["buf"], ins["bytes"], f"{where}.bytes", ins.op)
        for key in ("alloc", "free", "rd", "wr"):
            for item in getattr(ins, key):
                fits(item[0], item[1], f"{where}.{key}", key)
