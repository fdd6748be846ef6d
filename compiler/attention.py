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
softmax of a block overlaps the next block's scores. Block sizes and the QKᵀ placement come from a small search
(fewest cycles on one KV group, :func:`compiler.choose.choose`; then the whole op is emitted with the winner).
Diagonal blocks are computed whole and masked; the op's flops stay the useful causal ones (docs/trace.md).

Low-bit K on the PE array (``qk_array``): with an integer-quantized KV cache whose groups lie along QKᵀ's
reduction axis, ``S = Q·Kᵀ`` can run on the PE array (LUT or bit-serial) with the K codes as its low-bit
weights (N = cached positions, K = head_dim) and Q as its FP16 activations: K is not dequantized, a LUT
array's tables of the Q block are built once (``PRECOMPUTE``) and serve every key block, and the group
scales are applied to the scores (a ``DEQUANT`` epilogue of ``groups`` per score). The KV cache's groups
run along head_dim within one cached position of one KV head (:data:`KV_GROUP_AXIS`), so K fits when its
group divides head_dim (or spans whole heads); ``P·V`` reduces over positions, which V's groups do not
follow, so V is dequantized and ``P·V`` runs on the matrix engine as before. The score block is split over
the arrays like a GEMM's output tile (:func:`compiler.gemm.best_split`).

P·V split with the vector lanes (``sv_lanes``): the last ``sv_lanes`` columns of head_dim of each ``O += P·V``
are FP16 multiply-adds on the vector lanes (as the unfused path does all of P·V), the rest on the matrix
engine; both parts read the same P and V blocks and run side by side. In decode a query block is one row per
query head, and a systolic grid then does one multiply-add per column per cycle in any dataflow (operands enter
one row or column per cycle), so the lanes are faster; the block search (:func:`lane_splits`) tries no split
and the split that balances the two rates. Units: elements, bytes, cycles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from sim import pe as pe_registry
from sim.arch import Arch
from sim.errors import InputError
from sim.isa.columns import ColumnProgram

from . import choose, gemm, programs
from . import search as gemm_search
from .float_gemm import gemm_cycles, matrix_map
from .gemm import buffer_of, table_bytes, uses_tables
from .specs import FLOAT_WEIGHTS, GemmSpec

#: block sizes the search tries (query positions x cached positions per block): square blocks and key blocks
#: twice as long (the shapes flash-attention kernels use)
BLOCKS = (32, 64, 128, 256, 512)
ACC_BYTES = 4      # FP32 running output and scores (the flash-attention accumulators)
FP16_BYTES = 2
#: the axis a KV-cache format's groups run along (workloads.recipes group_size of kv_cache): head_dim, within
#: one cached position (QServe's per-head KV4, arXiv 2405.04532, recipe w4a8kv4; None: one scale per position and
#: head): inside one KV head when the group is at most head_dim, over whole heads of the position when it is a
#: multiple of it (pythia-14m: group 128 = its 4 heads of 32, as the trace's KV bytes count groups of group_size
#: values and :func:`qk_group` reads them; the RTL's KV quantize, docs/lut_array_rtl.md). QKᵀ reduces over
#: head_dim (K fits); P·V over positions (V does not).
KV_GROUP_AXIS = "head_dim"


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
    kv_group: int | None = None  # the KV format's group size along head_dim (None: per position and head)
    qk_array: bool = False  # QKᵀ on the PE array with the K codes as its weights (module docstring)
    sv_lanes: int = 0  # head_dim columns of P·V done as FP16 multiply-adds on the vector lanes (module docstring)

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


def spec_of(qk, kv_format, kv_bits: float, out_format: str, out_bits: float, kv_heads: int,
            kv_group: int | None = None) -> AttentionSpec:
    """The fused spec of a trace's ``attn_qk`` op (shapes from it; ``kv_heads`` KV heads per sequence x batch;
    ``kv_group``: the KV format's group size, :data:`KV_GROUP_AXIS`)."""
    return AttentionSpec(t=qk.M, l=qk.N, hd=qk.K, groups=kv_heads, heads_per_group=qk.count // kv_heads,
                         kv_format=kv_format, kv_bytes=kv_bits / 8, out_bytes=out_bits / 8,
                         quantize_out=out_format not in FLOAT_WEIGHTS, kv_group=kv_group)


