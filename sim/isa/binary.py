"""Binary encoding of a program; ``decode(encode(p)) == p``.

Layout (all integers little-endian)::

    header   magic b"LTSA" | version u16 (=2: DEQUANT has acc_in, acc_out) | reserved u16 | n_strings u32 | n_instrs u32
    strings  n_strings × (length u16, UTF-8 bytes)          -- names: arch, labels, buffers, formats, ops
    arch     string index i32 (-1 = none)
    instrs   n_instrs × record:
               opcode u8 (index in sim.isa.OPCODES) | n_deps u32 | n_alloc u16 | n_free u16 | n_rd u16
               | n_wr u16 | label i32 (string index, -1 = none)
               args    one i64 per operand, in the opcode's operand order (names: string index)
               deps    n_deps × u32 (instruction indices)
               alloc   n_alloc × (buf u32, bytes i64)      free likewise
               rd      n_rd × (buf u32, bytes i64, stride i64)    wr likewise
"""

from __future__ import annotations

import struct

from ..errors import InputError
from .instr import OPCODES, SCHEMA, Program, make

MAGIC = b"LTSA"
VERSION = 2  # 2: DEQUANT gained two operands (acc_in, acc_out), so its records are longer than in 1
_HEAD = struct.Struct("<4sHHII")
_REC = struct.Struct("<BIHHHHi")
_I64 = struct.Struct("<q")
_PAIR = struct.Struct("<Iq")
_TRIPLE = struct.Struct("<Iqq")


def encode(prog: Program) -> bytes:
    prog.validate()
    strings: dict[str, int] = {}

    def sid(s: str | None) -> int:
        if s is None:
            return -1
        return strings.setdefault(s, len(strings))

    arch_id = sid(prog.arch)
    body = bytearray()
    for ins in prog.instrs:
        body += _REC.pack(OPCODES.index(ins.op), len(ins.deps), len(ins.alloc), len(ins.free), len(ins.rd),
                          len(ins.wr), sid(ins.label))
        for name, value in ins.args:
            body += _I64.pack(value if SCHEMA[ins.op][name][0] == "int" else sid(value))
        body += struct.pack(f"<{len(ins.deps)}I", *ins.deps)
        for items in (ins.alloc, ins.free):
            for buf, nbytes in items:
                body += _PAIR.pack(sid(buf), nbytes)
        for items in (ins.rd, ins.wr):
            for buf, nbytes, stride in items:
                body += _TRIPLE.pack(sid(buf), nbytes, stride)
    table = bytearray()
    for s in strings:
        raw = s.encode()
        table += struct.pack("<H", len(raw)) + raw
    return _HEAD.pack(MAGIC, VERSION, 0, len(strings), len(prog.instrs)) + table + struct.pack("<i", arch_id) \
        + bytes(body)


def _string(strings: list[str], i: int) -> str:
    if not 0 <= i < len(strings):
        raise IndexError(f"string index {i} of {len(strings)}")
    return strings[i]


def decode(data: bytes) -> Program:
    try:
        magic, version, _, n_str, n_ins = _HEAD.unpack_from(data, 0)
        if magic != MAGIC or version != VERSION:
            raise InputError("program", f"not a lutsim binary program (magic {magic!r}, version {version})")
        pos = _HEAD.size
        strings = []
        for _ in range(n_str):
            (n,) = struct.unpack_from("<H", data, pos)
            strings.append(bytes(data[pos + 2:pos + 2 + n]).decode())
            pos += 2 + n
        (arch_id,) = struct.unpack_from("<i", data, pos)
        pos += 4
        prog = Program(arch=_string(strings, arch_id) if arch_id >= 0 else None)
        for _ in range(n_ins):
            op_i, nd, na, nf, nr, nw, lab = _REC.unpack_from(data, pos)
            pos += _REC.size
            op = OPCODES[op_i]  # an IndexError for a bad opcode
            args = {}
            for name, spec in SCHEMA[op].items():
                (v,) = _I64.unpack_from(data, pos)
                pos += 8
                args[name] = v if spec[0] == "int" else _string(strings, v)
            deps = struct.unpack_from(f"<{nd}I", data, pos)
            pos += 4 * nd
            lists = []
            for n, st in ((na, _PAIR), (nf, _PAIR), (nr, _TRIPLE), (nw, _TRIPLE)):
                items = []
                for _ in range(n):
                    t = st.unpack_from(data, pos)
                    pos += st.size
                    items.append((_string(strings, t[0]), *t[1:]))
                lists.append(tuple(items))
            prog.instrs.append(make(op, deps=deps, alloc=lists[0], free=lists[1], rd=lists[2], wr=lists[3],
                                    label=_string(strings, lab) if lab >= 0 else None,
                                    where=f"instr[{len(prog.instrs)}]", **args))
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise InputError("program", f"truncated or corrupt binary program ({exc})") from None
    prog.validate()
    return prog
