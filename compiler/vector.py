"""Lowering element-wise ops and attention to the vector unit.

An op is cut into chunks so that a chunk's input fits half of ``abuf`` and its output half of ``obuf``
(double buffering: the DMA loads chunk c+1 while the vector unit works on chunk c). Per chunk:
``LOAD`` input → the ``VEC`` op(s) → ``STORE`` output. On a LUT arch a norm whose consumers' tables fit
``tbuf`` also builds them (``PRECOMPUTE`` of its output rows over the whole K, on the table unit, once per
row): the table precompute fused into the preceding norm. Parameters (norm gamma, RoPE cos/sin tables)
are loaded once into ``wbuf`` (in pieces of at most half of it when they are larger).

Attention QK and SV (and an FP16 lm_head the PE cannot take) run as FP16 multiply-accumulates on the
vector lanes. The ISA has no vector dot-product op; its vector multiply-accumulate is ``DEQUANT m n
groups`` (``m·n·groups`` rescales, each one FP16 multiply and one add: the vector unit's ``dequant`` rate
and energy), so a chunk issues ``DEQUANT m=<its share of the multiply-adds> n=1 groups=1``.
"""

from __future__ import annotations

from sim.arch import Arch
from sim.isa import Program

from .build import add, instr
from .gemm import buffer_of, table_bytes
from .specs import VectorSpec


def chunks(spec: VectorSpec, arch: Arch) -> int:
    """Chunks so that each chunk's input fits half of abuf and its output half of obuf."""
    half_a = buffer_of(arch, "abuf").capacity // 2
    half_o = buffer_of(arch, "obuf").capacity // 2
    return max(1, -(-spec.in_bytes // half_a), -(-spec.out_bytes // half_o))


def emit(spec: VectorSpec, arch: Arch, program: Program | None = None) -> Program:
    """The program of one vector op (appended to ``program`` if given)."""
    p = program if program is not None else Program(arch=arch.name)
    n = chunks(spec, arch)
    half_w = buffer_of(arch, "wbuf").capacity // 2
    params = []
    for off in range(0, spec.weight_bytes, half_w):
        size = min(half_w, spec.weight_bytes - off)
        params.append((add(p, "LOAD", buf="wbuf", addr=off, bytes=size, alloc=[("wbuf", size)]), size))
    addr = spec.weight_bytes
    out_addr = addr + spec.in_bytes
    pending = None
    tables: list[tuple[int, int]] = []
    for c in range(n):
        in_b, out_b = _part(spec.in_bytes, n, c), _part(spec.out_bytes, n, c)
        ld = add(p, "LOAD", buf="abuf", addr=addr, bytes=in_b, alloc=[("abuf", in_b), ("obuf", out_b)])
        addr += in_b
        if pending is not None:  # the previous chunk's store goes after this chunk's load
            p.instrs.append(pending)
        cur = [ld] + [i for i, _ in params]
        work = ([("DEQUANT", {"m": _part(spec.macs, n, c), "n": 1, "groups": 1})] if spec.macs else [])
        work += [("VEC", {"op": kind, "elems": _part(elems, n, c)}) for kind, elems in spec.ops]
        for j, (opcode, args) in enumerate(work):
            last = j == len(work) - 1
            cur = [add(p, opcode, deps=cur, rd=[("abuf", in_b)] if j == 0 else [], wr=[("obuf", out_b)],
                         free=[("abuf", in_b)] if last else [], **args)]
        if spec.tables[0]:  # fused table precompute: this chunk's rows, tables kept in tbuf for the GEMMs
            rows, k, acts = spec.tables
            tb = table_bytes(arch, _part(rows, n, c), k)
            tables.append((add(p, "PRECOMPUTE", m=_part(rows, n, c), k=k, acts=acts, deps=cur, alloc=[("tbuf", tb)],
                               rd=[("obuf", out_b)], wr=[("tbuf", tb)]), tb))
        pending = instr("STORE", buf="obuf", addr=out_addr, bytes=out_b, deps=cur, free=[("obuf", out_b)])
        out_addr += out_b
    p.instrs.append(pending)
    if params:
        add(p, "SYNC", deps=[len(p.instrs) - 1], free=[("wbuf", s) for _, s in params])
    return p


def _part(total: int, n: int, c: int) -> int:
    """Size of chunk ``c`` of ``n`` near-equal chunks of ``total`` (at least 1)."""
    return max(1, total * (c + 1) // n - total * c // n)