def qk_gemm(spec: AttentionSpec, m: int, n: int) -> GemmSpec:
    """QKᵀ of ``m`` query rows and ``n`` cached positions as a PE-array GEMM: the K codes as weights (N x
    head_dim, grouped along head_dim), Q as FP16 activations, FP32 scores."""
    return GemmSpec(m, n, spec.hd, spec.kv_format, "fp16", qk_group(spec), spec.kv_bytes, FP16_BYTES, ACC_BYTES,
                    False)


def qk_group(spec: AttentionSpec) -> int | None:
    """The K codes' group size along QKᵀ's reduction (head_dim): the KV format's, or None (one scale per cached
    position and head) when it has none or a group spans whole heads of one position (group a multiple of
    head_dim: k_proj's output row quantized in groups)."""
    return spec.kv_group if spec.kv_group and spec.kv_group < spec.hd else None


def why_not_qk_array(spec: AttentionSpec, arch: Arch) -> str:
    """Why QKᵀ cannot take the K codes as the PE array's weights on ``arch`` ("" when it can): the KV cache is
    a float one, its groups do not tile head_dim (QKᵀ's reduction), the PE rejects the formats, or the PE
    runs whole unit tiles only."""
    if spec.kv_float:
        return f"a {spec.kv_format} KV cache"
    if spec.kv_group is not None and spec.hd % spec.kv_group and spec.kv_group % spec.hd:
        return f"KV groups of {spec.kv_group} do not tile head_dim {spec.hd} (QK's reduction axis)"
    try:
        gemm.check(qk_gemm(spec, 64, 64), arch)
    except InputError as exc:
        return f"PE {arch.pe.type!r}: {exc.problem}"
    if arch.pe.tile and arch.pe.options.get("whole_units"):
        return f"PE {arch.pe.type!r} runs whole unit tiles only"
    return ""


def sv_note(spec: AttentionSpec) -> str:
    """Why P·V does not take V's codes as low-bit weights (V^T: N = head_dim, K = positions)."""
    return (f"V dequantized: its {spec.kv_format} groups run along {KV_GROUP_AXIS}, not along P·V's reduction "
            "(cached positions)")


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
    block j frees S of block j), two K and two V blocks in wbuf (raw and dequantized; a K block on the PE
    array raw only), the FP32 output in obuf, and (QKᵀ on a LUT array) the Q block's tables in tbuf."""
    rows, hd = spec.br * spec.heads_per_group, spec.hd
    v_block = spec.bc * hd * (spec.kv_bytes + (0 if spec.kv_float else FP16_BYTES))  # raw + dequantized copy
    k_block = spec.bc * hd * spec.kv_bytes if spec.qk_array else v_block
    tables = spec.qk_array and uses_tables(arch)
    return (rows * hd * FP16_BYTES + 2 * rows * spec.bc * ACC_BYTES <= buffer_of(arch, "abuf").capacity
            and 2 * (k_block + v_block) <= buffer_of(arch, "wbuf").capacity
            and rows * hd * ACC_BYTES <= buffer_of(arch, "obuf").capacity
            and (not tables or table_bytes(arch, rows, hd) <= buffer_of(arch, "tbuf").capacity))


