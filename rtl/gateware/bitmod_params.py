"""The RTL BitMoD array's parameters and its BSMMA instruction word: what rtl/gateware/bitmod_array.py is
built from.

:class:`BitModParams` comes from an arch spec (preset ``sim/arch/presets/bitmod-rtl-small.yaml``) and one
weight format by :func:`from_arch`: the PE grid (``pe.array``: rows over N × columns over M), the DRAM port
(``dram.bandwidth`` W bits per cycle, ``dram.latency`` L cycles) and three buffers whose ``width`` × ``banks``
are the RTL's ports: abuf one lane step (4 FP16 activations) per PE column, wbuf a code word and a metadata
word per PE row, obuf one FP32 partial sum per PE. wbuf holds each weight row of a k-tile as its codes (packed,
whole words) followed by its group metadata (BitMoD: the tag/scale byte; INT: the FP16 group scale).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import unsigned
from amaranth.lib.data import StructLayout

from sim.arch import Arch
from sim.formats import get as get_format
from sim.pe.bitmod_pe import ACT_BITS, LANES, WEIGHTS

from .array_params import buffer_words, dma_sync_layouts, head_fields, need, u

FP32_BITS = 32      # the PE's output accumulator (IEEE 754 binary32)
ACTS = "fp16"       # the BitMoD PE's activations (sim.pe.bitmod_pe.BitModPE.act_formats)


@dataclass(frozen=True)
class BitModParams:
    """Sizes of the RTL BitMoD array (see the module docstring); words are per buffer, widths in bits."""

    rows: int
    cols: int
    weights: str
    port_bits: int
    latency: int
    abuf_words: int
    wbuf_words: int
    obuf_words: int
    wbuf_width: int
    max_instrs: int = 16
    dram_words: int = 1024
    units: int = 1
    tbuf_words: int = 0      # no table buffer: its space counter is always 0
    vec_latency: int = 4     # DEQUANT's result delay in cycles (the arch's vector.latency)

    @property
    def dequant_lanes(self) -> int:
        """Outputs DEQUANT rescales per cycle: one per obuf bank (rows · cols FP32 words per cycle), the engine's
        obuf access rate for DEQUANT's reads (sim/engine/decode.py: width · banks bits per cycle)."""
        return self.rows * self.cols

    @property
    def has_channel_scale(self) -> bool:
        """The weight format has an FP16 per-channel scale on top of its group scales (BitMoD formats)."""
        return hasattr(get_format(self.weights), "channel_scales")

    @property
    def width(self) -> dict[str, int]:
        """Bits per word of each buffer."""
        return {"abuf": LANES * ACT_BITS, "wbuf": self.wbuf_width, "tbuf": 0, "obuf": FP32_BITS}

    def capacity(self, buf: str) -> int:
        """Bytes of ``buf`` (the arch's capacity: words × word bytes)."""
        return getattr(self, f"{buf}_words") * self.width[buf] // 8

    def ratio(self, buf: str) -> int:
        """Port words (W bits) per buffer word."""
        return self.width[buf] // self.port_bits

    @property
    def code_bits(self) -> int:
        return get_format(self.weights).code_bits

    @property
    def meta_bits(self) -> int:
        """Metadata bits per group in wbuf (BitMoD: 2 tag + 6 scale bits; INT: the FP16 group scale)."""
        return get_format(self.weights).metadata_bits_per_group()

    @property
    def step_bits(self) -> int:
        """Bits of one lane step's codes (LANES codes)."""
        return LANES * self.code_bits

    @property
    def steps_per_word(self) -> int:
        """Lane steps per wbuf code word when whole steps fill it (bitmod_fp4, int4, int8 at 32 bits), else 0: a
        step may straddle two words (bitmod_fp3: 12 bits, int6: 24 bits), read as a pair and shifted."""
        return self.wbuf_width // self.step_bits if self.wbuf_width % self.step_bits == 0 else 0

    @property
    def groups_per_word(self) -> int:
        """Groups' metadata per wbuf word."""
        return self.wbuf_width // self.meta_bits


