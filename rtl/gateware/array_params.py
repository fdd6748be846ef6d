"""The RTL LUT array's parameters and instruction-word encoding: what the gateware
(rtl/gateware/lut_array.py, array_controller.py) is built from.

:class:`ArrayParams` comes from an arch spec (e.g. ``sim/arch/presets/lut-tc-rtl-small.yaml``) by
:func:`from_arch`: unit tile Mu×Nu×K (``pe.tile``), units (``arrays``), tables per cycle = Mu, table
latency, the DRAM port (``dram.bandwidth`` W bits per cycle, ``dram.latency`` L cycles) and the four
buffers, whose ``width`` must be the RTL word (abuf: one K-group of INT8 activations = W bits; wbuf: one
weight plane of Nu columns = Nu·K bits; tbuf: Mu tables; obuf: Mu×Nu FP32 group terms) and whose
``banks`` its parallel ports (abuf: Mu reads; wbuf, tbuf: one read per unit; obuf: one write per unit;
wbuf's ``ports`` = 2: a unit reads a weight plane and a group-metadata word per cycle). The vector unit
(DEQUANT) has ``vector.lanes`` = Mu·Nu lanes (one obuf word of group sums per cycle) and ``vector.latency``
cycles. :func:`layouts` gives the instruction words of the unit classes; :class:`ArrayProgram` holds a
program in that encoding (rtl/tools/array_program.py assembles one from an ISA program).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from amaranth import unsigned
from amaranth.lib.data import StructLayout
from amaranth.utils import bits_for

from sim.arch import Arch
from sim.errors import InputError

from .params import DEFAULT_ACC_WIDTH, DEFAULT_MAX_BITS, entry_width, precompute_latency

ACT_WIDTH = 8           # INT8 activations (the contract's default)
ACTS = "int8"
CLASSES = ("dma", "table", "array", "sync", "vector")  # sync: the zero-cycle SYNCs that free buffer space
MEMORIES = CLASSES + ("free",)  # instruction memories the load port writes (``load_class`` = index here)
SPACE = ("abuf", "wbuf", "tbuf", "obuf")  # buffers with alloc / free byte counters, in this order
BUFS = ("abuf", "wbuf", "obuf")  # DMA buffer codes 0, 1, 2 (tbuf is filled by the table unit only)
SCALE_BITS = 16  # FP16 group scales (sim/formats/integer.py: scale_format fp16)
OUT_BITS = 16    # FP16 outputs of DEQUANT (sim.reference.mpgemm_rounded's default out)
META_PORTS = 2   # wbuf read ports per unit: a weight plane and a metadata word per cycle
KV_FORMAT = "int4_asym"  # the KV cache the vector unit's quantize writes (recipe w4a8kv4, workloads/recipes.yaml)
VEC_OPS = ("dequant", "residual", "quantize")  # vector word ``op`` codes 0, 1, 2


@dataclass(frozen=True)
class ArrayParams:
    """Sizes of the RTL array (see the module docstring); words are per buffer."""

    mu: int
    nu: int
    k: int
    units: int
    port_bits: int
    latency: int
    table_latency: int
    abuf_words: int
    wbuf_words: int
    tbuf_words: int
    obuf_words: int
    entry_width: int
    acc_width: int = DEFAULT_ACC_WIDTH
    max_bits: int = DEFAULT_MAX_BITS
    max_instrs: int = 16
    dram_words: int = 1024
    vec_latency: int = 2

    @property
    def wbuf_bits_per_cycle(self) -> int:
        """wbuf's read bits per cycle as the engine times a VEC that reads it: banks × ports × width (banks =
        units, ports = :data:`META_PORTS`)."""
        return self.units * META_PORTS * self.width["wbuf"]

    @property
    def bias_add(self) -> bool:
        """Whether the vector unit has the bias add (VEC residual): it reads a block's Nu FP16 biases in one cycle,
        so with fewer :attr:`wbuf_bits_per_cycle` than Nu·16 the engine's add would be longer and the RTL leaves it
        out (the assembler refuses a bias add there, naming ``arch.arrays``)."""
        return self.wbuf_bits_per_cycle >= self.nu * OUT_BITS

    @property
    def max_meta_words(self) -> int:
        """wbuf words of one group's metadata for Nu columns at most: FP16 scales and max_bits-bit zeros."""
        return -(-self.nu * (SCALE_BITS + self.max_bits) // self.width["wbuf"])

    @property
    def width(self) -> dict[str, int]:
        """Bits per word of each buffer."""
        return {"abuf": self.k * ACT_WIDTH, "wbuf": self.nu * self.k,
                "tbuf": self.mu * (1 << (self.k - 1)) * self.entry_width, "obuf": self.mu * self.nu * self.acc_width}

    def capacity(self, buf: str) -> int:
        """Bytes of ``buf`` (the arch's capacity: words × word bytes)."""
        return getattr(self, f"{buf}_words") * self.width[buf] // 8

    def ratio(self, buf: str) -> int:
        """Port words (W bits) per buffer word."""
        return self.width[buf] // self.port_bits


def need(ok: bool, fld: str, problem: str, allowed: str = "") -> None:
    if not ok:
        raise InputError(fld, problem, allowed)


def buffer_words(arch: Arch, width: dict[str, int], banks: dict[str, int], port: int,
                 read_ports: dict[str, int] | None = None, no_dma: tuple[str, ...] = ()) -> dict[str, int]:
    """``{<buf>_words: words}`` of the arch's buffers named in ``banks`` (the LUT and the BitMoD arrays'), each
    checked against what the RTL builds: word ``width[buf]`` bits, ``banks[buf]`` banks of ``read_ports[buf]``
    (default 1) read ports, a word a power-of-two multiple of the ``port``-bit DRAM port (except the buffers in
    ``no_dma``, which the DMA never writes), a power-of-two number of words (regions wrap around the end);
    InputError naming the field otherwise."""
    read_ports = read_ports or {}
    words = {}
    for i, b in enumerate(arch.buffers):
        if b.name not in banks:
            continue
        w, nb, ports = width[b.name], banks[b.name], read_ports.get(b.name, 1)
        need(b.width == w, f"arch.buffers[{i}].width", f"{b.name} word of the RTL", str(w))
        need(b.banks == nb and b.ports == ports, f"arch.buffers[{i}].banks",
             f"{b.name} has {nb} banks of {ports} read port(s) in the RTL", f"{nb}, {ports}")
        need(b.name in no_dma or (w % port == 0 and (w // port) & (w // port - 1) == 0), f"arch.buffers[{i}].width",
             "a power-of-two multiple of the DRAM port", f"{port}·2^j")
        n = b.capacity * 8 // w
        need(b.capacity * 8 % w == 0 and n & (n - 1) == 0, f"arch.buffers[{i}].capacity",
             f"{b.name} is a power-of-two number of RTL words (its regions wrap around the end)", f"{w // 8}·2^j bytes")
        words[f"{b.name}_words"] = n
    return words


def from_arch(arch: Arch, max_instrs: int = 16, dram_words: int = 1024) -> ArrayParams:
    """The RTL parameters of ``arch``; InputError names the arch field the RTL cannot build."""
    need(arch.pe.type == "lut-tc", "arch.pe.type", f"{arch.pe.type!r}: the RTL array is LUT Tensor Core", "lut-tc")
    mu, nu, k = arch.pe.tile
    tu = arch.table_unit
    need(tu is not None, "arch.table_unit", "missing: the array builds its tables")
    need(tu.tables_per_cycle == mu, "arch.table_unit.tables_per_cycle", "one table per unit row", str(mu))
    need(tu.group == k, "arch.table_unit.group", "must equal the tile's K", str(k))
    need(tu.latency == precompute_latency(k), "arch.table_unit.latency", "the adder tree depth",
          str(precompute_latency(k)))
    ew = entry_width(ACT_WIDTH, k)
    need(tu.entry_bits == ew, "arch.table_unit.entry_bits", "INT8 entries are exact at this width", str(ew))
    port = arch.dram.bandwidth
    need(port == k * ACT_WIDTH, "arch.dram.bandwidth", "one K-group of INT8 activations per port word",
          str(k * ACT_WIDTH))
    need(arch.dram.banks is None, "arch.dram.banks", "no DRAM row model in the RTL port", "none")
    need(arch.vector.lanes == mu * nu, "arch.vector.lanes", "the DEQUANT unit takes one obuf word (Mu×Nu sums) "
         "per cycle", str(mu * nu))
    need(arch.vector.latency >= 2 and all(arch.vector.ops_per_cycle.get(k) == 1 for k in VEC_OPS), "arch.vector",
         "latency ≥ 2 (the unit's product and accumulator registers) and one dequant, bias add and quantize per lane "
         "per cycle", "latency ≥ 2, ops_per_cycle.dequant, residual, quantize 1")
    for name, v in (("mu", mu), ("nu", nu), ("port", port)):
        need(v & (v - 1) == 0, "arch.pe.tile" if name != "port" else "arch.dram.bandwidth",
             "powers of two (the STORE's block-to-row order is bit fields)")
    p = ArrayParams(mu=mu, nu=nu, k=k, units=arch.arrays, port_bits=port, latency=arch.dram.latency,
                    table_latency=tu.latency, abuf_words=1, wbuf_words=1, tbuf_words=1, obuf_words=1,
                    entry_width=ew, max_instrs=max_instrs, dram_words=dram_words, vec_latency=arch.vector.latency)
    banks = {"abuf": mu, "wbuf": arch.arrays, "tbuf": arch.arrays, "obuf": arch.arrays}
    words = buffer_words(arch, p.width, banks, port, read_ports={"wbuf": META_PORTS}, no_dma=("tbuf",))
    need(len(words) == 4, "arch.buffers", "the RTL needs abuf, wbuf, tbuf and obuf", "abuf, wbuf, tbuf, obuf")
    return ArrayParams(**{**p.__dict__, **words})


def u(n: int):
    """The unsigned shape that holds 0..n."""
    return unsigned(bits_for(n))


def head_fields(p) -> dict:
    """The fields every unit word starts with: its instruction id and the mask of ids it waits for."""
    return {"id": u(p.max_instrs - 1), "deps": unsigned(p.max_instrs)}


def dma_sync_layouts(p) -> dict[str, StructLayout]:
    """The DMA and sync words (shared with the BitMoD array: ``p`` needs ``max_instrs``, ``dram_words``,
    ``<buf>_words``, :meth:`ArrayParams.ratio` and :meth:`ArrayParams.capacity`)."""
    space = space_layout(p)
    chunks = max(p.abuf_words * p.ratio("abuf"), p.wbuf_words * p.ratio("wbuf"), p.obuf_words * p.ratio("obuf"))
    return {
        "dma": StructLayout({**head_fields(p), "alloc": space, "store": unsigned(1), "buf": unsigned(2),
                             "dram": u(p.dram_words - 1), "rowlen": u(p.dram_words), "stride": u(p.dram_words),
                             "chunk": u(chunks - 1), "count": u(p.dram_words), "blocked": unsigned(1),
                             "nbt": u(p.obuf_words)}),
        "sync": StructLayout({"deps": unsigned(p.max_instrs), "free": space}),
    }


def layouts(p: ArrayParams) -> dict[str, StructLayout]:
    """Instruction-word layouts of the unit classes (ids are instruction indices, ``deps`` a mask; field meanings:
    rtl/gateware/lut_array.py, each unit's docstring). ``dma.blocked``: a STORE reading FP16 blocks in row order;
    ``vector.op``: 0 DEQUANT, 1 bias add, 2 KV quantize (:data:`VEC_OPS`); ``gslot`` / ``acc_in`` / ``acc_out``:
    :func:`chunk_fields`; the quantize's fields: :func:`quantize_fields`."""
    head = head_fields(p)
    space = space_layout(p)
    return {
        **dma_sync_layouts(p),
        "table": StructLayout({**head, "alloc": space, "abase": u(p.abuf_words - 1), "astride": u(p.abuf_words),
                               "tbase": u(p.tbuf_words - 1), "groups": u(p.tbuf_words), "kg": u(p.tbuf_words),
                               "rows": u(p.abuf_words)}),
        "array": StructLayout({**head, "tbase": u(p.tbuf_words - 1), "tstride": u(p.tbuf_words),
                               "wbase": u(p.wbuf_words - 1), "obase": u(p.obuf_words - 1),
                               "ostride": u(p.obuf_words), "mb": u(p.obuf_words), "nb": u(p.obuf_words),
                               "kg": u(p.tbuf_words), "bits": u(p.max_bits), "gk": u(p.tbuf_words),
                               "gslot": u(p.obuf_words), "mbase": u(p.wbuf_words - 1), "mstride": u(p.wbuf_words),
                               "mw": u(p.max_meta_words), "zero": unsigned(1)}),
        "vector": StructLayout({**head, "op": u(len(VEC_OPS) - 1), "obase": u(p.obuf_words - 1),
                                "blocks": u(p.obuf_words), "groups": u(p.obuf_words), "nbt": u(p.obuf_words),
                                "bbase": u(p.wbuf_words - 1), **chunk_fields(p), **quantize_fields(p)}),
    }


def chunk_fields(p: ArrayParams) -> dict:
    """A DEQUANT's chunk fields (docs/isa.md, "Chunked DEQUANT"; rtl/gateware/lut_array.py ``_vector``): ``gslot``
    obuf words per Mu×Nu block (the tile's slot), ``acc_in`` (word 0 of a block's slot is the FP32 accumulator to
    restore first; ``groups`` then counts it), ``acc_out`` (write the FP32 accumulator to word 0, not FP16)."""
    return {"gslot": u(p.obuf_words), "acc_in": unsigned(1), "acc_out": unsigned(1)}


def quantize_fields(p: ArrayParams) -> dict:
    """The vector word's fields of a KV quantize (``op`` 2, rtl/gateware/lut_array.py): ``qchunks`` Mu·Nu-lane
    chunks per tile row, ``pitch`` 4-bit nibbles per row in the packed stream (codes, then the row group's scale
    and zero code), ``sbase`` the obuf word where the stream starts."""
    return {"qchunks": u(p.obuf_words), "pitch": u(p.obuf_words * p.width["obuf"] // 4),
            "sbase": u(p.obuf_words - 1)}


def space_layout(p: ArrayParams) -> StructLayout:
    """Bytes per buffer of an alloc or free list (fields in :data:`SPACE` order)."""
    return StructLayout({b: unsigned(bits_for(p.capacity(b))) for b in SPACE})


@dataclass
class ArrayProgram:
    """Per-class instruction lists (field dicts, in issue order) and the count of instruction ids."""

    dma: list[dict] = field(default_factory=list)
    table: list[dict] = field(default_factory=list)
    array: list[dict] = field(default_factory=list)
    sync: list[dict] = field(default_factory=list)
    vector: list[dict] = field(default_factory=list)
    frees: list[dict] = field(default_factory=list)   # per instruction id: bytes it frees at its end
    count: int = 0

    def words(self, p: ArrayParams, lay: dict[str, StructLayout] | None = None) -> dict[str, list[int]]:
        """Instruction-memory contents per class (integers in the :func:`layouts` encoding, or ``lay``'s),
        plus ``free``: the free-table words (one per instruction id, :func:`space_layout`)."""
        lay = lay or layouts(p)
        out = {c: [lay[c].const(d).as_value().value for d in getattr(self, c)] for c in CLASSES}
        sl = space_layout(p)
        frees = self.frees + [{}] * (self.count - len(self.frees))
        out["free"] = [sl.const({b: f.get(b, 0) for b in SPACE}).as_value().value for f in frees]
        return out
