"""Host side of the RTL LUT array (rtl/gateware/lut_array.py): the instruction-memory words it
executes, assembled from an ISA program, and its DRAM data layout. Parameters and word encoding:
rtl/gateware/array_params.py.

The ISA names no buffer addresses, so :func:`assemble` resolves them (what a loader does): each buffer is
a ring, every ``alloc`` takes, in program order, the next run of words (the RTL words the instruction
uses: a LOAD's transfer, an output tile's Mu×Nu blocks, a PRECOMPUTE's tables) that no region live at the
same time in the engine's schedule of the program (which the RTL follows cycle for cycle) occupies. The ``alloc``
/ ``free`` byte lists go into the words unchanged: the controller waits for space as the engine does.
PRECOMPUTE reads the activation LOAD it depends on, an LMMA reads the tables of its PRECOMPUTE and the
weights of its wbuf LOAD at the sub-tile offset given by its place in the compiler's am×an split (later
k-tiles accumulate onto the obuf blocks of the LMMA they depend on), and a STORE writes the obuf region
of the LMMAs it waits for. SYNCs become dependency masks (a SYNC is a zero-cycle join, in order with the
SYNCs before it: the engine's rule); those that free space are also sync-class words.

Subset: LOAD (abuf, wbuf; 2-D: equal rows, port-word aligned), PRECOMPUTE, LMMA (k-tiles accumulate in
obuf), STORE (obuf), SYNC. DEQUANT and VEC (the epilogue) run on the host: :func:`host_epilogue` drops
them and makes each STORE write the INT32 partial sums (its obuf bytes) instead of the dequantized output;
each LMMA then reads only its weights' code planes from wbuf (the group scales go to the host with the
partial sums).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import engine, formats
from sim.arch import Arch
from sim.errors import InputError
from sim.isa import Instr, Program

from ..gateware.array_controller import ALLOCATING
from ..gateware.array_params import ACT_WIDTH, ACTS, BUFS, SPACE, ArrayParams, ArrayProgram, need


def host_epilogue(program: Program) -> Program:
    """``program`` without DEQUANT / VEC (dependencies on them pass through to their own), each STORE
    writing its obuf partial sums (the bytes its ``free`` releases from obuf) contiguously, the output
    tiles one after another in program order from the lowest STORE address, and each LMMA's wbuf read
    cut to its code planes (n·k·code_bits bits: no group scales)."""
    deps_of: dict[int, tuple[int, ...]] = {}  # old index -> new indices it stands for
    out = Program(arch=program.arch)
    stores = [ins["addr"] for ins in program.instrs if ins.op == "STORE"]
    next_addr = min(stores) if stores else 0
    for i, ins in enumerate(program.instrs):
        deps = tuple(sorted({e for d in ins.deps for e in deps_of[d]}))
        if ins.op in ("DEQUANT", "VEC"):
            deps_of[i] = deps
            continue
        deps_of[i] = (len(out.instrs),)
        if ins.op == "STORE":
            nbytes = sum(b for name, b in ins.free if name == "obuf")
            args = dict(ins.args, addr=next_addr, bytes=nbytes, rows=1, stride=0)
            next_addr += nbytes
            ins = Instr(ins.op, tuple(args.items()), ins.deps, ins.alloc, ins.free, ins.rd, ins.wr, ins.label)
        rd = ins.rd
        if ins.op == "LMMA":  # the unit reads only the code planes; the group scales are the host's
            code_bytes = -(-ins["n"] * ins["k"] * formats.get(ins["weights"]).code_bits // 8)
            rd = tuple((name, code_bytes if name == "wbuf" else nbytes, stride) for name, nbytes, stride in rd)
        out.instrs.append(Instr(ins.op, ins.args, deps, ins.alloc, ins.free, rd, ins.wr, ins.label))
    out.validate()
    return out


_CLASS = {"LOAD": "dma", "STORE": "dma", "PRECOMPUTE": "table", "LMMA": "array", "SYNC": "sync"}


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
        need(nbytes * 8 % p.width["obuf"] == 0, where + ".alloc", "whole obuf words (Mu×Nu partial sums)")
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


def assemble(program: Program, arch: Arch, p: ArrayParams) -> ArrayProgram:
    """Instruction-memory contents for ``program`` (run :func:`host_epilogue` first); InputError names
    the instruction outside the RTL subset or layout rules. Buffer regions: :func:`_place`."""
    program.validate()
    eff = _join_syncs(program)
    ids = {i: n for n, i in enumerate(i for i, ins in enumerate(program.instrs) if ins.op != "SYNC")}
    need(len(ids) <= p.max_instrs, "program", f"{len(ids)} instructions, the RTL holds {p.max_instrs}")
    port_bytes = p.port_bits // 8
    region = _regions(program, p)                  # (allocating instruction, buffer) -> region
    _place(list(region.values()), program, arch, p)
    tile: dict[int, dict] = {}                    # obuf-allocating instruction -> output tile placement
    lmma_tile: dict[int, dict] = {}               # LMMA -> its sub-tile's obuf placement
    out = ArrayProgram(count=len(ids))
    out.frees = [{} for _ in ids]
    for i, ins in enumerate(program.instrs):
        where = f"instr[{i}]"
        alloc = _space(ins.alloc, "alloc", where)
        free = _space(ins.free, "free", where)
        if ins.op == "SYNC":
            if free:
                out.sync.append({"deps": sum(1 << ids[d] for d in eff[i]), "free": free})
            continue
        out.frees[ids[i]] = free
        head = {"id": ids[i], "deps": sum(1 << ids[d] for d in eff[i])}
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
            out.array.append({**head, **_lmma_fields(program, i, p, region, tile, lmma_tile, where)})
        else:
            raise InputError(where + ".op", f"{ins.op} is not in the RTL array's subset (host_epilogue drops "
                             "DEQUANT and VEC)", "LOAD, PRECOMPUTE, LMMA, STORE, SYNC")
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
    if rows > 1 and contiguous(nbytes, rows, stride):
        rows, stride = 1, 0  # contiguous rows: one row
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
    if ins.op == "LOAD":
        need((i, buf) in region, where + ".alloc", f"a LOAD allocates its {buf} region")
        chunk = region[(i, buf)].base * p.ratio(buf)
    else:
        lm = sorted(d for d in ins.deps if program.instrs[d].op == mma)
        need(bool(lm), where, f"a STORE must wait for the {mma}s of its output tile")
        t = lmma_tile[lm[0]]["tile"]
        need(words == t["words"] * p.ratio("obuf"), where + ".bytes", "the whole output tile's partial sums",
              str(t["words"] * p.ratio("obuf") * port_bytes))
        chunk = t["obase"] * p.ratio("obuf")
    return {"store": int(ins.op == "STORE"), "buf": BUFS.index(buf), "dram": ins["addr"] // port_bytes,
            "rowlen": seg // port_bytes, "stride": stride // port_bytes, "chunk": chunk,
            "count": words}


def _lmma_fields(program: Program, i: int, p: ArrayParams, region, tile, lmma_tile, where: str) -> dict:
    """An LMMA's unit word fields: its sub-tile of the output tile (first k-tile: the next place in the
    compiler's am×an split; later k-tiles: that of the LMMA it accumulates onto)."""
    ins = program.instrs[i]
    need(ins["acts"] == ACTS, where + ".acts", "INT8 activations in the RTL", ACTS)
    pre = _dep(program, ins.deps, "PRECOMPUTE", None, where)
    w = _dep(program, ins.deps, "LOAD", "wbuf", where)
    kg = -(-ins["k"] // p.k)
    need(ins["k"] == program.instrs[pre]["k"] and ins["k"] % p.k == 0, where + ".k",
          "the k of its PRECOMPUTE, a multiple of K")
    chained = [d for d in ins.deps if program.instrs[d].op == "LMMA"]
    accumulate = any(b == "obuf" for b, _, _ in ins.rd)
    need(accumulate == bool(chained), where + ".rd", "an LMMA reads obuf exactly when it accumulates onto an LMMA")
    if chained:
        need(len(chained) == 1, where, "accumulates onto one LMMA")
        place = lmma_tile[chained[0]]
    else:
        a = _dep(program, program.instrs[pre].deps, "LOAD", "abuf", where)
        owner = next((j for j in (w, a) if (j, "obuf") in region), None)
        need(owner is not None, where, "its weight or activation LOAD allocates the output tile in obuf")
        mt = program.instrs[pre]["m"]
        need(mt % p.mu == 0, where, f"tile rows {mt} must be whole Mu = {p.mu} blocks")
        t = tile.setdefault(owner, {"row": 0, "col": 0, "obase": region[(owner, "obuf")].base,
                                    "words": region[(owner, "obuf")].words})
        t["nt"] = t["words"] * p.mu // mt * p.nu
        row, col = t["row"], t["col"]
        need(row % p.mu == 0 and col % p.nu == 0 and ins["n"] % p.nu == 0 and ins["m"] % p.mu == 0, where,
              f"sub-tile at ({row}, {col}) of {ins['m']}×{ins['n']} must be whole Mu×Nu blocks")
        place = {"tile": t, "row": row, "col": col}
        t["col"] += ins["n"]
        if t["col"] >= t["nt"]:
            t["col"], t["row"] = 0, t["row"] + ins["m"]
    lmma_tile[i] = place
    t, row, col = place["tile"], place["row"], place["col"]
    bits = formats.get(ins["weights"]).code_bits
    nbt = t["nt"] // p.nu
    return {"tbase": (region[(pre, "tbuf")].base + row // p.mu * kg) % p.tbuf_words, "tstride": kg,
            "wbase": (region[(w, "wbuf")].base + col // p.nu * kg * bits) % p.wbuf_words, "bits": bits, "kg": kg,
            "obase": (t["obase"] + row // p.mu * nbt + col // p.nu) % p.obuf_words, "ostride": nbt,
            "mb": -(-ins["m"] // p.mu), "nb": ins["n"] // p.nu, "acc": int(accumulate)}


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


def split_words(words: list[int], width: int, port_bits: int) -> list[int]:
    """Buffer words of ``width`` bits → port words, low part first."""
    mask = (1 << port_bits) - 1
    return [(w >> s) & mask for w in words for s in range(0, width, port_bits)]


def output_values(port_words: np.ndarray, m: int, n: int, p: ArrayParams) -> np.ndarray:
    """A stored output tile (obuf words of Mu×Nu INT32, row-major blocks) → (m, n) int64."""
    v = np.asarray(port_words, dtype=np.int64) & ((1 << p.port_bits) - 1)
    per = p.acc_width // p.port_bits if p.acc_width >= p.port_bits else 1
    need(per == 1, "acc_width", "the decoder reads one accumulator per port word", str(p.port_bits))
    v = np.where(v >= 1 << (p.acc_width - 1), v - (1 << p.acc_width), v)
    blocks = v.reshape(m // p.mu, n // p.nu, p.mu, p.nu)
    return blocks.transpose(0, 2, 1, 3).reshape(m, n)


__all__ = ["activation_words", "assemble", "contiguous", "host_epilogue", "output_values", "plane_words", "split_words"]
