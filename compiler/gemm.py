"""Lowering one GEMM (a linear layer) to the ISA: tiles, loop order, double buffering, epilogue.

Output tiles in loop order m-tile → n-tile → k-tile (``a_stationary`` keeps an m-block's activations for
all its n-tiles); every tile is at most half its buffer so the DMA prefetches the next step while the arrays
run. Each array instruction carries the mapper's dataflow and mapping of the PE grid (``Tile.dataflow`` /
``Tile.mapping``, the instruction's ``map`` operand; :mod:`compiler.search` picks them). Units: sizes in bytes,
shapes in elements. The schedule step by step, the loop orders and the DRAM traffic the tile search
(:mod:`compiler.search`) trades off: docs/compiler.md, "GEMM lowering".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from sim import pe as pe_registry
from sim.arch import Arch
from sim.errors import InputError
from sim.formats import get as get_format
from sim.isa.columns import ColumnProgram

from .specs import FLOAT_WEIGHTS, GemmSpec

# Accumulator bytes of partial sums kept in obuf: INT32 / FP32 = 4, FP16 = 2.
ACC_BYTES = {"int32": 4, "fp32": 4, "fp16": 2}
BIAS_BYTES = 2  # fp16 bias per output feature (workloads.trace: biases are fp16)
FP16_OUT_BYTES = 2  # a DEQUANT's outputs (FP16; a following VEC quantize packs them for an integer format)
CHANNEL_SCALE_BYTES = 2  # fp16 per-channel scale of a BitMoD weight format (sim.formats.bitmod: scale_format fp16)
# Output tiles from this n-index on look alike within an m-block (a pending store, no prefetch, the same
# size up to the last tile): tile REPEAT_FROM is emitted once and its copies are made by ColumnProgram.repeat.
REPEAT_FROM = 4
# m-blocks from this index on look alike (pending stores of a full m-block before them, a prefetch after): block
# M_REPEAT_FROM is emitted once more than needed to check it is block M_REPEAT_FROM - 1 moved on, and its copies up
# to the last m-block are made by ColumnProgram.repeat_periodic (tests/compiler/test_gemm_repeat.py).
M_REPEAT_FROM = 3


@dataclass(frozen=True)
class Tile:
    """Tile sizes (elements), the am×an split of an output tile over the arrays, and the loop order:
    ``a_stationary`` keeps an m-block's activations (Mt × K) in ``abuf`` across its n-tiles (loaded once)
    instead of reloading the Mt×Kt tile at every step. ``dataflow`` / ``mapping``: the PE grid's dataflow and
    mapping the array instructions run with (None: the arch's PE configuration as it is).
    ``chunk``: k-tiles per DEQUANT on a ``group_sums`` arch whose per-group terms of all K do not fit obuf
    (:func:`chunked`; 0: one DEQUANT over all of K)."""

    mt: int
    nt: int
    kt: int
    am: int = 1
    an: int = 1
    a_stationary: bool = False
    dataflow: str | None = None
    mapping: str | None = None
    chunk: int = 0

    @property
    def map(self) -> str:
        """The array instructions' ``map`` operand (:func:`sim.pe.map_name`)."""
        return pe_registry.map_name(self.dataflow, self.mapping)


def buffer_of(arch: Arch, name: str):
    for b in arch.buffers:
        if b.name == name:
            return b
    raise InputError("arch.buffers", f"arch {arch.name!r} has no buffer {name!r}; the compiler needs "
                     "abuf (activations), wbuf (weights) and obuf (outputs), plus tbuf with a table unit",
                     ", ".join(b.name for b in arch.buffers))


def acc_bytes(spec: GemmSpec, arch: Arch) -> int:
    """Bytes of one partial sum in obuf: the arch's accumulator, else the PE's default
    (:meth:`sim.pe.PEModel.partial_sum_format`)."""
    acc = arch.pe.acc or pe_registry.get(arch.pe.type).partial_sum_format(spec.acts)
    return ACC_BYTES.get(acc, 4)


def group_sums(spec: GemmSpec, arch: Arch) -> bool:
    """The arch's LMMAs write one FP32 term per quantization group of every output to obuf for the DEQUANT
    (``pe.options.group_sums``: the RTL LUT array, rtl/gateware/lut_array.py) and this GEMM has groups."""
    return bool(arch.pe.options.get("group_sums") and spec.groups)


def chunk_groups(spec: GemmSpec, t: Tile) -> int:
    """Quantization groups of a full DEQUANT chunk of tile ``t`` (``t.chunk`` k-tiles of whole groups), or all
    of the GEMM's groups when it is not chunked."""
    return t.chunk * t.kt // spec.group if t.chunk else spec.groups


def obuf_slot(spec: GemmSpec, arch: Arch, t: Tile | None = None) -> int:
    """Partial sums kept in obuf per output of a tile: one; with :func:`group_sums` one per quantization group,
    or, chunked (``t.chunk``), one per group of a chunk plus the FP32 accumulator the chunks add into."""
    if not group_sums(spec, arch):
        return 1
    return chunk_groups(spec, t) + 1 if t is not None and t.chunk else spec.groups


def obuf_bytes(spec: GemmSpec, arch: Arch, m: int, n: int, t: Tile | None = None) -> int:
    """obuf bytes of an m×n output tile's partial sums (:func:`obuf_slot` per output)."""
    return m * n * acc_bytes(spec, arch) * obuf_slot(spec, arch, t)


def chunked(spec: GemmSpec, arch: Arch, t: Tile) -> Tile | None:
    """``t`` if its steps fit the buffers (:func:`fits`); else, with :func:`group_sums` and k-tiles of whole
    groups, ``t`` with the most k-tiles per DEQUANT chunk (``chunk``) whose terms and FP32 accumulator fit half
    of obuf (the rest of K is dequantized chunk by chunk, accumulating in FP32: docs/isa.md, "Chunked DEQUANT");
    None when neither fits."""
    if fits(spec, arch, t):
        return t
    if not (group_sums(spec, arch) and spec.group and spec.k % spec.group == 0 and t.kt % spec.group == 0):
        return None
    per_output = t.mt * t.nt * acc_bytes(spec, arch)
    slot = (buffer_of(arch, "obuf").capacity // 2) // per_output  # FP32 words per output that fit half of obuf
    chunk = min((slot - 1) * spec.group // t.kt, -(-spec.k // t.kt) - 1)
    if chunk < 1:
        return None
    t = replace(t, chunk=chunk)
    return t if fits(spec, arch, t) else None


def problem(spec: GemmSpec, m: int, n: int, k: int) -> pe_registry.GemmProblem:
    return pe_registry.GemmProblem(m=m, n=n, k=k, weights=spec.weights, acts=spec.acts, group_size=spec.group)


def check(spec: GemmSpec, arch: Arch) -> None:
    """The PE's own check of this format pair and its checks against the rest of the arch (e.g. the table unit
    feeding a LUT array: :meth:`sim.pe.PEModel.check_arch`); raises InputError naming the unsupported field."""
    model = pe_registry.get(arch.pe.type)
    config = model.resolve(arch.pe.config())
    prob = problem(spec, spec.m, spec.n, spec.k)
    model.check(prob, config)
    model.check_arch(arch, prob, config)


def pe_cycles(spec: GemmSpec, arch: Arch, m: int, n: int, k: int, map_: str = "arch") -> int:
    """Cycles of one array instruction with ``map`` operand ``map_`` (:func:`sim.pe.tile_cycles`, as the engine
    times it)."""
    return pe_registry.tile_cycles(arch.pe.type, pe_registry.config_of(arch.pe.config(), map_),
                                   problem(spec, m, n, k)).cycles


def _split(n: int, parts: int) -> list[tuple[int, int]]:
    """(offset, size) of ``parts`` near-equal pieces of ``n`` (empty pieces dropped)."""
    step = -(-n // parts)
    return [(o, min(step, n - o)) for o in range(0, n, step)]


def unit_granule(spec: GemmSpec, arch: Arch) -> tuple[int, int, int] | None:
    """(M, N, K) of the unit tile when the arch's PE runs only whole unit tiles (``pe.options.whole_units``) and
    the GEMM is whole unit tiles, so every array instruction's m, n and k must be multiples of it; None when
    partial (padded) tiles are allowed, or the GEMM has no whole tiling (e.g. decode's m = 1: it is timed with
    padded tiles, and the RTL assembler, rtl/tools/array_program.py, refuses its program)."""
    g = arch.pe.tile if arch.pe.tile and arch.pe.options.get("whole_units") else None
    return g if g and _multiples((spec.m, spec.n, spec.k), g) else None


def _multiples(dims, g) -> bool:
    return all(d % u == 0 for d, u in zip(dims, g))


def whole_units(spec: GemmSpec, arch: Arch, m: int, n: int, k: int) -> bool:
    """An m×n×k array instruction (or tile) of ``spec`` is whole unit tiles (always, without the constraint)."""
    g = unit_granule(spec, arch)
    return g is None or _multiples((m, n, k), g)


def _whole_pieces(spec: GemmSpec, arch: Arch, mt: int, nt: int, kt: int, am: int, an: int) -> bool:
    """Every array instruction of tile mt×nt×kt split am×an is whole unit tiles, the GEMM's remainder tiles
    included (:func:`whole_units`)."""
    if unit_granule(spec, arch) is None:
        return True
    ms = {size for t in {mt, spec.m % mt} - {0} for _, size in _split(t, am)}
    ns = {size for t in {nt, spec.n % nt} - {0} for _, size in _split(t, an)}
    ks = {kt, spec.k % kt} - {0}
    return all(whole_units(spec, arch, a, b, c) for a in ms for b in ns for c in ks)


def _whole_words(arch: Arch, *nbytes: float) -> bool:
    word = arch.dram.bandwidth / 8
    return all((b / word).is_integer() for b in nbytes)


def layout_bases(spec: GemmSpec, arch: Arch) -> dict[str, int]:
    """DRAM bytes where :func:`emit` puts each operand: activations, weights (N rows of K codes and group
    metadata), biases, channel scales, outputs."""
    w_base = math.ceil(spec.m * spec.k * spec.a_bytes)
    bias = w_base + math.ceil(spec.n * spec.k * spec.w_bytes)
    chan = bias + spec.bias_bytes
    return {"acts": 0, "weights": w_base, "bias": bias, "channel_scales": chan,
            "outputs": chan + channel_scale_bytes(spec, arch)}


def word_aligned(spec: GemmSpec, arch: Arch, t: Tile) -> bool:
    """Every transfer of tile ``t`` (remainder tiles included) is whole DRAM port words on an ``dram.aligned``
    arch: the operands' bases (:func:`layout_bases`), the activation and weight K-slices (codes and group
    metadata) and output rows and their row pitch, or, where a tile spans the whole row, its rows back to back
    (one contiguous transfer); always true otherwise."""
    if not arch.dram.aligned:
        return True
    if not _whole_words(arch, *layout_bases(spec, arch).values()):
        return False

    def whole(per: float, span: int, full: int, counts: set[int], sizes: set[int]) -> bool:
        if span >= full:  # rows back to back: one transfer of each tile's rows
            return _whole_words(arch, *(c * full * per for c in counts))
        return _whole_words(arch, full * per, *(x * per for x in sizes))

    ms, ns, ks = ({t, d % t} - {0} for t, d in ((t.mt, spec.m), (t.nt, spec.n), (t.kt, spec.k)))
    return (whole(spec.a_bytes, t.kt, spec.k, ms, ks) and whole(spec.w_bytes, t.kt, spec.k, ns, ks)
            and whole(spec.out_bytes, t.nt, spec.n, ms, ns))


def best_split(spec: GemmSpec, arch: Arch, mt: int, nt: int, kt: int, map_: str = "arch") -> tuple[int, int]:
    """The am×an grid (am·an ≤ arrays) whose slowest sub-tile is fastest (array instructions with ``map`` operand
    ``map_``); ties: fewer pieces. With whole unit tiles (:func:`unit_granule`) only grids whose pieces are whole
    units, and the single piece 1×1 among them."""
    best = None
    grids = [(am, arch.arrays // am) for am in range(1, arch.arrays + 1)]
    if unit_granule(spec, arch):
        grids.append((1, 1))
    for am, an in grids:
        if am > mt or an < 1:
            continue
        an = min(an, nt)
        if not _whole_pieces(spec, arch, mt, nt, kt, am, an):
            continue
        cyc = pe_cycles(spec, arch, -(-mt // am), -(-nt // an), kt, map_)
        key = (cyc, am * an, am)
        if best is None or key < best[0]:
            best = (key, am, an)
    return best[1], best[2]


def tile_bytes(spec: GemmSpec, arch: Arch, t: Tile) -> dict[str, int]:
    """Bytes each buffer needs for one step of tile ``t`` (without double buffering)."""
    out = {"wbuf": math.ceil(t.nt * t.kt * spec.w_bytes), "obuf": obuf_bytes(spec, arch, t.mt, t.nt, t)}
    if not spec.tables_resident:
        out["abuf"] = math.ceil(t.mt * (spec.k if t.a_stationary else t.kt) * spec.a_bytes)
        if uses_tables(arch):
            out["tbuf"] = table_space(arch, t.mt, t.kt)
    return out


def uses_tables(arch: Arch) -> bool:
    """A LUT array fed by a table-precompute unit."""
    return arch.table_unit is not None and arch.pe.opcode == "LMMA"


def table_space(arch: Arch, rows: int, k: int) -> int:
    """tbuf bytes a PRECOMPUTE of ``rows`` rows over ``k`` allocates: with a streamed table unit a window of two
    K-groups (double buffer) of one table per row, else the tables of the whole ``k`` (``table_unit.streamed``)."""
    tu = arch.table_unit
    if not tu.streamed:
        return table_bytes(arch, rows, k)
    return 2 * rows * tu.entries * tu.entry_bits // 8


def table_bytes(arch: Arch, rows: int, k: int) -> int:
    """Bytes of the lookup tables of ``rows`` activation rows over ``k`` (one table per K-group)."""
    tu = arch.table_unit
    return rows * -(-k // tu.group) * tu.entries * tu.entry_bits // 8


def channel_scale_bytes(spec: GemmSpec, arch: Arch) -> int:
    """Bytes of the weights' per-channel FP16 scales that the DEQUANT epilogue reads from wbuf: N of them when the
    arch's PE applies the group scales and leaves the channel scale to DEQUANT (``pe.options.channel_scales``, the
    RTL BitMoD array: DEQUANT then has groups = 1) and the format has one on top of its group scales (BitMoD's
    ``channel_scales``), else 0."""
    if not arch.pe.options.get("channel_scales") or spec.weights in FLOAT_WEIGHTS:
        return 0
    return spec.n * CHANNEL_SCALE_BYTES if hasattr(get_format(spec.weights), "channel_scales") else 0


def fits(spec: GemmSpec, arch: Arch, t: Tile) -> bool:
    """Every step's tiles fit half their buffer (double buffering), beside the bias and the channel scales that
    stay in wbuf."""
    resident = {"wbuf": spec.bias_bytes + channel_scale_bytes(spec, arch)}
    return all(v <= (buffer_of(arch, b).capacity - resident.get(b, 0)) // 2
               for b, v in tile_bytes(spec, arch, t).items())


def emit(spec: GemmSpec, arch: Arch, t: Tile) -> ColumnProgram:
    """The program of one GEMM with tile ``t`` (see the module docstring for the schedule)."""
    p = ColumnProgram(arch=arch.name)
    lut = uses_tables(arch)
    acc = acc_bytes(spec, arch)
    a_row, w_row = spec.k * spec.a_bytes, spec.k * spec.w_bytes
    bases = layout_bases(spec, arch)
    a_base, w_base, o_base = bases["acts"], bases["weights"], bases["outputs"]
    chan_bytes = channel_scale_bytes(spec, arch)
    pe_groups = bool(arch.pe.options.get("channel_scales"))
    resident = spec.tables_resident
    sums = group_sums(spec, arch)
    stationary = t.a_stationary and not resident
    space, sync = p.space, p.template("SYNC")

    # instruction templates of one step, by tile size (a GEMM has full tiles and at most one remainder each)
    @cache
    def load_a(mt: int, kt: int) -> tuple[int, int]:
        a_b = math.ceil(mt * kt * spec.a_bytes)
        return p.template("LOAD", buf="abuf", bytes=a_b, rows=min(mt, a_b), stride=math.ceil(a_row)), a_b

    @cache
    def load_w(nt: int, kt: int) -> tuple[int, int]:
        w_b = math.ceil(nt * kt * spec.w_bytes)
        return p.template("LOAD", buf="wbuf", bytes=w_b, rows=min(nt, w_b), stride=math.ceil(w_row)), w_b

    @cache
    def precompute(mt: int, kt: int, a_b: int) -> int:
        return p.template("PRECOMPUTE", m=mt, k=kt, acts=spec.acts, rd=[("abuf", a_b)],
                          wr=[("tbuf", table_bytes(arch, mt, kt))])

    @cache
    def mma(sm: int, sn: int, kt: int, accumulate: bool) -> int:
        """An array instruction: it accumulates onto obuf's partial sums (``accumulate``, a later k-tile), or with
        :func:`group_sums` writes its k-tile's group terms (one FP32 per output per group) and reads no obuf."""
        operand = ("tbuf", table_bytes(arch, sm, kt)) if lut else ("abuf", math.ceil(sm * kt * spec.a_bytes))
        terms = -(-kt // spec.group) if sums and spec.group else 1
        out = ("obuf", sm * sn * acc * terms)
        return p.template(arch.pe.opcode, m=sm, n=sn, k=kt, weights=spec.weights, acts=spec.acts,
                          group=spec.group or 0, map=t.map, wr=[out],
                          rd=[operand, ("wbuf", math.ceil(sn * kt * spec.w_bytes))] +
                          ([out] if accumulate and not sums else []))

    @cache
    def dequant(mt: int, nt: int, groups: int, acc_in: int, acc_out: int) -> int:
        """A DEQUANT of ``groups`` groups per output (after the FP32 accumulator with ``acc_in``). With
        :func:`group_sums` it reads those group terms and writes the FP32 accumulator (``acc_out``) or the FP16
        outputs, as the RTL's vector unit does; otherwise it rescales the tile's partial sums in place."""
        if not sums:  # pe.options.channel_scales: the PEs applied the group scales, one rescale per output is left
            o_bytes = obuf_bytes(spec, arch, mt, nt, t)
            chan_rd = [("wbuf", nt * CHANNEL_SCALE_BYTES)] if chan_bytes else []
            return p.template("DEQUANT", m=mt, n=nt, groups=1 if pe_groups else groups,
                              rd=[("obuf", o_bytes)] + chan_rd, wr=[("obuf", o_bytes)])
        return p.template("DEQUANT", m=mt, n=nt, groups=groups, acc_in=acc_in, acc_out=acc_out,
                          rd=[("obuf", mt * nt * acc * (groups + acc_in))],
                          wr=[("obuf", mt * nt * (acc if acc_out else FP16_OUT_BYTES))])  # FP16 before any quantize

    def a_addr(m0: int, k0: int) -> int:
        return a_base + math.floor(m0 * a_row + k0 * spec.a_bytes)

    def w_addr(n0: int, k0: int) -> int:
        return w_base + math.floor(n0 * w_row + k0 * spec.w_bytes)

    if spec.bias_bytes:
        bias = p.add(p.template("LOAD", buf="wbuf", bytes=spec.bias_bytes), alloc=space([("wbuf", spec.bias_bytes)]),
                     addr=bases["bias"])
    if chan_bytes:  # the N channel scales, after the biases; they stay in wbuf for every tile's DEQUANT
        chan = p.add(p.template("LOAD", buf="wbuf", bytes=chan_bytes), alloc=space([("wbuf", chan_bytes)]),
                     addr=bases["channel_scales"])
    stores: list = []  # output stores not yet issued; each waits one output tile (see the module docstring)
    m_tiles, n_tiles, k_tiles = _tiles(spec.m, t.mt), _tiles(spec.n, t.nt), _tiles(spec.k, t.kt)

    def load_a_block(m0: int, mt: int) -> list[tuple[int, int]]:
        """LOADs of an m-block's activations, one per k-tile: (instruction, bytes)."""
        out = []
        for k0, kt in k_tiles:
            tpl, a_b = load_a(mt, kt)
            out.append((p.add(tpl, alloc=space([("abuf", a_b)]), addr=a_addr(m0, k0)), a_b))
        return out

    def o_addr(m0, n0):
        return o_base + math.floor((m0 * spec.n + n0) * spec.out_bytes)

    def output_tile(mi: int, m0: int, mt: int, ni: int, n0: int, nt: int, a_block) -> tuple[list, list, object]:
        """Emit output tile (mi, ni): the pending store of two tiles back, the k-steps, the prefetch of the next
        m-block's activations (stationary, first n-tile), the epilogue; its store is left pending. Returns
        (the epilogue's last instructions, (index, k0) of its weight LOADs, the prefetched activation loads)."""
        if len(stores) == 2:
            p.add(*stores.pop(0))
        subs = [(sm, sn) for _, sm in _split(mt, t.am) for _, sn in _split(nt, t.an)]
        chain: list = [None] * len(subs)
        o_bytes = obuf_bytes(spec, arch, mt, nt, t)
        w_loads, a_next = [], None
        done_groups, drained = 0, None  # groups dequantized by earlier chunks; the last chunk's DEQUANT
        for ki, (k0, kt) in enumerate(k_tiles):
            (tpl_a, a_b), (tpl_w, w_b) = load_a(mt, kt), load_w(nt, kt)
            first = [("obuf", o_bytes)] if ki == 0 else []
            if stationary:
                la = a_block[ki][0]
            elif not resident:
                la = p.add(tpl_a, alloc=space([("abuf", a_b)] + first), addr=a_addr(m0, k0))
                first = []
            lw = p.add(tpl_w, alloc=space([("wbuf", w_b)] + first), addr=w_addr(n0, k0))
            w_loads.append((lw, k0))
            src = lw if resident else la
            if lut and not resident:
                tw = table_space(arch, mt, kt)
                src = p.add(precompute(mt, kt, a_b), (la,), alloc=space([("tbuf", tw)]),
                            free=0 if stationary else space([("abuf", a_b)]))
            mmas = []
            for j, (sm, sn) in enumerate(subs):
                deps = (lw,) if resident else (src, lw)
                if chain[j] is not None:
                    deps += (chain[j],)
                if drained is not None:  # a new chunk's terms overwrite the last chunk's once its DEQUANT is done
                    deps += (drained,)
                chain[j] = p.add(mma(sm, sn, kt, ki > 0), deps)
                mmas.append(chain[j])
            drained = None
            free = [("wbuf", w_b)] + ([] if resident else [("tbuf", tw)] if lut else
                                      [] if stationary else [("abuf", a_b)])
            p.add(sync, mmas, free=space(free))
            if t.chunk and (ki + 1) % t.chunk == 0 and ki + 1 < len(k_tiles):  # a chunk ends: FP32 accumulate
                groups = (k0 + kt) // spec.group - done_groups
                drained = p.add(dequant(mt, nt, groups, int(done_groups > 0), 1), chain)
                done_groups += groups
        if stationary and ni == 0 and mi + 1 < len(m_tiles):  # prefetch the next m-block's activations
            a_next = load_a_block(*m_tiles[mi + 1])
        last = chain
        if spec.groups:
            last = [p.add(dequant(mt, nt, spec.groups - done_groups, int(done_groups > 0), 0), last)]
        if spec.bias_bytes:  # bias add: an element-wise add (the vector unit's "residual" kind)
            last = [p.add(p.template("VEC", op="residual", elems=mt * nt, rd=[("wbuf", nt * BIAS_BYTES)]), last)]
        if spec.quantize_out:
            last = [p.add(p.template("VEC", op="quantize", elems=mt * nt), last)]
        out_b = max(1, math.ceil(mt * nt * spec.out_bytes))
        stores.append((p.template("STORE", buf="obuf", bytes=out_b, rows=min(mt, out_b),
                                  stride=math.ceil(spec.n * spec.out_bytes)), last, 0,
                       space([("obuf", o_bytes)]), o_addr(m0, n0)))
        return last, w_loads, a_next

    def m_block(mi: int, m0: int, mt: int, a_block):
        """Emit m-block ``mi`` (its output tiles, then the release of its activations); the prefetched loads
        of the next m-block's activations (stationary) or None."""
        a_next, block_ends = None, []
        ni = 0
        while ni < len(n_tiles):
            n0, nt = n_tiles[ni]
            start = p.mark()
            last, w_loads, prefetched = output_tile(mi, m0, mt, ni, n0, nt, a_block)
            stop = p.mark()
            a_next = prefetched or a_next
            block_ends.extend(last)
            ni += 1
            times = len(n_tiles) - 1 - ni
            if ni == REPEAT_FROM + 1 and times > 0:  # tiles REPEAT_FROM+1 .. last-1: copies of tile REPEAT_FROM
                length = stop[0] - start[0]
                n0s = np.array([n0 for n0, _ in n_tiles[ni:ni + times]], np.int64)
                addr = {i - start[0]: w_base + np.floor(n0s * w_row + k0 * spec.w_bytes).astype(np.int64)
                        for i, k0 in w_loads}
                addr[0] = o_base + np.floor((m0 * spec.n + n0s - 2 * t.nt) * spec.out_bytes).astype(np.int64)
                p.repeat(start, stop, times, start[0] - 2 * length, addr)
                block_ends.extend(x + r * length for r in range(1, times + 1) for x in last)
                tmpl, deps, _, free, _ = stores[-1]
                stores[:] = [(tmpl, [x + r * length for x in deps], 0, free, o_addr(m0, n_tiles[ni + r - 1][0]))
                             for r in (times - 1, times)]
                ni += times
        if stationary:  # the m-block's activations are released once all its n-tiles are done
            p.add(sync, block_ends, free=space([("abuf", b) for _, b in a_block]))
        return a_next

    first = p.mark()  # m-block 0 starts here (its activation loads come first when stationary)
    a_next = load_a_block(*m_tiles[0]) if stationary else None
    marks, states = [], []  # per m-block emitted one by one: its first mark, the state after it
    mi = 0
    while mi < len(m_tiles):
        marks.append(first if mi == 0 else p.mark())
        a_next = m_block(mi, *m_tiles[mi], a_next)
        states.append((list(stores), a_next))
        mi += 1
        # m-blocks mi .. last-2 alike: copies of block mi-1 (the last may be smaller, and the one before prefetches it)
        times = len(m_tiles) - 2 - mi
        if mi == M_REPEAT_FROM + 1 and times > 0 and _affine_in_m(spec, t):
            length = p.repeat_periodic(marks[-3][0], marks[-2], marks[-1], times)
            if length:
                (old, _), (new, a_new) = states[-2:]
                shift = times * length
                stores[:] = [(tmpl, [x + shift for x in deps], 0, free, addr + times * (addr - prev[4]))
                             for (tmpl, deps, _, free, addr), prev in zip(new, old)]
                a_next = None if a_new is None else [(x + shift, b) for x, b in a_new]
                mi += times
    for store in stores:
        p.add(*store)
    if spec.bias_bytes:
        p.add(sync, (len(p) - 1, bias), free=space([("wbuf", spec.bias_bytes)]))
    if chan_bytes:
        p.add(sync, (len(p) - 1 - bool(spec.bias_bytes), chan), free=space([("wbuf", chan_bytes)]))
    return p.freeze()


def _affine_in_m(spec: GemmSpec, t: Tile) -> bool:
    """Every DMA address moves by a whole number of bytes from one m-block to the next (activations by mt rows,
    outputs by mt·n elements), so the copies' addresses are exactly the block's plus a multiple of the step."""
    return float(t.mt * spec.k * spec.a_bytes).is_integer() and float(t.mt * spec.n * spec.out_bytes).is_integer()


def _tiles(n: int, t: int):
    return [(o, min(t, n - o)) for o in range(0, n, t)]


def steps(spec: GemmSpec, t: Tile) -> int:
    return -(-spec.m // t.mt) * -(-spec.n // t.nt) * -(-spec.k // t.kt)


def traffic(spec: GemmSpec, t: Tile) -> float:
    """DRAM bytes of tile ``t``: A re-read per n-tile (once when stationary), W per m-tile, outputs once."""
    a = 0 if spec.tables_resident else spec.m * spec.k * spec.a_bytes
    w = spec.n * spec.k * spec.w_bytes
    a_reads = 1 if t.a_stationary else -(-spec.n // t.nt)
    return a * a_reads + w * -(-spec.m // t.mt) + spec.m * spec.n * spec.out_bytes + spec.bias_bytes


def instructions(spec: GemmSpec, arch: Arch, t: Tile) -> int:
    """Instructions of the program of tile ``t`` (about: edge effects aside)."""
    a_per_step = not (spec.tables_resident or t.a_stationary)
    per_step = 2 + a_per_step + (uses_tables(arch) and not spec.tables_resident) + t.am * t.an
    m_tiles, k_tiles = -(-spec.m // t.mt), -(-spec.k // t.kt)
    a_blocks = m_tiles * (k_tiles + 1) if t.a_stationary else 0
    per_tile = 3 + chunks(spec, t) - 1
    return steps(spec, t) * per_step + m_tiles * -(-spec.n // t.nt) * per_tile + a_blocks


def chunks(spec: GemmSpec, t: Tile) -> int:
    """DEQUANTs per output tile: one, or one per chunk of ``t.chunk`` k-tiles."""
    k_tiles = -(-spec.k // t.kt)
    return -(-k_tiles // t.chunk) if t.chunk else 1