def qk_split(spec: AttentionSpec, arch: Arch, m: int, n: int) -> tuple[str, int, int]:
    """(map operand, am, an) of an m x n score block on the PE array (:attr:`AttentionSpec.qk_array`): the
    (dataflow, mapping) and the split over the arrays whose slowest piece is fastest (ties: the PE's native
    choice, :func:`compiler.search.choices` order)."""
    g = qk_gemm(spec, m, n)
    best = None
    for dataflow, mapping in gemm_search.choices(arch):
        map_ = pe_registry.map_name(dataflow, mapping)
        am, an = gemm.best_split(g, arch, m, n, spec.hd, map_)
        cyc = gemm.pe_cycles(g, arch, -(-m // am), -(-n // an), spec.hd, map_)
        if best is None or cyc < best[0]:
            best = (cyc, map_, am, an)
    return best[1:]


def _qk_pieces(spec: AttentionSpec, arch: Arch, m: int, n: int) -> list[tuple[int, int]]:
    """(rows, columns) of the array instructions of one m x n score block (:func:`qk_split`)."""
    _, am, an = qk_split(spec, arch, m, n)
    return [(sm, sn) for _, sm in gemm._split(m, am) for _, sn in gemm._split(n, an)]


def _opcode(arch: Arch, where: str) -> str:
    return "MMA" if where == "array" else "FMMA"


def emit(spec: AttentionSpec, arch: Arch, where: str, groups: int | None = None) -> ColumnProgram:
    """The fused program of ``spec`` (block sizes set) on engine ``where`` ("array" or "matrix"; QKᵀ on the PE
    array instead when ``spec.qk_array``); ``groups``: emit only that many KV groups (the block search times
    one)."""
    p = ColumnProgram(arch=arch.name)
    opcode = _opcode(arch, where)
    hd, g = spec.hd, spec.heads_per_group
    k_base, v_base = 0, spec.groups * spec.l * hd * 4  # DRAM regions (addresses matter to a bank model only)
    q_base, o_base = 2 * v_base, 3 * v_base
    maps: dict[tuple, str] = {}
    tables = spec.qk_array and uses_tables(arch)
    kv_groups = hd // (qk_group(spec) or hd)  # scales per score (QKᵀ on the array)

    def mm(m, n, k, rd, wr, deps, free=(), alloc=()):
        if (m, n, k) not in maps:
            maps[m, n, k] = matrix_map(arch, where, m, n, k)
        tpl = p.template(opcode, m=m, n=n, k=k, weights="fp16", acts="fp16", map=maps[m, n, k], rd=rd, wr=wr)
        return p.add(tpl, deps, alloc=p.space(list(alloc)), free=p.space(list(free)))

    sl = spec.sv_lanes

    def sv(rows, w, rd, wr, deps, free):
        """O += P·V of one key block: hd - sv_lanes columns on the matrix engine, sv_lanes on the lanes (FP16
        multiply-adds counted as the vector unit's ``dequant`` elements, as :mod:`compiler.vector` does); the P and
        V blocks are freed when both parts are done."""
        if not sl:
            return mm(rows, hd, w, rd, wr, deps, free=free)
        (_, p_bytes), (_, v_bytes) = rd
        lane_v, lane_o = math.ceil(v_bytes * sl / hd), math.ceil(wr[0][1] * sl / hd)
        lane = p.add(p.template("DEQUANT", m=rows * w * sl, n=1, groups=1, rd=[("abuf", p_bytes), ("wbuf", lane_v)],
                                wr=[("obuf", lane_o)]), deps, free=p.space(list(free)) if sl == hd else 0)
        if sl == hd:
            return lane
        part = mm(rows, hd - sl, w, [("abuf", p_bytes), ("wbuf", v_bytes - lane_v)], [("obuf", wr[0][1] - lane_o)],
                  deps)
        return p.add(p.template("SYNC"), [part, lane], free=p.space(list(free)))

    splits: dict[tuple[int, int], tuple[str, list[tuple[int, int]]]] = {}  # (rows, w) -> (map, pieces)

    def qk_on_array(rows, w, raw, src, lk, s_bytes):
        """S = Q·Kᵀ of one block on the PE array (pieces over the arrays), then its group scales."""
        if (rows, w) not in splits:
            splits[rows, w] = qk_split(spec, arch, rows, w)[0], _qk_pieces(spec, arch, rows, w)
        map_, shapes = splits[rows, w]
        pieces = []
        for sm, sn in shapes:
            operand = ("tbuf", table_bytes(arch, sm, hd)) if tables else ("abuf", sm * hd * FP16_BYTES)
            k_codes = ("wbuf", math.ceil(sn * hd * spec.kv_bytes))
            tpl = p.template(arch.pe.opcode, m=sm, n=sn, k=hd, weights=spec.kv_format, acts="fp16",
                             group=qk_group(spec) or 0, map=map_, rd=[operand, k_codes],
                             wr=[("abuf", sm * sn * ACC_BYTES)])
            first = [] if pieces else [("abuf", s_bytes)]  # the score block is reserved by its first piece
            pieces.append(p.add(tpl, [src, lk], alloc=p.space(first)))
        deq = p.template("DEQUANT", m=rows, n=w, groups=kv_groups, rd=[("abuf", s_bytes)], wr=[("abuf", s_bytes)])
        return p.add(deq, pieces, free=p.space([("wbuf", raw)]))

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
        held_q = [("abuf", q_bytes), ("obuf", o_acc)]
        lq = dma("LOAD", "abuf", q_bytes, q_base + q0 * g * hd * FP16_BYTES, q_stride, alloc=held_q)
        q_src = lq
        if tables:  # the Q block's lookup tables, built once for all its key blocks
            t_bytes = table_bytes(arch, rows, hd)
            q_src = p.add(p.template("PRECOMPUTE", m=rows, k=hd, acts="fp16", rd=[("abuf", q_bytes)],
                                     wr=[("tbuf", t_bytes)]), [lq], alloc=p.space([("tbuf", t_bytes)]))
            held_q = held_q + [("tbuf", t_bytes)]
        pending = None  # (P·V of the previous key block): issued after the next block's scores
        for j, w in enumerate(widths):
            raw = math.ceil(w * hd * spec.kv_bytes)
            half = raw if spec.kv_float else w * hd * FP16_BYTES  # the FP16 block the matrix engine reads
            held = raw if spec.kv_float else raw + half  # a load reserves its dequantized copy too (no later alloc
            kv_addr = math.floor(j * spec.bc * hd * spec.kv_bytes)  # can then wait behind prefetched raw blocks)
            k_held = raw if spec.qk_array else held  # K codes on the array: no dequantized copy
            lk = dma("LOAD", "wbuf", raw, k_base + kv_addr, kv_stride, alloc=[("wbuf", k_held)])
            lv = dma("LOAD", "wbuf", raw, v_base + kv_addr, kv_stride, alloc=[("wbuf", held)])
            s_bytes = rows * w * ACC_BYTES
            if not spec.kv_float:  # dequantize K (unless the array takes its codes) and V into their FP16 copies
                deq = p.template("DEQUANT", m=w, n=hd, groups=1, rd=[("wbuf", raw)], wr=[("wbuf", half)])
                if not spec.qk_array:
                    lk = p.add(deq, [lk], free=p.space([("wbuf", raw)]))
                lv = p.add(deq, [lv], free=p.space([("wbuf", raw)]))
            if spec.qk_array:
                s = qk_on_array(rows, w, raw, q_src, lk, s_bytes)
            else:
                s = mm(rows, w, hd, [("abuf", q_bytes), ("wbuf", half)], [("abuf", s_bytes)], [lq, lk],
                       free=[("wbuf", half)], alloc=[("abuf", s_bytes)])
            if pending is not None:
                sv(*pending)
            sm = p.add(p.template("VEC", op="softmax", elems=rows * w, rd=[("abuf", s_bytes)],
                                  wr=[("abuf", s_bytes)]), [s])
            rs = p.add(p.template("VEC", op="residual", elems=rows * hd, rd=[("obuf", o_acc)],
                                  wr=[("obuf", o_acc)]), [sm])  # rescale O by exp(m_old - m_new)
            pending = (rows, w, [("abuf", s_bytes), ("wbuf", half)], [("obuf", o_acc)], [rs, lv],
                       [("abuf", s_bytes), ("wbuf", half)])
        last = sv(*pending)
        fin = p.add(p.template("VEC", op="residual", elems=rows * hd, rd=[("obuf", o_acc)],
                               wr=[("obuf", o_acc)]), [last])  # O / row sums
        if spec.quantize_out:
            fin = p.add(p.template("VEC", op="quantize", elems=rows * hd, rd=[("obuf", o_acc)],
                                   wr=[("obuf", o_acc)]), [fin])
        out_b = max(1, math.ceil(rows * hd * spec.out_bytes))
        dma("STORE", "obuf", out_b, o_base + math.floor(q0 * g * hd * spec.out_bytes), o_stride, [fin],
            free=[("abuf", q_bytes), ("obuf", o_acc)] + held_q[2:])
    if n_groups > 1:
        r = np.arange(1, n_groups, dtype=np.int64)
        p.repeat(start, p.mark(), n_groups - 1, shift_from=start[0],
                 addr={i - start[0]: a + r * stride for i, a, stride in strides})
    return p.freeze()


def candidates(spec: AttentionSpec, arch: Arch) -> list[AttentionSpec]:
    """Block sizes to try that fit the buffers (query blocks no larger than the queries, key blocks than the
    positions), each with QKᵀ on the matrix engine and, where the PE array takes the K codes
    (:func:`why_not_qk_array`), on the array; none fitting is an input error."""
    pairs = {(min(b, spec.t), min(f * b, spec.l)) for b in BLOCKS for f in (1, 2)}
    placements = (False, True) if not why_not_qk_array(spec, arch) else (False,)
    out = [c for qk in placements for c in (replace(spec, br=br, bc=bc, qk_array=qk) for br, bc in sorted(pairs))
           if fits(c, arch)]
    where = engine_of(arch)  # the matrix engine every candidate runs on (one PE check, not one per candidate)
    out = [replace(c, sv_lanes=sl) for c in out for sl in lane_splits(c, arch, where)]
    if not out:
        raise InputError("arch.buffers", f"no fused-attention block of {min(spec.t, BLOCKS[0])}x"
                         f"{min(spec.l, BLOCKS[0])} or more fits abuf, wbuf and obuf of arch {arch.name!r}",
                         "larger buffers, or --attention unfused")
    return out


def lane_rate(arch: Arch) -> float:
    """FP16 multiply-adds per cycle of the vector lanes (lanes × the ``dequant`` rate, as the unfused path)."""
    return arch.vector.lanes * arch.vector.ops_per_cycle["dequant"]


def lane_splits(spec: AttentionSpec, arch: Arch, where: str) -> tuple[int, ...]:
    """P·V columns (of head_dim) to try on the vector lanes for ``spec``'s blocks: none, and the split whose two
    parts take equal time on a full block (the lanes' rate against the matrix engine's on P·V of ``br`` query rows
    × ``bc`` positions; ``where``: :func:`engine_of`), rounded to a multiple of 8 columns (none when that rounds
    to 0)."""
    rows, hd = spec.br * spec.heads_per_group, spec.hd
    engine = rows * hd * spec.bc / gemm_cycles(arch, where, rows, hd, spec.bc) * (arch.arrays if where == "array"
                                                                                   else 1)
    lanes = lane_rate(arch)
    balanced = min(hd, round(hd * lanes / (lanes + engine) / 8) * 8)
    return (0, balanced) if balanced else (0,)


def engine_cycles(spec: AttentionSpec, arch: Arch, where: str, groups: int | None = None) -> int:
    """A lower bound of the fused program's cycles, known without emitting it: the busy cycles of the matrix
    engine alone for ``spec``'s blocks (its FMMA/MMA tile-model cycles, one after another); with QKᵀ on the PE
    array, the larger of the array's busy cycles over all arrays (its pieces' tile-model cycles / arrays, plus
    P·V's when ``where`` is the array too) and the matrix unit's (P·V); with ``sv_lanes``, at least the lanes'
    busy cycles of their part of P·V; and at least the DMA's bound (:func:`_dma_cycles`)."""
    g, hd, sl = spec.heads_per_group, spec.hd, spec.sv_lanes
    blocks = [(q * g, w) for _, q, widths in spec.blocks() for w in widths]
    times = spec.groups if groups is None else groups
    sv = sum(gemm_cycles(arch, where, m, hd - sl, w) for m, w in blocks) if sl < hd else 0
    lanes = sum(math.ceil(m * w * sl / lane_rate(arch)) for m, w in blocks) * times
    return max(lanes, _engines_cycles(spec, arch, where, blocks, sv, times), _dma_cycles(spec, arch, where, times))


def _dma_cycles(spec: AttentionSpec, arch: Arch, where: str, times: int) -> int:
    """A bound from the DMA: it moves every Q, K, V and O block one after another (one in-order DMA queue, each
    transfer busy ⌈bits / bandwidth⌉), and after the last V block, whose data is complete ``dram.latency``
    later, the last P·V (its two parts side by side at best) must run before the final store can start; only
    that store follows the last V load in the DMA's order."""
    g, hd, sl, bw = spec.heads_per_group, spec.hd, spec.sv_lanes, arch.dram.bandwidth
    busy, blocks = 0, spec.blocks()
    for _, q, widths in blocks:
        rows = q * g
        busy += math.ceil(rows * hd * FP16_BYTES * 8 / bw)  # Q block
        busy += sum(2 * math.ceil(math.ceil(w * hd * spec.kv_bytes) * 8 / bw) for w in widths)  # K and V blocks
        busy += math.ceil(max(1, math.ceil(rows * hd * spec.out_bytes)) * 8 / bw)  # O block
    _, q, widths = blocks[-1]
    rows, w = q * g, widths[-1]
    last = max(gemm_cycles(arch, where, rows, hd - sl, w) if sl < hd else 0,
               math.ceil(rows * w * sl / lane_rate(arch)))
    return busy * times + arch.dram.latency + last


def _engines_cycles(spec: AttentionSpec, arch: Arch, where: str, blocks, sv: int, times: int) -> int:
    """:func:`engine_cycles` of the matrix engine and the PE array (``sv``: P·V's engine cycles on one group)."""
    hd = spec.hd
    if not spec.qk_array:
        return (sum(gemm_cycles(arch, where, m, w, hd) for m, w in blocks) + sv) * times
    pieces: dict[tuple[int, int], int] = {}
    for m, w in set(blocks):
        map_ = qk_split(spec, arch, m, w)[0]
        pieces[m, w] = sum(gemm.pe_cycles(qk_gemm(spec, m, w), arch, sm, sn, hd, map_)
                           for sm, sn in _qk_pieces(spec, arch, m, w))
    qk = sum(pieces[b] for b in blocks)
    if where == "array":
        return -(-(qk + sv) * times // arch.arrays)
    return max(-(-qk * times // arch.arrays), sv * times)


def lower_bound(spec: AttentionSpec, arch: Arch, where: str) -> int:
    """The fewest cycles any block choice could take (:func:`engine_cycles`, over the candidates)."""
    return min(engine_cycles(c, arch, where) for c in candidates(spec, arch))


def search(spec: AttentionSpec, arch: Arch, where: str) -> tuple[AttentionSpec, list[dict], str]:
    """The block sizes and QKᵀ placement with the fewest cycles on one KV group (:func:`compiler.choose.choose`;
    ties: fewer DRAM bits, then QKᵀ on the matrix engine, then larger blocks), the log of every candidate
    simulated (``br``, ``bc``, ``qk_array``, ``cycles_one_group``; the chosen one ``chosen``) and the runner-up of
    the other QKᵀ placement in words (:func:`compiler.choose.versus`; "" without one). A candidate whose
    :func:`engine_cycles` bound reaches the best so far is not simulated (at best it would tie)."""
    def option(c: AttentionSpec) -> choose.Option:
        def simulate() -> choose.Run:
            st = programs.run(emit(c, arch, where, groups=1), arch)
            return choose.Run(st.cycles, st.events.get("dram", {}).get("read_bits", 0))
        return choose.Option(c, simulate, engine_cycles(c, arch, where, 1), group=c.qk_array)

    found = choose.choose([option(c) for c in candidates(spec, arch)],
                          tie=lambda t: (t.run.result, t.option.key.qk_array, t.option.key.sv_lanes, -t.option.key.br,
                                         -t.option.key.bc))
    log = [{"br": t.option.key.br, "bc": t.option.key.bc, "qk_array": t.option.key.qk_array,
            "sv_lanes": t.option.key.sv_lanes,
            "cycles_one_group": t.cycles, "dram_bits": t.run.result} | ({"chosen": True} if t is found.best else {})
           for t in found.tried]
    other = choose.versus(found, lambda o: "K dequantized" if not o.key.qk_array else "the K codes on the PE array")
    return found.best.option.key, log, other


def schedule(spec: AttentionSpec, where: str) -> str:
    """The per-op table's schedule of a chosen fused attention ``spec`` on engine ``where``."""
    engine_name = "the matrix unit" if where == "matrix" else "the PE array"
    if spec.sv_lanes == spec.hd:
        pv = "the vector lanes"
    elif spec.sv_lanes:
        pv = f"{engine_name} and the vector lanes ({spec.sv_lanes} of {spec.hd} columns)"
    else:
        pv = engine_name
    if not spec.qk_array:
        return f"fused flash {spec.br}x{spec.bc} on {engine_name}" + (f", P·V on {pv}" if spec.sv_lanes else "")
    return (f"fused flash {spec.br}x{spec.bc}: QKᵀ on the PE array ({spec.kv_format} K codes as weights), "
            f"P·V on {pv}")


def note(spec: AttentionSpec, arch: Arch, cycles_one_group: int, other: str) -> str:
    """What the per-op table says of a chosen fused attention ``spec`` with a quantized KV cache: where K and V
    went and why, its cycles on one KV group and ``other``, the other QKᵀ placement's (:func:`search`); "" for a
    float KV cache."""
    if spec.kv_float:
        return ""
    why = why_not_qk_array(spec, arch)
    if why:
        return f"K and V dequantized on the vector unit (QKᵀ cannot take the K codes on the PE array: {why})"
    head = ("QKᵀ on the PE array" if spec.qk_array else "K and V dequantized on the vector unit")
    tail = f"; {sv_note(spec)}" if spec.qk_array else ""
    return f"{head} ({cycles_one_group:,} cycles per KV group; {other}){tail}"
