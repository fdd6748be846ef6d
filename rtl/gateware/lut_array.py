"""A small LUT Tensor Core array: ``units`` LutTensorCore units, Mu TablePrecompute units, a vector unit, four
buffers (Amaranth ``Memory``) and the controller (rtl/gateware/array_controller.py), all sized from one arch spec
(rtl/gateware/array_params.from_arch; preset ``lut-tc-rtl-small``). It runs the compiler's program unchanged:
LOAD / PRECOMPUTE / LMMA (each quantization group's FP32 terms to obuf) / DEQUANT, the bias add (VEC residual;
only where wbuf's ports give a block's Nu biases per cycle: ArrayParams.bias_add) and the KV-cache quantize (VEC
quantize, rtl/gateware/kv_quantize_unit.py) on the vector unit / STORE of FP16 outputs or of the packed KV stream
(SYNCs become dependency masks).

Each unit's duration in cycles equals the engine's (sim/engine/decode.py) for the same arch. Per-unit timing,
the obuf group slots, the DRAM layouts, the KV quantize, what is not built (the other VECs), the buffers and the
external memory port (``mem_*``, read data L cycles after the request): docs/lut_array_rtl.md.
"""

from __future__ import annotations

from amaranth import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for

from sim import arch as arch_registry
from sim import formats

from .array_controller import CYCLE_BITS, ArrayController
from .array_params import ACT_WIDTH, KV_FORMAT, OUT_BITS, SCALE_BITS, VEC_OPS, ArrayParams, ArrayProgram, from_arch
from .dequant_unit import DequantUnit, group_term
from .fp16 import fp16_add
from .kv_quantize_unit import KvQuantizeUnit, fp16_min_max
from .lut_tensor_core import LutTensorCore
from .table_precompute import TablePrecompute

PRESET = "lut-tc-rtl-small"
# the smallest array the RTL builds (one M1N8K4 unit, no bias add, small buffers): what the ECP5 flow places,
# since lut-tc-rtl-small does not fit an LFE5U-85F (docs/fpga_flow.md, "The LUT array on the FPGA")
FPGA_PRESET = "lut-tc-rtl-fpga"
NIBBLE = 4  # bits: the KV quantize's stream unit (4-bit codes; a group's 16 + 4 metadata bits)


def _delay(m: Module, fields: dict, stages: int, name: str) -> dict:
    """``fields`` (name → value) delayed by ``stages`` registers; returns the last stage's signals."""
    cur = fields
    for s in range(stages):
        nxt = {k: Signal.like(v, name=f"{name}{s}_{k}") if isinstance(v, Signal) else
               Signal(len(v), name=f"{name}{s}_{k}") for k, v in cur.items()}
        m.d.sync += [nxt[k].eq(cur[k]) for k in cur]
        cur = nxt
    return cur


def _live(m: Module, issue, fields: dict, name: str) -> tuple[dict, dict]:
    """(registers, live values): live = the instruction's fields in the issue cycle, else the registers."""
    regs = {k: Signal(len(v), name=f"{name}_{k}") for k, v in fields.items()}
    live = {k: Signal(len(v), name=f"{name}_live_{k}") for k, v in fields.items()}
    m.d.comb += [live[k].eq(Mux(issue, fields[k], regs[k])) for k in fields]
    return regs, live


def _quantize_counters(ins) -> dict:
    """The KV quantize's counters (rtl/gateware/lut_array.LutArray._quantize_step), zero at issue."""
    return {"qc": Const(0, len(ins.qchunks)), "qr": Const(0, len(ins.blocks)), "qroff": Const(0, len(ins.pitch))}


_LOAD_NAMES = ("load_en", "load_class", "load_addr", "load_data")


def _LOAD_PORTS(ctrl: ArrayController) -> dict:  # noqa: N802 - a port-set constant built per controller
    """The controller's instruction-memory load ports, to pass through a wrapper."""
    return {k: In(getattr(ctrl, k).shape()) for k in _LOAD_NAMES}


def array_ports(ctrl: ArrayController, params) -> dict:
    """The signature of an array around ``ctrl`` (the LUT array's and the BitMoD array's): the instruction-memory
    load ports, ``start`` / ``done`` / ``cycles`` and the DRAM port of ``params.port_bits`` bits."""
    w = params.port_bits
    return {**_LOAD_PORTS(ctrl), "start": In(1), "done": Out(1), "cycles": Out(CYCLE_BITS),
            "mem_addr": Out(range(params.dram_words)), "mem_re": Out(1), "mem_we": Out(1),
            "mem_wdata": Out(w), "mem_rdata": In(w)}


