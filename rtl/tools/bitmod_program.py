"""Host side of the RTL BitMoD array (rtl/gateware/bitmod_array.py): the instruction-memory words it executes,
assembled from an ISA program, its DRAM data layout and the host's epilogue. Parameters and the BSMMA word:
rtl/gateware/bitmod_params.py.

Buffer regions, SYNCs, LOADs and STOREs are the LUT array's (rtl/tools/array_program.py: ring regions placed
from the engine's schedule, SYNCs as dependency masks, 2-D DMA transfers); run :func:`host_epilogue` first
(DEQUANT dropped, STOREs writing the FP32 partial sums; the LUT array runs its DEQUANT itself). A BSMMA reads the
activation rows of its abuf LOAD and the weight rows of its wbuf LOAD and writes its whole output tile (FP32,
row-major) into the obuf region its LOAD allocated; a BSMMA that depends on a BSMMA accumulates onto that one's
tile (k-tiles).

DRAM layout (:func:`weight_row_words`): a weight row's bytes of one k-tile (the compiler's
``k0 · w_bytes`` offset in the row) hold its codes (``code_bits`` each, element 0 lowest, whole port words)
and then its groups' metadata (BitMoD: the tag/scale byte; INT: the FP16 group scale). Activations are FP16,
row-major, two per port word.
"""

from __future__ import annotations

import numpy as np

from sim.arch import Arch
from sim.errors import InputError
from sim.formats import get as get_format
from sim.isa import Instr, Program
from sim.pe.bitmod_pe import ACT_BITS, LANES

from ..gateware.array_params import ArrayProgram, need
from ..gateware.bitmod_params import ACTS, BitModParams
from .array_program import _dep, _dma_fields, _unit_words


def host_epilogue(program: Program) -> Program:
    """``program`` without DEQUANT / VEC (dependencies on them pass through to their own), each STORE writing its
    obuf partial sums (the bytes its ``free`` releases from obuf) contiguously, the output tiles one after another
    in program order from the lowest STORE address (the host then applies the channel scale:
    :func:`host_epilogue_values`)."""
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
        args = ins.args
        if ins.op == "STORE":
            nbytes = sum(b for name, b in ins.free if name == "obuf")
            args = tuple(dict(ins.args, addr=next_addr, bytes=nbytes, rows=1, stride=0).items())
            next_addr += nbytes
        out.instrs.append(Instr(ins.op, args, deps, ins.alloc, ins.free, ins.rd, ins.wr, ins.label))
    out.validate()
    return out


def assemble(program: Program, arch: Arch, p: BitModParams) -> ArrayProgram:
    """Instruction-memory contents for ``program`` (after :func:`rtl.tools.array_program.host_epilogue`);
    InputError names the instruction outside the RTL subset or its layout rules."""
    out, region, words = _unit_words(program, arch, p)
    tiles: dict[int, dict] = {}                   # BSMMA -> {"tile": its output tile's obuf region}
    for i, ins, where, head, alloc in words:
        if ins.op in ("LOAD", "STORE"):
            out.dma.append({**head, "alloc": alloc,
                            **_dma_fields(program, i, p, region, tiles, where, mma="BSMMA")})
        elif ins.op == "BSMMA":
            out.array.append({**head, **_bsmma_fields(program, i, p, region, tiles, where)})
        else:
            raise InputError(where + ".op", f"{ins.op} is not in the RTL BitMoD array's subset (host_epilogue drops "
                             "DEQUANT and VEC)", "LOAD, BSMMA, STORE, SYNC")
    return out


