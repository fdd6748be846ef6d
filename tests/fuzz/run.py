"""Drive :mod:`tests.fuzz.harness` over many cases in few processes; a case that stalls its process (a hang
no alarm can interrupt, e.g. one huge C-level computation) is killed, recorded as ``hang``, and the rest go on
in a fresh process.

``python -m tests.fuzz.run [--pythonpath DIR]`` prints the tally per category and outcome (DIR: the lutsim
checkout to test, default this one).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .cases import CATEGORIES, all_cases
from .harness import CASE_TIMEOUT_S

HARNESS = Path(__file__).with_name("harness.py")
#: extra seconds beyond a case's own cap before its process is killed (start-up, imports)
GRACE_S = 20
#: seconds the harness may take to start and import lutsim (a loaded 2-core machine)
STARTUP_S = 180


def run_cases(cases: list[dict], pythonpath: str | None = None) -> list[dict]:
    """Results of every case, in order (see :func:`tests.fuzz.harness.run_case`)."""
    env = dict(os.environ, PYTHONPATH=pythonpath or str(Path(__file__).resolve().parents[2]))
    results: dict[str, dict] = {}
    todo = list(cases)
    with tempfile.TemporaryDirectory() as d:
        while todo:
            case_file, out_file = Path(d, "cases.json"), Path(d, "results.jsonl")
            case_file.write_text(json.dumps(todo))
            out_file.write_text("")
            proc = subprocess.Popen([sys.executable, str(HARNESS), str(case_file), str(out_file)], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            size, last = 0, time.monotonic()
            while proc.poll() is None and time.monotonic() - last < (CASE_TIMEOUT_S + GRACE_S if size else STARTUP_S):
                time.sleep(0.1)
                now = out_file.stat().st_size
                if now != size:
                    size, last = now, time.monotonic()
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            started = None
            for line in out_file.read_text().splitlines():
                rec = json.loads(line)
                if "ready" in rec:
                    continue
                if "start" in rec:
                    started = rec["start"]
                else:
                    results[rec["id"]] = rec
                    started = None
            by_id = {c["id"]: c for c in todo}
            if started is not None:  # the case the process died in
                c = by_id[started]
                results[started] = {"id": started, "category": c["category"], "rc": proc.returncode, "line": "",
                                    "outcome": "hang"}
            elif proc.returncode != 0 and not any(c["id"] in results for c in todo):
                raise RuntimeError(f"the fuzz harness failed to start: {proc.stderr.read()[-2000:]}")
            todo = [c for c in todo if c["id"] not in results]
    return [results[c["id"]] for c in cases]


def tally(results: list[dict]) -> dict[str, collections.Counter]:
    out = {cat: collections.Counter() for cat in CATEGORIES}
    for r in results:
        out[r["category"]][r["outcome"]] += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pythonpath", default=None)
    ap.add_argument("--show", default="", help="print the cases with this outcome")
    args = ap.parse_args()
    results = run_cases(all_cases(), args.pythonpath)
    for cat, counts in tally(results).items():
        print(f"{cat:16s} {sum(counts.values()):4d}  " + "  ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for r in results:
        if args.show and r["outcome"] in args.show.split(","):
            print(r["outcome"], r["id"], "|", r["line"][:200])


if __name__ == "__main__":
    main()
