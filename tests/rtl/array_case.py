"""A small GEMM for the RTL LUT array (shared by tests/rtl/gateware/test_lut_array.py and tests/hdl/tb_lut_array.py):
the compiler's program for preset lut-tc-rtl-small (DEQUANT included), the RTL's instruction words, the DRAM
image and the expected results (FP16 outputs from sim.reference.mpgemm_rounded, cycles from sim.engine)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from compiler import gemm
from compiler.specs import GemmSpec
from rtl.gateware.array_params import ArrayParams, ArrayProgram, from_arch
from rtl.gateware.lut_array import PRESET
from rtl.tools.array_program import (
    activation_words,
    assemble,
    contiguous,
    fp16_outputs,
    kv_stream_bits,
    kv_stream_words,
    meta_words,
    plane_words,
    split_words,
)
from sim import arch as arch_registry
from sim import engine, formats, reference
from sim.errors import InputError
from sim.isa import Program

# one design runs every layer (and tests/hdl's K-tiled cases): fc1 issues 226 instructions on a unit, and the
# largest DRAM image is fc1's (34 KiB of weights)
LAYER_MAX_INSTRS, LAYER_DRAM_WORDS = 256, 16384

# K not a multiple of the k-tile (the last k-tile is shorter), several m- and n-tiles, 2-D activation and weight
# loads, k-tiles accumulating onto obuf; groups of 8 / 16 keep every transfer whole 4-byte port words
K_TILED = [dict(m=4, n=64, k=40, weights="int2", kt=16, group=8),
           dict(m=4, n=32, k=48, weights="int3", kt=32, group=16),
           dict(m=8, n=64, k=40, weights="int2", kt=16, group=8, mt=4, nt=32, max_instrs=96)]


# a small-obuf test arch (4 KiB: 32 words, half of it 4 FP32 words per output of a 4×32 tile) on which the terms of
# K do not fit: chunks of k-tiles accumulating in FP32 (compiler.gemm.chunked picks ``chunk``); K = 40: the last
# k-tile is shorter (three chunks of 2, 2 and 1 groups); 4-bit weights with their metadata keep rows whole port words
K_CHUNKED = [dict(m=4, n=32, k=48, weights="int2", kt=16, group=8, chunk=1),
             dict(m=4, n=32, k=40, weights="int2", kt=16, group=8, chunk=1),
             dict(m=4, n=32, k=80, weights="int3", kt=16, group=16, chunk=3)]
CHUNK_OBUF = {"obuf": 4096}
# the same on the preset's 8 KiB obuf (the HDL tests build one design): 21 groups of 8, 7 words per output for
# terms beside the accumulator, so chunks of 3 k-tiles (6, 6, 6 and 3 groups; the last k-tile shorter)
K_CHUNKED_PRESET = [dict(m=4, n=32, k=168, weights="int2", kt=16, group=8, chunk=3)]

# preset lut-tc-rtl-fpga (rtl/gateware/lut_array.FPGA_PRESET, the array the ECP5 flow places): one M1N8K4 unit,
# small buffers, no bias add; run in the compiler's own tiles (searched_case), K not a multiple of the k-tile
# (K = 40 in k-tiles of 16), zero points
FPGA_CASES = [dict(m=4, n=16, k=64, weights="int4_asym", group=32, seed=1),
              dict(m=2, n=32, k=40, weights="int2", group=8, seed=2),
              dict(m=3, n=24, k=48, weights="int3", group=16, seed=3)]


@dataclass
class ArrayCase:
    params: ArrayParams
    program: Program          # what runs: the compiler's program
    asm: ArrayProgram
    image: list[int]          # DRAM port words
    out_addr: int             # port word of the stored outputs (row-major M×N FP16)
    a: np.ndarray
    qw: object
    want: np.ndarray          # expected outputs (M, N): sim.reference.mpgemm_rounded (FP32 terms, FP16 out)
    engine_cycles: int
    tile: gemm.Tile
    spec: GemmSpec | None = None   # the GEMM and the arch the compiler, the engine and the RTL share
    arch: object = None
    want_words: list[int] | None = None  # a KV-quantized output: the packed stream's port words (kv_stream_words)

    @property
    def out_words(self) -> int:
        return len(self.want_words) if self.want_words is not None else self.want.size * 16 // self.params.port_bits

    def outputs(self, words) -> np.ndarray:
        """Stored port words → (M, N) float64 FP16 values."""
        return fp16_outputs(words, *self.want.shape, self.params)

    def mismatches(self, words) -> np.ndarray:
        """(m, n) of every output whose FP16 bit pattern differs from the reference's (NaN never expected); for a
        KV-quantized output, the index of every stored port word that differs from the packed stream's."""
        if self.want_words is not None:
            got = np.asarray(words[:self.out_words], dtype=np.int64)
            return np.argwhere(got != np.asarray(self.want_words, dtype=np.int64))
        got = self.outputs(words).astype(np.float16).view(np.uint16)
        return np.argwhere(got != self.want.astype(np.float16).view(np.uint16))


