"""Host side of the RTL LUT array (rtl/gateware/lut_array.py): the instruction-memory words it
executes, assembled from an ISA program, and its DRAM data layout. Parameters and word encoding:
rtl/gateware/array_params.py.

The ISA names no buffer addresses, so :func:`assemble` resolves them (what a loader does): a bump
allocator per buffer, PRECOMPUTE reads the activation LOAD it depends on, an LMMA reads the tables of
its PRECOMPUTE and the weights of its wbuf LOAD at the sub-tile offset given by its place in the
compiler's am×an split, and a STORE writes the obuf region of the LMMAs it waits for. SYNCs become
dependency masks (a SYNC is a zero-cycle join, in order with the SYNCs before it: the engine's rule).

Subset: LOAD (abuf, wbuf), PRECOMPUTE, LMMA (one k-tile per output tile: no obuf reload), STORE (obuf),
SYNC. DEQUANT and VEC (the epilogue) run on the host: :func:`host_epilogue` drops them and makes each
STORE write the INT32 partial sums (its obuf bytes) instead of the dequantized output; each LMMA then
reads only its weights' code planes from wbuf (the group scales go to the host with the partial sums).
"""

from __future__ import annotations

import numpy as np

from sim import formats
from sim.arch import Arch
from sim.errors import InputError
from sim.isa import Instr, Program

from ..gateware.array_params import ACT_WIDTH, ACTS, BUFS, ArrayParams, ArrayProgram, need


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


class _Bump:
    """Bump allocator of one buffer (words)."""

    def __init__(self, name: str, words: int):
        self.name, self.words, self.next = name, words, 0

    def take(self, n: int, where: str) -> int:
        need(self.next + n <= self.words, where, f"{self.name} full: {self.next + n} words of {self.words}")
        self.next += n
        return self.next - n


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


