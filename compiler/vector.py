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

import numpy as np

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


#: chunks from this index on are emitted as copies of chunk REPEAT_FROM - 1 (:meth:`ColumnProgram.repeat`, with
#: each copy's own sizes and addresses); the program is the same as chunk by chunk
#: (tests/compiler/test_vector_repeat.py)
REPEAT_FROM = 2


def emit(spec: VectorSpec, arch: Arch) -> ColumnProgram:
    """The program of one vector op. Parameters that fit half of wbuf are loaded once and stay; larger ones
    (RoPE tables of a long prefill) are streamed with the chunks."""
    p = ColumnProgram(arch=arch.name)
    n = chunks(spec, arch)
    held: list[tuple[str, int]] = []  # freed by the final SYNC
    after: list[int] = []
    param = None
    if spec.weight_bytes and spec.weight_bytes <= buffer_of(arch, "wbuf").capacity // 2:
        param = p.add(p.template("LOAD", buf="wbuf", bytes=spec.weight_bytes),
                      alloc=p.space([("wbuf", spec.weight_bytes)]))
        held.append(("wbuf", spec.weight_bytes))
        after.append(param)
    size = _sizes(spec, arch, n)
    in_addr = spec.weight_bytes + _before(size["in"])
    out_addr = spec.weight_bytes + spec.in_bytes + _before(size["out"])
    w_addr = spec.weight_bytes * np.arange(n, dtype=np.int64) // n
    rows = _Rows(p, spec, streamed=bool(spec.weight_bytes) and param is None)
    # chunk c's sizes (_Rows.KEYS, then the elements of each op), then chunk c-1's output bytes
    key = np.stack([size[name] for name in (*_Rows.KEYS, *(f"op{j}" for j in range(len(spec.ops))))]
                   + [np.concatenate([[0], size["out"][:-1]])], axis=1)

    def emit_chunk(c: int, prev: list[int] | None) -> list[int]:
        """Add chunk ``c`` (and the store of chunk c-1, whose last instructions are ``prev``); its last ones."""
        it = iter(rows.of(tuple(key[c].tolist()), c > 0))
        cur = [p.add(*_at(next(it)), addr=int(in_addr[c]))]
        if param is not None:
            cur.append(param)
        elif rows.streamed:
            cur.append(p.add(*_at(next(it)), addr=int(w_addr[c])))
        if c > 0:  # the previous chunk's store goes after this chunk's loads
            tpl, alloc, free = next(it)
            p.add(tpl, prev, alloc, free, int(out_addr[c - 1]))
        for _ in range(rows.work):
            tpl, alloc, free = next(it)
            cur = [p.add(tpl, cur, alloc, free)]
        if rows.tables:  # fused table precompute: this chunk's rows, tables kept in tbuf for the GEMMs
            tpl, alloc, free = next(it)
            after.append(p.add(tpl, cur, alloc, free))
        return cur

    first = len(p)  # chunk 0's first instruction: dependencies from here on move with the copies
    # chunk by chunk up to REPEAT_FROM; all of them without work (a store then waits on loads, which are not one
    # block length back: the chunks are not copies)
    plain = min(n, REPEAT_FROM) if rows.work else n
    cur = None
    for c in range(plain):
        start = p.mark()
        cur = emit_chunk(c, cur)
    if n > plain:
        block = (start, p.mark())
        length, times, at = block[1][0] - block[0][0], n - REPEAT_FROM, np.arange(REPEAT_FROM, n)
        combos, inverse = _distinct_rows(key[at])
        table = np.array([rows.of(tuple(k.tolist()), True) for k in combos], np.int64)[inverse]
        over = {name: {pos: table[:, pos, j] for pos in range(length)} for j, name in enumerate(("tmpl", "alloc",
                                                                                                 "free"))}
        addr = {0: in_addr[at], 1 + rows.streamed: out_addr[at - 1]}
        if rows.streamed:
            addr[1] = w_addr[at]
        p.repeat(*block, times, first, addr, **over)
        r = np.arange(1, times + 1, dtype=np.int64)[:, None] * length
        if rows.tables:
            after.extend((after[-1] + r[:, 0]).tolist())
        cur = [x if x < first else x + times * length for x in cur]
    if rows.tables:
        held.extend(("tbuf", b) for b in size["tb"].tolist())
    tpl, alloc, free = rows.store(int(size["out"][-1]))
    p.add(tpl, cur, alloc, free, int(out_addr[-1]))
    if held:  # resident parameters and tables are released at the end of the op (the next op is not modelled)
        p.add(p.template("SYNC"), [len(p) - 1, *after], free=p.space(held))
    return p.freeze()


