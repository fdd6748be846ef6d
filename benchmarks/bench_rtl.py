"""The Numba per-cycle LUT model against Verilator with a C++ testbench on the same generated Verilog
(the default M2N64K4 INT unit, 4-bit weights), with Icarus and Verilator through cocotb as a second column.

    python benchmarks/bench_rtl.py [--cycles 200000] [--runs 3]

Figures (simulated cycles per second; median, min, max of ``--runs`` runs):

* Verilator + C++ testbench (:mod:`benchmarks.rtl_peer`): the clocked loop timed inside the binary (the
  simulator's kernel), and the binary's process (start and exit included); the build (verilate + C++
  compile) is reported apart;
* through cocotb: the clocked loop timed in the cocotb test (build apart), ``--cocotb-cycles`` cycles;
* the Numba model stepping the same unit over ``cycles / bits`` back-to-back tiles (one K-group each) with
  real data: the stepping kernel alone (``sim.pe.lut_tensor_core._run_unit``), and the whole call
  (``lut-tc`` per-cycle mode: weight re-arrangement, table precompute, the unit, the epilogue); both after a
  first call that loads the Numba kernels.

Then the whole LUT array (preset lut-tc-rtl-small: two units, table precompute, buffers, DMA, the ISA
controller) running the compiler's programs for every linear layer of one pythia-14m decoder layer
(``tests/rtl/array_case.layer_cases``): Verilator with a C++ testbench (:func:`benchmarks.rtl_peer.build_array_cpp`;
the clocked run from ``start`` to ``done`` timed inside the binary, loading the program and DRAM image apart)
against lutsim on the same program: the engine alone (``sim.engine.run``: the program's cycles) and the engine
plus the per-cycle LUT model computing the GEMM's outputs (what ``lutsim`` gives for the program: cycles and
bit-exact outputs). Both sides must agree: RTL cycles equal the engine's, and the RTL's stored outputs equal
sim.reference.

Targets (issue 20): Numba kernel ≥ 50× the Verilator C++ kernel; Numba whole call ≥ 10× the Verilator C++
kernel; both run and the unit produced the expected number of tiles. Array: the engine + per-cycle model
≥ 10× Verilator C++ on the compiled programs, cycles and outputs equal.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import rtl_peer  # noqa: E402
from benchmarks.timing import Timing, Verdicts, repeat  # noqa: E402
from sim import formats, pe  # noqa: E402
from sim.pe import lut_tensor_core as ltc  # noqa: E402
from sim.pe.base import GemmProblem  # noqa: E402
from sim.pe.table_precompute import precompute  # noqa: E402

KERNEL_TARGET, WHOLE_TARGET = 50.0, 10.0  # × the Verilator C++ kernel (issue 20)
PROGRAM_TARGET = 10.0  # engine + per-cycle model × Verilator C++ on the array's compiled programs


def numba_rates(cycles: int, bits: int, runs: int) -> tuple[Timing, Timing, int]:
    """(kernel timing, whole-call timing, simulated cycles) of the per-cycle model on the RTL's unit."""
    lut = pe.get("lut-tc")
    cfg = lut.resolve(None)
    m, n, ku = cfg.tile
    assert (m, n, ku) == rtl_peer.UNIT, (cfg.tile, rtl_peer.UNIT)
    k = ku * max(1, cycles // bits)
    rng = np.random.default_rng(0)
    problem = GemmProblem(m, n, k, f"int{bits}", "int8", k)
    a = rng.integers(-128, 128, size=(m, k)).astype(np.float64)
    qw = formats.get(f"int{bits}").quantize(rng.normal(size=(n, k)), group_size=k)
    res = lut.run(problem, cfg, "per-cycle", a, qw)  # loads the Numba kernels
    lw = ltc.reinterpret(qw, ku)
    pre = precompute(ltc._group_layout(a, k, ku), m, ltc.VALUE_FORMATS[ltc.table_format("int8")], False)
    zeros = np.zeros((m, n))
    kernel, (_, _, unit_cycles) = repeat(
        lambda: ltc._run_unit(pre.tables, lw.packed, lw.kgroups_per_group, m, n, ku,
                              ltc.VALUE_FORMATS["int32"], zeros), runs, "the unit's stepping kernel, Numba loaded")
    whole, _ = repeat(lambda: lut.run(problem, cfg, "per-cycle", a, qw), runs,
                      "whole per-cycle call: weight layout, precompute, unit, epilogue; Numba loaded")
    assert unit_cycles == k // ku * bits
    return kernel, whole, res.cycles


def lutsim_program_rates(cases, runs: int) -> tuple[Timing, Timing]:
    """(engine alone, engine + per-cycle LUT model) timings of the array cases' programs on lut-tc-rtl-small,
    after a first call that loads the Numba kernels."""
    from rtl.tools.array_program import kv_stream_words
    from sim import arch as arch_registry
    from sim import engine

    arch = arch_registry.load("lut-tc-rtl-small")
    lut = pe.get(arch.pe.type)
    cfg = lut.resolve(arch.pe.config())

    def engine_only():
        for _, case in cases:
            engine.run(case.program, arch)

    def engine_and_outputs():
        for _, case in cases:
            engine.run(case.program, arch)
            m, k = case.a.shape
            lut.run(pe.GemmProblem(m, case.want.shape[1], k, case.qw.fmt, "int8", case.qw.group_size), cfg,
                    "per-cycle", case.a.astype(np.float64), case.qw)
            if case.want_words is not None:  # v_proj: its KV-cache quantization (sim.formats), as the RTL stores it
                kv_stream_words(case.want, case.params)

    engine_and_outputs()
    eng, _ = repeat(engine_only, runs, "sim.engine.run of every program (cycles only)")
    both, _ = repeat(engine_and_outputs, runs, "engine + per-cycle LUT model of each GEMM (cycles and outputs)")
    return eng, both


def array_cases() -> list:
    """(name, case) of the compiled programs of every linear layer of one pythia-14m decoder layer on the array."""
    from tests.rtl.array_case import K_TILED, LAYER_DRAM_WORDS, LAYER_MAX_INSTRS, gemm_case, layer_cases

    p = gemm_case(dram_words=LAYER_DRAM_WORDS, **{**K_TILED[0], "max_instrs": LAYER_MAX_INSTRS}).params
    return layer_cases(p)


def program_rates(work: Path, runs: int, v: Verdicts) -> None:
    """The array running the compiled programs of one pythia-14m decoder layer: Verilator C++ against lutsim
    (engine; engine + per-cycle LUT model), simulated cycles per second summed over the layer's programs."""
    from rtl.gateware.array_params import MEMORIES

    cases = array_cases()
    p = cases[0][1].params
    try:
        exe, build_s = rtl_peer.build_array_cpp(work / "array", p)
    except (FileNotFoundError, RuntimeError) as exc:
        v.missing("lutsim vs Verilator C++ on the array's compiled programs", str(exc))
        return
    load_bits = rtl_peer.port_widths(work / "array" / "rtl" / f"{rtl_peer.ARRAY_TOP}.v")["load_data"]
    total = 0
    rtl_s = [0.0] * runs
    agree = True
    for name, case in cases:
        words = case.asm.words(p)
        out_words = case.out_words
        case_file = work / "array" / f"{name}.txt"
        rtl_peer.write_array_case(case_file, {str(i): words[m] for i, m in enumerate(MEMORIES)}, case.image,
                                  2 * case.engine_cycles, case.out_addr, out_words, load_bits)
        r = rtl_peer.run_array_cpp(exe, case_file, runs)
        exact = len(case.mismatches(r["words"])) == 0
        agree &= exact and all(c == case.engine_cycles for c in r["cycles"])
        print(f"  {name:8s} {case.want.shape[0]}x{case.want.shape[1]}x{case.a.shape[1]}: RTL {r['cycles'][0]} cycles, "
              f"engine {case.engine_cycles}, outputs {'bit-exact' if exact else 'DIFFER'}")
        total += case.engine_cycles
        rtl_s = [a + b for a, b in zip(rtl_s, r["seconds"])]
    v.check("array: RTL cycles equal the engine's and outputs equal sim.reference", agree,
            f"{len(cases)} programs, {total} cycles")

    eng, both = lutsim_program_rates(cases, runs)
    rtl = Timing(tuple(rtl_s), "Verilator C++: the clocked runs start to done; program and image load apart")
    print(f"array, {len(cases)} compiled programs of pythia-14m (lut-tc-rtl-small), {total:,} cycles; "
          f"cycles per second:")
    print(f"  lutsim engine:                {eng.rate(total).median:14,.0f}  ({eng})")
    print(f"  lutsim engine + per-cycle:    {both.rate(total).median:14,.0f}  ({both})")
    print(f"  verilator + C++ testbench:    {rtl.rate(total).median:14,.0f}  ({rtl}); build {build_s:.1f} s")
    ratio = both.rate(total).median / rtl.rate(total).median
    v.check(f"array: lutsim engine + per-cycle >= {PROGRAM_TARGET:.0f}x Verilator C++", ratio >= PROGRAM_TARGET,
            f"{ratio:.1f}x (engine alone {eng.rate(total).median / rtl.rate(total).median:.1f}x)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=200_000, help="cycles per Verilator C++ / Numba run")
    ap.add_argument("--cocotb-cycles", type=int, default=4000, help="cycles per cocotb run")
    ap.add_argument("--bits", type=int, default=4, help="weight bits = planes per tile (default 4)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    v = Verdicts("bench_rtl")
    m, n, k = rtl_peer.UNIT
    print(f"LUT unit M{m}N{n}K{k} (INT8 activations), {args.bits}-bit weights; cycles per second, "
          f"median (min, max) of {args.runs} runs")
    kernel, whole, model_cycles = numba_rates(args.cycles, args.bits, args.runs)
    unit_cycles = args.cycles // args.bits * args.bits
    print(f"numba model, stepping kernel:   {kernel.rate(unit_cycles).median:14,.0f}  ({kernel})")
    print(f"numba model, whole call:        {whole.rate(unit_cycles).median:14,.0f}  ({whole})")
    with tempfile.TemporaryDirectory(prefix="bench-rtl-") as tmp:
        try:
            exe, build_s = rtl_peer.build_verilator_cpp(Path(tmp) / "cpp")
        except (FileNotFoundError, RuntimeError) as exc:
            v.missing("Numba model vs Verilator C++", str(exc))
            exe = None
        if exe is not None:
            runs = [rtl_peer.run_verilator_cpp(exe, args.cycles, args.bits) for _ in range(args.runs)]
            loop = Timing(tuple(r["seconds"] for r in runs), "the clocked loop inside the binary; build apart")
            proc = Timing(tuple(r["wall"] for r in runs), "the binary's process, start and exit included")
            print(f"verilator + C++ testbench loop: {loop.rate(args.cycles).median:14,.0f}  ({loop}); "
                  f"build {build_s:.1f} s")
            print(f"verilator + C++, process:       {proc.rate(args.cycles).median:14,.0f}  ({proc})")
            expect = args.cycles // args.bits
            v.check("Verilator C++ testbench produced the tiles", all(r["valids"] in (expect, expect - 1)
                                                                       for r in runs), f"{runs[0]['valids']} valid")
            vk = loop.rate(args.cycles).median
            ratio_k, ratio_w = kernel.rate(unit_cycles).median / vk, whole.rate(unit_cycles).median / vk
            v.check(f"Numba kernel >= {KERNEL_TARGET:.0f}x Verilator C++ kernel", ratio_k >= KERNEL_TARGET,
                    f"{ratio_k:.1f}x")
            v.check(f"Numba whole call >= {WHOLE_TARGET:.0f}x Verilator C++ kernel", ratio_w >= WHOLE_TARGET,
                    f"{ratio_w:.1f}x")
        for sim in rtl_peer.COCOTB_SIMULATORS:
            hint = rtl_peer.cocotb_available(sim)
            if hint:
                v.missing(f"{sim} via cocotb", hint)
                continue
            rs = [rtl_peer.run_cocotb(sim, Path(tmp) / f"{sim}-{i}", args.cocotb_cycles, args.bits)
                  for i in range(args.runs)]
            t = Timing(tuple(r["seconds"] for r in rs), "the clocked loop in the cocotb test; build apart")
            print(f"{sim} via cocotb:{'':{17 - len(sim)}}{t.rate(args.cocotb_cycles).median:14,.0f}  ({t}); "
                  f"build {rs[0]['build_s']:.1f} s")
            expect = args.cocotb_cycles // args.bits
            v.check(f"{sim} via cocotb produced the tiles", all(r["valids"] in (expect, expect - 1) for r in rs),
                    f"{rs[0]['valids']} valid")
        program_rates(Path(tmp), args.runs, v)
    return v.exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
