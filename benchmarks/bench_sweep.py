"""Sweep throughput: design points per minute for Llama-2-7B decode with the real evaluator, and the scaling
from 1 to 2 local worker processes (and a 2-worker Dask LocalCluster).

Three sweeps of lut-tc-28nm (w4a16-g128, kv_len 1024, batch 1):

* ``cold``: arrays x activation-buffer size: every point emits, tile-searches and simulates all of its ops
  from scratch (each buffer size is a new :func:`compiler.programs.emit_key`): the worst case.
* ``timing``: arrays x DRAM bandwidth: points of one array count share emitted programs
  (:mod:`compiler.programs`) but each tile-searches and simulates all of its ops again.
* ``mix``: the axes of examples/sweeps/lut_tc_decode.yaml, reduced (tiles x arrays x DRAM bandwidth x clock
  x node): points that differ only in clock or node reuse the worker's programs and engine stats
  (:func:`compiler.timing_key`) and only recompute energy, seconds and area.

Each figure is one sweep run from a fresh interpreter, wall time end to end (worker start-up and the
first numba cache load included; a Dask cluster's own start is not) on this machine; the target is >= 1000 points/min
with 2 workers. Run: ``python benchmarks/bench_sweep.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from lutsim.sweep import load_results, parse_spec, run_sweep  # noqa: E402

WORKLOAD = {"model": "llama-2-7b", "quant": "w4a16-g128", "phase": "decode", "kv_len": 1024, "batch": 1}
TARGET_POINTS_PER_MIN = 1000  # issue 7
ROOT = Path(__file__).resolve().parents[1]


def specs(quick: bool) -> dict[str, dict]:
    arrays = [4, 8, 16, 32] if quick else [4, 6, 8, 12, 16, 24, 32, 48]
    cold = {"name": "cold", "base_arch": "lut-tc-28nm", "workloads": [WORKLOAD],
            "axes": {"arrays": arrays, "buffers.abuf.capacity": ["256KiB", "1MiB"] if quick else
                     [f"{k}KiB" for k in (128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144)]}}
    timing = {"name": "timing", "base_arch": "lut-tc-28nm", "workloads": [WORKLOAD],
              "axes": {"arrays": arrays, "dram.bandwidth": [256, 384, 512, 1024] if quick else
                       [128, 192, 256, 320, 384, 448, 512, 640, 768, 896, 1024, 1280]}}
    mix = {"name": "mix", "base_arch": "lut-tc-28nm", "workloads": [WORKLOAD],
           "axes": {"pe.tile": [[2, 64, 4], [4, 64, 4], [2, 64, 8]], "arrays": [8, 16] if quick else [8, 16, 32],
                    "dram.bandwidth": [256, 512], "clock_mhz": [800, 1000, 1200], "node_nm": [28, 16, 7]}}
    return {"cold": cold, "timing": timing, "mix": mix}


def startup_spec(spec: dict, jobs: int) -> dict:
    """``jobs`` points of ``spec`` (one per worker): what a sweep costs before its steady state."""
    return {**spec, "sampling": {"mode": "random", "n": jobs, "seed": 1}}


def timed_run(spec: dict, jobs: int, dask: bool) -> tuple[float, int]:
    """(seconds, rows) of one sweep of ``spec`` from a cold process; every row must be ok."""
    cluster = None
    if dask:
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                               processes=True)
    try:
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            run_sweep(parse_spec(spec), out, jobs=jobs, scheduler=cluster and cluster.scheduler_address,
                      progress=False)
            seconds = time.perf_counter() - t0
            df = load_results(out)
    finally:
        if cluster is not None:
            cluster.close()
    bad = df[df["status"] != "ok"]
    if len(bad):
        raise RuntimeError(f"{len(bad)} rows not ok: {bad['reason'].iloc[0]}")
    return seconds, len(df)


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def in_fresh_process(args: list[str]) -> dict:
    """Run one measurement in a new interpreter, so no compiled program is inherited by forked workers; adds
    ``cpu``: CPU seconds of that interpreter and its workers (independent of what else loads the machine)."""
    cpu0 = _children_cpu()
    res = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    return json.loads(res.stdout.strip().splitlines()[-1]) | {"cpu": _children_cpu() - cpu0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sweeps")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster runs")
    ap.add_argument("--one", nargs=3, metavar=("SWEEP", "JOBS", "DASK"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        name, jobs, dask = args.one
        spec = specs(args.quick)[name.removesuffix("-startup")]
        if name.endswith("-startup"):
            spec = startup_spec(spec, int(jobs))
        seconds, n = timed_run(spec, int(jobs), dask == "dask")
        print(json.dumps({"seconds": seconds, "rows": n}))
        return
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    print("end to end: rows / wall time of a sweep; steady: after start-up (the wall time of a sweep of one point "
          "per worker, run separately, is subtracted); cpu ms/pt: CPU time per point after start-up, all processes; "
          "2 free cores: 2 x 60 s / (cpu per point), the steady rate two unshared cores would reach")
    print(f"{'sweep':6} {'workers':>14} {'points':>7} {'seconds':>8} {'start-up s':>10} {'points/min':>11} "
          f"{'steady/min':>11} {'steady vs 1':>12} {'vs target':>10} {'cpu ms/pt':>10} {'2 free cores/min':>17}")
    runs = [("1 process", 1, "local"), ("2 processes", 2, "local")] + ([] if args.no_dask else
                                                                       [("2 dask workers", 2, "dask")])
    for name in specs(args.quick):
        base = None
        for label, jobs, how in runs:
            quick = ["--quick"] if args.quick else []
            r = in_fresh_process(["--one", name, str(jobs), how] + quick)
            s0 = in_fresh_process(["--one", f"{name}-startup", str(jobs), how] + quick)
            rate = r["rows"] / r["seconds"] * 60
            steady = (r["rows"] - jobs) / max(r["seconds"] - s0["seconds"], 1e-9) * 60
            cpu_pt = max(r["cpu"] - s0["cpu"], 1e-9) / (r["rows"] - jobs)
            base = base or steady
            print(f"{name:6} {label:>14} {r['rows']:7d} {r['seconds']:8.1f} {s0['seconds']:10.1f} {rate:11.0f} "
                  f"{steady:11.0f} {steady / base:11.2f}x {steady / TARGET_POINTS_PER_MIN:9.2f}x {cpu_pt * 1e3:10.0f} "
                  f"{2 * 60 / cpu_pt:17.0f}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f} (other processes share these cores)")


if __name__ == "__main__":
    main()
