"""A GEMM for the RTL BitMoD array (shared by tests/rtl/gateware/test_bitmod_array.py and
tests/hdl/test_hdl_bitmod_programs.py): the compiler's program for preset bitmod-rtl-small (host-epilogue
variant), the RTL's instruction words, the DRAM image and the expected results (outputs from the BitMoD PE
model sim.pe.bitmod_pe on the preset's 2 × 2 array, cycles from sim.engine)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from compiler import gemm
from compiler.specs import GemmSpec
from rtl.gateware.array_params import ArrayProgram
from rtl.gateware.bitmod_array import PRESET
from rtl.gateware.bitmod_params import ACTS, BitModParams, from_arch
from rtl.tools.bitmod_program import (
    activation_words,
    assemble,
    fp32_values,
    host_epilogue,
    host_epilogue_values,
    weight_row_words,
)
from sim import arch as arch_registry
from sim import engine
from sim.formats import get as get_format
from sim.isa import Program
from sim.pe.base import GemmProblem, PEConfig
from sim.pe.bitmod_pe import ACT_BITS, BitModPE
from tests.rtl.bitmod_drive import random_operands

A_BYTES = ACT_BITS // 8


@dataclass
class BitModCase:
    params: BitModParams
    program: Program          # what runs (host-epilogue variant of the compiler's program)
    asm: ArrayProgram
    image: list[int]          # DRAM port words
    out_addr: int             # port word of the stored FP32 partial sums
    out_words: int
    tiles: list[tuple[int, int, int, int]]   # (m0, n0, m, n) of each stored output tile, in store order
    a: np.ndarray
    qw: object
    model_out: np.ndarray     # sim.pe.bitmod_pe's output (M, N), float32
    engine_cycles: int

    def outputs(self, words) -> np.ndarray:
        """Stored words (output tiles one after another, FP32 row-major) through the host's epilogue → (M, N)."""
        o = np.zeros(self.model_out.shape, np.float32)
        v, pos = fp32_values(words), 0
        for m0, n0, mt, nt in self.tiles:
            o[m0:m0 + mt, n0:n0 + nt] = v[pos:pos + mt * nt].reshape(mt, nt)
            pos += mt * nt
        return host_epilogue_values(o, self.qw)

    def mismatches(self, words) -> np.ndarray:
        """(m, n) of the outputs whose FP32 bits differ from the model's."""
        got = self.outputs(words).view(np.uint32)
        return np.argwhere(got != self.model_out.astype(np.float32).view(np.uint32))


def gemm_case(m: int = 4, n: int = 8, k: int = 64, weights: str = "bitmod_fp4", group: int = 8, seed: int = 0,
              mt: int | None = None, nt: int | None = None, kt: int | None = None, max_instrs: int = 32,
              dram_words: int = 2048, capacity: dict | None = None) -> BitModCase:
    """``gemm.emit`` with tile mt×nt×kt (default: the whole GEMM) on random FP16 activations and quantized
    weights with their formats' edge values (tests/rtl/bitmod_drive.random_operands). ``capacity`` (buffer →
    bytes) overrides the preset's buffer sizes for the compiler, the engine and the RTL alike."""
    arch = arch_registry.load(PRESET)
    if capacity:
        d = arch.to_dict()
        d["buffers"] = [{**b, "capacity": capacity.get(b["name"], b["capacity"])} for b in d["buffers"]]
        arch = arch_registry.from_dict(d)
    p = from_arch(arch, weights=weights, max_instrs=max_instrs, dram_words=dram_words)
    fmt = get_format(weights)
    a, qw = random_operands(np.random.default_rng(seed), weights, m, n, k, group)
    w_bytes = (fmt.code_bits + fmt.metadata_bits_per_group() / group) / 8
    spec = GemmSpec(m=m, n=n, k=k, weights=weights, acts=ACTS, group=group, w_bytes=w_bytes, a_bytes=A_BYTES,
                    out_bytes=2, quantize_out=False)
    tile = gemm.Tile(mt or m, nt or n, kt or k)
    program = host_epilogue(gemm.emit(spec, arch, tile))
    asm = assemble(program, arch, p)
    image = [0] * p.dram_words
    a_words = activation_words(a, p)
    image[:len(a_words)] = a_words                              # a_base = 0, row-major (gemm.emit)
    port_bytes = p.port_bits // 8
    w_base, w_row = math.ceil(m * k * A_BYTES), k * w_bytes        # gemm.emit's weight rows
    kt = tile.kt
    for row in range(n):
        for k0 in range(0, k, kt):
            addr = w_base + row * w_row + k0 * w_bytes
            assert addr == int(addr) and addr % port_bytes == 0
            words = weight_row_words(qw, row, k0, min(kt, k - k0), p)
            image[int(addr) // port_bytes:int(addr) // port_bytes + len(words)] = words
    stats = engine.run(program, arch)
    res = BitModPE().run(GemmProblem(m, n, k, weights, ACTS, group), PEConfig(array=arch.pe.array, acc="fp32"),
                         "per-cycle", a, qw)
    stores = [i for i, ins in enumerate(program.instrs) if ins.op == "STORE"]
    out_addr = program.instrs[stores[0]]["addr"] // port_bytes
    tiles = [_tile_of(program, i, k * A_BYTES, w_base, w_row) for i in stores]
    return BitModCase(params=p, program=program, asm=asm, image=image, out_addr=out_addr,
                      out_words=sum(ins["bytes"] for ins in program.instrs if ins.op == "STORE") // port_bytes,
                      tiles=tiles, a=a, qw=qw, model_out=np.asarray(res.out, np.float32), engine_cycles=stats.cycles)


def _tile_of(program: Program, store: int, a_row: float, w_base: int, w_row: float) -> tuple[int, int, int, int]:
    """(m0, n0, m, n) of the output tile a STORE writes: from its BSMMA's activation and weight LOAD addresses."""
    (mma,) = [d for d in program.instrs[store].deps if program.instrs[d].op == "BSMMA"]
    loads = {program.instrs[d]["buf"]: program.instrs[d] for d in program.instrs[mma].deps
             if program.instrs[d].op == "LOAD"}
    m0 = int(loads["abuf"]["addr"] // a_row)
    n0 = int((loads["wbuf"]["addr"] - w_base) // w_row)
    return m0, n0, program.instrs[mma]["m"], program.instrs[mma]["n"]