def buffers_with_controller(m: Module, array, names) -> tuple[ArrayController, dict]:
    """Add ``array``'s controller (wired to its start / done / cycles and load ports) and its buffers ``names``
    (memories of ``params.width[name]`` bits × ``<name>_words``) to ``m``; (controller, {name: Memory})."""
    p = array.params
    ctrl = m.submodules.ctrl = array._ctrl
    m.d.comb += [ctrl.start.eq(array.start), array.done.eq(ctrl.done), array.cycles.eq(ctrl.cycles)]
    m.d.comb += [getattr(ctrl, k).eq(getattr(array, k)) for k in _LOAD_NAMES]
    bufs = {}
    for name in names:
        bufs[name] = m.submodules[name] = Memory(shape=unsigned(p.width[name]), depth=getattr(p, f"{name}_words"),
                                                 init=[])
    return ctrl, bufs


def dma_engine(m: Module, p, ctrl: ArrayController, bufs: dict, ports, block_chunk=None):
    """The DMA unit of an array (the LUT array's and the BitMoD array's): one 2-D LOAD / STORE at a time between
    the memory port of ``ports`` (``mem_*``) and abuf / wbuf (LOAD) or obuf (STORE), timing in the module
    docstring; ``block_chunk(live)``: the obuf word of a blocked STORE (None: the array has none)."""
    ins, issue = ctrl.dma_instr[0], ctrl.dma_issue[0]
    fields = {k: getattr(ins, k) for k in ("id", "store", "buf", "dram", "rowlen", "stride", "chunk", "count",
                                            "blocked", "nbt")}
    fields.update(col=Const(0, len(ins.rowlen)), row=Const(0, len(ins.dram)),  # 2-D counters: word, row start,
                  rix=Const(0, len(ins.count)), cbase=ins.chunk)             # row index; first chunk
    regs, live = _live(m, issue, fields, "dma")
    active = Signal()
    go = issue | active
    m.d.comb += ctrl.dma_ready[0].eq(~active)
    row_end = live["col"] + 1 == live["rowlen"]
    with m.If(go):
        m.d.sync += [regs["col"].eq(Mux(row_end, 0, live["col"] + 1)),
                     regs["row"].eq(Mux(row_end, live["row"] + live["stride"], live["row"])),
                     regs["rix"].eq(live["rix"] + row_end),
                     regs["chunk"].eq(live["chunk"] + 1), regs["count"].eq(live["count"] - 1),
                     active.eq(live["count"] > 1)]
    with m.If(issue):
        m.d.sync += [regs[k].eq(fields[k]) for k in ("id", "store", "buf", "dram", "rowlen", "stride", "blocked",
                                                      "nbt", "cbase")]
    addr = Signal.like(ports.mem_addr, name="dma_addr")
    m.d.comb += addr.eq(live["dram"] + live["row"] + live["col"])
    ro = p.ratio("obuf")
    orp = bufs["obuf"].read_port(domain="comb")
    chunk = Signal.like(live["chunk"], name="dma_ochunk")
    m.d.comb += chunk.eq(live["chunk"] if block_chunk is None else
                      Mux(live["blocked"], block_chunk(live), live["chunk"]))
    m.d.comb += [
        ports.mem_addr.eq(addr), ports.mem_re.eq(go & ~live["store"]), ports.mem_we.eq(go & live["store"]),
        orp.addr.eq(chunk >> bits_for(ro - 1) if ro > 1 else chunk),
        ports.mem_wdata.eq(orp.data.word_select(chunk[:max(1, bits_for(ro - 1))] if ro > 1 else 0,
                                               p.port_bits)),
    ]
    tag = _delay(m, {"valid": go, "load": go & ~live["store"], "last": live["count"] == 1,
                     "buf": live["buf"], "chunk": live["chunk"], "id": live["id"]}, p.latency, "dma_tag")
    for code, name in ((0, "abuf"), (1, "wbuf")):
        r = p.ratio(name)
        wp = bufs[name].write_port(granularity=p.port_bits)
        lane = tag["chunk"][:bits_for(r - 1)] if r > 1 else 0
        m.d.comb += [wp.addr.eq(tag["chunk"] >> bits_for(r - 1) if r > 1 else tag["chunk"]),
                     wp.data.eq(ports.mem_rdata.replicate(r)),
                     wp.en.eq(Mux(tag["load"] & (tag["buf"] == code), (Const(1, r) << lane)[:r], 0))]
    m.d.comb += [ctrl.dma_fin[0].eq(tag["valid"] & tag["last"]), ctrl.dma_fin_id[0].eq(tag["id"])]


