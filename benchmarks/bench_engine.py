"""Engine throughput end to end: instructions per second from building a program to its schedule, one core.

Headline: the path a sweep point takes: the compiler emits a Llama-2-7B decode GEMM (1 x 11008 x 4096, W4A16
g128) on lut-tc-28nm as a column program (:mod:`sim.isa.columns`), the engine decodes and schedules it; the
end-to-end rate (emit + decode + schedule) and, as context, each stage alone. Then a synthetic tiled LUT
mpGEMM program (``--tiles``) built as ``Instr`` objects: end to end (build + decode + schedule), with the
Numba scheduling kernel alone as context. Every figure: median (min, max) of ``--runs`` runs in this process,
after one run that loads the Numba kernels (imports and JIT load excluded).

Target (issues 4 and 20): >= 1e6 instructions/s end to end for the compiled GEMM.

    python benchmarks/bench_engine.py [--tiles N] [--runs 5]
"""

from __future__ import annotations

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.timing import Verdicts, repeat  # noqa: E402
from compiler import gemm, search  # noqa: E402
from compiler.specs import GemmSpec  # noqa: E402
from sim import arch, engine, isa  # noqa: E402
from sim import pe as pe_registry  # noqa: E402


class _StandInPE(pe_registry.PEModel):
    """⌈m/2⌉·⌈n/64⌉·⌈k/4⌉·2 + 1 cycles (an M2N64K4 unit with 2-bit weights)."""

    name = "bench-stand-in"
    modes = ("tile",)

    def default_config(self):
        return pe_registry.PEConfig(tile=(2, 64, 4))

    def check(self, problem, config):
        return None

    def run(self, problem, config, mode, a=None, qw=None):
        c = math.ceil(problem.m / 2) * math.ceil(problem.n / 64) * math.ceil(problem.k / 4) * 2 + 1
        return pe_registry.GemmResult(cycles=c, utilization=0.0, events={}, mode=mode)

    def expected(self, problem, config, a, qw):
        raise NotImplementedError


def bench_arch():
    d = arch.read_yaml(arch.PRESET_DIR / "lut-tc-28nm.yaml")
    if "lut-tc" not in pe_registry.names():
        pe_registry._MODELS[_StandInPE.name] = _StandInPE()
        d["pe"] = {"type": _StandInPE.name, "tile": [2, 64, 4], "opcode": "LMMA"}
    return arch.from_dict(d)


def tiled_program(tiles: int) -> isa.Program:
    """Per tile (m=2, n=64, k=128, int2 weights = 2 KiB): LOAD weights, LMMA, DEQUANT; per 8 tiles
    LOAD activations + PRECOMPUTE tables (freed by the 8th LMMA); per 16 tiles STORE outputs."""
    p = isa.Program()
    wbytes, abytes, tbytes, obytes = 2048, 512, 1024, 256
    pending = []
    for t in range(tiles):
        if t % 8 == 0:
            a = p.add("LOAD", buf="abuf", addr=(1 << 30) + t * abytes, bytes=abytes, alloc=[("abuf", abytes)])
            table = p.add("PRECOMPUTE", m=2, k=128, acts="int8", deps=[a], alloc=[("tbuf", tbytes)],
                          free=[("abuf", abytes)])
        w = p.add("LOAD", buf="wbuf", addr=t * wbytes, bytes=wbytes, alloc=[("wbuf", wbytes)])
        free = [("wbuf", wbytes)] + ([("tbuf", tbytes)] if t % 8 == 7 or t == tiles - 1 else [])
        mm = p.add("LMMA", m=2, n=64, k=128, weights="int2", acts="int8", deps=[w, table], free=free,
                   alloc=[("obuf", obytes)], rd=[("wbuf", wbytes), ("tbuf", tbytes)])
        pending.append(p.add("DEQUANT", m=2, n=64, groups=1, deps=[mm]))
        if len(pending) == 16 or t == tiles - 1:
            p.add("STORE", buf="obuf", addr=(1 << 31) + t * obytes, bytes=len(pending) * obytes, deps=pending,
                  free=[("obuf", len(pending) * obytes)])
            pending = []
    return p


TARGET = 1e6  # instructions/s end to end (issue 4, judged end to end by issue 20)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    v = Verdicts("bench_engine")
    a = bench_arch()
    engine.run_decoded(engine.decode(tiled_program(64), a), python=False)  # load the Numba kernel (a small program
    # alone would run as plain Python: sim.engine._PythonBudget; once Numba is loaded every program is compiled)
    if "lut-tc" in pe_registry.names():
        compiled_gemm(args.runs, v)
    prog = tiled_program(args.tiles)
    n = len(prog)
    e2e, stats = repeat(lambda: engine.run(tiled_program(args.tiles), a), max(1, args.runs // 2),
                        "build as Instr objects + decode + schedule")
    t_build, _ = repeat(lambda: tiled_program(args.tiles), max(1, args.runs // 2), "build alone")
    dec = engine.decode(prog, a)
    t_kernel, _ = repeat(lambda: engine.run_decoded(dec), args.runs, "the Numba scheduling kernel alone")
    print(f"synthetic program: {n} instructions ({args.tiles} tiles), {stats.cycles} cycles, "
          f"array utilization {stats.units['array']['utilization']:.3f}")
    print(f"  end to end:               {e2e.rate(n).median:>12,.0f} instr/s  ({e2e})")
    print(f"  build (Python) alone:     {t_build.rate(n).median:>12,.0f} instr/s  ({t_build})")
    print(f"  schedule kernel alone:    {t_kernel.rate(n).median:>12,.0f} instr/s  ({t_kernel})")
    return v.exit_code()


def compiled_gemm(runs: int, v: Verdicts) -> None:
    a = arch.load("lut-tc-28nm")
    spec = GemmSpec(m=1, n=11008, k=4096, weights="int4_asym", acts="fp16", group=128, w_bytes=4.15625 / 8,
                    a_bytes=2.0, out_bytes=2.0, quantize_out=False)
    tile = search.candidates(spec, a)[0].tile
    cp = gemm.emit(spec, a, tile)
    n = len(cp)
    e2e, _ = repeat(lambda: engine.run(gemm.emit(spec, a, tile), a), runs, "emit + decode + schedule")
    t_emit, _ = repeat(lambda: gemm.emit(spec, a, tile), runs, "emit alone")
    t_dec, _ = repeat(lambda: engine.decode(cp, a), runs, "decode alone (columns cached by the program)")
    dec = engine.decode(cp, a)
    t_kernel, _ = repeat(lambda: engine.run_decoded(dec), runs, "the Numba scheduling kernel alone")
    print(f"compiled GEMM 1x11008x4096 W4A16 on lut-tc-28nm, tile {tile.mt}x{tile.nt}x{tile.kt} split "
          f"{tile.am}x{tile.an}: {n} instructions")
    print(f"  end to end:               {e2e.rate(n).median:>12,.0f} instr/s  ({e2e})")
    print(f"  emit alone:               {t_emit.rate(n).median:>12,.0f} instr/s  ({t_emit})")
    print(f"  decode alone:             {t_dec.rate(n).median:>12,.0f} instr/s  ({t_dec})")
    print(f"  schedule kernel alone:    {t_kernel.rate(n).median:>12,.0f} instr/s  ({t_kernel})")
    v.check(f"compiled GEMM end to end >= {TARGET:.0e} instr/s", e2e.rate(n).median >= TARGET,
            f"{e2e.rate(n).median:,.0f} instr/s")


if __name__ == "__main__":
    sys.exit(main())