def gemm_case(m: int = 4, n: int = 64, k: int = 64, weights: str = "int2", seed: int = 0,
              dram_words: int = 1024, mt: int | None = None, nt: int | None = None, units: int | None = None,
              latency: int | None = None, kt: int | None = None, group: int | None = None,
              max_instrs: int = 32, capacity: dict | None = None, bias: bool = False,
              chunk: int | None = 0, kv: bool = False) -> ArrayCase:
    """``gemm.emit`` with tile mt×nt×kt (default: one tile covering the GEMM) and the compiler's own am×an
    split, quantization groups of ``group`` (default: per channel); activations include −128 and 127,
    codes include 0 and 2^b − 1; ``bias``: FP16 biases N(0, 1) added by the epilogue; ``chunk``: k-tiles per
    DEQUANT chunk (compiler.gemm.Tile.chunk; 0: one DEQUANT per output tile; None: compiler.gemm.chunked's, None
    of which raises InputError); ``kv``: the outputs quantized for the KV cache (array_params.KV_FORMAT, one group
    per row of N: the spec's out_bytes its bits). ``units`` / ``latency`` override the preset's arrays (and the
    per-unit buffer banks) / DRAM latency, ``capacity`` (buffer → bytes) buffer sizes: the modified arch drives
    the compiler, the engine and the RTL alike."""
    arch = arch_registry.load(PRESET)
    if units is not None or latency is not None or capacity:
        d = arch.to_dict()
        if units is not None:
            d["arrays"] = units
            d["buffers"] = [{**b, "banks": units} if b["name"] != "abuf" else b for b in d["buffers"]]
        if latency is not None:
            d["dram"] = {**d["dram"], "latency": latency}
        d["buffers"] = [{**b, "capacity": (capacity or {}).get(b["name"], b["capacity"])} for b in d["buffers"]]
        arch = arch_registry.from_dict(d)
    p = from_arch(arch, max_instrs=max_instrs, dram_words=dram_words)
    rng = np.random.default_rng(seed)
    spec, a, qw, b = _operands(rng, m, n, k, weights, group or k, bias, kv)
    mt, nt, kt = mt or m, nt or n, kt or k
    am, an = gemm.best_split(spec, arch, mt, nt, kt)
    tile = gemm.Tile(mt, nt, kt, am, an, chunk=chunk or 0)
    if chunk is None:
        tile = gemm.chunked(spec, arch, tile)
        if tile is None:
            raise InputError("tile", f"{mt}x{nt}x{kt}: no DEQUANT chunk fits the buffers")
    return spec_case(spec, arch, tile, a, qw, p, b)


