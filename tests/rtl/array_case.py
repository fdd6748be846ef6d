"""A small GEMM for the RTL LUT array (shared by tests/rtl/gateware/test_lut_array.py and tests/hdl/tb_lut_array.py):
the compiler's program for preset lut-tc-rtl-small, its host-epilogue variant, the RTL's instruction
words, the DRAM image and the expected results (partial sums from sim.reference, cycles from sim.engine)."""

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
    host_epilogue,
    output_values,
    plane_words,
    split_words,
)
from sim import arch as arch_registry
from sim import engine, formats, reference
from sim.isa import Program

# K not a multiple of the k-tile (the last k-tile is shorter), several m- and n-tiles, 2-D activation and weight
# loads, k-tiles accumulating onto obuf; groups of 8 / 16 keep every transfer whole 4-byte port words
K_TILED = [dict(m=4, n=64, k=40, weights="int2", kt=16, group=8),
           dict(m=4, n=32, k=48, weights="int3", kt=32, group=16),
           dict(m=8, n=64, k=40, weights="int2", kt=16, group=8, mt=4, nt=32, max_instrs=64)]


@dataclass
class ArrayCase:
    params: ArrayParams
    program: Program          # what runs (host-epilogue variant of the compiler's program)
    asm: ArrayProgram
    image: list[int]          # DRAM port words
    out_addr: int             # port word of the stored partial sums
    a: np.ndarray
    qw: object
    acc: np.ndarray           # expected Σ a·q' (M, N)
    engine_cycles: int
    tile: gemm.Tile

    def outputs(self, words) -> np.ndarray:
        """Stored port words (output tiles one after another, in the compiler's m → n order) → (M, N)."""
        m, n = self.acc.shape
        out, pos, words = np.zeros((m, n), np.int64), 0, np.asarray(words)
        for m0 in range(0, m, self.tile.mt):
            for n0 in range(0, n, self.tile.nt):
                mt, nt = min(self.tile.mt, m - m0), min(self.tile.nt, n - n0)
                out[m0:m0 + mt, n0:n0 + nt] = output_values(words[pos:pos + mt * nt], mt, nt, self.params)
                pos += mt * nt
        return out

    def partial_sums(self, acc: np.ndarray) -> np.ndarray:
        """Σ_g P_g = (acc − Σ_g z'_g·S_g) / 2 (LUT contract; S_g: the group's activation sum), to compare with
        the sum over groups of sim.reference.group_partial_sums."""
        bits = formats.get(self.qw.fmt).code_bits
        zp = 2 * np.asarray(self.qw.zeros, dtype=np.float64) + 1 - (1 << bits)       # (N, G)
        assert np.all(zp == np.rint(zp))
        m, k = self.a.shape
        s = self.a.reshape(m, zp.shape[1], -1).sum(axis=2)                              # (M, G)
        twice = acc - s @ zp.astype(np.int64).T
        assert not np.any(twice & 1)
        return twice >> 1


def gemm_case(m: int = 4, n: int = 64, k: int = 64, weights: str = "int2", seed: int = 0,
              dram_words: int = 1024, mt: int | None = None, nt: int | None = None, units: int | None = None,
              latency: int | None = None, kt: int | None = None, group: int | None = None,
              max_instrs: int = 32, capacity: dict | None = None) -> ArrayCase:
    """``gemm.emit`` with tile mt×nt×kt (default: one tile covering the GEMM) and the compiler's own am×an
    split, quantization groups of ``group`` (default: per channel); activations include −128 and 127,
    codes include 0 and 2^b − 1. ``units`` / ``latency`` override the preset's arrays (and the per-unit
    buffer banks) / DRAM latency, ``capacity`` (buffer → bytes) buffer sizes: the modified arch drives the
    compiler, the engine and the RTL alike."""
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
    fmt = formats.get(weights)
    group = group or k
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, size=(m, k))
    a[0, :4] = [-128, 127, -128, 127]
    qw = fmt.quantize(rng.normal(size=(n, k)), group_size=group)
    codes = rng.integers(0, 1 << fmt.code_bits, size=(n, k))
    codes[0, :] = (1 << fmt.code_bits) - 1
    codes[1, :] = 0
    qw = dataclasses.replace(qw, codes=codes.astype(qw.codes.dtype))
    w_bytes = (fmt.code_bits + fmt.metadata_bits_per_group() / group) / 8
    spec = GemmSpec(m=m, n=n, k=k, weights=weights, acts="int8", group=group, w_bytes=w_bytes, a_bytes=1,
                    out_bytes=2, quantize_out=False)
    mt, nt, kt = mt or m, nt or n, kt or k
    am, an = gemm.best_split(spec, arch, mt, nt, kt)
    return spec_case(spec, arch, gemm.Tile(mt, nt, kt, am, an), a, qw, p)