class LutArray(wiring.Component):
    """The array (see the module docstring). ``params`` from :func:`rtl.gateware.array_params.from_arch`,
    ``program`` from :func:`rtl.tools.array_program.assemble` (empty: an array that finishes at once)."""

    def __init__(self, params: ArrayParams, program: ArrayProgram | None = None):
        self.params = params
        self.program = program
        self._ctrl = ArrayController(params, program)
        super().__init__(array_ports(self._ctrl, params))

    def elaborate(self, platform):
        m = Module()
        p = self.params
        ctrl, bufs = buffers_with_controller(m, self, ("abuf", "wbuf", "tbuf", "obuf"))
        self._dma(m, ctrl, bufs)
        self._tables(m, ctrl, bufs)
        for u in range(p.units):
            self._lut_unit(m, ctrl, bufs, u)
        self._vector(m, ctrl, bufs)
        return m

    def _dma(self, m, ctrl, bufs):
        dma_engine(m, self.params, ctrl, bufs, self, self._block_chunk)

    def _block_chunk(self, live):
        """The obuf port word of DRAM row ``rix``, word ``col`` of a blocked STORE: DEQUANT leaves each Mu×Nu block's
        FP16 outputs as Mu·h port words (h = Nu·16 / W per block row, row-major in the block), blocks in tile order
        (``nbt`` per block row) from ``cbase``."""
        p = self.params
        h = p.nu * OUT_BITS // p.port_bits
        lh, lmu = h.bit_length() - 1, p.mu.bit_length() - 1
        block = (live["rix"] >> lmu) * live["nbt"] + (live["col"] >> lh)
        return live["cbase"] + (block << (lh + lmu)) + ((live["rix"] & (p.mu - 1)) << lh) + (live["col"] & (h - 1))

    def _tables(self, m, ctrl, bufs):
        p = self.params
        ins, issue = ctrl.table_instr[0], ctrl.table_issue[0]
        names = ("id", "abase", "astride", "tbase", "groups", "kg", "rows")
        fields = {k: getattr(ins, k) for k in names}
        fields.update(grp=Const(0, len(ins.groups)), g=Const(0, len(ins.kg)))  # counters
        regs, live = _live(m, issue, fields, "tab")
        active = Signal()
        go = issue | active
        m.d.comb += ctrl.table_ready[0].eq(~active)
        last_g = live["g"] + 1 == live["kg"]
        last = last_g & (live["grp"] + 1 == live["groups"])
        with m.If(go):
            m.d.sync += [regs[k].eq(live[k]) for k in names]
            m.d.sync += [regs["g"].eq(Mux(last_g, 0, live["g"] + 1)), regs["grp"].eq(live["grp"] + last_g),
                         active.eq(~last)]
        outs = []
        for r in range(p.mu):
            pre = m.submodules[f"pre{r}"] = TablePrecompute(k=p.k, act_width=ACT_WIDTH)
            rp = bufs["abuf"].read_port(domain="comb")
            row = live["grp"] * p.mu + r
            m.d.comb += [rp.addr.eq(live["abase"] + row * live["astride"] + live["g"]),
                         pre.i.payload.eq(Mux(row < live["rows"], rp.data, 0)), pre.i.valid.eq(go),
                         pre.o.ready.eq(1)]
            outs.append(pre.o.payload.as_value())
        tag = _delay(m, {"valid": go, "last": last, "id": live["id"],
                         "addr": live["tbase"] + live["grp"] * live["kg"] + live["g"]}, p.table_latency, "tab_tag")
        wp = bufs["tbuf"].write_port()
        m.d.comb += [wp.addr.eq(tag["addr"]), wp.data.eq(Cat(*outs)), wp.en.eq(tag["valid"]),
                     ctrl.table_fin[0].eq(tag["valid"] & tag["last"]), ctrl.table_fin_id[0].eq(tag["id"])]

    def _lut_unit(self, m, ctrl, bufs, u):
        """LUT unit ``u``: tiles (mb, nb, K-group, plane) back to back; per quantization group (``gk`` K-groups)
        of a block it sums the K-groups' results, reads the group's metadata (``mw`` wbuf words: Nu FP16 scales,
        then, with ``zero``, Nu zero codes of ``bits`` bits) through its second wbuf port and the activations'
        group sums S (entry 2^(K−1)−1 of each row's table), and writes the group's Mu×Nu FP32 terms
        fp32(P·s) (:func:`rtl.gateware.dequant_unit.group_term`) to obuf word obase + mb·ostride + nb·gslot + group."""
        p = self.params
        ins, issue = ctrl.array_instr[u], ctrl.array_issue[u]
        core = m.submodules[f"lut{u}"] = LutTensorCore(m=p.mu, n=p.nu, k=p.k, act_width=ACT_WIDTH,
                                                       acc_width=p.acc_width, max_bits=p.max_bits)
        names = ("id", "tbase", "tstride", "wbase", "obase", "ostride", "mb", "nb", "kg", "bits", "gk", "gslot",
                 "mbase", "mstride", "mw", "zero")
        f = {k: Signal(len(getattr(ins, k)), name=f"u{u}_{k}") for k in names}
        busy, active = Signal(name=f"u{u}_busy"), Signal(name=f"u{u}_active")
        m.d.comb += ctrl.array_ready[u].eq(~busy)
        # operand side: (mb, nb, g, plane), plane fastest; gin / qg: K-group in its quantization group / the group,
        # j: fetch cycle in the group
        cnt = {k: Signal(len(f[lim]), name=f"u{u}_i{k}") for k, lim in (("mb", "mb"), ("nb", "nb"), ("g", "kg"),
                                                                           ("pl", "bits"))}
        gin, qg = Signal(len(f["gk"]), name=f"u{u}_igin"), Signal(len(f["kg"]), name=f"u{u}_iqg")
        j = Signal(len(f["gk"]) + len(f["bits"]), name=f"u{u}_ij")
        last_pl = cnt["pl"] + 1 == f["bits"]
        g_end = last_pl & (gin + 1 == f["gk"])
        with m.If(issue):
            m.d.sync += [f[k].eq(getattr(ins, k)) for k in names]
            m.d.sync += [c.eq(0) for c in (*cnt.values(), gin, qg, j)] + [busy.eq(1), active.eq(1)]
        with m.Elif(active):
            self._advance(m, cnt, f, active)
            m.d.sync += j.eq(Mux(g_end, 0, j + 1))
            with m.If(last_pl):
                m.d.sync += [gin.eq(Mux(gin + 1 == f["gk"], 0, gin + 1)),
                             qg.eq(Mux(g_end, Mux(cnt["g"] + 1 == f["kg"], 0, qg + 1), qg))]
        tr = bufs["tbuf"].read_port(domain="comb")
        wr = bufs["wbuf"].read_port(domain="comb")
        split = p.nu * (p.k - 1)
        m.d.comb += [
            tr.addr.eq(f["tbase"] + cnt["mb"] * f["tstride"] + cnt["g"]),
            wr.addr.eq(f["wbase"] + (cnt["nb"] * f["kg"] + cnt["g"]) * f["bits"] + cnt["pl"]),
            core.start.eq(active & (cnt["pl"] == 0)), core.n_planes.eq(f["bits"]),
            core.tables.eq(tr.data), core.idx.eq(wr.data[:split]), core.neg.eq(wr.data[split:]),
            core.psum_in.eq(0),
        ]
        scales, zeros, asums = self._group_operands(m, u, f, cnt, active, gin, qg, j, g_end, tr, bufs)
        # result side: (mb, nb, g) of the tile whose ``valid`` is up, and its group; K-groups summed per lane
        res = {k: Signal(len(f[lim]), name=f"u{u}_o{k}") for k, lim in (("mb", "mb"), ("nb", "nb"), ("g", "kg"))}
        rgin, rqg = Signal(len(f["gk"]), name=f"u{u}_ogin"), Signal(len(f["kg"]), name=f"u{u}_oqg")
        racc = Signal(ArrayLayout(ArrayLayout(signed(p.acc_width), p.nu), p.mu), name=f"u{u}_racc")
        first, last_g, r_end = rgin == 0, res["g"] + 1 == f["kg"], rgin + 1 == f["gk"]
        total = [Mux(first, 0, racc[r][c]) + core.out[r][c] for r in range(p.mu) for c in range(p.nu)]
        sums = Cat(*[t[:p.acc_width] for t in total])
        terms = [group_term(m, t[:p.acc_width].as_signed(), asums[i // p.nu], zeros[i % p.nu], scales[i % p.nu],
                            name=f"u{u}_t{i}") for i, t in enumerate(total)]
        wp = bufs["obuf"].write_port()
        last_block = last_g & (res["nb"] + 1 == f["nb"]) & (res["mb"] + 1 == f["mb"])
        m.d.comb += [wp.addr.eq(f["obase"] + res["mb"] * f["ostride"] + res["nb"] * f["gslot"] + rqg),
                     wp.data.eq(Cat(*terms)), wp.en.eq(core.valid & r_end),
                     ctrl.array_fin[u].eq(core.valid & last_block), ctrl.array_fin_id[u].eq(f["id"])]
        with m.If(issue):
            m.d.sync += [c.eq(0) for c in (*res.values(), rgin, rqg)]
        with m.Elif(core.valid):
            m.d.sync += [racc.eq(sums), rgin.eq(Mux(r_end, 0, rgin + 1)),
                         rqg.eq(Mux(r_end, Mux(last_g, 0, rqg + 1), rqg))]
            self._advance(m, {**res, "pl": None}, f, None)
            with m.If(last_block):
                m.d.sync += busy.eq(0)

    def _group_operands(self, m, u, f, cnt, active, gin, qg, j, g_end, tr, bufs):
        """Per quantization group, held from its last fetch cycle until its terms are written (≥ mw ≥ 4 cycles
        later comes the next group's): Nu FP16 scales, Nu odd zero points z′ = 2z + 1 − 2^b (1 without zero
        codes: symmetric formats, z = 2^(b−1)) and Mu activation sums S."""
        p = self.params
        mr = bufs["wbuf"].read_port(domain="comb")          # the unit's metadata port
        m.d.comb += mr.addr.eq(f["mbase"] + cnt["nb"] * f["mstride"] + qg * f["mw"] + j)
        words = [Signal(p.width["wbuf"], name=f"u{u}_meta{w}") for w in range(p.max_meta_words)]
        now = [Mux(j == w, mr.data, words[w]) for w in range(len(words))]
        hold = Signal(len(words) * p.width["wbuf"], name=f"u{u}_meta")
        with m.If(active):
            m.d.sync += [words[w].eq(now[w]) for w in range(len(words))]
            with m.If(g_end):
                m.d.sync += hold.eq(Cat(*now))
        scales = [hold[c * SCALE_BITS:(c + 1) * SCALE_BITS] for c in range(p.nu)]
        zbase = p.nu * SCALE_BITS
        zeros = []
        for c in range(p.nu):
            code = Array([hold[zbase + c * b:zbase + (c + 1) * b] if b else Const(0, 1)
                          for b in range(p.max_bits + 1)])[f["bits"]]
            zp = Signal(signed(p.max_bits + 2), name=f"u{u}_zp{c}")
            top = Signal(p.max_bits + 1, name=f"u{u}_top{c}")
            m.d.comb += [top.eq(Const(1, p.max_bits + 1) << f["bits"]),
                         zp.eq(Mux(f["zero"], code * 2 + 1 - top, 1))]
            zeros.append(zp)
        ew = p.entry_width
        row_bits = (1 << (p.k - 1)) * ew
        asums = []
        for r in range(p.mu):
            e_all = tr.data[r * row_bits + row_bits - ew:(r + 1) * row_bits].as_signed()   # Σ of the K-group
            acc = Signal(signed(ew + len(f["gk"]) + 1), name=f"u{u}_s{r}")
            held = Signal.like(acc, name=f"u{u}_sh{r}")
            nxt = Mux(cnt["pl"] == 0, Mux(gin == 0, 0, acc) + e_all, acc)
            with m.If(active):
                m.d.sync += acc.eq(nxt)
                with m.If(g_end):
                    m.d.sync += held.eq(nxt)
            asums.append(held)
        return scales, zeros, asums

    def _vector(self, m, ctrl, bufs):
        """The vector unit, one block of Mu×Nu outputs per cycle from the cycle it issues, blocks in tile order.
        DEQUANT (``op`` 0): one obuf word of a block's group terms per cycle (groups in increasing order: word
        obase + block·groups + group) into a prescaled :class:`~rtl.gateware.dequant_unit.DequantUnit`. Bias add
        (VEC residual, ``op`` 1, groups 1): the block's FP16 outputs plus the FP16 bias of its Nu columns (Nu·16 bits
        of wbuf from word bbase + (block mod nbt)·Nu·16 / W: one word per read port of wbuf's banks), rounded to
        FP16 (RNE). Either way each block's FP16 outputs, ``latency`` cycles after its last input, go to half an
        obuf word: word obase + block / 2 (already read: block b's inputs start at word b·gslot, or b / 2).
        A chunk of a longer reduction (:meth:`_chunk_words`) reads its block's words from obase + block·gslot and
        leaves the FP32 accumulator (``acc_out``) in the block's first word instead."""
        p = self.params
        ins, issue = ctrl.vector_instr[0], ctrl.vector_issue[0]
        names = ("id", "op", "obase", "blocks", "groups", "nbt", "bbase", "gslot", "acc_in", "acc_out", "qchunks",
                 "pitch", "sbase")
        fields = {k: getattr(ins, k) for k in names}
        fields.update(blk=Const(0, len(ins.blocks)), g=Const(0, len(ins.groups)), col=Const(0, len(ins.nbt)),
                      brow=Const(0, len(ins.blocks)), **_quantize_counters(ins))
        regs, live = _live(m, issue, fields, "vec")
        active = Signal(name="vec_active")
        go = issue | active
        m.d.comb += ctrl.vector_ready[0].eq(~active)
        last_g = live["g"] + 1 == live["groups"]
        last = last_g & (live["blk"] + 1 == live["blocks"])
        row_end = last_g & (live["col"] + 1 == live["nbt"])
        with m.If(go):
            m.d.sync += regs["brow"].eq(live["brow"] + row_end)
            self._quantize_step(m, regs, live)
            m.d.sync += [regs[k].eq(live[k]) for k in names]
            m.d.sync += [regs["g"].eq(Mux(last_g, 0, live["g"] + 1)), regs["blk"].eq(live["blk"] + last_g),
                         regs["col"].eq(Mux(last_g, Mux(live["col"] + 1 == live["nbt"], 0, live["col"] + 1),
                                            live["col"])),
                         active.eq(~last)]
        half = p.mu * p.nu * OUT_BITS
        dq = m.submodules.dequant = DequantUnit(lanes=p.mu * p.nu, latency=p.vec_latency, prescaled=True,
                                                chunked=True)
        rp = bufs["obuf"].read_port(domain="comb")
        word, slot0 = self._chunk_words(m, live)
        quantize = live["op"] == VEC_OPS.index("quantize")
        bias_add = live["op"] == VEC_OPS.index("residual")
        m.d.comb += [rp.addr.eq(Mux(quantize, self._quantize_word(live),
                                    live["obase"] + Mux(bias_add, live["blk"] >> 1, word))),
                     dq.term.eq(rp.data), dq.valid.eq(go & (live["op"] == VEC_OPS.index("dequant"))),
                     dq.first.eq(live["g"] == 0),
                     dq.last.eq(last_g)]
        added = self._bias_add(m, bufs, rp.data.word_select(live["blk"][0], half), live)
        keep = live["acc_out"] & (live["op"] == VEC_OPS.index("dequant"))  # a chunk leaves its FP32 accumulator
        tag = _delay(m, {"valid": go & last_g, "last": last, "id": live["id"], "op": live["op"], "keep": keep,
                         "addr": live["obase"] + Mux(keep, slot0, live["blk"] >> 1), "half": live["blk"][0],
                         "col": live["col"], "brow": live["brow"]}, p.vec_latency, "vec_tag")
        wp = bufs["obuf"].write_port(granularity=half)
        result = dq.out.as_value() if added is None else Mux(tag["op"] == VEC_OPS.index("residual"), added,
                                                             dq.out.as_value())
        written = tag["valid"] & (tag["op"] != VEC_OPS.index("quantize"))
        # the KV quantize's row statistics see final FP16 outputs only, not a chunk's FP32 accumulator
        self._kv_quantize(m, bufs, rp.data, go & quantize, live, result, written & ~tag["keep"], tag)
        m.d.comb += [wp.addr.eq(tag["addr"]),
                     wp.data.eq(Mux(tag["keep"], dq.wide.as_value(), result.replicate(p.width["obuf"] // half))),
                     wp.en.eq(Mux(written, Mux(tag["keep"], 3, Mux(tag["half"], 2, 1)), 0)),
                     ctrl.vector_fin[0].eq(tag["valid"] & tag["last"]), ctrl.vector_fin_id[0].eq(tag["id"])]

    def _bias_add(self, m, bufs, outs, live):
        """The bias add's FP16 sums of block outputs ``outs`` (Mu·Nu lanes) and their columns' biases, ``latency``
        cycles later; None where the array has none (:attr:`~rtl.gateware.array_params.ArrayParams.bias_add`: its
        Nu biases are more bits than wbuf's ports give per cycle, so neither the read ports nor the adders exist)."""
        p = self.params
        if not p.bias_add:
            return None
        per = p.width["wbuf"] // OUT_BITS
        bias = []
        for w in range(p.nu // per):
            br = bufs["wbuf"].read_port(domain="comb")
            m.d.comb += br.addr.eq(live["bbase"] + live["col"] * (p.nu // per) + w)
            bias += [br.data[e * OUT_BITS:(e + 1) * OUT_BITS] for e in range(per)]
        added = Cat(*[fp16_add(m, outs[lane * OUT_BITS:(lane + 1) * OUT_BITS], bias[lane % p.nu], name=f"vadd{lane}")
                      for lane in range(p.mu * p.nu)])
        return _delay(m, {"v": added}, p.vec_latency, "vadd")["v"]

    def _chunk_words(self, m, live):
        """A DEQUANT's obuf read word (offset from obase) this cycle and its block's first word: block·gslot, then
        ``g`` (0 … groups−1), past word 0 when a first chunk (acc_out without acc_in) leaves it for the FP32
        accumulator; ``load`` / ``keep`` of the DequantUnit: word 0 restores the accumulator (acc_in), the block's
        result stays FP32 (acc_out). An unchunked DEQUANT (gslot = groups, flags 0) reads block·groups + g."""
        dq = m.submodules.dequant
        slot0 = Signal(len(live["obase"]) + 1, name="vec_slot0")
        m.d.comb += slot0.eq(live["blk"] * live["gslot"])
        word = Signal.like(slot0, name="vec_word")
        m.d.comb += [word.eq(slot0 + live["g"] + (live["acc_out"] & ~live["acc_in"])),
                     dq.load.eq(live["acc_in"] & (live["g"] == 0)), dq.keep.eq(live["acc_out"])]
        return word, slot0

    def _quantize_word(self, live):
        """The obuf word of KV-quantize chunk ``qc`` of tile row ``qr``: its Mu·Nu columns are Mu blocks of the row's
        block row (the tile's FP16 outputs, two blocks per word), one word for Mu = 2 (the assembler's rule)."""
        lmu = self.params.mu.bit_length() - 1
        return live["obase"] + ((((live["qr"] >> lmu) * live["nbt"]) + (live["qc"] << lmu)) >> 1)

    @staticmethod
    def _quantize_step(m, regs, live):
        """Advance the KV-quantize counters by one chunk: chunk ``qc`` of row ``qr`` (``qroff``: the row's first
        nibble in the packed stream)."""
        row_end = live["qc"] + 1 == live["qchunks"]
        m.d.sync += [regs["qc"].eq(Mux(row_end, 0, live["qc"] + 1)), regs["qr"].eq(live["qr"] + row_end),
                     regs["qroff"].eq(Mux(row_end, live["qroff"] + live["pitch"], live["qroff"]))]

    def _kv_quantize(self, m, bufs, word, valid, live, result, written, tag):
        """The vector unit's KV quantize (``op`` 2) and the row statistics it needs. Every DEQUANT / bias-add output
        block the unit writes (``written``: ``result``, block ``tag.col`` of block row ``tag.brow``) updates the FP16
        min(·, 0) / max(·, 0) of its Mu tile rows (restarted at the row's first block) in a row-statistics memory;
        a quantize then reads, per cycle, one Mu·Nu-lane chunk of a tile row from obuf (``word``) with its row's
        statistics into a :class:`~rtl.gateware.kv_quantize_unit.KvQuantizeUnit` and, ``latency`` cycles later,
        writes the chunk's 4-bit codes (and after the row's last chunk its scale and zero code) into the packed
        stream from obuf word ``sbase``: nibble ``qr·pitch + qc·Mu·Nu`` on, across two obuf words when it straddles
        one (two nibble-granular write ports)."""
        p = self.params
        lanes, fmt = p.mu * p.nu, formats.get(KV_FORMAT)
        bits, meta = fmt.code_bits, fmt.metadata_bits_per_group()
        assert bits == NIBBLE and meta % NIBBLE == 0, "the stream is written in nibbles"
        stats = m.submodules.kv_stats = Memory(shape=unsigned(2 * OUT_BITS), depth=p.obuf_words, init=[])
        for r in range(p.mu):
            rd, wr = stats.read_port(domain="comb"), stats.write_port()
            row = tag["brow"] * p.mu + r
            vals = [result[(r * p.nu + c) * OUT_BITS:(r * p.nu + c + 1) * OUT_BITS] for c in range(p.nu)]
            first = tag["col"] == 0
            lo, hi = fp16_min_max(m, vals, Mux(first, 0, rd.data[:OUT_BITS]), Mux(first, 0, rd.data[OUT_BITS:]),
                                  name=f"kvmm{r}")
            m.d.comb += [rd.addr.eq(row), wr.addr.eq(row), wr.data.eq(Cat(lo, hi)), wr.en.eq(written)]
        srd = stats.read_port(domain="comb")
        unit = m.submodules.kv_quantize = KvQuantizeUnit(lanes=lanes, bits=bits, latency=p.vec_latency)
        lmu = p.mu.bit_length() - 1
        sel = live["qr"][:lmu] if lmu else 0
        m.d.comb += [srd.addr.eq(live["qr"]), unit.valid.eq(valid), unit.lo.eq(srd.data[:OUT_BITS]),
                     unit.hi.eq(srd.data[OUT_BITS:])]
        m.d.comb += [unit.x[i].eq(word.word_select((i // p.nu) * lanes + sel * p.nu + i % p.nu, OUT_BITS))
                     for i in range(lanes)]
        q = _delay(m, {"valid": valid, "off": live["qroff"] + live["qc"] * lanes, "sbase": live["sbase"],
                       "meta": live["qc"] + 1 == live["qchunks"]}, p.vec_latency, "kvq_tag")
        width = p.width["obuf"]
        per = width // NIBBLE
        data = Cat(unit.codes.as_value(), unit.scale, unit.zero)
        nib = q["off"][:per.bit_length() - 1]
        wide = Signal(2 * width, name="kvq_wide")
        mask = Signal(2 * per, name="kvq_mask")
        codes = lanes * bits // NIBBLE
        ones = Cat(Const((1 << codes) - 1, codes), q["meta"].replicate(meta // NIBBLE))
        m.d.comb += [wide.eq(data << (nib * NIBBLE)), mask.eq(ones << nib)]
        word_addr = q["sbase"] + (q["off"] >> (per.bit_length() - 1))
        for h in range(2):
            wp = bufs["obuf"].write_port(granularity=NIBBLE)
            m.d.comb += [wp.addr.eq(word_addr + h), wp.data.eq(wide[h * width:(h + 1) * width]),
                         wp.en.eq(Mux(q["valid"], mask[h * per:(h + 1) * per], 0))]

    @staticmethod
    def _advance(m, cnt, f, active):
        """Step the nested counters (mb, nb, g[, plane]) against the instruction's limits; clear
        ``active`` after the last step."""
        order = [("pl", "bits"), ("g", "kg"), ("nb", "nb"), ("mb", "mb")]
        order = [(k, lim) for k, lim in order if cnt.get(k) is not None]
        wrap = Const(1)
        for k, lim in order:
            at_end = cnt[k] + 1 == f[lim]
            with m.If(wrap):
                m.d.sync += cnt[k].eq(Mux(at_end, 0, cnt[k] + 1))
            wrap = wrap & at_end
        if active is not None:
            with m.If(wrap):
                m.d.sync += active.eq(0)


class DramModel(wiring.Component):
    """External memory of ``depth`` port words (``init``: contents): a read request (``addr``, ``re``)
    is answered on ``rdata`` ``latency`` cycles later; ``we`` writes ``wdata`` at the edge. ``dbg_addr``
    / ``dbg_data``: a combinational read for testbenches; ``dbg_we`` / ``dbg_wdata``: their write at
    ``dbg_addr`` (loads an image while the array is idle; it wins over ``we``)."""

    def __init__(self, width: int, depth: int, latency: int, init=()):
        self.width, self.depth, self.latency, self.init = width, depth, latency, list(init)
        super().__init__({"addr": In(range(depth)), "re": In(1), "we": In(1), "wdata": In(width),
                          "rdata": Out(width), "dbg_addr": In(range(depth)), "dbg_data": Out(width),
                          "dbg_we": In(1), "dbg_wdata": In(width)})

    def elaborate(self, platform):
        m = Module()
        mem = m.submodules.mem = Memory(shape=unsigned(self.width), depth=self.depth, init=self.init)
        rp, wp, dbg = mem.read_port(), mem.write_port(), mem.read_port(domain="comb")
        m.d.comb += [rp.addr.eq(self.addr), rp.en.eq(self.re), wp.addr.eq(Mux(self.dbg_we, self.dbg_addr, self.addr)),
                     wp.data.eq(Mux(self.dbg_we, self.dbg_wdata, self.wdata)), wp.en.eq(self.we | self.dbg_we),
                     dbg.addr.eq(self.dbg_addr), self.dbg_data.eq(dbg.data)]
        out = _delay(m, {"d": rp.data}, self.latency - 1, "dram_q")
        m.d.comb += self.rdata.eq(out["d"])
        return m


class LutArraySystem(wiring.Component):
    """:class:`LutArray` wired to a :class:`DramModel` holding ``image`` (port words): the unit the
    tests simulate. Ports: ``start``, ``done``, ``cycles``, ``dbg_addr`` / ``dbg_data`` / ``dbg_we`` /
    ``dbg_wdata`` (DRAM), the instruction-memory load port. ``array``: another array with LutArray's ports
    and ``_ctrl`` (the BitMoD array, rtl/gateware/bitmod_array.py) instead of ``LutArray(params, program)``."""

    def __init__(self, params: ArrayParams, program: ArrayProgram | None = None, image=(), array=None):
        self.params, self.program, self.image = params, program, list(image)
        self._array = array if array is not None else LutArray(params, program)
        super().__init__({**_LOAD_PORTS(self._array._ctrl), "start": In(1), "done": Out(1), "cycles": Out(CYCLE_BITS),
                          "dbg_addr": In(range(params.dram_words)), "dbg_data": Out(params.port_bits),
                          "dbg_we": In(1), "dbg_wdata": In(params.port_bits)})

    def elaborate(self, platform):
        m = Module()
        p = self.params
        arr = m.submodules.array = self._array
        m.d.comb += [getattr(arr, k).eq(getattr(self, k)) for k in _LOAD_NAMES]
        dram = m.submodules.dram = DramModel(p.port_bits, p.dram_words, p.latency, self.image)
        m.d.comb += [arr.start.eq(self.start), self.done.eq(arr.done), self.cycles.eq(arr.cycles),
                     dram.addr.eq(arr.mem_addr), dram.re.eq(arr.mem_re), dram.we.eq(arr.mem_we),
                     dram.wdata.eq(arr.mem_wdata), arr.mem_rdata.eq(dram.rdata),
                     dram.dbg_addr.eq(self.dbg_addr), self.dbg_data.eq(dram.dbg_data), dram.dbg_we.eq(self.dbg_we),
                     dram.dbg_wdata.eq(self.dbg_wdata)]
        return m


def lut_array(*, max_instrs: int = 16, dram_words: int = 1024, preset: str = PRESET) -> LutArray:
    """The ``lut-array`` design: the array of arch preset ``preset`` (default ``lut-tc-rtl-small``; ``lut-array-fpga``:
    :data:`FPGA_PRESET`) with empty instruction memories (programs come through the load port) and an external
    memory port (tests wrap it with a DRAM model in :class:`LutArraySystem`: tests/rtl/gateware/test_lut_array.py)."""
    return LutArray(from_arch(arch_registry.load(preset), max_instrs=max_instrs, dram_words=dram_words))