def _operands(rng, m: int, n: int, k: int, weights: str, group: int, bias: bool, kv: bool):
    """(GemmSpec, activations (M, K), quantized weights (N, K), FP16 biases or None) of a random GEMM: activations
    include −128 and 127, codes include 0 and 2^b − 1 (rows 1 and 0), biases N(0, 1)."""
    fmt = formats.get(weights)
    a = rng.integers(-128, 128, size=(m, k))
    a[0, :4] = [-128, 127, -128, 127][:k]
    qw = fmt.quantize(rng.normal(size=(n, k)), group_size=group)
    codes = rng.integers(0, 1 << fmt.code_bits, size=(n, k))
    codes[0, :] = (1 << fmt.code_bits) - 1
    codes[1, :] = 0
    qw = dataclasses.replace(qw, codes=codes.astype(qw.codes.dtype))
    w_bytes = (fmt.code_bits + fmt.metadata_bits_per_group() / group) / 8
    out_bytes = kv_stream_bits(1, n) / (8 * n) if kv else 2
    spec = GemmSpec(m=m, n=n, k=k, weights=weights, acts="int8", group=group, w_bytes=w_bytes, a_bytes=1,
                    out_bytes=out_bytes, quantize_out=kv, bias_bytes=2 * n if bias else 0)
    return spec, a, qw, rng.normal(size=n).astype(np.float16) if bias else None


def searched_case(preset: str, m: int, n: int, k: int, weights: str = "int4", group: int | None = None,
                  seed: int = 0, bias: bool = False, max_instrs: int = LAYER_MAX_INSTRS,
                  dram_words: int = 4096) -> ArrayCase:
    """The case of a random GEMM (:func:`_operands`) on arch preset ``preset`` in the tile of the compiler's own
    search (compiler.search.search), as a user's program for that arch would run."""
    from compiler import search

    arch = arch_registry.load(preset)
    spec, a, qw, b = _operands(np.random.default_rng(seed), m, n, k, weights, group or k, bias, False)
    p = from_arch(arch, max_instrs=max_instrs, dram_words=dram_words)
    return spec_case(spec, arch, search.search(spec, arch).tile, a, qw, p, b)


