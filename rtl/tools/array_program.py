"""Host side of the RTL LUT array (rtl/gateware/lut_array.py): the instruction-memory words it
executes, assembled from an ISA program, and its DRAM data layout. Parameters and word encoding:
rtl/gateware/array_params.py.

The ISA names no buffer addresses, so :func:`assemble` resolves them (what a loader does): each buffer is
a ring, every ``alloc`` takes, in program order, the next run of words (the RTL words the instruction
uses: a LOAD's transfer, an output tile's Mu×Nu blocks, a PRECOMPUTE's tables) that no region live at the
same time in the engine's schedule of the program (which the RTL follows cycle for cycle) occupies. The ``alloc``
/ ``free`` byte lists go into the words unchanged: the controller waits for space as the engine does.
PRECOMPUTE reads the activation LOAD it depends on, an LMMA reads the tables of its PRECOMPUTE and the
weights (code planes, then group metadata: :func:`plane_words`, :func:`meta_words`) of its wbuf LOAD at the
sub-tile offset given by its place in the compiler's am×an split and writes its k-tile's group terms into the
output tile's obuf region (per Mu×Nu block one word per quantization group: ``pe.options.group_sums``); a
DEQUANT reads that region and leaves the FP16 outputs in it, block by block, and a STORE writes them to DRAM
row by row (a blocked STORE). SYNCs become dependency masks (a SYNC is a zero-cycle join, in order with the
SYNCs before it: the engine's rule); those that free space are also sync-class words.

Subset: LOAD (abuf, wbuf; 2-D: equal rows, port-word aligned), PRECOMPUTE, LMMA (k-tiles of whole quantization
groups), DEQUANT, VEC residual (the bias add), VEC quantize (the KV cache's int4_asym, one group per output-tile
row: :func:`kv_stream_bits`), STORE (FP16 outputs of obuf, or a KV quantize's packed stream), SYNC: the compiler's
program for a GEMM with integer weights (FP16 scales, optional zero codes) and INT8 activations. Other VECs (norm,
softmax, act, rope) are not built.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import engine, formats
from sim.arch import Arch
from sim.errors import InputError
from sim.isa import Instr, Program

from ..gateware.array_controller import ALLOCATING
from ..gateware.array_params import (
    ACT_WIDTH,
    ACTS,
    BUFS,
    KV_FORMAT,
    OUT_BITS,
    SCALE_BITS,
    SPACE,
    VEC_OPS,
    ArrayParams,
    ArrayProgram,
    need,
)

_CLASS = {"LOAD": "dma", "STORE": "dma", "PRECOMPUTE": "table", "LMMA": "array", "SYNC": "sync", "DEQUANT": "vector"}


def _chains(program: Program) -> dict[int, tuple[int, int, int]]:
    """Per LMMA, (k0, slot, word): the K offset of its k-tile (the k of the LMMAs it accumulates onto before it),
    the obuf words per Mu×Nu block of its output tile (the groups of its one DEQUANT; chunked, the most groups of
    a chunk plus the FP32 accumulator word: compiler.gemm.obuf_slot) and the word in the block's slot of its
    k-tile's first group; InputError for an LMMA no DEQUANT reads."""
    k0, root = {}, {}
    for i, ins in enumerate(program.instrs):
        if ins.op == "LMMA":
            prev = [d for d in ins.deps if program.instrs[d].op == "LMMA"]
            k0[i] = k0[prev[0]] + program.instrs[prev[0]]["k"] if prev else 0
            root[i] = root[prev[0]] if prev else i
    chunks: dict[int, list[int]] = {}             # chain root -> groups of its DEQUANTs (chunks), in order
    for ins in program.instrs:
        if ins.op == "DEQUANT":
            for r in dict.fromkeys(root[d] for d in ins.deps if d in root):
                chunks.setdefault(r, []).append(ins["groups"])
    out = {}
    for i in k0:
        need(root[i] in chunks, f"instr[{i}]", "the RTL array dequantizes every LMMA's output (a DEQUANT)")
        parts = chunks[root[i]]
        ins = program.instrs[i]
        g = k0[i] // (ins["group"] or ins["k"])
        starts = np.cumsum([0] + parts)
        c = int(np.searchsorted(starts, g, side="right")) - 1
        chunked = len(parts) > 1
        out[i] = (k0[i], max(parts) + 1 if chunked else parts[0], int(g - starts[c]) + chunked)
    return out


