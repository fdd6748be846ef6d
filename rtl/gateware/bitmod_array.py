"""A small BitMoD array: a rows × cols grid of BitMoD PEs (rtl/gateware/bitmod_pe.py, ``accumulate`` variant)
stepping in lockstep, three buffers (Amaranth ``Memory``), the LUT array's DMA engine and the shared controller
(rtl/gateware/array_controller.py), all sized from one arch spec (rtl/gateware/bitmod_params.from_arch;
preset ``bitmod-rtl-small``). It runs the compiler's LOAD / BSMMA / DEQUANT / STORE (SYNCs become dependency
masks): DEQUANT scales each output tile's FP32 sums by the FP16 channel scales (BitMoD formats) and rounds them to
the FP16 outputs the STOREs write.

A BSMMA walks its output tile in folds (n outer, m inner: the model's order): PE (r, c) computes output
(m0 + c, n0 + r), fed one lane step at a time (4 FP16 activations from abuf, 4 codes and the group's metadata
from wbuf, all read combinationally); a fold's first step gives each PE its output's obuf value (the k-tiles
before, when the BSMMA accumulates, else 0) and its result is written back at the edge that ends the fold.
The first step is presented in the issue cycle, so a BSMMA of F folds lasts F · fold cycles, the engine's
(docs/bitmod_pe.md). Buffers, timing and what is not built: docs/bitmod_array_rtl.md.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.utils import bits_for, exact_log2

from sim import arch as arch_registry
from sim.pe.bitmod_pe import CHANNEL_SCALE_BITS, FP16_BIAS_LSB

from .array_controller import ArrayController
from .array_params import OUT_BITS, ArrayProgram
from .bitmod_params import FP32_BITS, BitModParams, from_arch, layouts
from .bitmod_pe import TAG_BITS, BitModPE
from .fp32 import fp32_mul_fp16, fp32_to_fp16
from .lut_array import _delay, _live, array_ports, buffers_with_controller, dma_engine

PRESET = "bitmod-rtl-small"
UNITS = {"dma": 1, "array": 1, "vector": 1}   # controller classes: DMA, the PE array, DEQUANT (no table unit)
_FIELDS = ("id", "abase", "astride", "wbase", "wstride", "moff", "obase", "ostride", "m", "n", "groups",
           "gsteps", "acc")


class BitModArray(wiring.Component):
    """The array (see the module docstring). ``params`` from :func:`rtl.gateware.bitmod_params.from_arch`,
    ``program`` from :func:`rtl.tools.bitmod_program.assemble` (empty: an array that finishes at once).
    Ports as :class:`rtl.gateware.lut_array.LutArray`'s."""

    def __init__(self, params: BitModParams, program: ArrayProgram | None = None):
        self.params = params
        self.program = program
        self._ctrl = ArrayController(params, program, words=layouts(params), units=UNITS)
        super().__init__(array_ports(self._ctrl, params))

    def elaborate(self, platform):
        m = Module()
        p = self.params
        ctrl, bufs = buffers_with_controller(m, self, ("abuf", "wbuf", "obuf"))
        dma_engine(m, p, ctrl, bufs, self)   # the LUT array's DMA engine (no blocked STOREs here)
        self._bsmma_unit(m, ctrl, bufs)
        self._dequant_unit(m, ctrl, bufs)
        return m

    def _bsmma_unit(self, m, ctrl, bufs):
        p = self.params
        ins, issue = ctrl.array_instr[0], ctrl.array_issue[0]
        fields = {k: getattr(ins, k) for k in _FIELDS}
        zero = {"s": "gsteps", "g": "groups", "ks": "astride", "m0": "m", "n0": "n"}   # feed counters
        fields.update({k: Const(0, len(getattr(ins, lim))) for k, lim in zero.items()})
        regs, live = _live(m, issue, fields, "bs")
        active, busy = Signal(name="bs_active"), Signal(name="bs_busy")
        go = issue | active
        m.d.comb += ctrl.array_ready[0].eq(~busy)
        pes = [[BitModPE(weights=p.weights, accumulate=True) for _ in range(p.cols)] for _ in range(p.rows)]
        for r in range(p.rows):
            for c in range(p.cols):
                m.submodules[f"pe{r}_{c}"] = pes[r][c]
        take = go & pes[0][0].in_ready      # the PEs' control does not depend on data: they step in lockstep

        # ---- feed side: (n0, m0, group g, step s), s fastest; ks = the step's index in the k-tile ----------
        last_s = live["s"] + 1 == live["gsteps"]
        last_g = last_s & (live["g"] + 1 == live["groups"])
        last_m = live["m0"] + p.cols >= live["m"]
        last_fold = last_g & last_m & (live["n0"] + p.rows >= live["n"])
        nxt = {"s": Mux(last_s, 0, live["s"] + 1), "g": Mux(last_g, 0, live["g"] + last_s),
               "ks": Mux(last_g, 0, live["ks"] + 1), "m0": Mux(last_g, Mux(last_m, 0, live["m0"] + p.cols), live["m0"]),
               "n0": Mux(last_g & last_m, Mux(last_fold, 0, live["n0"] + p.rows), live["n0"])}
        with m.If(go):
            m.d.sync += [regs[k].eq(live[k]) for k in _FIELDS]
            m.d.sync += [regs[k].eq(Mux(take, nxt[k], live[k])) for k in zero]
            m.d.sync += active.eq(~(take & last_fold))
        with m.If(issue):
            m.d.sync += busy.eq(1)
        first = (live["s"] == 0) & (live["g"] == 0)

        # ---- result side: the fold whose result is out now (res_valid), written to obuf at this edge -------
        res = {k: Signal(len(live[k]), name=f"bs_res_{k}") for k in ("m0", "n0")}
        done_now = pes[0][0].res_valid
        res_last_m = res["m0"] + p.cols >= regs["m"]
        res_last = res_last_m & (res["n0"] + p.rows >= regs["n"])
        with m.If(done_now):
            m.d.sync += [res["m0"].eq(Mux(res_last_m, 0, res["m0"] + p.cols)),
                         res["n0"].eq(Mux(res_last_m, Mux(res_last, 0, res["n0"] + p.rows), res["n0"]))]
            with m.If(res_last):
                m.d.sync += busy.eq(0)
        m.d.comb += [ctrl.array_fin[0].eq(done_now & res_last), ctrl.array_fin_id[0].eq(regs["id"])]

        # ---- per PE row: codes and metadata; per column: activations; per PE: obuf -----------------------
        gpw = p.groups_per_word
        acts = []
        for c in range(p.cols):
            rd = bufs["abuf"].read_port(domain="comb")
            m.d.comb += rd.addr.eq(live["abase"] + (live["m0"] + c) * live["astride"] + live["ks"])
            acts.append(rd.data)
        for r in range(p.rows):
            row = live["wbase"] + (live["n0"] + r) * live["wstride"]
            meta_rd = bufs["wbuf"].read_port(domain="comb")
            m.d.comb += meta_rd.addr.eq(row + live["moff"] + (live["g"] >> exact_log2(gpw)))
            codes = self._step_codes(m, bufs["wbuf"], row, live["ks"], f"bs_codes{r}")
            meta = meta_rd.data.word_select(live["g"][:exact_log2(gpw)] if gpw > 1 else 0, p.meta_bits)
            for c in range(p.cols):
                pe = pes[r][c]
                self._metadata(m, pe, meta)
                m.d.comb += [pe.in_valid.eq(go), pe.act.eq(acts[c]), pe.w.eq(codes), pe.first.eq(first),
                             pe.last.eq(last_s), pe.last_group.eq(last_g)]
                old = bufs["obuf"].read_port(domain="comb")
                m.d.comb += [old.addr.eq(live["obase"] + (live["m0"] + c) * live["ostride"] + live["n0"] + r),
                             pe.o_init.eq(Mux(live["acc"], old.data, 0))]
                wp = bufs["obuf"].write_port()
                inside = (res["m0"] + c < regs["m"]) & (res["n0"] + r < regs["n"])
                m.d.comb += [wp.addr.eq(regs["obase"] + (res["m0"] + c) * regs["ostride"] + res["n0"] + r),
                             wp.data.eq(pe.res), wp.en.eq(done_now & inside)]

    def _step_codes(self, m, wbuf, row, ks, name: str):
        """Step ``ks``'s LANES codes of the weight row at wbuf word ``row`` (codes packed from bit 0 of the row):
        whole steps per word (steps_per_word > 0) select one word's field; otherwise the step's first bit
        ks · step_bits is in word ks · step_bits / W, read with the next word and shifted (a step of ≤ W bits)."""
        p = self.params
        spw, w = p.steps_per_word, p.wbuf_width
        rd = wbuf.read_port(domain="comb")
        if spw:
            m.d.comb += rd.addr.eq(row + (ks >> exact_log2(spw)))
            return rd.data.word_select(ks[:exact_log2(spw)] if spw > 1 else 0, p.step_bits)
        bit = Signal(len(ks) + bits_for(p.step_bits), name=f"{name}_bit")
        m.d.comb += bit.eq(ks * p.step_bits)
        nxt = wbuf.read_port(domain="comb")
        m.d.comb += [rd.addr.eq(row + (bit >> exact_log2(w))), nxt.addr.eq(row + (bit >> exact_log2(w)) + 1)]
        pair = Signal(2 * w, name=f"{name}_pair")
        m.d.comb += pair.eq(Cat(rd.data, nxt.data) >> bit[:exact_log2(w)])
        return pair[:p.step_bits]

    def _dequant_unit(self, m, ctrl, bufs):
        """DEQUANT: ``lanes`` (one per obuf bank) of the tile's FP32 sums per cycle from the issue cycle on, in
        row-major order (output i = obase + i), each times its column's FP16 channel scale (BitMoD formats:
        ``fp32_mul_fp16``, one RNE rounding, the model's fp32(O · chan)) and rounded to FP16 (``fp32_to_fp16``,
        RNE); ``vec_latency`` cycles after its read, output i goes to half (i mod 2) of obuf word obase + i / 2
        (already read: i / 2 ≤ i). Column of lane l: a counter stepping by ``lanes`` modulo nt."""
        p = self.params
        lanes = p.dequant_lanes
        ins, issue = ctrl.vector_instr[0], ctrl.vector_issue[0]
        names = ("id", "obase", "outs", "nt", "cbase")
        fields = {k: getattr(ins, k) for k in names}
        fields["i"] = Const(0, len(ins.outs) + bits_for(lanes))            # first output of this cycle
        for lane in range(lanes):                                          # its column, mod nt
            fields[f"col{lane}"] = self._wrap(m, Const(lane, len(ins.nt) + bits_for(lanes)), ins.nt, f"dq_c0_{lane}")
        regs, live = _live(m, issue, fields, "dq")
        active = Signal(name="dq_active")
        go = issue | active
        m.d.comb += ctrl.vector_ready[0].eq(~active)
        last = live["i"] + lanes >= live["outs"]
        with m.If(go):
            m.d.sync += [regs[k].eq(live[k]) for k in names]
            m.d.sync += [regs["i"].eq(live["i"] + lanes), active.eq(~last)]
            for lane in range(lanes):
                nxt = self._wrap(m, live[f"col{lane}"] + lanes, live["nt"], f"dq_col{lane}")
                m.d.sync += regs[f"col{lane}"].eq(nxt)
        halves = []
        for lane in range(lanes):
            rd = bufs["obuf"].read_port(domain="comb")
            m.d.comb += rd.addr.eq(live["obase"] + live["i"] + lane)
            value = rd.data
            if p.has_channel_scale:
                col = live[f"col{lane}"]
                cr = bufs["wbuf"].read_port(domain="comb")
                sh = exact_log2(p.wbuf_width // CHANNEL_SCALE_BITS)                # scales per wbuf word: 2^sh
                m.d.comb += cr.addr.eq(live["cbase"] + (col >> sh))
                chan = cr.data.word_select(col[:sh] if sh else 0, CHANNEL_SCALE_BITS)
                value = fp32_mul_fp16(m, value, chan, name=f"dq_mul{lane}")
            halves.append(fp32_to_fp16(m, value, name=f"dq_f16_{lane}"))
        valid = Cat(*[go & (live["i"] + lane < live["outs"]) for lane in range(lanes)])
        tag = _delay(m, {"v": Cat(*halves), "valid": valid, "last": go & last, "id": live["id"],
                         "addr": live["obase"] + (live["i"] >> 1)}, p.vec_latency, "dq_tag")
        for w in range(lanes // 2):      # two FP16 outputs per obuf word
            wp = bufs["obuf"].write_port(granularity=OUT_BITS)
            m.d.comb += [wp.addr.eq(tag["addr"] + w), wp.data.eq(tag["v"].word_select(w, FP32_BITS)),
                         wp.en.eq(tag["valid"][2 * w:2 * w + 2])]
        m.d.comb += [ctrl.vector_fin[0].eq(tag["last"]), ctrl.vector_fin_id[0].eq(tag["id"])]

    @staticmethod
    def _wrap(m, value, nt, name: str) -> Signal:
        """``value`` mod ``nt`` for value < nt + 4 (a lane's column plus the 4 lanes): two subtractions when
        nt ≥ 2 (value < 3·nt), 0 when nt = 1."""
        out = Signal(len(value), name=name)
        once = Mux(value >= nt, value - nt, value)
        m.d.comb += out.eq(Mux(nt == 1, 0, Mux(once >= nt, once - nt, once)))
        return out

    def _metadata(self, m, pe, meta):
        """A group's metadata word → the PE's scale ports: BitMoD (scale << 2) | tag; INT the FP16 scale."""
        if pe.is_bitmod:
            m.d.comb += [pe.tag.eq(meta[:TAG_BITS]), pe.scale.eq(meta[TAG_BITS:])]
            return
        f = meta[10:15]
        m.d.comb += [pe.scale.eq(Cat(meta[:10], f.any())), pe.scale_exp.eq(Mux(f.any(), f, 1) - FP16_BIAS_LSB)]


def bitmod_array(*, weights: str = "bitmod_fp4", max_instrs: int = 16, dram_words: int = 1024) -> BitModArray:
    """The ``bitmod-array`` design: the array of preset ``bitmod-rtl-small`` for ``weights`` with empty
    instruction memories (programs come through the load port) and an external memory port."""
    p = from_arch(arch_registry.load(PRESET), weights=weights, max_instrs=max_instrs, dram_words=dram_words)
    return BitModArray(p)


__all__ = ["PRESET", "BitModArray", "bitmod_array"]
