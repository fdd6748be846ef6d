"""Run a sweep: local worker processes by default, a Dask cluster when given a scheduler address.

Results go to ``OUT/parts/part-<n>.parquet``, one file per finished chunk of tasks, each written to a
temporary name and renamed into place, so an interrupted sweep (Ctrl-C, a killed process) loses
no finished chunk and never leaves a half-written file. Re-running the same command reads the
parts, skips every (point_id, workload_id) already present and appends only the rest: no row is
computed twice and none is duplicated. A task that raises becomes a row with ``status = "error"``
and its message; the sweep goes on.

``OUT/sweep.json`` records what decides every row besides its own point and workload (:func:`fingerprint`:
the base arch and its full spec, the constraints, the evaluator, the lutsim version). Resuming with a spec
that changes any of these is refused (its rows would mix two models); adding axis values or workloads
is a resume that computes only the new rows.

One run at a time writes an ``OUT`` (a lock; a second is refused), a part that cannot be read is set aside
and its rows computed again, and local workers exit when the sweep's process dies (:mod:`.store`,
:mod:`.workers`).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, wait
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from sim.errors import InputError

from .. import __version__
from ..pipeline import base_assumptions, resolve_arch
from . import evaluators, store, workers
from .evaluators import DEFAULT_EVALUATOR
from .params import apply_params
from .spec import MAX_ROWS, SweepSpec, stable_id
from .store import KEY, PartWriter, load_results
from .workload import check_workload

__all__ = ["KEY", "PartWriter", "load_results", "plan_sweep", "run_sweep"]
MANIFEST = "sweep.json"


def evaluator_target(spec: SweepSpec, allow_imports: Iterable[str] = ()) -> str:
    """The import path of the spec's evaluator, checked (registered, or allowed by the user) and importable."""
    target = evaluators.resolve(spec.evaluator, allow_imports)
    evaluators.load(target)
    return target


def _violations(metrics: dict, constraints: dict) -> list[str]:
    return [f"{k} {metrics[k]:.6g} > {limit:g}" for k, limit in sorted(constraints.items())
            if k in metrics and metrics[k] is not None and metrics[k] > limit]


def run_chunk(target: str, base_arch: str, constraints: dict, tasks: list[dict]) -> list[dict]:
    """Evaluate tasks in one worker with the evaluator at ``target`` (from :func:`evaluator_target`);
    never raises for a task's own failure."""
    fn = evaluators.load(target)
    rows = []
    for t in tasks:
        row = {"point_id": t["point_id"], "workload_id": t["workload_id"], "status": "ok", "reason": ""}
        row.update({f"p.{k}": _cell(v) for k, v in t["params"].items()})
        row.update({f"w.{k}": _cell(v) for k, v in t["workload"].items()})
        try:
            metrics = fn(base_arch, t["params"], t["workload"])
        except ValueError as exc:  # an invalid combination: recorded, not fatal
            row.update(status="skipped", reason=str(exc))
        except Exception as exc:  # noqa: BLE001 - a crashing point must not stop the sweep
            row.update(status="error", reason=f"{type(exc).__name__}: {exc}")
        else:
            row.update(metrics)
            bad = _violations(metrics, constraints)
            if bad:
                row.update(status="skipped", reason="constraint: " + "; ".join(bad))
        rows.append(row)
    return rows


def _cell(v):
    """Parquet-friendly cell: lists/dicts become their canonical string."""
    return str(v) if isinstance(v, (list, tuple, dict)) else v


def base_arch_dict(spec: SweepSpec) -> dict:
    """The spec's base arch, resolved (an unknown preset or file is an InputError on ``base_arch``)."""
    try:
        return resolve_arch(spec.base_arch).to_dict()
    except InputError as exc:
        if exc.field in ("--arch", spec.base_arch):  # the name itself, or its file as a whole
            raise InputError("base_arch", exc.problem, exc.allowed) from None
        raise InputError(f"base_arch ({spec.base_arch}) {exc.field}", exc.problem, exc.allowed) from None


def fingerprint(spec: SweepSpec) -> dict:
    """What decides a row's values besides its own point and workload. With the default evaluator the base
    arch is resolved, so an edited preset or arch YAML changes the fingerprint (an unknown one is an input
    error here, before any worker starts)."""
    base_spec = None
    if spec.evaluator == DEFAULT_EVALUATOR:
        base_spec = stable_id(base_arch_dict(spec))
    return {"base_arch": spec.base_arch, "base_arch_spec": base_spec, "constraints": spec.constraints,
            "evaluator": spec.evaluator, "lutsim": __version__}


