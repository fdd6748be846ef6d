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
from sim.isa.columns import ColumnProgram

from .gemm import buffer_of, table_bytes
from .specs import VectorSpec


def chunks(spec: VectorSpec, arch: Arch) -> int:
    """Chunks so that each chunk's input fits half of abuf, its output half of obuf, and (parameters too large
    to stay resident) its share of the parameters half of wbuf."""
    half_a = buffer_of(arch, "abuf").capacity // 2
    half_o = buffer_of(arch, "obuf").capacity // 2
    half_w = buffer_of(arch, "wbuf").capacity // 2
    return max(1, -(-spec.in_bytes // half_a), -(-spec.out_bytes // half_o), -(-spec.weight_bytes // half_w))


def emit(spec: VectorSpec, arch: Arch) -> ColumnProgram:
    """The program of one vector op. Parameters that fit half of wbuf are loaded once and stay; larger ones
    (RoPE tables of a long prefill) are streamed with the chunks."""
    p = ColumnProgram(arch=arch.name)
    n = chunks(spec, arch)
    resident = spec.weight_bytes <= buffer_of(arch, "wbuf").capacity // 2
    held: list[tuple[str, int]] = []  # freed by the final SYNC
    after: list[int] = []
    param = None
    if spec.weight_bytes and resident:
        param = p.add(p.template("LOAD", buf="wbuf", bytes=spec.weight_bytes),
                      alloc=p.space([("wbuf", spec.weight_bytes)]))
        held.append(("wbuf", spec.weight_bytes))
        after.append(param)
    addr = spec.weight_bytes
    out_addr = addr + spec.in_bytes
    pending = None
    for c in range(n):
        in_b, out_b = _part(spec.in_bytes, n, c), _part(spec.out_bytes, n, c)
        cur = [p.add(p.template("LOAD", buf="abuf", bytes=in_b), alloc=p.space([("abuf", in_b), ("obuf", out_b)]),
                     addr=addr)]
        addr += in_b
        chunk_free = [("abuf", in_b)]
        if param is not None:
            cur.append(param)
        elif spec.weight_bytes:  # this chunk's share of the parameters
            w_b = _part(spec.weight_bytes, n, c)
            cur.append(p.add(p.template("LOAD", buf="wbuf", bytes=w_b), alloc=p.space([("wbuf", w_b)]),
                             addr=spec.weight_bytes * c // n))
            chunk_free.append(("wbuf", w_b))
        if pending is not None:  # the previous chunk's store goes after this chunk's loads
            p.add(*pending)
        work = ([("DEQUANT", {"m": _part(spec.macs, n, c), "n": 1, "groups": 1})] if spec.macs else [])
        work += [("VEC", {"op": kind, "elems": _part(elems, n, c)}) for kind, elems in spec.ops]
        for j, (opcode, args) in enumerate(work):
            last = j == len(work) - 1
            tpl = p.template(opcode, rd=[("abuf", in_b)] if j == 0 else [], wr=[("obuf", out_b)], **args)
            cur = [p.add(tpl, cur, free=p.space(chunk_free if last else []))]
        if spec.tables[0]:  # fused table precompute: this chunk's rows, tables kept in tbuf for the GEMMs
            rows, k, acts = spec.tables
            tb = table_bytes(arch, _part(rows, n, c), k)
            tpl = p.template("PRECOMPUTE", m=_part(rows, n, c), k=k, acts=acts, rd=[("obuf", out_b)], wr=[("tbuf", tb)])
            after.append(p.add(tpl, cur, alloc=p.space([("tbuf", tb)])))
            held.append(("tbuf", tb))
        pending = (p.template("STORE", buf="obuf", bytes=out_b), cur, 0, p.space([("obuf", out_b)]), out_addr)
        out_addr += out_b
    p.add(*pending)
    if held:  # resident parameters and tables are released at the end of the op (the next op is not modelled)
        p.add(p.template("SYNC"), [len(p) - 1, *after], free=p.space(held))
    return p.freeze()


def _part(total: int, n: int, c: int) -> int:
    """Size of chunk ``c`` of ``n`` near-equal chunks of ``total`` (at least 1)."""
    return max(1, total * (c + 1) // n - total * c // n)
