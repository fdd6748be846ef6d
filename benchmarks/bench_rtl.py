"""RTL simulation speed: cycles per second of Icarus and Verilator (through cocotb) clocking the
default M2N64K4 LUT unit on random operands, beside the Python contract model's rate.

    python benchmarks/bench_rtl.py [--cycles 2000] [--bits 4]

The Numba per-cycle model (``sim.pe.lut_tensor_core.tile_io``) lives on another branch: this script
times it when it is importable and says so when it is not; :func:`model_rate` takes any tile function.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from rtl.gateware.params import DEFAULT_ACT_WIDTH, DEFAULT_K, DEFAULT_M, DEFAULT_N  # noqa: E402
from rtl.tools import hdl_sim, verilog  # noqa: E402


def simulator_rate(sim: str, cycles: int, bits: int) -> dict | None:
    """Simulated cycles per second of ``sim`` (build time reported apart); None if unavailable."""
    if not hdl_sim.use_simulator(sim):
        print(f"{sim}: not available ({hdl_sim.INSTALL_HINT[sim]})")
        return None
    with tempfile.TemporaryDirectory(prefix=f"bench-{sim}-") as tmp:
        tmp = Path(tmp)
        path = verilog.write("lut-tc", tmp / "rtl")
        top = verilog.design("lut-tc").top
        t0 = time.perf_counter()
        runner = hdl_sim.build(sim, path, top, tmp / "build")
        build_s = time.perf_counter() - t0
        out = tmp / "bench.json"
        env = {"LUTSIM_BENCH": json.dumps({"cycles": cycles, "bits": bits, "out": str(out)})}
        hdl_sim.run(runner, "benchmarks.tb_bench_lut", top, tmp, env)
        res = json.loads(out.read_text())
    return {"build_s": build_s, "cycles_per_s": res["cycles"] / res["wall_s"], "valids": res["valids"]}


def model_rate(tile_fn: Callable, tiles: list[tuple], bits: int, cycles: int) -> float:
    """Cycles per second of a model: ``tile_fn(*tiles[i])`` computes one tile (``bits`` cycles)."""
    n_tiles = max(1, cycles // bits)
    tile_fn(*tiles[0])  # warm-up (JIT compilation for a Numba model)
    t0 = time.perf_counter()
    for i in range(n_tiles):
        tile_fn(*tiles[i % len(tiles)])
    return n_tiles * bits / (time.perf_counter() - t0)


def contract_model_case(bits: int):
    """(tile function, tiles) of the small exact model the RTL tests use (tests/rtl/lut_model.py)."""
    from tests.rtl.lut_model import random_tile, tile_output

    rng = np.random.default_rng(0)
    return tile_output, [random_tile(rng, DEFAULT_M, DEFAULT_N, DEFAULT_K, DEFAULT_ACT_WIDTH, bits)
                         for _ in range(64)]


def numba_model_case(bits: int):
    """(tile function, tiles) of the Numba per-cycle model's one-tile helper
    ``sim.pe.lut_tensor_core.tile_io(a, codes, code_bits, psum_in)``, or None when not importable."""
    try:
        from sim.pe.lut_tensor_core import tile_io  # arrives with the pe-lut branch
    except ImportError:
        return None
    rng = np.random.default_rng(0)
    half = 1 << (DEFAULT_ACT_WIDTH - 1)
    tiles = [(rng.integers(-half, half, size=(DEFAULT_M, DEFAULT_K)),
              rng.integers(0, 1 << bits, size=(DEFAULT_N, DEFAULT_K)), bits,
              rng.integers(-(1 << 20), 1 << 20, size=(DEFAULT_M, DEFAULT_N)).astype(np.float64))
             for _ in range(64)]
    return tile_io, tiles


def percycle_model_rates(bits: int, cycles: int) -> tuple[float, float]:
    """Cycles per second of the Numba per-cycle LUT model (``lut-tc``, mode "per-cycle") stepping the same
    M2N64K4 unit with real data over ``cycles / bits`` back-to-back tiles (one K-group each): (whole call,
    including the offline weight re-arrangement and table precompute; the unit's stepping kernel alone)."""
    import numpy as np

    from sim import formats, pe
    from sim.pe import lut_tensor_core as ltc
    from sim.pe.base import GemmProblem
    from sim.pe.table_precompute import precompute

    lut = pe.get("lut-tc")
    cfg = lut.resolve(None)
    m, n, ku = cfg.tile
    k = ku * max(1, cycles // bits)
    rng = np.random.default_rng(0)
    problem = GemmProblem(m, n, k, f"int{bits}", "int8", k)
    a = rng.integers(-128, 128, size=(m, k)).astype(np.float64)
    qw = formats.get(f"int{bits}").quantize(rng.normal(size=(n, k)), group_size=k)
    lut.run(problem, cfg, "per-cycle", a, qw)  # warm-up: JIT compilation
    whole = kernel = float("inf")
    lw = ltc.reinterpret(qw, ku)
    pre = precompute(ltc._group_layout(a, k, ku), m, ltc.EXACT_INT, False)
    zeros = np.zeros((m, n))
    for _ in range(3):
        t0 = time.perf_counter()
        res = lut.run(problem, cfg, "per-cycle", a, qw)
        whole = min(whole, time.perf_counter() - t0)
        t0 = time.perf_counter()
        ltc._run_unit(pre.tables, lw.idx, lw.neg, lw.kgroups_per_group, m, n, ku, ltc.VALUE_FORMATS["int32"], zeros)
        kernel = min(kernel, time.perf_counter() - t0)
    return res.cycles / whole, res.cycles / kernel


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=2000, help="simulated cycles per simulator (default 2000)")
    ap.add_argument("--bits", type=int, default=4, help="weight bits = planes per tile (default 4)")
    args = ap.parse_args(argv)
    fn, tiles = contract_model_case(args.bits)
    rows = [("python contract model (tests/rtl/lut_model.py)", model_rate(fn, tiles, args.bits, args.cycles), None)]
    numba = numba_model_case(args.bits)
    if numba is None:
        print("numba model: sim.pe.lut_tensor_core.tile_io is not importable on this branch "
              "(it arrives with the pe-lut branch)")
    else:
        rows.append(("numba model, sim.pe.lut_tensor_core.tile_io", model_rate(*numba, args.bits, args.cycles), None))
    whole, kernel = percycle_model_rates(args.bits, 100 * args.cycles)
    rows.append(("numba per-cycle model (lut-tc, whole call)", whole, None))
    rows.append(("numba per-cycle model (unit stepping kernel)", kernel, None))
    for sim in hdl_sim.SIMULATORS:
        r = simulator_rate(sim, args.cycles, args.bits)
        if r:
            expect = args.cycles // args.bits
            assert r["valids"] in (expect, expect - 1), r  # the unit really produced tiles
            rows.append((f"{sim} via cocotb", r["cycles_per_s"], r["build_s"]))
    base = rows[0][1]
    print(f"LUT unit M{DEFAULT_M}N{DEFAULT_N}K{DEFAULT_K}, {args.bits}-bit weights, {args.cycles} cycles")
    print(f"{'engine':50s} {'cycles/s':>12s} {'vs python model':>16s} {'build s':>8s}")
    for name, rate, build_s in rows:
        b = f"{build_s:8.1f}" if build_s is not None else f"{'':8s}"
        print(f"{name:50s} {rate:12,.0f} {rate / base:15.3f}x {b}")
    for name, rate, _ in rows:
        if "via cocotb" in name:
            print(f"numba per-cycle model vs {name}: whole call {whole / rate:,.0f}x, stepping kernel "
                  f"{kernel / rate:,.0f}x (target >= 100x for Verilator)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
