"""A GEMM for the RTL BitMoD array (shared by tests/rtl/gateware/test_bitmod_array.py and
tests/hdl/test_hdl_bitmod_programs.py): the compiler's program for preset bitmod-rtl-small (unchanged: its
DEQUANT applies the channel scale on the array, its STOREs write FP16), the RTL's instruction words, the DRAM
image and the expected results (outputs: the BitMoD PE model sim.pe.bitmod_pe on the preset's 2 × 2 array, its
FP32 result fp32(O · chan) rounded to the compiler's FP16 outputs; cycles from sim.engine)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from compiler import gemm
from compiler.specs import GemmSpec
from rtl.gateware.array_params import ArrayProgram
from rtl.gateware.bitmod_array import PRESET
from rtl.gateware.bitmod_params import ACTS, BitModParams, from_arch
from rtl.tools.bitmod_program import activation_words, assemble, channel_scale_words, fp16_values, weight_row_words
from sim import arch as arch_registry
from sim import engine
from sim.formats import get as get_format
from sim.isa import Program
from sim.pe.base import GemmProblem, PEConfig
from sim.pe.bitmod_pe import ACT_BITS, BitModPE
from tests.rtl.bitmod_drive import random_operands

A_BYTES = ACT_BITS // 8
# activations / 2^14: |a| ≤ 65504 / 2^14 ≈ 4, so a K ≤ 160 sum of a · w · chan stays well inside FP16's 65504 for the
# test weights (tests/rtl/bitmod_drive.random_operands: N(0,1) · 2^[-3,3], quantized), keeping subnormal inputs
NARROW = 14


@dataclass
class BitModCase:
    params: BitModParams
    program: Program          # the compiler's program, as it emits it
    asm: ArrayProgram
    image: list[int]          # DRAM port words
    out_addr: int             # port word of the M×N FP16 outputs (row-major)
    out_words: int
    a: np.ndarray
    qw: object
    model_out: np.ndarray     # sim.pe.bitmod_pe's output (M, N), float32 (channel scale included)
    engine_cycles: int

    def outputs(self, words) -> np.ndarray:
        """Stored port words → the (M, N) FP16 outputs."""
        return fp16_values(words, self.params).reshape(self.model_out.shape)

    def mismatches(self, words) -> np.ndarray:
        """(m, n) of the outputs whose FP16 bits differ from the model's output rounded to FP16."""
        got = self.outputs(words).view(np.uint16)
        with np.errstate(over="ignore"):   # outputs beyond FP16's range are ±inf, in the RTL too
            want = self.model_out.astype(np.float32).astype(np.float16)
        return np.argwhere(got != want.view(np.uint16))


def gemm_case(m: int = 4, n: int = 8, k: int = 64, weights: str = "bitmod_fp4", group: int = 8, seed: int = 0,
              mt: int | None = None, nt: int | None = None, kt: int | None = None, max_instrs: int = 32,
              dram_words: int = 2048, capacity: dict | None = None, a_shift: int = NARROW) -> BitModCase:
    """``gemm.emit`` with tile mt×nt×kt (default: the whole GEMM) on random FP16 activations and quantized
    weights with their formats' edge values (tests/rtl/bitmod_drive.random_operands). ``capacity`` (buffer →
    bytes) overrides the preset's buffer sizes for the compiler, the engine and the RTL alike. ``a_shift``: the
    activations are divided by 2^a_shift (and rounded to FP16) so that most FP16 outputs stay finite; 0 keeps
    the whole FP16 range (most outputs then overflow to ±inf)."""
    arch = arch_registry.load(PRESET)
    if capacity:
        d = arch.to_dict()
        d["buffers"] = [{**b, "capacity": capacity.get(b["name"], b["capacity"])} for b in d["buffers"]]
        arch = arch_registry.from_dict(d)
    p = from_arch(arch, weights=weights, max_instrs=max_instrs, dram_words=dram_words)
    fmt = get_format(weights)
    a, qw = random_operands(np.random.default_rng(seed), weights, m, n, k, group)
    a = np.ldexp(a, -a_shift).astype(np.float16).astype(np.float64)
    w_bytes = (fmt.code_bits + fmt.metadata_bits_per_group() / group) / 8
    spec = GemmSpec(m=m, n=n, k=k, weights=weights, acts=ACTS, group=group, w_bytes=w_bytes, a_bytes=A_BYTES,
                    out_bytes=2, quantize_out=False)
    tile = gemm.Tile(mt or m, nt or n, kt or k)
    program = gemm.emit(spec, arch, tile).to_program()
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
    chan_bytes = gemm.channel_scale_bytes(spec, arch)
    chan_addr = math.ceil(w_base + n * w_row)                   # gemm.emit: the channel scales after the weights
    if chan_bytes:
        words = channel_scale_words(qw, p)
        assert chan_bytes == len(words) * port_bytes and chan_addr % port_bytes == 0
        image[chan_addr // port_bytes:chan_addr // port_bytes + len(words)] = words
    stats = engine.run(program, arch)
    res = BitModPE().run(GemmProblem(m, n, k, weights, ACTS, group), PEConfig(array=arch.pe.array, acc="fp32"),
                         "per-cycle", a, qw)
    out_addr = chan_addr + chan_bytes                           # gemm.emit's o_base: M×N FP16, row-major
    assert out_addr % port_bytes == 0
    return BitModCase(params=p, program=program, asm=asm, image=image, out_addr=out_addr // port_bytes,
                      out_words=m * n * A_BYTES // port_bytes, a=a, qw=qw,
                      model_out=np.asarray(res.out, np.float32), engine_cycles=stats.cycles)
