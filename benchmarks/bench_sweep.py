"""Sweep throughput end to end: design points per minute of a whole sweep as a fresh process, for Llama-2-7B
decode with the real evaluator, on 1 and 2 local worker processes (and a 2-worker Dask LocalCluster).

Three sweeps of lut-tc-28nm (w4a16-g128, kv_len 1024, batch 1):

* ``cold``: arrays x activation-buffer size: every point emits, tile-searches and simulates all of its ops
  from scratch (each buffer size is a new :func:`compiler.programs.emit_key`): the worst case.
* ``timing``: arrays x DRAM bandwidth: points of one array count share emitted programs
  (:mod:`compiler.programs`) but each tile-searches and simulates all of its ops again.
* ``mix``: the axes of examples/sweeps/lut_tc_decode.yaml, reduced (tiles x arrays x DRAM bandwidth x clock
  x node): points that differ only in clock or node reuse the worker's programs and engine stats
  (:func:`compiler.timing_key`) and only recompute energy, seconds and area.

Each figure: rows / wall time of ``python bench_sweep.py --one ...`` as a new process (interpreter start,
imports, worker start-up, the Numba disk-cache load and the sweep; a Dask cluster's start too), median of
``--runs``, with min and max; nothing subtracted or extrapolated. Target: >= 1000 points/min with 2 local
worker processes, every sweep. Run: ``python benchmarks/bench_sweep.py [--quick] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from benchmarks.timing import Verdicts, process  # noqa: E402
from lutsim.sweep import load_results, parse_spec, run_sweep  # noqa: E402

WORKLOAD = {"model": "llama-2-7b", "quant": "w4a16-g128", "phase": "decode", "kv_len": 1024, "batch": 1}
TARGET_POINTS_PER_MIN = 1000  # issue 7


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


def timed_run(spec: dict, jobs: int, dask: bool) -> tuple[float, int]:
    """(seconds, rows) of one sweep of ``spec`` from a cold process; every row must be ok."""
    cluster = None
    if dask:
        from distributed import LocalCluster  # optional: the dist extra, only for the LocalCluster runs

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


INCLUDES = "fresh process: interpreter start, imports, worker start-up, Numba cache load, the sweep"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sweeps")
    ap.add_argument("--runs", type=int, default=3, help="runs per figure (median, min, max)")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster runs")
    ap.add_argument("--one", nargs=3, metavar=("SWEEP", "JOBS", "DASK"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        name, jobs, dask = args.one
        seconds, n = timed_run(specs(args.quick)[name], int(jobs), dask == "dask")
        print(json.dumps({"seconds": seconds, "rows": n}))
        return 0
    v = Verdicts("bench_sweep")
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f} (other processes share them)")
    runs = [("1 process", 1, "local"), ("2 processes", 2, "local")] + ([] if args.no_dask else
                                                                       [("2 dask workers", 2, "dask")])
    quick = ["--quick"] if args.quick else []
    for name in specs(args.quick):
        for label, jobs, how in runs:
            t, out = process([sys.executable, __file__, "--one", name, str(jobs), how, *quick], args.runs, INCLUDES)
            rows = json.loads(out.strip().splitlines()[-1])["rows"]
            rate = t.rate(rows * 60)  # points per second × 60
            print(f"{name:6} {label:>14}: {rows} points, {rate.median:,.0f} points/min (min {rate.min:,.0f}, "
                  f"max {rate.max:,.0f}); seconds {t}", flush=True)
            if how == "local" and jobs == 2:
                v.check(f"{name} sweep, 2 processes, >= {TARGET_POINTS_PER_MIN} points/min end to end",
                        rate.median >= TARGET_POINTS_PER_MIN, f"{rate.median:,.0f} points/min")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return v.exit_code()


if __name__ == "__main__":
    sys.exit(main())