class _Rows:
    """(template, alloc list, free list) of each instruction of a chunk, by the chunk's sizes (interned in the
    program once per distinct size tuple)."""

    KEYS = ("in", "out", "w", "macs", "rows", "tb")  # then one per ``spec.ops`` entry, then the previous output

    def __init__(self, p: ColumnProgram, spec: VectorSpec, streamed: bool):
        self.p, self.spec, self.streamed = p, spec, streamed
        self.work = bool(spec.macs) + len(spec.ops)
        self.tables = bool(spec.tables[0])
        self._cache: dict = {}

    def store(self, out_b: int) -> tuple[int, int, int]:
        p = self.p
        return p.template("STORE", buf="obuf", bytes=out_b), 0, p.space([("obuf", out_b)])

    def of(self, key: tuple, with_store: bool) -> list[tuple[int, int, int]]:
        hit = self._cache.get((key, with_store))
        if hit is None:
            hit = self._cache[(key, with_store)] = self._build(key, with_store)
        return hit

    def _build(self, key: tuple, with_store: bool) -> list[tuple[int, int, int]]:
        p, spec = self.p, self.spec
        sz = dict(zip(self.KEYS, key))
        elems, prev_out = key[len(self.KEYS):-1], key[-1]
        in_b, out_b = sz["in"], sz["out"]
        out = [(p.template("LOAD", buf="abuf", bytes=in_b), p.space([("abuf", in_b), ("obuf", out_b)]), 0)]
        chunk_free = [("abuf", in_b)]
        if self.streamed:  # this chunk's share of the parameters
            out.append((p.template("LOAD", buf="wbuf", bytes=sz["w"]), p.space([("wbuf", sz["w"])]), 0))
            chunk_free.append(("wbuf", sz["w"]))
        if with_store:
            out.append(self.store(prev_out))
        work = ([("DEQUANT", {"m": sz["macs"], "n": 1, "groups": 1})] if spec.macs else [])
        work += [("VEC", {"op": kind, "elems": e}) for (kind, _), e in zip(spec.ops, elems)]
        for j, (opcode, args) in enumerate(work):
            last = j == len(work) - 1
            tpl = p.template(opcode, rd=[("abuf", in_b)] if j == 0 else [], wr=[("obuf", out_b)], **args)
            out.append((tpl, 0, p.space(chunk_free if last else [])))
        if self.tables:
            _, k, acts = spec.tables
            tpl = p.template("PRECOMPUTE", m=sz["rows"], k=k, acts=acts, rd=[("obuf", out_b)],
                             wr=[("tbuf", sz["tb"])])
            out.append((tpl, p.space([("tbuf", sz["tb"])]), 0))
        return out


def _at(row: tuple[int, int, int]) -> tuple[int, tuple, int, int]:
    """:meth:`ColumnProgram.add` arguments (template, no deps, alloc, free) of a row without dependencies."""
    return row[0], (), row[1], row[2]


def _sizes(spec: VectorSpec, arch: Arch, n: int) -> dict[str, np.ndarray]:
    """Per chunk (int64 arrays of n): input, output, streamed-parameter bytes, multiply-adds, table rows and
    their tbuf bytes, then elements of each of ``spec.ops`` (keys "op0", "op1"...)."""
    rows = _parts(spec.tables[0], n)
    out = {"in": _parts(spec.in_bytes, n), "out": _parts(spec.out_bytes, n), "w": _parts(spec.weight_bytes, n),
           "macs": _parts(spec.macs, n), "rows": rows,
           "tb": table_bytes(arch, rows, spec.tables[1]) if spec.tables[0] else np.zeros(n, np.int64)}
    out.update({f"op{j}": _parts(elems, n) for j, (_, elems) in enumerate(spec.ops)})
    return out


def _distinct_rows(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows of the 2-D int array ``key``, index of each row's among them); one 1-D code per row (column
    by column, renumbered after each), much faster than ``np.unique(axis=0)`` on many rows."""
    code = np.zeros(len(key), np.int64)
    for column in key.T:
        _, inv = np.unique(column, return_inverse=True)
        _, code = np.unique(code * (int(inv.max()) + 1) + inv, return_inverse=True)
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    return key[first], inverse.reshape(-1)


def _parts(total: int, n: int) -> np.ndarray:
    """Sizes of ``n`` near-equal chunks of ``total`` (each at least 1), int64."""
    c = np.arange(n, dtype=np.int64)
    return np.maximum(1, int(total) * (c + 1) // n - int(total) * c // n)


def _before(sizes: np.ndarray) -> np.ndarray:
    """Sum of the sizes before each chunk (its offset)."""
    return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
