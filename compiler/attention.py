"""Fused attention: QK, softmax and SV of one layer as one tiled program (the flash-attention schedule).

Per KV group (a KV head of one sequence, with the query heads that share it stacked as rows) and per block of
``br`` query positions: load the Q block, then for each block of ``bc`` cached positions that the causal mask
lets it see, load K and V (in the KV-cache format; a quantized cache is dequantized on the vector unit), form
the scores ``S = Q·Kᵀ`` on the matrix engine, run the online softmax on the vector unit (the block's scores,
then the rescale of the running output), and accumulate ``O += P·V`` on the matrix engine; finally normalise
O, quantize it to the recipe's activation format when that is an integer one, and store it. Scores and
probabilities stay in ``abuf``; K and V blocks in ``wbuf`` (double buffered); the running output in
``obuf`` (FP32). Only Q, K, V and O cross the DRAM interface.

The matrix engine is the arch's ``matrix_unit`` (``FMMA``) or, when the PE array itself takes FP16 x FP16,
the array (its own opcode). The matrix engine issues ``S`` of block j+1 before ``P·V`` of block j, so the
softmax of a block overlaps the next block's scores. Block sizes come from a small search (fewest cycles on
one KV group, then the whole op is emitted with the winner). Diagonal blocks are computed whole and masked;
the op's flops stay the useful causal ones (docs/trace.md). Units: elements, bytes, cycles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from sim.arch import Arch
from sim.errors import InputError
from sim.isa.columns import ColumnProgram

from . import gemm, programs
from .float_gemm import gemm_cycles, matrix_map
from .gemm import buffer_of
from .specs import FLOAT_WEIGHTS, GemmSpec

#: block sizes the search tries (query positions x cached positions per block): square blocks and key blocks
#: twice as long (the shapes flash-attention kernels use)
BLOCKS = (32, 64, 128, 256, 512)
ACC_BYTES = 4      # FP32 running output and scores (the flash-attention accumulators)
FP16_BYTES = 2


@dataclass(frozen=True)
class AttentionSpec:
    """One layer's attention for one batch: ``groups`` KV groups of ``heads_per_group`` query heads, ``t``
    queries (the last ``t`` of ``l`` positions, causal), head dimension ``hd``. ``kv_bytes``: bytes per cached
    element (format metadata included); ``out_bytes``: per output element."""

    t: int
    l: int
    hd: int
    groups: int
    heads_per_group: int
    kv_format: str
    kv_bytes: float
    out_bytes: float
    quantize_out: bool
    br: int = 0  # block sizes; 0 = not chosen yet
    bc: int = 0

    @property
    def kv_float(self) -> bool:
        return self.kv_format in FLOAT_WEIGHTS

    def blocks(self) -> list[tuple[int, int, list[int]]]:
        """Per query block: (first query, queries, widths of the key blocks it sees)."""
        out = []
        for q0 in range(0, self.t, self.br):
            q = min(self.br, self.t - q0)
            seen = self.l - self.t + q0 + q  # positions the block's last query sees
            out.append((q0, q, [min(self.bc, seen - k0) for k0 in range(0, seen, self.bc)]))
        return out


@dataclass(frozen=True)
class FusedPart:
    """A trace op (``softmax``, ``attn_sv``) computed inside the preceding ``attn_qk``'s fused program."""

    kind: str


def spec_of(qk, kv_format, kv_bits: float, out_format: str, out_bits: float, kv_heads: int) -> AttentionSpec:
    """The fused spec of a trace's ``attn_qk`` op (shapes from it; ``kv_heads`` KV heads per sequence x batch)."""
    return AttentionSpec(t=qk.M, l=qk.N, hd=qk.K, groups=kv_heads, heads_per_group=qk.count // kv_heads,
                         kv_format=kv_format, kv_bytes=kv_bits / 8, out_bytes=out_bits / 8,
                         quantize_out=out_format not in FLOAT_WEIGHTS)


def engine_of(arch: Arch) -> str | None:
    """Where fused attention runs on ``arch``: ``"array"`` when its PE takes FP16 x FP16, else ``"matrix"`` when
    it has a matrix unit, else None (attention stays on the vector unit)."""
    try:
        gemm.check(GemmSpec(64, 64, 64, "fp16", "fp16", None, 2, 2, 2, False), arch)
        return "array"
    except InputError:
        return "matrix" if arch.matrix_unit is not None else None