def spec_case(spec: GemmSpec, arch, tile: gemm.Tile, a: np.ndarray, qw, p: ArrayParams) -> ArrayCase:
    """The case of ``gemm.emit(spec, arch, tile)`` (host-epilogue variant) on activations ``a`` (M, K) and
    quantized weights ``qw`` (N, K): instruction words, DRAM image, expected sums and cycles."""
    fmt = formats.get(qw.fmt)
    codes = np.asarray(qw.codes, dtype=np.int64)
    program = host_epilogue(gemm.emit(spec, arch, tile))
    asm = assemble(program, arch, p)
    image = [0] * p.dram_words
    a_words = activation_words(a, p)
    image[:len(a_words)] = [int(x) for x in a_words]          # a_base = 0, row-major (gemm.emit)
    _place_weights(image, codes, spec, tile, p, program)
    q_prime = 2 * codes - ((1 << fmt.code_bits) - 1)
    stats = engine.run(program, arch)
    port_bytes = p.port_bits // 8
    out_addr = min(ins["addr"] for ins in program.instrs if ins.op == "STORE") // port_bytes
    return ArrayCase(params=p, program=program, asm=asm, image=image, out_addr=out_addr, a=a, qw=qw,
                     acc=a @ q_prime.T, engine_cycles=stats.cycles, tile=tile)


def _place_weights(image: list[int], codes: np.ndarray, spec: GemmSpec, tile: gemm.Tile, p, program) -> None:
    """Write each weight tile's plane words (rtl.tools.array_program.plane_words) into the DRAM words its
    LOAD reads, in transfer order (gemm.emit's weight addresses: column rows of k·w_bytes bytes)."""
    port_bytes = p.port_bits // 8
    bits = formats.get(spec.weights).code_bits
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
            cols = codes[n0:n0 + tile.nt, k0:k0 + tile.kt]
            words = split_words(plane_words(cols, bits, p), p.width["wbuf"], p.port_bits)
            assert len(words) <= len(slots)
            for slot, w in zip(slots, words):
                image[slot] = w


def reference_partial_sums(case: ArrayCase) -> np.ndarray:
    """Σ over groups of sim.reference.group_partial_sums (M, N)."""
    return reference.group_partial_sums(case.a, case.qw).sum(axis=2)


# the decoder layer on the RTL: pythia-14m (workloads/models.yaml) under recipe w4a8kv4 (QServe: INT4 weights
# with zero points, groups of 128, INT8 activations), 8 prefill tokens; tiles whose am×an pieces are whole
# Mu×Nu blocks and full-K weight rows (group metadata makes a K-slice of a row a fractional byte count)
LAYER_MODEL, LAYER_RECIPE, LAYER_TOKENS = "pythia-14m", "w4a8kv4", 8


def layer_cases(p: ArrayParams, seed: int = 0) -> list[tuple[str, ArrayCase]]:
    """(name, case) of every linear layer of one decoder layer: its GemmSpec from the compiler (no norm →
    GEMM table fusion: the RTL builds tables with PRECOMPUTE), weights drawn N(0, 0.02) and quantized by the
    recipe's format and group size, activations uniform INT8."""
    from compiler import for_arch
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
        fmt = formats.get(spec.weights)
        qw = fmt.quantize(rng.normal(0, 0.02, size=(spec.n, spec.k)), group_size=spec.group)
        a = rng.integers(-128, 128, size=(spec.m, spec.k))
        # rows: two tiles' activations (abuf) and tables of the whole k (tbuf, 20-byte words of Mu tables)
        abuf, tbuf = (gemm.buffer_of(arch, b).capacity for b in ("abuf", "tbuf"))
        mt = max(r for r in (2, 4, 8) if r <= spec.m and 2 * r * spec.k <= abuf and r * spec.k * 5 <= tbuf)
        tile = gemm.Tile(mt, 32, spec.k, 1, 2)
        out.append((name, spec_case(spec, arch, tile, a, qw, p)))
    return out