def _bsmma_fields(program: Program, i: int, p: BitModParams, region, tiles, where: str) -> dict:
    """A BSMMA's unit word fields (see rtl.gateware.bitmod_params.layouts)."""
    ins = program.instrs[i]
    m, n, k, group = ins["m"], ins["n"], ins["k"], ins["group"]
    need(ins["acts"] == ACTS, where + ".acts", "FP16 activations in the BitMoD PE", ACTS)
    need(ins["weights"] == p.weights, where + ".weights", f"this array's PEs are built for {p.weights}", p.weights)
    need(ins["map"] == "arch", where + ".map", "the arch's mapping (PE (r, c) holds output (n, m))", "arch")
    need(group % LANES == 0 and k % group == 0, where + ".group",
         f"whole groups of whole {LANES}-lane steps (abuf words)", f"a multiple of {LANES} dividing k")
    wb = p.wbuf_width
    need(k * p.code_bits % wb == 0 and k // group * p.meta_bits % wb == 0, where + ".k",
         f"a weight row's codes and its metadata must each be whole {wb}-bit wbuf words")
    code_words, meta_words = k * p.code_bits // wb, k // group * p.meta_bits // wb
    a = _dep(program, ins.deps, "LOAD", "abuf", where)
    w = _dep(program, ins.deps, "LOAD", "wbuf", where)
    need(program.instrs[a]["bytes"] == m * k * ACT_BITS // 8, where, "its activation LOAD must hold its m rows of k")
    need(program.instrs[w]["bytes"] * 8 == n * (code_words + meta_words) * wb, where,
         "its weight LOAD must hold its n rows of k codes and their metadata")
    chained = [d for d in ins.deps if program.instrs[d].op == "BSMMA"]
    accumulate = any(b == "obuf" for b, _, _ in ins.rd)
    need(accumulate == bool(chained), where + ".rd", "a BSMMA reads obuf exactly when it accumulates onto a BSMMA")
    if chained:
        need(len(chained) == 1, where, "accumulates onto one BSMMA")
        place = tiles[chained[0]]
        need(place["m"] == m and place["n"] == n, where, "accumulates onto a BSMMA of the same m × n")
    else:
        owner = next((j for j in (w, a) if (j, "obuf") in region), None)
        need(owner is not None, where, "its weight or activation LOAD allocates the output tile in obuf")
        r = region[(owner, "obuf")]
        need(r.words == m * n and not any(t["tile"]["owner"] == owner for t in tiles.values()), where,
             "one BSMMA per output tile (the compiler's am = an = 1)")
        place = {"tile": {"obase": r.base, "words": r.words, "owner": owner}, "m": m, "n": n}
    tiles[i] = place
    return {"abase": region[(a, "abuf")].base, "astride": k // LANES, "wbase": region[(w, "wbuf")].base,
            "wstride": code_words + meta_words, "moff": code_words, "obase": place["tile"]["obase"], "ostride": n,
            "m": m, "n": n, "groups": k // group, "gsteps": group // LANES, "acc": int(accumulate)}


# --- DRAM images (the host's layout of operands for the RTL) and the epilogue ----------------------------

def _pack(values: np.ndarray, bits: int, word_bits: int) -> list[int]:
    """Unsigned ``bits``-bit values, element 0 lowest, into ``word_bits``-bit words (zero padded)."""
    per = word_bits // bits
    v = np.asarray(values, dtype=np.int64).reshape(-1)
    v = np.concatenate([v, np.zeros(-len(v) % per, dtype=np.int64)]).reshape(-1, per)
    return [int(x) for x in (v << (bits * np.arange(per))).sum(axis=1)]


def activation_words(a: np.ndarray, p: BitModParams) -> list[int]:
    """FP16 activations (M, K), row-major, element 0 lowest → port words."""
    bits = np.asarray(a, dtype=np.float64).astype(np.float16).view(np.uint16)
    need(bits.size * ACT_BITS % p.port_bits == 0, "a", f"whole {p.port_bits}-bit port words of FP16 values")
    return _pack(bits, ACT_BITS, p.port_bits)


def metadata(qw) -> np.ndarray:
    """Per (n, group) metadata as stored: BitMoD the tag/scale byte; INT the FP16 group scale's bits."""
    if qw.fmt.startswith("bitmod"):
        return np.asarray(qw.tags, dtype=np.int64)
    return np.asarray(qw.scales, dtype=np.float64).astype(np.float16).view(np.uint16).astype(np.int64)


def weight_row_words(qw, n: int, k0: int, kt: int, p: BitModParams) -> list[int]:
    """Port words of row ``n``'s k-tile ``[k0, k0 + kt)``: its codes, then its groups' metadata."""
    g = qw.group_size
    need(k0 % g == 0 and kt % g == 0, "kt", f"k-tiles of whole groups of {g}")
    codes = _pack(np.asarray(qw.codes, dtype=np.int64)[n, k0:k0 + kt], p.code_bits, p.port_bits)
    meta = _pack(metadata(qw)[n, k0 // g:(k0 + kt) // g], p.meta_bits, p.port_bits)
    return codes + meta


def fp32_values(words) -> np.ndarray:
    """Stored FP32 bit patterns → float32 values."""
    return np.asarray(words, dtype=np.uint64).astype(np.uint32).view(np.float32)


def host_epilogue_values(o: np.ndarray, qw) -> np.ndarray:
    """The BitMoD PE's last step on the host: ``fp32(O · chan)`` with the FP16 channel scale (BitMoD
    formats; sim.pe.bitmod_pe applies it the same way), or ``O`` (INT formats). ``o``: (M, N) float32."""
    o = np.asarray(o, dtype=np.float32)
    if not qw.fmt.startswith("bitmod"):
        return o
    chan = get_format(qw.fmt).channel_scales(qw)[:, 0].astype(np.float64)
    return (o.astype(np.float64) * chan[None, :]).astype(np.float32)


__all__ = ["activation_words", "assemble", "fp32_values", "host_epilogue", "host_epilogue_values", "metadata",
           "weight_row_words"]
