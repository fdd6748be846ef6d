"""Run fuzz cases in this process, one after another, each under a time cap; the process under a memory cap.

``python tests/fuzz/harness.py CASES.json RESULTS.jsonl`` appends one JSON line per case to RESULTS
(``{"id", "outcome", "rc", "line"}``), flushed at once, so a runner that has to kill a stuck process knows
which case was running. Outcomes: ``ok`` (exit 2, one ``error:`` line naming the field), ``unnamed`` (exit 2,
the field not named), ``accepted`` (exit 0: bad input silently taken), ``traceback`` (an exception escaped),
``hang`` (over the time cap), ``memory`` (over the memory cap). Imports nothing from the tests, so it can
drive any checkout of lutsim (``PYTHONPATH``).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import resource
import signal
import sys
import tempfile
import traceback
from pathlib import Path

#: seconds one case may take
CASE_TIMEOUT_S = 10
#: modules the commands import lazily (imported up front, outside the per-case alarm)
WARM = ("numpy", "pandas", "numba", "lutsim.api", "lutsim.sweep", "sim.engine", "sim.cost", "sim.pe", "compiler",
        "workloads.trace")
#: bytes of address space the whole process may use
MEMORY_CAP = 6 * 1024**3


class _Timeout(BaseException):
    """Raised by SIGALRM: not an Exception, so no handler in lutsim swallows it."""


def _alarm(signum, frame):
    raise _Timeout()


def _argv(case: dict, path: Path, tmp: Path) -> list[str]:
    if case["command"] == "arch":
        return ["arch", "show", str(path)]
    if case["command"] == "sweep":
        return ["sweep", str(path), "--out", str(tmp / "out"), "--dry-run", *case["args"]]
    return ["run", str(path), "--arch", "lut-tc-28nm", "--json", *case["args"]]


def run_case(case: dict, main) -> dict:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        path = tmp / case["file"]
        path.write_bytes(case["data"].encode("latin-1"))
        err, out = io.StringIO(), io.StringIO()
        rc, outcome = None, None
        signal.alarm(CASE_TIMEOUT_S)
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
                rc = main(_argv(case, path, tmp))
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 2
        except _Timeout:
            outcome = "hang"
        except MemoryError:
            outcome = "memory"
        except BaseException:  # noqa: BLE001 - any escaping exception is the finding
            outcome = "traceback"
            err.write(traceback.format_exc(limit=3))
        finally:
            signal.alarm(0)
    text = err.getvalue()
    lines = [ln for ln in text.splitlines() if ln.startswith("error:") or ": error:" in ln]
    line = lines[0] if lines else text.strip().splitlines()[-1][:300] if text.strip() else ""
    if outcome is None:
        if rc == 0:
            outcome = "accepted"
        elif rc == 2 and lines and "Traceback" not in text and all(e in lines[0] for e in case["expect"]):
            outcome = "ok"
        elif rc == 2:
            outcome = "unnamed"
        else:
            outcome = "traceback"
    return {"id": case["id"], "category": case["category"], "outcome": outcome, "rc": rc, "line": line[:300]}


def main() -> None:
    cases = json.loads(Path(sys.argv[1]).read_text())
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    signal.signal(signal.SIGALRM, _alarm)
    sys.setrecursionlimit(10_000)
    from lutsim.cli import main as lutsim_main

    for name in WARM:  # import before any alarm is set: an alarm inside an import leaves it half-initialized
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    with open(sys.argv[2], "a") as results:
        results.write(json.dumps({"ready": True}) + "\n")
        results.flush()
        for case in cases:
            results.write(json.dumps({"start": case["id"]}) + "\n")
            results.flush()
            results.write(json.dumps(run_case(case, lutsim_main)) + "\n")
            results.flush()
    os._exit(0)  # skip interpreter teardown (pools, caches): the results are written


if __name__ == "__main__":
    main()