def from_arch(arch: Arch, weights: str = "bitmod_fp4", max_instrs: int = 16, dram_words: int = 1024) -> BitModParams:
    """The RTL parameters of ``arch`` for ``weights``; InputError names the field the RTL cannot build."""
    need(arch.pe.type == "bitmod", "arch.pe.type", f"{arch.pe.type!r}: this RTL array is BitMoD", "bitmod")
    need(arch.pe.mapping in (None, "nm"), "arch.pe.mapping", "PE (r, c) holds output (n, m) in the RTL", "nm")
    need(arch.arrays == 1, "arch.arrays", "the RTL builds one PE array", "1")
    need(arch.dram.banks is None, "arch.dram.banks", "no DRAM row model in the RTL port", "none")
    need(bool(arch.pe.options.get("channel_scales")), "arch.pe.options.channel_scales",
         "the RTL's DEQUANT applies the channel scale to the PEs' group-scaled sums", "true")
    need(arch.vector.latency >= 1, "arch.vector.latency",
         "DEQUANT's pipeline has at least one register", ">= 1")
    need(weights in WEIGHTS, "weights", f"the BitMoD PE does not take {weights!r}", ", ".join(WEIGHTS))
    rows, cols = arch.pe.array
    need(rows * cols % 2 == 0, "arch.pe.array", "DEQUANT's rows · cols lanes write whole obuf words of two FP16",
         "an even rows · cols")
    port = arch.dram.bandwidth
    wbuf = next((b for b in arch.buffers if b.name == "wbuf"), None)
    need(wbuf is not None, "arch.buffers", "the RTL needs abuf, wbuf and obuf", "abuf, wbuf, obuf")
    p = BitModParams(rows=rows, cols=cols, weights=weights, port_bits=port, latency=arch.dram.latency,
                     abuf_words=1, wbuf_words=1, obuf_words=1, wbuf_width=wbuf.width, max_instrs=max_instrs,
                     dram_words=dram_words, vec_latency=arch.vector.latency)
    need(p.step_bits <= p.wbuf_width and p.wbuf_width % p.meta_bits == 0, "weights",
         f"{weights}: a wbuf word of {p.wbuf_width} bits must hold a lane step of {LANES} codes and whole groups' "
         "metadata", "every BitMoD PE format at 32 bits")
    banks = {"abuf": cols, "wbuf": 2 * rows, "obuf": rows * cols}
    words = buffer_words(arch, p.width, banks, port)
    need(len(words) == 3, "arch.buffers", "the RTL needs abuf, wbuf and obuf", "abuf, wbuf, obuf")
    return BitModParams(**{**p.__dict__, **words})


def layouts(p: BitModParams) -> dict[str, StructLayout]:
    """Instruction words of the DMA, sync and BSMMA (``array``) classes. A BSMMA word: activation rows
    (``abase``, ``astride`` abuf words per row), weight rows (``wbase``, ``wstride`` wbuf words per row,
    the metadata ``moff`` words into a row), the output tile (``obase``, ``ostride`` = its n: FP32 words,
    row-major), its ``m`` × ``n``, ``groups`` of ``gsteps`` lane steps and ``acc`` (add onto obuf). A DEQUANT
    (``vector``) word: the output tile's ``outs`` = m · n FP32 sums from obuf word ``obase``, its ``nt`` columns
    and their FP16 channel scales from wbuf word ``cbase`` on (two per word, column 0 low)."""
    return {
        **dma_sync_layouts(p),
        "array": StructLayout({**head_fields(p), "abase": u(p.abuf_words - 1), "astride": u(p.abuf_words),
                               "wbase": u(p.wbuf_words - 1), "wstride": u(p.wbuf_words), "moff": u(p.wbuf_words),
                               "obase": u(p.obuf_words - 1), "ostride": u(p.obuf_words), "m": u(p.obuf_words),
                               "n": u(p.obuf_words), "groups": u(p.abuf_words), "gsteps": u(p.abuf_words),
                               "acc": unsigned(1)}),
        "vector": StructLayout({**head_fields(p), "obase": u(p.obuf_words - 1), "outs": u(p.obuf_words),
                                "nt": u(p.obuf_words), "cbase": u(p.wbuf_words - 1)}),
    }
