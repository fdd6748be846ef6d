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
    host_epilogue,
    output_values,
    plane_words,
    split_words,
)
from sim import arch as arch_registry
from sim import engine, formats, reference
from sim.isa import Program


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
        """P = (acc − z'·Σa) / 2 (LUT contract), to compare with sim.reference.group_partial_sums."""
        bits = formats.get(self.qw.fmt).code_bits
        zp = 2 * np.asarray(self.qw.zeros, dtype=np.float64)[:, 0] + 1 - (1 << bits)
        assert np.all(zp == np.rint(zp))
        twice = acc - zp.astype(np.int64)[None, :] * self.a.sum(axis=1)[:, None]
        assert not np.any(twice & 1)
        return twice >> 1


def gemm_case(m: int = 4, n: int = 64, k: int = 64, weights: str = "int2", seed: int = 0,
              dram_words: int = 1024, mt: int | None = None, nt: int | None = None, units: int | None = None,
              latency: int | None = None) -> ArrayCase:
    """``gemm.emit`` with tile mt×nt×k (default: one tile covering the GEMM) and the compiler's own am×an
    split, per-channel groups; activations include −128 and 127, codes include 0 and 2^b − 1.
    ``units`` / ``latency`` override the preset's arrays (and the per-unit buffer banks) / DRAM latency:
    the modified arch drives the compiler, the engine and the RTL alike."""
    arch = arch_registry.load(PRESET)
    if units is not None or latency is not None:
        d = arch.to_dict()
        if units is not None:
            d["arrays"] = units
            d["buffers"] = [{**b, "banks": units} if b["name"] != "abuf" else b for b in d["buffers"]]
        if latency is not None:
            d["dram"] = {**d["dram"], "latency": latency}
        arch = arch_registry.from_dict(d)
    p = from_arch(arch, max_instrs=32, dram_words=dram_words)
    fmt = formats.get(weights)
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, size=(m, k))
    a[0, :4] = [-128, 127, -128, 127]
    qw = fmt.quantize(rng.normal(size=(n, k)), group_size=k)
    codes = rng.integers(0, 1 << fmt.code_bits, size=(n, k))
    codes[0, :] = (1 << fmt.code_bits) - 1
    codes[1, :] = 0
    qw = dataclasses.replace(qw, codes=codes.astype(qw.codes.dtype))
    w_bytes = (fmt.code_bits + fmt.metadata_bits_per_group() / k) / 8
    spec = GemmSpec(m=m, n=n, k=k, weights=weights, acts="int8", group=k, w_bytes=w_bytes, a_bytes=1, out_bytes=2,
                    quantize_out=False)
    mt, nt = mt or m, nt or n
    am, an = gemm.best_split(spec, arch, mt, nt, k)
    tile = gemm.Tile(mt, nt, k, am, an)
    program = host_epilogue(gemm.emit(spec, arch, tile))
    asm = assemble(program, arch, p)
    port_bytes = p.port_bits // 8
    image = [0] * dram_words
    a_words = activation_words(a, p)
    image[:len(a_words)] = [int(x) for x in a_words]          # a_base = 0, row-major (gemm.emit)
    w_base, w_row = m * k, k * w_bytes                         # gemm.emit's weight addresses
    for ins in program.instrs:
        if ins.op == "LOAD" and ins["buf"] == "wbuf":
            n0 = round((ins["addr"] - w_base) / w_row)
            cols = codes[n0:n0 + ins["bytes"] * 8 // (k * fmt.code_bits + fmt.metadata_bits_per_group())]
            words = split_words(plane_words(cols, fmt.code_bits, p), p.width["wbuf"], p.port_bits)
            assert len(words) <= ins["bytes"] // port_bytes
            image[ins["addr"] // port_bytes:ins["addr"] // port_bytes + len(words)] = words
    q_prime = 2 * codes - ((1 << fmt.code_bits) - 1)
    stats = engine.run(program, arch)
    assert all(u["stall_space"] == 0 for u in stats.units.values()), "the RTL has no buffer-space waits"
    out_addr = min(ins["addr"] for ins in program.instrs if ins.op == "STORE") // port_bytes
    return ArrayCase(params=p, program=program, asm=asm, image=image, out_addr=out_addr, a=a, qw=qw,
                     acc=a @ q_prime.T, engine_cycles=stats.cycles, tile=tile)


def reference_partial_sums(case: ArrayCase) -> np.ndarray:
    return reference.group_partial_sums(case.a, case.qw)[:, :, 0]