def check_axes(spec: SweepSpec) -> None:
    """With the default evaluator every axis must name a field of the base arch and every workload must build
    its trace: a typo is an input error now, not a sweep of rows all skipped for the same reason. (Axis values
    are checked per point: a bad one skips that point.)"""
    if spec.evaluator != DEFAULT_EVALUATOR:
        return
    base = base_arch_dict(spec)
    for path, values in spec.axes.items():
        try:
            apply_params(base, {path: values[0]})
        except InputError as exc:
            raise InputError(f"axes.{path}", exc.problem, exc.allowed) from None
    for i, w in enumerate(spec.workloads):
        try:
            check_workload(w)
        except InputError as exc:
            name = exc.field.removeprefix("workload.").lstrip("-").replace("-", "_")
            raise InputError(f"workloads[{i}].{name}", exc.problem, exc.allowed) from None


def check_manifest(spec: SweepSpec, out: Path) -> None:
    """Refuse to resume into ``out`` when its rows came from a sweep with another :func:`fingerprint`."""
    new = fingerprint(spec)
    path = out / MANIFEST
    if not path.is_file() or not any(out.glob("parts/part-*.parquet")):
        return
    try:
        old = json.loads(path.read_text())["fingerprint"]
    except (ValueError, KeyError, TypeError):
        raise InputError("--out", f"{path} is not a lutsim sweep manifest; use another --out") from None
    changed = [k for k in new if old.get(k) != new[k]]
    if changed:
        k = changed[0]
        raise InputError("--out", f"{out} holds rows of a sweep with another {k} ({old.get(k)!r}, now {new[k]!r}); "
                         "they would mix with this one's", "a new --out directory, or delete the old one to start over")


def write_manifest(spec: SweepSpec, out: Path) -> None:
    """``OUT/sweep.json``: the fingerprint, plus the spec's name, axes and workloads for the record, and (default
    evaluator) ``assumptions``: the constants of the base arch on the first workload
    (:func:`lutsim.pipeline.base_assumptions`, no simulation), which reports read."""
    doc = {"fingerprint": fingerprint(spec), "name": spec.name, "axes": spec.axes, "workloads": spec.workloads,
           "sampling": spec.sampling}
    if spec.evaluator == DEFAULT_EVALUATOR and spec.workloads:
        doc["assumptions"] = base_assumptions(spec.base_arch, **spec.workloads[0]).to_dict()
    text = json.dumps(doc, indent=1, sort_keys=True, default=str) + "\n"
    store.write_atomic(out / MANIFEST, lambda tmp: tmp.write_text(text))


def done_keys(out: Path, quarantine: bool = False) -> set[tuple[str, str]]:
    """(point_id, workload_id) of every row in ``out`` (``quarantine``: see :func:`.store.load_results`)."""
    if not out.is_dir():
        return set()
    done = load_results(out, quarantine=quarantine)
    return set(zip(done["point_id"], done["workload_id"]))


def pending_tasks(spec: SweepSpec, have: set) -> Iterator[dict]:
    """The spec's tasks not in ``have``, streamed."""
    return (t for t in spec.iter_tasks() if (t["point_id"], t["workload_id"]) not in have)


def count_pending(spec: SweepSpec, have: set) -> int:
    """How many of the spec's tasks are not in ``have`` (a pass over the ids, no task kept)."""
    if not have:
        return spec.n_rows
    return sum(1 for _ in pending_tasks(spec, have))


def chunked(tasks: Iterable[dict], size: int) -> Iterator[list[dict]]:
    """Consecutive lists of ``size`` tasks (the last may be shorter), built as they are consumed."""
    it = iter(tasks)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _check(spec: SweepSpec, out: Path, allow_imports: Iterable[str], max_rows: int) -> str:
    """Every check before a sweep runs or is planned; the evaluator's import path."""
    spec.check_size(max_rows)
    target = evaluator_target(spec, allow_imports)
    check_axes(spec)
    check_manifest(spec, out)
    return target


def plan_sweep(spec: SweepSpec, out: str | Path, allow_imports: Iterable[str] = (), max_rows: int = MAX_ROWS) -> dict:
    """What :func:`run_sweep` would do, after the same checks (size, evaluator, axes, workloads, the manifest of
    ``out``), writing nothing: design points, workloads, rows in all, rows already in ``out``, rows to compute."""
    out = Path(out)
    _check(spec, out, allow_imports, max_rows)
    have = done_keys(out)
    todo = count_pending(spec, have)
    return {"points": spec.n_points, "workloads": len(spec.workloads), "rows": spec.n_rows,
            "already_done": spec.n_rows - todo, "to_compute": todo}