def _join_syncs(program: Program) -> list[set[int]]:
    """Dependencies of every instruction with SYNCs replaced by what they wait for (a SYNC also waits
    for the SYNC before it: the sync queue is in order). Barrier SYNCs (no ``after``) included."""
    eff: list[set[int]] = []
    prev_sync: set[int] = set()
    since, barrier = [], None
    for i, ins in enumerate(program.instrs):
        deps = list(ins.deps)
        if ins.op == "SYNC" and not deps:
            deps, since, barrier_now = since, [], True
        else:
            barrier_now = False
            if barrier is not None and barrier not in deps:
                deps.append(barrier)
        e = set()
        for d in deps:
            e |= eff[d] if program.instrs[d].op == "SYNC" else {d}
        if ins.op == "SYNC":
            e |= prev_sync
            prev_sync = e
        eff.append(e)
        since.append(i)
        if barrier_now:
            barrier = i
    return eff


def _dep(program: Program, deps, op: str, buf: str | None, where: str) -> int:
    hits = [d for d in deps if program.instrs[d].op == op and (buf is None or program.instrs[d]["buf"] == buf)]
    need(len(hits) == 1, where, f"needs exactly one {op}{' ' + buf if buf else ''} among its dependencies")
    return hits[0]


@dataclass
class _Region:
    """Buffer words one allocation occupies, from the start of the allocating instruction to the end of the
    freeing one (engine schedule)."""

    buf: str
    base: int
    words: int
    nbytes: int
    alloc: int
    free: int | None = None


def _overlap(a: _Region, b: _Region, size: int) -> bool:
    """Two ring regions of one ``size``-word buffer share a word."""
    return (b.base - a.base) % size < a.words or (a.base - b.base) % size < b.words


def _place(regions: list[_Region], program: Program, arch: Arch, p: ArrayParams) -> None:
    """Set every region's base: in allocation order, the first base from where the previous region of that
    buffer ended (a ring) that shares no word with a region live at the same time in the engine's schedule
    (the RTL follows it cycle for cycle); InputError names an allocation that finds none."""
    stats = engine.run(program, arch)
    span = {}
    for r in regions:
        span[id(r)] = (int(stats.start[r.alloc]), stats.cycles if r.free is None else int(stats.end[r.free]))
    ring = dict.fromkeys(SPACE, 0)
    placed: list[_Region] = []
    for r in regions:
        size = getattr(p, f"{r.buf}_words")
        s0, e0 = span[id(r)]
        live = [q for q in placed if q.buf == r.buf and span[id(q)][0] < e0 and s0 < span[id(q)][1]]
        need(r.words + sum(q.words for q in live) <= size, f"instr[{r.alloc}].alloc",
              f"{r.words} {r.buf} words beside {sum(q.words for q in live)} live ones: the buffer holds {size}",
              f"a larger {r.buf} or smaller tiles")
        r.base = ring[r.buf]
        for _ in range(len(live) + 1):
            hit = next((q for q in live if _overlap(r, q, size)), None)
            if hit is None:
                break
            r.base = (hit.base + hit.words) % size
        need(not any(_overlap(r, q, size) for q in live), f"instr[{r.alloc}].alloc",
              f"no free run of {r.words} {r.buf} words beside the live regions (the RTL lays {r.buf} out as a ring)",
              f"a larger {r.buf} or smaller tiles")
        ring[r.buf] = (r.base + r.words) % size
        placed.append(r)


def _regions(program: Program, p: ArrayParams) -> dict[tuple[int, str], _Region]:
    """Every allocation's region (no base yet), keyed by (allocating instruction, buffer), each paired with
    the instruction that frees it: the oldest live region of that size the freeing instruction waits for."""
    anc = _ancestors(program)
    regions: dict[tuple[int, str], _Region] = {}
    for i, ins in enumerate(program.instrs):
        where = f"instr[{i}]"
        need(not ins.alloc or _CLASS[ins.op] in ALLOCATING, where + ".alloc",
              f"{ins.op} allocating space is not built", "LOAD, PRECOMPUTE")
        for name, nbytes in ins.alloc:
            need(name in SPACE, f"{where}.alloc", f"the RTL counts space in {', '.join(SPACE)}", ", ".join(SPACE))
            regions[(i, name)] = _Region(name, 0, _region_words(ins, name, nbytes, p, where), nbytes, i)
        for name, nbytes in ins.free:
            hits = [r for r in regions.values() if r.buf == name and r.free is None and r.nbytes == nbytes
                    and anc[i] >> r.alloc & 1]
            need(bool(hits), where + ".free", f"frees {nbytes} B of {name} that no instruction it waits for allocated")
            hits[0].free = i
    return regions


def _ancestors(program: Program) -> list[int]:
    """Per instruction, the bit set of every instruction it waits for, directly or not."""
    anc: list[int] = []
    for ins in program.instrs:
        a = 0
        for d in ins.deps:
            a |= anc[d] | 1 << d
        anc.append(a)
    return anc