def fits(spec: AttentionSpec, arch: Arch) -> bool:
    """The block sizes of ``spec`` fit: Q and two score blocks in abuf (S of block j+1 is formed before P·V of
    block j frees S of block j), four K/V blocks in wbuf (raw and dequantized), the FP32 output in obuf."""
    rows, hd = spec.br * spec.heads_per_group, spec.hd
    kv_block = spec.bc * hd * (spec.kv_bytes + (0 if spec.kv_float else FP16_BYTES))  # raw + dequantized copy
    return (rows * hd * FP16_BYTES + 2 * rows * spec.bc * ACC_BYTES <= buffer_of(arch, "abuf").capacity
            and 4 * kv_block <= buffer_of(arch, "wbuf").capacity
            and rows * hd * ACC_BYTES <= buffer_of(arch, "obuf").capacity)


def _opcode(arch: Arch, where: str) -> str:
    return "MMA" if where == "array" else "FMMA"


def emit(spec: AttentionSpec, arch: Arch, where: str, groups: int | None = None) -> ColumnProgram:
    """The fused program of ``spec`` (block sizes set) on engine ``where`` ("array" or "matrix"); ``groups``:
    emit only that many KV groups (the block search times one)."""
    p = ColumnProgram(arch=arch.name)
    opcode = _opcode(arch, where)
    hd, g = spec.hd, spec.heads_per_group
    k_base, v_base = 0, spec.groups * spec.l * hd * 4  # DRAM regions (addresses matter to a bank model only)
    q_base, o_base = 2 * v_base, 3 * v_base
    maps: dict[tuple, str] = {}

    def mm(m, n, k, rd, wr, deps, free=(), alloc=()):
        if (m, n, k) not in maps:
            maps[m, n, k] = matrix_map(arch, where, m, n, k)
        tpl = p.template(opcode, m=m, n=n, k=k, weights="fp16", acts="fp16", map=maps[m, n, k], rd=rd, wr=wr)
        return p.add(tpl, deps, alloc=p.space(list(alloc)), free=p.space(list(free)))

    n_groups = spec.groups if groups is None else groups
    strides: list[tuple[int, int, int]] = []  # (position, address in group 0, bytes from one group to the next)

    def dma(opcode_, buf, nbytes, addr, stride, deps=(), alloc=(), free=()):
        i = p.add(p.template(opcode_, buf=buf, bytes=nbytes), list(deps), alloc=p.space(list(alloc)),
                  free=p.space(list(free)), addr=addr)
        strides.append((i, addr, stride))
        return i

    q_stride, kv_stride = spec.t * g * hd * FP16_BYTES, math.floor(spec.l * hd * spec.kv_bytes)
    o_stride = math.floor(spec.t * g * hd * spec.out_bytes)
    start = p.mark()
    # group 0; the other groups repeat it at their own addresses
    for q0, q, widths in spec.blocks():
        rows = q * g
        q_bytes, o_acc = rows * hd * FP16_BYTES, rows * hd * ACC_BYTES
        lq = dma("LOAD", "abuf", q_bytes, q_base + q0 * g * hd * FP16_BYTES, q_stride,
                 alloc=[("abuf", q_bytes), ("obuf", o_acc)])
        pending = None  # (P·V of the previous key block): issued after the next block's scores
        for j, w in enumerate(widths):
            raw = math.ceil(w * hd * spec.kv_bytes)
            half = raw if spec.kv_float else w * hd * FP16_BYTES  # the FP16 block the matrix engine reads
            held = raw if spec.kv_float else raw + half  # a load reserves its dequantized copy too (no later alloc
            kv_addr = math.floor(j * spec.bc * hd * spec.kv_bytes)  # can then wait behind prefetched raw blocks)
            lk = dma("LOAD", "wbuf", raw, k_base + kv_addr, kv_stride, alloc=[("wbuf", held)])
            lv = dma("LOAD", "wbuf", raw, v_base + kv_addr, kv_stride, alloc=[("wbuf", held)])
            if not spec.kv_float:  # dequantize K and V into their FP16 copies, then release the raw blocks
                deq = p.template("DEQUANT", m=w, n=hd, groups=1, rd=[("wbuf", raw)], wr=[("wbuf", half)])
                lk = p.add(deq, [lk], free=p.space([("wbuf", raw)]))
                lv = p.add(deq, [lv], free=p.space([("wbuf", raw)]))
            raw = half
            s_bytes = rows * w * ACC_BYTES
            s = mm(rows, w, hd, [("abuf", q_bytes), ("wbuf", raw)], [("abuf", s_bytes)], [lq, lk],
                   free=[("wbuf", raw)], alloc=[("abuf", s_bytes)])
            if pending is not None:
                mm(*pending)
            sm = p.add(p.template("VEC", op="softmax", elems=rows * w, rd=[("abuf", s_bytes)],
                                  wr=[("abuf", s_bytes)]), [s])
            rs = p.add(p.template("VEC", op="residual", elems=rows * hd, rd=[("obuf", o_acc)],
                                  wr=[("obuf", o_acc)]), [sm])  # rescale O by exp(m_old - m_new)
            pending = (rows, hd, w, [("abuf", s_bytes), ("wbuf", raw)], [("obuf", o_acc)], [rs, lv],
                       [("abuf", s_bytes), ("wbuf", raw)])
        last = mm(*pending)
        fin = p.add(p.template("VEC", op="residual", elems=rows * hd, rd=[("obuf", o_acc)],
                               wr=[("obuf", o_acc)]), [last])  # O / row sums
        if spec.quantize_out:
            fin = p.add(p.template("VEC", op="quantize", elems=rows * hd, rd=[("obuf", o_acc)],
                                   wr=[("obuf", o_acc)]), [fin])
        out_b = max(1, math.ceil(rows * hd * spec.out_bytes))
        dma("STORE", "obuf", out_b, o_base + math.floor(q0 * g * hd * spec.out_bytes), o_stride, [fin],
            free=[("abuf", q_bytes), ("obuf", o_acc)])
    if n_groups > 1:
        r = np.arange(1, n_groups, dtype=np.int64)
        p.repeat(start, p.mark(), n_groups - 1, shift_from=start[0],
                 addr={i - start[0]: a + r * stride for i, a, stride in strides})
    return p.freeze()


