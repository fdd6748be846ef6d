"""Host side of the RTL BitMoD array (rtl/gateware/bitmod_array.py): the instruction-memory words it executes,
assembled from the compiler's program unchanged, and its DRAM data layout. Parameters and the unit words:
rtl/gateware/bitmod_params.py.

Buffer regions, SYNCs, LOADs and STOREs are the LUT array's (rtl/tools/array_program.py: ring regions placed
from the engine's schedule, SYNCs as dependency masks, 2-D DMA transfers). A BSMMA reads the activation rows of
its abuf LOAD and the weight rows of its wbuf LOAD and writes its whole output tile (FP32, row-major) into the
obuf region its LOAD allocated; a BSMMA that depends on a BSMMA accumulates onto that one's tile (k-tiles). The
tile's DEQUANT (groups=1: the arch's ``pe.options.channel_scales``) scales it by the FP16 channel scales of the
resident channel-scale LOAD (BitMoD formats) and leaves FP16 outputs in the tile's first half, which its STORE
writes as the compiler addresses them (rows of the M×N FP16 output).

DRAM layout (:func:`weight_row_words`): a weight row's bytes of one k-tile (the compiler's
``k0 · w_bytes`` offset in the row) hold its codes (``code_bits`` each, element 0 lowest, whole port words)
and then its groups' metadata (BitMoD: the tag/scale byte; INT: the FP16 group scale); after all weight rows
(and biases) the N FP16 channel scales (:func:`channel_scale_words`). Activations and outputs are FP16,
row-major, two per port word.
"""

from __future__ import annotations

import numpy as np

from sim.arch import Arch
from sim.errors import InputError
from sim.formats import get as get_format
from sim.isa import Program
from sim.pe.bitmod_pe import ACT_BITS, CHANNEL_SCALE_BITS, LANES

from ..gateware.array_params import OUT_BITS, ArrayProgram, need
from ..gateware.bitmod_params import ACTS, FP32_BITS, BitModParams
from .array_program import _dep, _dma_fields, _unit_words


def assemble(program: Program, arch: Arch, p: BitModParams) -> ArrayProgram:
    """Instruction-memory contents for ``program`` (the compiler's, unchanged); InputError names the instruction
    outside the RTL subset or its layout rules."""
    out, region, words = _unit_words(program, arch, p)
    tiles: dict[int, dict] = {}                   # BSMMA / DEQUANT -> {"tile": its output tile's obuf words}
    for i, ins, where, head, alloc in words:
        if ins.op == "LOAD":
            out.dma.append({**head, "alloc": alloc, **_dma_fields(program, i, p, region, tiles, where, mma="BSMMA")})
        elif ins.op == "STORE":   # the FP16 outputs DEQUANT left in obuf, two per word, row-major in the tile
            out.dma.append({**head, "alloc": alloc, **_dma_fields(program, i, p, region, tiles, where, mma="DEQUANT")})
        elif ins.op == "BSMMA":
            out.array.append({**head, **_bsmma_fields(program, i, p, region, tiles, where)})
        elif ins.op == "DEQUANT":
            out.vector.append({**head, **_dequant_fields(program, i, p, region, tiles, where)})
        else:
            raise InputError(where + ".op", f"{ins.op} is not in the RTL BitMoD array's subset",
                             "LOAD, BSMMA, DEQUANT, STORE, SYNC")
    return out


def _dequant_fields(program: Program, i: int, p: BitModParams, region, tiles, where: str) -> dict:
    """A DEQUANT's vector word (rtl.gateware.bitmod_params.layouts): the output tile of the BSMMA it waits for and,
    for a BitMoD format, the tile's channel scales in the resident channel-scale LOAD (gemm.emit: the wbuf LOAD of
    all N FP16 scales that no BSMMA reads, the outputs after it in DRAM: the tile's first column from the address
    of the STORE that waits for the DEQUANT)."""
    ins = program.instrs[i]
    mma = [d for d in ins.deps if program.instrs[d].op == "BSMMA"]
    need(len(mma) == 1, where, "a DEQUANT waits for the last BSMMA of its output tile")
    place = tiles[mma[0]]
    m, n = ins["m"], ins["n"]
    need(place["m"] == m and place["n"] == n and ins["groups"] == 1, where,
         "rescales its BSMMA's whole output tile once per output (groups=1: the arch's pe.options.channel_scales)")
    cbase = 0
    if p.has_channel_scale:
        read = {d for x in program.instrs if x.op == "BSMMA" for d in x.deps}
        chan = [j for j, x in enumerate(program.instrs) if x.op == "LOAD" and x["buf"] == "wbuf" and j not in read]
        store = [x for x in program.instrs if x.op == "STORE" and i in x.deps]
        need(len(chan) == 1 and len(store) == 1 and ins.rd == (("obuf", m * n * FP32_BITS // 8, 1),
                                                               ("wbuf", n * CHANNEL_SCALE_BITS // 8, 1)), where,
             "scales its whole output tile by the FP16 channel scales of the resident LOAD of all N; a STORE waits")
        c = program.instrs[chan[0]]
        n_all = c["bytes"] * 8 // CHANNEL_SCALE_BITS
        n0 = (store[0]["addr"] - c["addr"] - c["bytes"]) * 8 // OUT_BITS % n_all
        per = p.wbuf_width // CHANNEL_SCALE_BITS
        r = region[(chan[0], "wbuf")]
        need(n0 % per == 0 and r.base + r.words <= p.wbuf_words, where,
             f"the tile's channel scales start at a wbuf word (column {n0}) of a region that does not wrap")
        cbase = r.base + n0 // per
    tiles[i] = {"tile": {"obase": place["tile"]["obase"], "words": m * n * OUT_BITS // p.port_bits, "owner": None}}
    return {"obase": place["tile"]["obase"], "outs": m * n, "nt": n, "cbase": cbase}


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


# --- DRAM images (the host's layout of operands for the RTL) and its outputs -----------------------------

def _pack(values: np.ndarray, bits: int, word_bits: int) -> list[int]:
    """Unsigned ``bits``-bit values as one bit stream, value i at bits [i·bits, (i+1)·bits) (a value may straddle
    two words: bitmod_fp3's 3-bit and int6's 6-bit codes), cut into ``word_bits``-bit words (zero padded)."""
    v = np.asarray(values, dtype=np.int64).reshape(-1)
    stream = sum(int(x) << (bits * i) for i, x in enumerate(v))
    return [(stream >> (word_bits * j)) & ((1 << word_bits) - 1) for j in range(-(-len(v) * bits // word_bits))]


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


def channel_scale_words(qw, p: BitModParams) -> list[int]:
    """Port words of the N FP16 channel scales (BitMoD formats; element 0 lowest), as the compiler's resident
    channel-scale LOAD reads them."""
    chan = get_format(qw.fmt).channel_scales(qw)[:, 0]
    return _pack(np.asarray(chan, dtype=np.float64).astype(np.float16).view(np.uint16), CHANNEL_SCALE_BITS,
                 p.port_bits)


def fp16_values(words, p: BitModParams) -> np.ndarray:
    """Stored port words → the FP16 values they hold (element 0 lowest), as float16."""
    per = p.port_bits // OUT_BITS
    w = np.asarray(words, dtype=np.uint64)
    return ((w[:, None] >> (OUT_BITS * np.arange(per, dtype=np.uint64))) & 0xFFFF).astype(np.uint16).reshape(-1) \
        .view(np.float16)


__all__ = ["activation_words", "assemble", "channel_scale_words", "fp16_values", "metadata", "weight_row_words"]