def _region_words(ins: Instr, buf: str, nbytes: int, p: ArrayParams, where: str) -> int:
    """RTL words an allocation of ``nbytes`` in ``buf`` by ``ins`` occupies."""
    if ins.op == "LOAD" and buf == ins["buf"]:
        return -(-ins["bytes"] * 8 // p.width[buf])
    if buf == "obuf":
        need(nbytes * 8 % p.width["obuf"] == 0, where + ".alloc", "whole obuf words (Mu×Nu group terms)")
        return nbytes * 8 // p.width["obuf"]
    need(ins.op == "PRECOMPUTE" and buf == "tbuf", where + ".alloc", f"{ins.op} allocating {buf} is not built",
          "LOAD (its buffer, obuf), PRECOMPUTE (tbuf)")
    return -(-ins["m"] // p.mu) * -(-ins["k"] // p.k)


def _space(items, kind: str, where: str) -> dict:
    """An alloc / free list as bytes per buffer (RTL field names)."""
    out: dict[str, int] = {}
    for name, nbytes in items:
        need(name in SPACE, f"{where}.{kind}", f"the RTL counts space in {', '.join(SPACE)}", ", ".join(SPACE))
        out[name] = out.get(name, 0) + nbytes
    return out


def _unit_words(program: Program, arch: Arch, p) -> tuple[ArrayProgram, dict, list]:
    """What both arrays' assemblers share (this one and rtl/tools/bitmod_program.py): validate ``program``, check it
    fits ``p.max_instrs``, place its buffer regions (:func:`_place`), write its space-freeing SYNCs as sync words and
    every instruction's free list. Returns (the ArrayProgram so far, {(instruction, buffer): region}, [(index,
    instruction, "instr[i]", its word head {id, deps}, its alloc list)] of the non-SYNC instructions)."""
    program.validate()
    eff = _join_syncs(program)
    ids = {i: n for n, i in enumerate(i for i, ins in enumerate(program.instrs) if ins.op != "SYNC")}
    need(len(ids) <= p.max_instrs, "program", f"{len(ids)} instructions, the RTL holds {p.max_instrs}")
    region = _regions(program, p)                  # (allocating instruction, buffer) -> region
    _place(list(region.values()), program, arch, p)
    out = ArrayProgram(count=len(ids))
    out.frees = [{} for _ in ids]
    words = []
    for i, ins in enumerate(program.instrs):
        where = f"instr[{i}]"
        alloc = _space(ins.alloc, "alloc", where)
        free = _space(ins.free, "free", where)
        deps = sum(1 << ids[d] for d in eff[i])
        if ins.op == "SYNC":
            if free:
                out.sync.append({"deps": deps, "free": free})
            continue
        out.frees[ids[i]] = free
        words.append((i, ins, where, {"id": ids[i], "deps": deps}, alloc))
    return out, region, words


def assemble(program: Program, arch: Arch, p: ArrayParams) -> ArrayProgram:
    """Instruction-memory contents for ``program`` (the compiler's, unchanged); InputError names
    the instruction outside the RTL subset or layout rules. Buffer regions: :func:`_place`."""
    out, region, words = _unit_words(program, arch, p)
    port_bytes = p.port_bits // 8
    tile: dict[int, dict] = {}                    # obuf-allocating instruction -> output tile placement
    lmma_tile: dict[int, dict] = {}               # LMMA / DEQUANT -> its (sub-)tile's obuf placement
    chains = _chains(program)
    for i, ins, where, head, alloc in words:
        if ins.op in ("LOAD", "STORE"):
            out.dma.append({**head, "alloc": alloc, **_dma_fields(program, i, p, region, lmma_tile, where)})
        elif ins.op == "PRECOMPUTE":
            need(ins["acts"] == ACTS, where + ".acts", "INT8 activations in the RTL", ACTS)
            a = _dep(program, ins.deps, "LOAD", "abuf", where)
            kg = -(-ins["k"] // p.k)
            groups = -(-ins["m"] // p.mu)
            need(program.instrs[a]["bytes"] == ins["m"] * kg * port_bytes, where,
                  "its activation LOAD must hold m rows of k (a multiple of K) INT8 values")
            need((i, "tbuf") in region, where + ".alloc", "a PRECOMPUTE allocates its tables in tbuf")
            out.table.append({**head, "alloc": alloc, "abase": region[(a, "abuf")].base, "astride": kg,
                              "tbase": region[(i, "tbuf")].base, "groups": groups, "kg": kg, "rows": ins["m"]})
        elif ins.op == "LMMA":
            out.array.append({**head, **_lmma_fields(program, i, p, region, tile, lmma_tile, chains[i], where)})
        elif ins.op == "DEQUANT":
            out.vector.append({**head, **_dequant_fields(program, i, p, lmma_tile, where)})
        elif ins.op == "VEC" and ins["op"] == "residual":
            out.vector.append({**head, **_bias_fields(program, i, p, region, lmma_tile, where)})
        elif ins.op == "VEC" and ins["op"] == "quantize":
            out.vector.append({**head, **_quantize_fields(program, i, p, lmma_tile, where)})
        else:
            raise InputError(where + ".op", f"{ins.op} {ins.args[0][1] if ins.op == 'VEC' else ''} is not in the RTL "
                             "array's subset (of the VECs only the bias add, residual, and the KV quantize are built)",
                             "LOAD, PRECOMPUTE, LMMA, DEQUANT, VEC residual, VEC quantize, STORE, SYNC")
    return out


def contiguous(nbytes: int, rows: int, stride: int) -> bool:
    """A 2-D transfer whose rows follow one another: stride 0, or the row bytes rounded up (the compiler's
    stride of whole rows of fractional-byte elements, e.g. codes plus group metadata)."""
    return stride in (0, -(-nbytes // rows)) or stride * rows == nbytes


def _dma_fields(program: Program, i: int, p: ArrayParams, region, lmma_tile, where: str, mma: str = "LMMA") -> dict:
    """A LOAD / STORE's DMA word fields: a 2-D transfer of ``rows`` equal rows ``stride`` bytes apart (a STORE
    writes the output tile of the ``mma`` instructions it waits for: LMMA, or the BitMoD array's BSMMA)."""
    ins = program.instrs[i]
    port_bytes = p.port_bits // 8
    nbytes, rows, stride = ins["bytes"], ins["rows"], ins["stride"]
    packed = _quantize_of(program, i) if ins.op == "STORE" and mma == "LMMA" else None
    if rows > 1 and contiguous(nbytes, rows, stride) and (ins.op == "LOAD" or mma != "LMMA" or packed is not None):
        rows, stride = 1, 0  # contiguous rows: one row (the LUT array's FP16 STORE keeps its rows: it reorders blocks)
    seg = nbytes // rows
    need(nbytes % rows == 0 and seg % port_bytes == 0 and stride % port_bytes == 0 and ins["addr"] % port_bytes == 0,
          where, f"address, stride and row bytes must be multiples of the {port_bytes}-byte port word")
    need(rows == 1 or stride >= seg, where + ".stride", "rows must not overlap", f">= {seg}")
    words = nbytes // port_bytes
    need(ins["addr"] // port_bytes + (rows - 1) * stride // port_bytes + seg // port_bytes <= p.dram_words,
          where + ".addr", f"beyond the {p.dram_words}-word DRAM")
    buf = ins["buf"]
    allowed = ("obuf",) if ins.op == "STORE" else BUFS[:2]
    need(buf in allowed, where + ".buf", f"the RTL {ins.op} uses", ", ".join(allowed))
    blocked = {"blocked": 0, "nbt": 0}
    if ins.op == "LOAD":
        need((i, buf) in region, where + ".alloc", f"a LOAD allocates its {buf} region")
        chunk = region[(i, buf)].base * p.ratio(buf)
    elif mma != "LMMA":   # the BitMoD array: the STORE writes its output tile's partial sums as they lie in obuf
        lm = sorted(d for d in ins.deps if program.instrs[d].op == mma)
        need(bool(lm), where, f"a STORE must wait for the {mma}s of its output tile")
        t = lmma_tile[lm[0]]["tile"]
        need(words == t["words"] * p.ratio("obuf"), where + ".bytes", "the whole output tile's partial sums",
              str(t["words"] * p.ratio("obuf") * port_bytes))
        chunk = t["obase"] * p.ratio("obuf")
    elif packed is not None:   # the KV quantize's packed stream, as it lies in obuf
        kv = lmma_tile[packed]["kv"]
        need(nbytes == kv["bytes"] and rows == 1, where + ".bytes", "the whole packed stream of its KV quantize, "
             "one contiguous transfer", str(kv["bytes"]))
        chunk = kv["sbase"] * p.ratio("obuf")
    else:
        dq = [d for d in ins.deps if program.instrs[d].op in ("DEQUANT", "VEC")]
        need(len(dq) == 1, where, "a STORE waits for the DEQUANT (or bias add) of its output tile")
        t = lmma_tile[dq[0]]["tile"]
        mt = t["blocks"] // (t["nt"] // p.nu) * p.mu
        need(nbytes == mt * t["nt"] * OUT_BITS // 8 and rows == mt and seg == t["nt"] * OUT_BITS // 8, where + ".bytes",
              "the whole output tile's FP16 outputs, one row of nt per DRAM row",
              f"{mt * t['nt'] * OUT_BITS // 8} bytes in {mt} rows")
        chunk = t["obase"] * p.ratio("obuf")
        blocked = {"blocked": 1, "nbt": t["nt"] // p.nu}
    return {"store": int(ins.op == "STORE"), "buf": BUFS.index(buf), "dram": ins["addr"] // port_bytes,
            "rowlen": seg // port_bytes, "stride": stride // port_bytes, "chunk": chunk,
            "count": words, **blocked}


def _lmma_fields(program: Program, i: int, p: ArrayParams, region, tile, lmma_tile, chain, where: str) -> dict:
    """An LMMA's unit word fields: its sub-tile of the output tile (first k-tile: the next place in the
    compiler's am×an split; later k-tiles: that of the LMMA before it in K), its groups' obuf words (per block
    of the tile ``groups`` words, the k-tile's from group k0 / group on) and its weights' planes and metadata
    (:func:`weight_words`)."""
    ins = program.instrs[i]
    need(ins["acts"] == ACTS, where + ".acts", "INT8 activations in the RTL", ACTS)
    pre = _dep(program, ins.deps, "PRECOMPUTE", None, where)
    w = _dep(program, ins.deps, "LOAD", "wbuf", where)
    kg = -(-ins["k"] // p.k)
    need(ins["k"] == program.instrs[pre]["k"] and ins["k"] % p.k == 0, where + ".k",
          "the k of its PRECOMPUTE, a multiple of K")
    k0, slot, gword = chain
    gsize = ins["group"] or ins["k"]
    need(ins["k"] % gsize == 0 and k0 % gsize == 0 and gsize % p.k == 0, where + ".group",
         f"the k-tile (k0 = {k0}, k = {ins['k']}) must be whole quantization groups of {gsize}, each whole K-groups")
    fmt = formats.get(ins["weights"])
    bits, meta = fmt.code_bits, fmt.metadata_bits_per_group()
    need(getattr(fmt, "scale_format", None) == "fp16" and meta in (SCALE_BITS, SCALE_BITS + bits), where + ".weights",
         "integer codes with an FP16 scale per group (and a zero code of the same bits)", "int2..int8[_asym]")
    mw, rem = divmod(p.nu * meta, p.width["wbuf"])
    gk, gt = gsize // p.k, ins["k"] // gsize
    need(rem == 0 and mw <= gk * bits, where + ".group", f"the metadata of Nu columns ({p.nu}·{meta} bits) in whole "
         f"wbuf words, read while the unit fetches the group's {gk}·{bits} planes")
    chained = [d for d in ins.deps if program.instrs[d].op == "LMMA"]
    need(not any(b == "obuf" for b, _, _ in ins.rd) and ins.wr == (("obuf", ins["m"] * ins["n"] * 4 * gt, 1),),
         where, "an LMMA writes its k-tile's group terms (m·n·4 bytes per group) to obuf and reads none")
    if chained:
        need(len(chained) == 1, where, "accumulates onto one LMMA")
        place = lmma_tile[chained[0]]
    else:
        a = _dep(program, program.instrs[pre].deps, "LOAD", "abuf", where)
        owner = next((j for j in (w, a) if (j, "obuf") in region), None)
        need(owner is not None, where, "its weight or activation LOAD allocates the output tile in obuf")
        mt = program.instrs[pre]["m"]
        need(mt % p.mu == 0, where, f"tile rows {mt} must be whole Mu = {p.mu} blocks")
        words = region[(owner, "obuf")].words
        need(words % slot == 0, where, "the output tile's obuf region holds every block's slot of group terms")
        t = tile.setdefault(owner, {"row": 0, "col": 0, "obase": region[(owner, "obuf")].base,
                                    "words": words, "blocks": words // slot, "slot": slot})
        t["nt"] = t["blocks"] * p.mu // mt * p.nu
        row, col = t["row"], t["col"]
        need(row % p.mu == 0 and col % p.nu == 0 and ins["n"] % p.nu == 0 and ins["m"] % p.mu == 0, where,
              f"sub-tile at ({row}, {col}) of {ins['m']}×{ins['n']} must be whole Mu×Nu blocks")
        place = {"tile": t, "row": row, "col": col}
        t["col"] += ins["n"]
        if t["col"] >= t["nt"]:
            t["col"], t["row"] = 0, t["row"] + ins["m"]
    lmma_tile[i] = place
    t, row, col = place["tile"], place["row"], place["col"]
    nbt = t["nt"] // p.nu
    w_ins = program.instrs[w]
    need(w_ins["bytes"] * 8 == t["nt"] * ins["k"] * bits + t["nt"] * gt * meta, where,
         "its weight LOAD holds the tile's code planes and group metadata")
    planes = region[(w, "wbuf")].base + nbt * kg * bits
    return {"tbase": (region[(pre, "tbuf")].base + row // p.mu * kg) % p.tbuf_words, "tstride": kg,
            "wbase": (region[(w, "wbuf")].base + col // p.nu * kg * bits) % p.wbuf_words, "bits": bits, "kg": kg,
            "obase": (t["obase"] + (row // p.mu * nbt + col // p.nu) * slot + gword) % p.obuf_words,
            "ostride": nbt * slot, "gslot": slot, "mb": -(-ins["m"] // p.mu), "nb": ins["n"] // p.nu,
            "gk": gk, "mbase": (planes + col // p.nu * gt * mw) % p.wbuf_words, "mstride": gt * mw, "mw": mw,
            "zero": int(meta > SCALE_BITS)}


def _dequant_fields(program: Program, i: int, p: ArrayParams, lmma_tile, where: str) -> dict:
    """A DEQUANT's vector word: the output tile of the LMMAs it waits for, its blocks, the words it reads per
    block (its groups, plus the FP32 accumulator with ``acc_in``), the tile's slot and its chunk flags."""
    ins = program.instrs[i]
    lm = [d for d in ins.deps if program.instrs[d].op == "LMMA"]
    need(bool(lm), where, "a DEQUANT waits for the LMMAs of its output tile")
    t = lmma_tile[lm[0]]["tile"]
    acc_in, acc_out = ins["acc_in"], ins["acc_out"]
    words = ins["groups"] + acc_in
    chunked = acc_in or acc_out
    need(ins["m"] % p.mu == 0 and ins["n"] == t["nt"] and ins["m"] // p.mu * (ins["n"] // p.nu) == t["blocks"]
         and (words + (acc_out and not acc_in) <= t["slot"] if chunked else ins["groups"] == t["slot"]), where,
         "dequantizes its whole output tile (a chunk: at most the groups of its slot)")
    need(ins.rd == (("obuf", ins["m"] * ins["n"] * 4 * words, 1),)
         and ins.wr == (("obuf", ins["m"] * ins["n"] * (4 if acc_out else OUT_BITS // 8), 1),), where,
         "reads the tile's group terms (and FP32 accumulator) and writes the FP32 accumulator or the FP16 outputs")
    lmma_tile[i] = {"tile": t}
    return {"op": 0, "obase": t["obase"], "blocks": t["blocks"], "groups": words, "gslot": t["slot"],
            "acc_in": acc_in, "acc_out": acc_out, "nbt": t["nt"] // p.nu}


def _bias_fields(program: Program, i: int, p: ArrayParams, region, lmma_tile, where: str) -> dict:
    """A bias add's (VEC residual after a DEQUANT) vector word: its output tile, and the tile's FP16 biases in the
    resident bias LOAD (gemm.emit: the wbuf LOAD of all N biases that no LMMA reads, output tiles after it in DRAM:
    the tile's first column from the address of the STORE that waits for the add)."""
    ins = program.instrs[i]
    dq = [d for d in ins.deps if program.instrs[d].op == "DEQUANT"]
    need(len(dq) == 1, where, "a bias add follows the DEQUANT of its output tile")
    t = lmma_tile[dq[0]]["tile"]
    read = {d for x in program.instrs if x.op == "LMMA" for d in x.deps}
    bias = [j for j, x in enumerate(program.instrs) if x.op == "LOAD" and x["buf"] == "wbuf" and j not in read]
    store = [x for x in program.instrs if x.op == "STORE" and (i in x.deps or _quantize_of(program, x, i))]
    nt = t["nt"]
    need(len(bias) == 1 and len(store) == 1 and ins["elems"] == t["blocks"] * p.mu * p.nu
         and ins.rd == (("wbuf", nt * OUT_BITS // 8, 1),), where, "adds the FP16 biases of the resident bias LOAD "
         "to its whole output tile, which a STORE writes")
    b = program.instrs[bias[0]]
    n = b["bytes"] * 8 // OUT_BITS
    kv = _quantize_of(program, store[0], i)   # a KV-quantized tile spans whole rows (the assembler's rule)
    need(kv is None or nt == n, where, "a KV-quantized output tile spans whole rows", f"nt = {n}")
    n0 = 0 if kv is not None else (store[0]["addr"] - b["addr"] - b["bytes"]) * 8 // OUT_BITS % n
    per = p.width["wbuf"] // OUT_BITS
    need(n0 % per == 0, where, f"the tile's biases start at a wbuf word (column {n0})")
    need(p.bias_add, "arch.arrays", f"a bias add reads a block's Nu = {p.nu} FP16 biases per cycle, more than wbuf's "
         f"{p.wbuf_bits_per_cycle} bits per cycle (banks × ports × width): this array has no bias add "
         "(ArrayParams.bias_add)", f"≥ {-(-p.nu * OUT_BITS * p.units // p.wbuf_bits_per_cycle)}")
    lmma_tile[i] = {"tile": t}
    return {"op": 1, "obase": t["obase"], "blocks": t["blocks"], "groups": 1, "nbt": nt // p.nu,
            "bbase": (region[(bias[0], "wbuf")].base + n0 // per) % p.wbuf_words}


def _quantize_of(program: Program, store, after: int | None = None) -> int | None:
    """The VEC quantize that STORE ``store`` (an index or an instruction) waits for (with ``after``: one that waits
    for instruction ``after``), or None."""
    ins = program.instrs[store] if isinstance(store, int) else store
    hits = [d for d in ins.deps if program.instrs[d].op == "VEC" and program.instrs[d]["op"] == "quantize"
            and (after is None or after in program.instrs[d].deps)]
    return hits[0] if hits else None


def kv_stream_bits(rows: int, cols: int) -> int:
    """Bits of the packed KV stream of ``rows`` tile rows of ``cols`` values, one :data:`KV_FORMAT` group per row:
    per row the codes (column 0 first, 4 bits each, low nibble first), then the group's FP16 scale and zero code;
    rows back to back (the compiler's contiguous rows of fractional bytes, ``out_bytes`` = the format's bits)."""
    fmt = formats.get(KV_FORMAT)
    return rows * (cols * fmt.code_bits + fmt.metadata_bits_per_group())


def _quantize_fields(program: Program, i: int, p: ArrayParams, lmma_tile, where: str) -> dict:
    """A KV quantize's (VEC quantize) vector word: the output tile of the DEQUANT or bias add it waits for, which
    must be the vector instruction just before it (the unit's row statistics are that instruction's outputs'), in
    chunks of Mu·Nu columns of one row (Mu = 2: one obuf word of FP16 blocks), the packed stream from the obuf word
    after the tile's FP16 outputs; one group per tile row (its STORE's bytes: :func:`kv_stream_bits`)."""
    ins = program.instrs[i]
    src = [d for d in ins.deps if program.instrs[d].op in ("DEQUANT", "VEC")]
    vec = [j for j, x in enumerate(program.instrs[:i]) if x.op in ("DEQUANT", "VEC")]
    need(len(src) == 1 and vec and vec[-1] == src[0], where, "a KV quantize follows the DEQUANT or bias add of its "
         "output tile on the vector unit (the row statistics are of that instruction's outputs)")
    t = lmma_tile[src[0]]["tile"]
    nt, lanes = t["nt"], p.mu * p.nu
    nbt = nt // p.nu
    rows = t["blocks"] // nbt * p.mu
    need(p.mu == 2 and nt % lanes == 0 and ins["elems"] == rows * nt, where, f"quantizes its whole output tile in "
         f"chunks of Mu·Nu = {lanes} columns of one row (Mu = 2: one obuf word)", f"nt a multiple of {lanes}")
    store = [x for x in program.instrs if x.op == "STORE" and i in x.deps]
    bits = kv_stream_bits(rows, nt)
    need(len(store) == 1 and store[0]["bytes"] * 8 == bits, where, f"its STORE writes the packed {KV_FORMAT} stream "
         f"of one group per tile row ({rows} rows of {nt}: the KV group spans the tile row, nt = the group size)",
         f"{bits // 8} bytes")
    fmt = formats.get(KV_FORMAT)
    half = -(-t["blocks"] // 2)                                    # obuf words of the tile's FP16 outputs
    need(half + -(-bits // p.width["obuf"]) <= t["words"], where, "the packed stream fits the tile's obuf region "
         "after its FP16 outputs")
    sbase = (t["obase"] + half) % p.obuf_words
    lmma_tile[i] = {"tile": t, "kv": {"sbase": sbase, "bytes": bits // 8}}
    return {"op": VEC_OPS.index("quantize"), "obase": t["obase"], "blocks": rows * nt // lanes, "groups": 1,
            "nbt": nbt, "qchunks": nt // lanes, "pitch": (nt * fmt.code_bits + fmt.metadata_bits_per_group()) // 4,
            "sbase": sbase}


# --- DRAM images (the host's layout of operands for the RTL) -------------------------------------------

def activation_words(a: np.ndarray, p: ArrayParams) -> np.ndarray:
    """INT8 activations (M, K), row-major, packed K per port word (element 0 low) → uint64 words."""
    a = np.asarray(a, dtype=np.int64)
    m, k = a.shape
    need(k % p.k == 0, "a", f"K = {k} must be a multiple of the tile K = {p.k}")
    lanes = (a.reshape(m, k // p.k, p.k) & 0xFF) << (ACT_WIDTH * np.arange(p.k))
    return lanes.sum(axis=-1).reshape(-1).astype(np.uint64)


def plane_words(codes: np.ndarray, bits: int, p: ArrayParams) -> list[int]:
    """Weight codes (N, K) → wbuf words, order (Nu block, K-group, plane LSB first); one word holds
    ``idx`` (Nu × (K−1) bits) then ``neg`` (Nu bits) of one plane (offline index inversion, LUT contract)."""
    codes = np.asarray(codes, dtype=np.int64)
    n, k = codes.shape
    low = (1 << (p.k - 1)) - 1
    g = codes.reshape(n // p.nu, p.nu, k // p.k, p.k)                                # (nb, c, kg, t)
    planes = (g[..., None] >> np.arange(bits)) & 1                                    # (nb, c, kg, t, b)
    pat = (planes << np.arange(p.k)[:, None]).sum(axis=3)                             # (nb, c, kg, b)
    top = pat >> (p.k - 1)
    idx = np.where(top == 1, pat & low, ~pat & low)
    neg = 1 - top
    words = []
    for nb in range(n // p.nu):
        for kg in range(k // p.k):
            for b in range(bits):
                w = 0
                for c in range(p.nu):
                    w |= int(idx[nb, c, kg, b]) << (c * (p.k - 1))
                    w |= int(neg[nb, c, kg, b]) << (p.nu * (p.k - 1) + c)
                words.append(w)
    return words


def meta_words(scales: np.ndarray, zeros: np.ndarray | None, bits: int, p: ArrayParams) -> list[int]:
    """Group metadata of a weight tile, (N, G) FP16 scales and (with ``zeros``, an asymmetric format) integer zero
    codes → wbuf words, order (Nu block, group): per record the Nu scales (16 bits each, column 0 low), then the
    Nu zero codes of ``bits`` bits, in Nu·meta / W whole words (the LUT unit's metadata port reads them)."""
    scales = np.asarray(scales, dtype=np.float64)
    n, g = scales.shape
    s16 = scales.astype(np.float16).view(np.uint16).astype(np.int64)
    need(np.array_equal(s16.astype(np.uint16).view(np.float16).astype(np.float64), scales), "scales", "FP16 values")
    z = None if zeros is None else np.rint(np.asarray(zeros, dtype=np.float64)).astype(np.int64)
    width = p.width["wbuf"]
    out = []
    for nb in range(n // p.nu):
        for gi in range(g):
            rec, shift = 0, 0
            for c in range(p.nu):
                rec |= int(s16[nb * p.nu + c, gi]) << shift
                shift += SCALE_BITS
            if z is not None:
                for c in range(p.nu):
                    rec |= int(z[nb * p.nu + c, gi]) << shift
                    shift += bits
            out.extend((rec >> o) & ((1 << width) - 1) for o in range(0, shift, width))
    return out


def fp16_outputs(port_words, m: int, n: int, p: ArrayParams) -> np.ndarray:
    """Stored FP16 outputs, row-major (M, N), OUT_BITS per element in port words (element 0 low) → float64."""
    per = p.port_bits // OUT_BITS
    v = np.asarray(port_words, dtype=np.uint64)[:m * n // per]
    halves = (v[:, None] >> (OUT_BITS * np.arange(per, dtype=np.uint64))) & 0xFFFF
    return halves.reshape(m, n).astype(np.uint16).view(np.float16).astype(np.float64)


def kv_stream_words(values: np.ndarray, p: ArrayParams) -> list[int]:
    """FP16 values (M, N) quantized as the simulator's KV cache does (``sim.formats`` :data:`KV_FORMAT`, one group
    per row of N) → the port words of their packed stream (:func:`kv_stream_bits`: per row the codes, then the FP16
    scale and the zero code; bit 0 of the stream is bit 0 of word 0)."""
    fmt = formats.get(KV_FORMAT)
    values = np.asarray(values, dtype=np.float64)
    m, n = values.shape
    q = fmt.quantize(values, group_size=n)
    scale = q.scales.astype(np.float16).view(np.uint16)
    stream, shift = 0, 0
    for r in range(m):
        for c in range(n):
            stream |= int(q.codes[r, c]) << shift
            shift += fmt.code_bits
        stream |= int(scale[r, 0]) << shift | int(q.zeros[r, 0]) << (shift + SCALE_BITS)
        shift += fmt.metadata_bits_per_group()
    mask = (1 << p.port_bits) - 1
    return [(stream >> o) & mask for o in range(0, shift, p.port_bits)]


def split_words(words: list[int], width: int, port_bits: int) -> list[int]:
    """Buffer words of ``width`` bits → port words, low part first."""
    mask = (1 << port_bits) - 1
    return [(w >> s) & mask for w in words for s in range(0, width, port_bits)]


__all__ = ["activation_words", "assemble", "contiguous", "fp16_outputs", "kv_stream_bits", "kv_stream_words",
           "meta_words", "plane_words", "split_words"]