def spec_case(spec: GemmSpec, arch, tile: gemm.Tile, a: np.ndarray, qw, p: ArrayParams,
              bias: np.ndarray | None = None) -> ArrayCase:
    """The case of ``gemm.emit(spec, arch, tile)`` on activations ``a`` (M, K) and quantized weights ``qw`` (N, K):
    instruction words, DRAM image, expected outputs and cycles. ``bias`` (N FP16, with ``spec.bias_bytes``): the
    expected outputs are fp16(mpgemm_rounded + bias) (numpy's FP16 add rounds once: FP32 holds 2·11 + 2 bits)."""
    program = gemm.emit(spec, arch, tile).to_program()
    asm = assemble(program, arch, p)
    image = [0] * p.dram_words
    a_words = activation_words(a, p)
    image[:len(a_words)] = [int(x) for x in a_words]          # a_base = 0, row-major (gemm.emit)
    _place_weights(image, qw, spec, tile, p, program)
    want = reference.mpgemm_rounded(a, qw)
    if spec.bias_bytes:
        b_addr = spec.m * spec.k + int(np.ceil(spec.n * spec.k * spec.w_bytes))       # gemm.emit's bias LOAD
        halves = np.asarray(bias, dtype=np.float16).view(np.uint16).astype(np.int64).reshape(-1, p.port_bits // 16)
        port = (halves << (16 * np.arange(p.port_bits // 16))).sum(axis=1)
        image[b_addr // (p.port_bits // 8):b_addr // (p.port_bits // 8) + len(port)] = [int(x) for x in port]
        want = (want.astype(np.float16) + np.asarray(bias, dtype=np.float16)[None]).astype(np.float64)
    stats = engine.run(program, arch)
    port_bytes = p.port_bits // 8
    out_addr = min(ins["addr"] for ins in program.instrs if ins.op == "STORE") // port_bytes
    return ArrayCase(params=p, program=program, asm=asm, image=image, out_addr=out_addr, a=a, qw=qw,
                     want=want, engine_cycles=stats.cycles, tile=tile, spec=spec, arch=arch,
                     want_words=kv_stream_words(want, p) if spec.quantize_out else None)


def _place_weights(image: list[int], qw, spec: GemmSpec, tile: gemm.Tile, p, program) -> None:
    """Write each weight tile's wbuf words (code planes, rtl.tools.array_program.plane_words, then group metadata,
    meta_words) into the DRAM words its LOAD reads, in transfer order (gemm.emit's weight addresses: column rows of
    k·w_bytes bytes)."""
    port_bytes = p.port_bits // 8
    fmt = formats.get(spec.weights)
    bits = fmt.code_bits
    codes = np.asarray(qw.codes, dtype=np.int64)
    asym = fmt.metadata_bits_per_group() > 16
    w_base, w_row = spec.m * spec.k, spec.k * spec.w_bytes
    loads = {ins["addr"]: ins for ins in program.instrs if ins.op == "LOAD" and ins["buf"] == "wbuf"}
    for n0 in range(0, spec.n, tile.nt):
        for k0 in range(0, spec.k, tile.kt):
            addr = w_base + int(np.floor(n0 * w_row + k0 * spec.w_bytes))
            ins = loads[addr]
            rows, stride = ins["rows"], ins["stride"]
            if contiguous(ins["bytes"], rows, stride):
                rows, stride = 1, 0   # as the assembler reads it
            seg = ins["bytes"] // rows // port_bytes
            slots = [(addr + r * stride) // port_bytes + j for r in range(rows) for j in range(seg)]
            cols, kt = slice(n0, n0 + tile.nt), min(tile.kt, spec.k - k0)
            groups = slice(k0 // qw.group_size, (k0 + kt) // qw.group_size)
            words = plane_words(codes[cols, k0:k0 + kt], bits, p) + meta_words(
                qw.scales[cols, groups], qw.zeros[cols, groups] if asym else None, bits, p)
            port = split_words(words, p.width["wbuf"], p.port_bits)
            assert len(port) == len(slots)
            for slot, w in zip(slots, port):
                image[slot] = w


# the decoder layer on the RTL: pythia-14m (workloads/models.yaml) under recipe w4a8kv4 (QServe: INT4 weights
# with zero points, groups of 128, INT8 activations), 8 prefill tokens, each layer in the tile the compiler's own
# search chooses for the preset (compiler.search.search)
LAYER_MODEL, LAYER_RECIPE, LAYER_TOKENS = "pythia-14m", "w4a8kv4", 8


# layers whose output is quantized for the INT4 KV cache (VEC quantize): v_proj (k_proj's goes through RoPE first)
QUANTIZED_OUT = ("v_proj",)


def layer_cases(p: ArrayParams, seed: int = 0) -> list[tuple[str, ArrayCase]]:
    """(name, case) of every linear layer of one decoder layer: its GemmSpec from the compiler (no norm → GEMM table
    fusion: the RTL builds tables with PRECOMPUTE) and the tile of the compiler's search, weights drawn N(0, 0.02)
    and quantized by the recipe's format and group size, FP16 biases N(0, 0.02) (the bias add), activations uniform
    INT8. The layers of :data:`QUANTIZED_OUT` (v_proj) get output tiles of whole rows (the preset's
    ``dram.aligned``: a row of the packed KV stream is 66.5 B): w4a8kv4's group of 128 along head_dim spans a
    token's V row of 4 heads of 32, one group per tile row as the RTL's quantize takes it."""
    from compiler import for_arch, search
    from workloads.models import get_model
    from workloads.recipes import get_recipe
    from workloads.trace import build_trace

    arch = arch_registry.load(PRESET)
    recipe = get_recipe(LAYER_RECIPE)
    trace = build_trace(get_model(LAYER_MODEL), recipe, "prefill", seq_len=LAYER_TOKENS)
    comp = for_arch(arch)
    rng = np.random.default_rng(seed)
    out, seen = [], set()
    for op in trace.ops:
        name = op.name.split(".")[-1]
        if op.kind != "linear" or name in seen:
            continue
        seen.add(name)
        _, spec, _ = comp.spec_of(op, recipe)
        assert spec.quantize_out == (name in QUANTIZED_OUT), name
        fmt = formats.get(spec.weights)
        qw = fmt.quantize(rng.normal(0, 0.02, size=(spec.n, spec.k)), group_size=spec.group)
        a = rng.integers(-128, 128, size=(spec.m, spec.k))
        tile = search.search(spec, arch).tile
        bias = rng.normal(0, 0.02, size=spec.n).astype(np.float16)
        out.append((name, spec_case(spec, arch, tile, a, qw, p, bias)))
    return out
