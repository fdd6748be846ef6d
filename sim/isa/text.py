"""The readable text form (assembly) of a program; ``parse(format(p)) == p`` for every program.

One instruction per line::

    [label:] OPCODE operand=value ... [after=label,@index,...] [alloc=buf:bytes,...] [free=buf:bytes,...]
                                      [rd=buf:bytes[:stride],...] [wr=buf:bytes[:stride],...]

``;`` or ``#`` starts a comment; ``.arch NAME`` names the arch the program was written for.
A dependency is a label or ``@N`` (the N-th instruction, from 0). Integers may be written in hex (0x...).
"""

from __future__ import annotations

from ..errors import InputError
from .instr import SCHEMA, Instr, Program, make

_LISTS = ("after", "alloc", "free", "rd", "wr")


def _int(s: str, where: str) -> int:
    try:
        return int(s, 0)
    except ValueError:
        raise InputError(where, f"expected an integer, got {s!r}") from None


def _parse_line(line: str, index: int, labels: dict[str, int], where: str) -> Instr:
    tokens = line.split()
    label = None
    if tokens[0].endswith(":"):
        label = tokens.pop(0)[:-1]
        if not tokens:
            raise InputError(where, f"label {label!r} without an instruction")
    op = tokens.pop(0).upper()
    if op not in SCHEMA:
        raise InputError(where, f"unknown opcode {op!r}", ", ".join(SCHEMA))
    args, kw = {}, {"deps": [], "alloc": [], "free": [], "rd": [], "wr": []}
    for tok in tokens:
        key, eq, value = tok.partition("=")
        if not eq or not value:
            raise InputError(where, f"expected key=value, got {tok!r}")
        if key == "after":
            for ref in value.split(","):
                if ref.startswith("@"):
                    kw["deps"].append(_int(ref[1:], f"{where} after"))
                elif ref in labels:
                    kw["deps"].append(labels[ref])
                else:
                    raise InputError(f"{where} after", f"unknown label {ref!r} (labels must be defined earlier)")
        elif key in _LISTS:
            for item in value.split(","):
                parts = item.split(":")
                if len(parts) not in (2, 3) or (key in ("alloc", "free") and len(parts) != 2):
                    raise InputError(f"{where} {key}", f"bad entry {item!r}",
                                     "buf:bytes" if key in ("alloc", "free") else "buf:bytes[:stride]")
                kw[key].append((parts[0], *(_int(p, f"{where} {key}") for p in parts[1:])))
        elif key in SCHEMA[op]:
            if key in args:
                raise InputError(f"{where} {key}", "given twice")
            args[key] = _int(value, f"{where} {key}") if SCHEMA[op][key][0] == "int" else value
        else:
            raise InputError(f"{where} {key}", f"not an operand of {op}",
                             ", ".join([*SCHEMA[op], *_LISTS]))
    return make(op, label=label, where=where, **kw, **args)


def parse(text: str) -> Program:
    """Parse the text form; errors name the line."""
    prog = Program()
    labels: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split(";", 1)[0].split("#", 1)[0].strip()
        if not line:
            continue
        where = f"line {lineno}"
        if line.startswith("."):
            name, _, value = line.partition(" ")
            if name != ".arch" or not value.strip():
                raise InputError(where, f"unknown directive {line!r}", ".arch NAME")
            prog.arch = value.strip()
            continue
        ins = _parse_line(line, len(prog.instrs), labels, where)
        if ins.label is not None:
            if ins.label in labels:
                raise InputError(where, f"label {ins.label!r} is used twice")
            labels[ins.label] = len(prog.instrs)
        prog.instrs.append(ins)
    prog.validate()
    return prog


def _sizes(items) -> str:
    return ",".join(":".join(str(x) for x in (it if len(it) == 2 or it[2] != 1 else it[:2])) for it in items)


def format_instr(ins: Instr, refs: list[str]) -> str:
    """One line of text; ``refs[i]`` is how instruction i is referred to (its label or ``@i``)."""
    parts = [f"{ins.label}:"] if ins.label else []
    parts.append(ins.op)
    schema = SCHEMA[ins.op]
    for name, value in ins.args:
        if schema[name][1] is ... or value != schema[name][1]:
            parts.append(f"{name}={value}")
    if ins.deps:
        parts.append("after=" + ",".join(refs[d] for d in ins.deps))
    for key in ("alloc", "free", "rd", "wr"):
        items = getattr(ins, key)
        if items:
            parts.append(f"{key}={_sizes(items)}")
    return " ".join(parts)


def format(prog: Program) -> str:  # noqa: A001 - mirrors parse
    """The canonical text form of ``prog``."""
    prog.validate()
    refs = [ins.label or f"@{i}" for i, ins in enumerate(prog.instrs)]
    lines = [f".arch {prog.arch}"] if prog.arch else []
    lines += [format_instr(ins, refs) for ins in prog.instrs]
    return "\n".join(lines) + "\n"