def run_sweep(spec: SweepSpec, out: str | Path, jobs: int = 2, scheduler: str | None = None,
              chunk_size: int | None = None, progress: bool = True, allow_imports: Iterable[str] = (),
              max_rows: int = MAX_ROWS) -> dict:
    """Run (or resume) a sweep; returns a summary dict (rows written, skipped, errors, seconds).
    ``allow_imports``: import paths ``module:function`` the caller trusts as evaluators (a spec's own
    ``evaluator`` must otherwise be registered, see :mod:`.evaluators`); ``max_rows``: the most rows the spec
    may have (:meth:`SweepSpec.check_size`)."""
    out = Path(out)
    target = _check(spec, out, allow_imports, max_rows)
    client = dask_client(scheduler) if scheduler else None  # an unreachable scheduler fails before OUT is made
    store.make_out(out)
    with store.out_lock(out):
        check_manifest(spec, out)  # again: another run may have written OUT before the lock was ours
        store.remove_stale_temporaries(out)
        write_manifest(spec, out)
        have = done_keys(out, quarantine=True)
        todo = count_pending(spec, have)
        already = spec.n_rows - todo
        size = chunk_size or max(1, min(64, todo // (4 * max(jobs, 1)) or 1))
        chunks = chunked(pending_tasks(spec, have), size)
        writer = PartWriter(out)
        t0 = time.perf_counter()
        args = (target, spec.base_arch, spec.constraints)
        with _progress(progress, todo) as advance:
            if client is not None:
                results = _run_dask(client, args, chunks)
            elif jobs <= 1:
                results = (run_chunk(*args, c) for c in chunks)
            else:
                results = _run_local(jobs, args, chunks)
            for rows in results:
                writer.write(rows)
                advance(len(rows))
        df = load_results(out)
    return {"rows": len(df), "new_rows": todo, "already_done": already,
            "ok": int((df["status"] == "ok").sum()), "skipped": int((df["status"] == "skipped").sum()),
            "errors": int((df["status"] == "error").sum()), "seconds": time.perf_counter() - t0}


#: chunks submitted ahead per local worker (the rest of the task stream is built only as they finish)
AHEAD_PER_WORKER = 4
#: chunks submitted ahead to a Dask cluster
DASK_AHEAD = 256


def _run_local(jobs: int, args: tuple, chunks: Iterator[list[dict]]) -> Iterable[list[dict]]:
    pool = workers.pool(jobs)
    futures = {pool.submit(run_chunk, *args, c) for c in itertools.islice(chunks, AHEAD_PER_WORKER * jobs)}
    try:
        while futures:
            done, futures = wait(futures, return_when=FIRST_COMPLETED)
            futures |= {pool.submit(run_chunk, *args, c) for c in itertools.islice(chunks, len(done))}
            for f in done:
                yield f.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


#: seconds to wait for a Dask scheduler to answer
CONNECT_TIMEOUT_S = 10


def dask_client(scheduler: str):
    """A ``distributed.Client`` connected to ``scheduler``; InputError (exit 2) when dask.distributed is missing
    or the scheduler does not answer within :data:`CONNECT_TIMEOUT_S`."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - depends on the install
        raise InputError("--scheduler", "needs dask.distributed: pip install 'lutsim[dist]'") from None
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError("--scheduler", f"cannot reach a Dask scheduler at {scheduler!r}: {exc}",
                         "the address of a running scheduler, e.g. tcp://HOST:8786 (start one with: dask scheduler)"
                         ) from None


def _run_dask(client, args: tuple, chunks: Iterator[list[dict]]) -> Iterable[list[dict]]:
    from distributed import as_completed  # optional: the dist extra

    with client:
        running = as_completed([client.submit(run_chunk, *args, c, pure=False)
                                for c in itertools.islice(chunks, DASK_AHEAD)])
        for f in running:
            for c in itertools.islice(chunks, 1):
                running.add(client.submit(run_chunk, *args, c, pure=False))
            yield f.result()


class _progress:
    """A rich progress bar with rate and ETA (silent when disabled or nothing to do)."""

    def __init__(self, enabled: bool, total: int):
        self.enabled = enabled and total > 0
        self.total = total

    def __enter__(self):
        if not self.enabled:
            return lambda n: None
        self.bar = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[rate]}"),
                            TimeElapsedColumn(), TimeRemainingColumn())
        self.bar.start()
        self.task = self.bar.add_task("sweep", total=self.total, rate="")
        self.t0 = time.perf_counter()
        self.n = 0

        def advance(n: int) -> None:
            self.n += n
            rate = self.n / max(time.perf_counter() - self.t0, 1e-9) * 60
            self.bar.update(self.task, advance=n, rate=f"{rate:,.0f} rows/min")

        return advance

    def __exit__(self, *exc):
        if self.enabled:
            self.bar.stop()
        return False
