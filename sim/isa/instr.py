"""Instructions and programs.

An :class:`Instr` is an opcode, its operands (``args``, filled with defaults), an optional label, its
dependencies (indices of *earlier* instructions) and its buffer ``alloc`` / ``free`` / ``rd`` / ``wr`` lists;
a :class:`Program` is a list of them. Units: sizes in bytes, shapes in elements.
The opcodes, their operands and the unit and duration of each: docs/isa.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InputError
from ..pe.base import ARCH_MAP

VEC_OPS = ("norm", "softmax", "act", "rope", "residual", "quantize")

#: DRAM addresses are below this (bytes): the 48-bit virtual address space of x86-64 and AArch64
ADDRESS_SPACE = 2**48
#: most bytes one transfer or buffer access moves (1 TiB; the arch's buffer capacity bounds it further)
MAX_BYTES = 2**40
#: most elements (or multiply-accumulates) one instruction works on: keeps every duration, and the sum of
#: durations over a long program, far inside the engine's int64 cycle counts
MAX_WORK = 2**40
#: most elements along one GEMM dimension, and the largest quantization group
MAX_DIM = 2**24
#: largest bank-word stride of a buffer access
MAX_STRIDE = 2**32

# operand name -> (kind, default or ... for required, minimum, maximum for ints); kinds: "int", "str", "op"
_DMA = {"buf": ("str", ...), "addr": ("int", ..., 0, ADDRESS_SPACE - 1), "bytes": ("int", ..., 1, MAX_BYTES),
        "rows": ("int", 1, 1, MAX_BYTES), "stride": ("int", 0, 0, ADDRESS_SPACE - 1),
        "bstride": ("int", 1, 1, MAX_STRIDE)}
# an array instruction's ``map``: ``arch`` (the arch's PE configuration as it is) or the compiler mapper's choice,
# ``<dataflow>`` or ``<dataflow>-<mapping>`` (sim.pe.base DATAFLOWS, MAPPINGS; sim.pe.map_name), e.g. ``os-nn``
_MMA = {"m": ("int", ..., 1, MAX_DIM), "n": ("int", ..., 1, MAX_DIM), "k": ("int", ..., 1, MAX_DIM),
        "weights": ("str", ...), "acts": ("str", ...), "group": ("int", 0, 0, MAX_DIM), "map": ("str", ARCH_MAP)}
SCHEMA: dict[str, dict[str, tuple]] = {
    "LOAD": _DMA,
    "STORE": _DMA,
    "PRECOMPUTE": {"m": ("int", ..., 1, MAX_DIM), "k": ("int", ..., 1, MAX_DIM), "acts": ("str", ...)},
    "LMMA": _MMA,
    "BSMMA": _MMA,
    "MMA": _MMA,
    # ``acc_in`` / ``acc_out``: a K-chunk of a longer reduction (docs/isa.md, "Chunked DEQUANT"): first add the
    # outputs' FP32 accumulator kept in obuf (one more term per output) / keep the FP32 accumulator in obuf instead
    # of writing the FP16 outputs
    "DEQUANT": {"m": ("int", ..., 1, MAX_DIM), "n": ("int", ..., 1, MAX_DIM), "groups": ("int", ..., 1, MAX_DIM),
                "acc_in": ("int", 0, 0, 1), "acc_out": ("int", 0, 0, 1)},
    "VEC": {"op": ("op", ...), "elems": ("int", ..., 1, MAX_WORK)},
    "SYNC": {},
    # a float GEMM on the arch's matrix unit (attention, an FP16 lm_head); last, so the binary opcode numbers of
    # the others stay as the RTL decodes them
    "FMMA": _MMA,
}
#: the operands whose product is an instruction's work (bounded by :data:`MAX_WORK`)
_WORK = {"LMMA": ("m", "n", "k"), "BSMMA": ("m", "n", "k"), "MMA": ("m", "n", "k"), "FMMA": ("m", "n", "k"),
         "PRECOMPUTE": ("m", "k"),
         "DEQUANT": ("m", "n", "groups")}
OPCODES = tuple(SCHEMA)


_NAME_BAD = frozenset(" =,:;#")


def _check_arg(spec: tuple, name: str, value, where: str):
    kind = spec[0]
    if kind == "int":
        if value.__class__ is not int:  # exact int: rejects bool, float, numpy scalars alike
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputError(f"{where}.{name}", f"expected an integer, got {value!r}")
            value = int(value)
        if not spec[2] <= value <= spec[3]:
            raise InputError(f"{where}.{name}", f"{value} is out of range", f"{spec[2]} to {spec[3]:,}")
    elif kind == "op":
        if value not in VEC_OPS:
            raise InputError(f"{where}.{name}", f"unknown vector op {value!r}", ", ".join(VEC_OPS))
    elif not isinstance(value, str) or not value or not _NAME_BAD.isdisjoint(value):
        raise InputError(f"{where}.{name}", f"expected a name, got {value!r}")
    return value


def _sizes(items, what: str, n: int, where: str) -> tuple:
    """Checked (buf, bytes[, stride]) entries; rd/wr entries without a stride get stride 1."""
    if not items:
        return ()
    out = []
    for it in items:
        it = tuple(it)
        if len(it) == 2 and n == 3:
            it = (*it, 1)
        if len(it) != n or not isinstance(it[0], str) or any(
                isinstance(x, bool) or not isinstance(x, int) or not 1 <= x <= bound
                for x, bound in zip(it[1:], (MAX_BYTES, MAX_STRIDE))):
            raise InputError(f"{where}.{what}", f"bad entry {it!r}",
                             f"buf:bytes (1 to {MAX_BYTES:,})" if n == 2 else
                             f"buf:bytes or buf:bytes:stride, bytes 1 to {MAX_BYTES:,}, stride 1 to {MAX_STRIDE:,}")
        out.append(it)
    return tuple(out)


def _check_extent(op: str, args: dict, alloc, where: str) -> None:
    """Whole-instruction bounds: work, a DMA's span of addresses and rows, a LOAD's own allocation."""
    if op in _WORK:
        work = 1
        for name in _WORK[op]:
            work *= args[name]
        if work > MAX_WORK:
            raise InputError(f"{where}.{_WORK[op][-1]}", f"{' x '.join(_WORK[op])} = {work:,} is too much work for "
                             "one instruction", f"at most {MAX_WORK:,}; split it")
    if op not in ("LOAD", "STORE"):
        return
    nbytes, rows, stride = args["bytes"], args["rows"], args["stride"]
    if rows > nbytes:
        raise InputError(f"{where}.rows", f"{rows} rows for {nbytes} bytes", f"1 to {nbytes}")
    end = args["addr"] + (stride or -(-nbytes // rows)) * (rows - 1) + -(-nbytes // rows)
    if end > ADDRESS_SPACE:
        raise InputError(f"{where}.addr", f"the transfer ends at byte {end:,}, beyond the address space",
                         f"addresses below {ADDRESS_SPACE:,}")
    if op == "LOAD":
        own = [nb for b, nb in alloc if b == args["buf"]]
        if own and sum(own) < nbytes:
            raise InputError(f"{where}.bytes", f"LOAD of {nbytes} B into {args['buf']!r} allocates only "
                             f"{sum(own)} B there", f"at most {sum(own)}, or alloc={args['buf']}:{nbytes}")


@dataclass(frozen=True)
class Instr:
    """One instruction (see the module docstring). Build with :func:`make` to get checked defaults."""

    op: str
    args: tuple[tuple[str, int | str], ...] = ()
    deps: tuple[int, ...] = ()
    alloc: tuple[tuple[str, int], ...] = ()
    free: tuple[tuple[str, int], ...] = ()
    rd: tuple[tuple[str, int, int], ...] = ()
    wr: tuple[tuple[str, int, int], ...] = ()
    label: str | None = None

    def __getitem__(self, name: str):
        for k, v in self.args:
            if k == name:
                return v
        raise KeyError(name)

    def get(self, name: str, default=None):
        try:
            return self[name]
        except KeyError:
            return default


def make(opcode: str, /, *, deps=(), alloc=(), free=(), rd=(), wr=(), label: str | None = None,
         where: str = "instr", **args) -> Instr:
    """Build a checked instruction: ``make("LOAD", buf="wbuf", addr=0, bytes=256, alloc=[("wbuf", 256)])``.

    ``rd``/``wr`` entries may be ``(buf, bytes)`` (stride 1) or ``(buf, bytes, stride)``.
    """
    op = opcode.upper()
    if op not in SCHEMA:
        raise InputError(f"{where}.op", f"unknown opcode {op!r}", ", ".join(OPCODES))
    schema = SCHEMA[op]
    if len(args) > len(schema) or not schema.keys() >= args.keys():
        name = next(n for n in args if n not in schema)
        raise InputError(f"{where}.{name}", f"not an operand of {op}", ", ".join(schema) or "(none)")
    full = []
    for name, spec in schema.items():
        if name in args:
            full.append((name, _check_arg(spec, name, args[name], where)))
        elif spec[1] is ...:
            raise InputError(f"{where}.{name}", f"{op} needs operand {name!r}")
        else:
            full.append((name, spec[1]))
    if label is not None and (not isinstance(label, str) or not label or not (label[0].isalpha() or label[0] == "_")
                              or not all(c.isalnum() or c in "_." for c in label)):
        raise InputError(f"{where}.label", f"bad label {label!r}", "an identifier (letters, digits, _ .)")
    alloc = _sizes(alloc, "alloc", 2, where)
    _check_extent(op, dict(full), alloc, where)
    return Instr(op=op, args=tuple(full), deps=tuple(int(d) for d in deps), alloc=alloc,
                 free=_sizes(free, "free", 2, where), rd=_sizes(rd, "rd", 3, where), wr=_sizes(wr, "wr", 3, where),
                 label=label)


@dataclass
class Program:
    """An ordered list of instructions; ``arch`` optionally names the arch it was compiled for.

    Append with :meth:`add` (returns the new instruction's index, to use in later ``deps``).
    """

    instrs: list[Instr] = field(default_factory=list)
    arch: str | None = None

    def add(self, opcode: str, /, **kw) -> int:
        try:
            self.instrs.append(make(opcode, **kw))
        except InputError as exc:  # name the instruction
            if "where" in kw or not exc.field.startswith("instr"):
                raise
            raise InputError(f"instr[{len(self.instrs)}]" + exc.field[5:], exc.problem, exc.allowed) from None
        return len(self.instrs) - 1

    def __len__(self) -> int:
        return len(self.instrs)

    def validate(self) -> None:
        """Dependencies point to earlier instructions; labels are unique."""
        seen = set()
        for i, ins in enumerate(self.instrs):
            for d in ins.deps:
                if not 0 <= d < i:
                    raise InputError(f"instr[{i}].after", f"dependency {d} is not an earlier instruction")
            if ins.label is not None:
                if ins.label in seen:
                    raise InputError(f"instr[{i}].label", f"label {ins.label!r} is used twice")
                seen.add(ins.label)