def candidates(spec: AttentionSpec, arch: Arch) -> list[AttentionSpec]:
    """Block sizes to try that fit the buffers (query blocks no larger than the queries, key blocks than the
    positions); none fitting is an input error."""
    pairs = {(min(b, spec.t), min(f * b, spec.l)) for b in BLOCKS for f in (1, 2)}
    out = [c for c in (replace(spec, br=br, bc=bc) for br, bc in sorted(pairs)) if fits(c, arch)]
    if not out:
        raise InputError("arch.buffers", f"no fused-attention block of {min(spec.t, BLOCKS[0])}x"
                         f"{min(spec.l, BLOCKS[0])} or more fits abuf, wbuf and obuf of arch {arch.name!r}",
                         "larger buffers, or --attention unfused")
    return out


def engine_cycles(spec: AttentionSpec, arch: Arch, where: str, groups: int | None = None) -> int:
    """Busy cycles of the matrix engine alone for ``spec``'s blocks (its FMMA/MMA tile-model cycles, one after
    another): a lower bound of the fused program's cycles, known without emitting it."""
    g, hd = spec.heads_per_group, spec.hd
    total = sum(gemm_cycles(arch, where, q * g, w, hd) + gemm_cycles(arch, where, q * g, hd, w)
                for _, q, widths in spec.blocks() for w in widths)
    return total * (spec.groups if groups is None else groups)


def lower_bound(spec: AttentionSpec, arch: Arch, where: str) -> int:
    """The fewest cycles any block choice could take (:func:`engine_cycles`, over the candidates)."""
    return min(engine_cycles(c, arch, where) for c in candidates(spec, arch))


def search(spec: AttentionSpec, arch: Arch, where: str) -> tuple[AttentionSpec, list[dict]]:
    """The block sizes with the fewest cycles on one KV group (ties: fewer DRAM bits), and the log of every
    candidate tried (``br``, ``bc``, ``cycles`` of one group). A candidate whose matrix-engine cycles alone
    reach the best so far is not simulated (it cannot win)."""
    log = []
    for c in sorted(candidates(spec, arch), key=lambda c: engine_cycles(c, arch, where, 1)):
        if log and engine_cycles(c, arch, where, 1) >= min(e["cycles_one_group"] for e in log):
            continue
        st = programs.run(emit(c, arch, where, groups=1), arch)
        log.append({"br": c.br, "bc": c.bc, "cycles_one_group": st.cycles,
                    "dram_bits": st.events.get("dram", {}).get("read_bits", 0)})
    best = min(log, key=lambda e: (e["cycles_one_group"], e["dram_bits"], -e["br"], -e["bc"]))
    best["chosen"] = True
    return replace(spec, br=best["br"], bc=best["bc"]), log