def assemble(program: Program, arch: Arch, p: ArrayParams) -> ArrayProgram:
    """Instruction-memory contents for ``program`` (run :func:`host_epilogue` first); InputError names
    the instruction outside the RTL subset or layout rules."""
    program.validate()
    eff = _join_syncs(program)
    ids = {i: n for n, i in enumerate(i for i, ins in enumerate(program.instrs) if ins.op != "SYNC")}
    need(len(ids) <= p.max_instrs, "program", f"{len(ids)} instructions, the RTL holds {p.max_instrs}")
    port_bytes = p.port_bits // 8
    bump = {b: _Bump(b, getattr(p, f"{b}_words")) for b in ("abuf", "wbuf", "tbuf", "obuf")}
    region: dict[int, int] = {}     # LOAD / PRECOMPUTE index -> buffer word
    tile: dict[tuple, dict] = {}    # (PRECOMPUTE, weight LOAD) -> output tile placement
    lmma_tile: dict[int, dict] = {}
    out = ArrayProgram(count=len(ids))
    for i, ins in enumerate(program.instrs):
        where = f"instr[{i}]"
        if ins.op == "SYNC":
            continue
        head = {"id": ids[i], "deps": sum(1 << ids[d] for d in eff[i])}
        if ins.op in ("LOAD", "STORE"):
            nbytes, rows, stride = ins["bytes"], ins["rows"], ins["stride"]
            need(ins["addr"] % port_bytes == 0 and nbytes % port_bytes == 0, where,
                  f"address and bytes must be multiples of the {port_bytes}-byte port word")
            need(rows == 1 or stride in (0, nbytes // rows), where + ".stride", "the RTL DMA is contiguous")
            need(ins["addr"] // port_bytes + nbytes // port_bytes <= p.dram_words, where + ".addr",
                  f"beyond the {p.dram_words}-word DRAM")
            buf = ins["buf"]
            allowed = ("obuf",) if ins.op == "STORE" else BUFS[:2]
            need(buf in allowed, where + ".buf", f"the RTL {ins.op} uses", ", ".join(allowed))
            words = nbytes // port_bytes
            if ins.op == "LOAD":
                r = p.ratio(buf)
                region[i] = bump[buf].take(-(-words // r), where)
                chunk = region[i] * r
            else:
                lm = sorted(d for d in ins.deps if program.instrs[d].op == "LMMA")
                need(bool(lm), where, "a STORE must wait for the LMMAs of its output tile")
                t = lmma_tile[lm[0]]
                need(words == t["words"] * p.ratio("obuf"), where + ".bytes", "the whole output tile's partial sums",
                      str(t["words"] * p.ratio("obuf") * port_bytes))
                chunk = t["obase"] * p.ratio("obuf")
            out.dma.append({**head, "store": int(ins.op == "STORE"), "buf": BUFS.index(buf),
                            "dram": ins["addr"] // port_bytes, "chunk": chunk, "count": words})
        elif ins.op == "PRECOMPUTE":
            need(ins["acts"] == ACTS, where + ".acts", "INT8 activations in the RTL", ACTS)
            a = _dep(program, ins.deps, "LOAD", "abuf", where)
            kg = -(-ins["k"] // p.k)
            groups = -(-ins["m"] // p.mu)
            need(program.instrs[a]["bytes"] == ins["m"] * kg * port_bytes, where,
                  "its activation LOAD must hold m rows of k (a multiple of K) INT8 values")
            region[i] = bump["tbuf"].take(groups * kg, where)
            out.table.append({**head, "abase": region[a], "astride": kg, "tbase": region[i], "groups": groups,
                              "kg": kg, "rows": ins["m"]})
        elif ins.op == "LMMA":
            need(ins["acts"] == ACTS, where + ".acts", "INT8 activations in the RTL", ACTS)
            need(not any(b == "obuf" for b, _, _ in ins.rd), where, "obuf reload (several k-tiles) is not built")
            pre = _dep(program, ins.deps, "PRECOMPUTE", None, where)
            w = _dep(program, ins.deps, "LOAD", "wbuf", where)
            kg = -(-ins["k"] // p.k)
            mt = program.instrs[pre]["m"]
            need(ins["k"] == program.instrs[pre]["k"] and ins["k"] % p.k == 0, where + ".k",
                  "the k of its PRECOMPUTE, a multiple of K")
            t = tile.setdefault((pre, w), {"row": 0, "col": 0, "area": 0, "nt": None, "obase": None})
            fmt = formats.get(ins["weights"])
            bits = fmt.code_bits
            if t["nt"] is None:  # the tile's columns: the weight LOAD holds nt × k codes plus metadata
                group = ins["group"] or fmt.default_group_size or ins["k"]
                per_col = ins["k"] * bits + -(-ins["k"] // group) * fmt.metadata_bits_per_group()
                t["nt"] = program.instrs[w]["bytes"] * 8 // per_col
                need(t["nt"] % p.nu == 0 and mt % p.mu == 0, where, f"tile {mt}×{t['nt']} must be whole Mu×Nu blocks")
                t["words"] = mt // p.mu * t["nt"] // p.nu
                t["obase"] = bump["obuf"].take(t["words"], where)
            row, col = t["row"], t["col"]
            need(row % p.mu == 0 and col % p.nu == 0 and ins["n"] % p.nu == 0, where,
                  f"sub-tile at ({row}, {col}) of {ins['m']}×{ins['n']} must be whole Mu×Nu blocks")
            nbt = t["nt"] // p.nu
            out.array.append({**head, "tbase": region[pre] + row // p.mu * kg, "tstride": kg,
                              "wbase": region[w] + col // p.nu * kg * bits, "bits": bits, "kg": kg,
                              "obase": t["obase"] + row // p.mu * nbt + col // p.nu, "ostride": nbt,
                              "mb": -(-ins["m"] // p.mu), "nb": ins["n"] // p.nu})
            lmma_tile[i] = t
            t["col"] += ins["n"]
            if t["col"] >= t["nt"]:
                t["col"], t["row"] = 0, t["row"] + ins["m"]
        else:
            raise InputError(where + ".op", f"{ins.op} is not in the RTL array's subset (host_epilogue drops "
                             "DEQUANT and VEC)", "LOAD, PRECOMPUTE, LMMA, STORE, SYNC")
    return out


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


__all__ = ["activation_words", "assemble", "host_epilogue", "output_values", "plane_words", "split_words"]
