"""``lutsim sweep``: run a design-space sweep from a YAML spec (resumable)."""

from __future__ import annotations

import argparse
import os
import sys

from sim.errors import InputError

NAME = "sweep"
HELP = "run a design-space sweep (local worker processes, or a Dask cluster with --scheduler)"
EPILOG = """trust: a spec is data. Its evaluator is a registered name (built-in: lutsim; plug-ins: the
'lutsim.evaluators' entry-point group of installed packages); an import path module:function in a spec
is refused unless you allow that exact path with --allow-evaluator-import. With --scheduler, results
come back from the Dask workers pickled and are unpickled here, which can run any code: connect only to
a scheduler and workers you trust (your own machines, a TLS-secured cluster)."""


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def add_arguments(p) -> None:
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("spec", metavar="SPEC.yaml", help="sweep spec (see lutsim/sweep/spec.py)")
    p.add_argument("--out", required=True, help="output directory (Parquet parts; re-run to resume)")
    p.add_argument("--jobs", type=int, default=usable_cores(),
                   help=f"local worker processes (default: the usable cores, {usable_cores()} here)")
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler address, e.g. tcp://127.0.0.1:8786 (only a cluster you trust: results are "
                        "unpickled)")
    p.add_argument("--allow-evaluator-import", action="append", default=[], metavar="MODULE:FUNCTION",
                   help="let the spec's evaluator be this import path (runs its code; repeatable)")
    p.add_argument("--chunk-size", type=int, default=None, help="tasks per worker call (default: automatic)")
    p.add_argument("--dry-run", action="store_true",
                   help="check the spec and OUT, print how many rows there are and how many are left; run nothing")
    p.add_argument("--max-rows", type=int, default=None, metavar="N",
                   help="refuse a spec of more than N rows, design points x workloads (default: "
                        "lutsim.sweep.spec.MAX_ROWS, one million)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args) -> int:
    from lutsim.output import print_json
    from lutsim.results import SweepPlan, SweepSummary
    from lutsim.sweep import load_spec, plan_sweep, run_sweep
    from lutsim.sweep.spec import MAX_ROWS

    if args.jobs < 1:
        raise InputError("--jobs", f"must be >= 1, got {args.jobs}")
    max_rows = MAX_ROWS if args.max_rows is None else args.max_rows
    if max_rows < 1:
        raise InputError("--max-rows", f"must be >= 1, got {args.max_rows}")
    if args.chunk_size is not None and args.chunk_size < 1:
        raise InputError("--chunk-size", f"must be >= 1, got {args.chunk_size}")
    spec = load_spec(args.spec)
    if args.dry_run:
        plan = plan_sweep(spec, args.out, allow_imports=args.allow_evaluator_import, max_rows=max_rows)
        if args.json:
            print_json(SweepPlan(**plan).to_dict())
        else:
            print(f"{plan['points']} design points x {plan['workloads']} workloads = {plan['rows']} rows; "
                  f"{plan['already_done']} already in {args.out}, {plan['to_compute']} to compute")
        return 0
    try:
        summary = run_sweep(spec, args.out, jobs=args.jobs, scheduler=args.scheduler,
                            chunk_size=args.chunk_size, progress=not args.json,
                            allow_imports=args.allow_evaluator_import, max_rows=max_rows)
    except KeyboardInterrupt:
        from lutsim.sweep import load_results

        print(f"{len(load_results(args.out))} of {spec.n_rows} rows are saved in {args.out}; run the same "
              "command again to resume", file=sys.stderr)
        raise
    if args.json:
        print_json(SweepSummary(**summary).to_dict())
    else:
        print(f"{summary['rows']} rows in {args.out} ({summary['new_rows']} new, {summary['already_done']} "
              f"already done): {summary['ok']} ok, {summary['skipped']} skipped, {summary['errors']} errors, "
              f"{summary['seconds']:.1f} s")
    return 0
