"""Shared helpers of the benchmarks: repeated timings (median, min, max), fresh-process timings, the peers'
locations, and PASS/FAIL verdicts that set the exit status.

Every figure a benchmark prints is a :class:`Timing` (the median of several runs, with min and max) and says
what it includes (``includes``: process start, imports, JIT load, compile...). Every target is a
:meth:`Verdicts.check`: it prints ``PASS`` or ``FAIL`` and the benchmark exits 1 when one failed, or when a
target could not be evaluated (:meth:`Verdicts.missing`: a peer not installed counts as a failure).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: the peers ``make peers`` installs: SCALE-Sim 3.0.0 in its own numpy<2 venv
PEERS = ROOT / ".peers"
SCALESIM_PYTHON = PEERS / "scalesim-venv" / "bin" / "python"


@dataclass(frozen=True)
class Timing:
    """Seconds of ``len(samples)`` runs of one measurement; ``includes`` says what a run covers."""

    samples: tuple[float, ...]
    includes: str

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    def __str__(self) -> str:
        return (f"median {fmt_s(self.median)} (min {fmt_s(self.min)}, max {fmt_s(self.max)}, "
                f"{len(self.samples)} runs; {self.includes})")

    def rate(self, work: float) -> Timing:
        """``work`` per second instead of seconds (median of the rates; min and max swap)."""
        return Timing(tuple(work / s for s in self.samples), self.includes)


def fmt_s(seconds: float) -> str:
    """Seconds with a unit that keeps three significant digits."""
    if seconds >= 1:
        return f"{seconds:.3g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} us"


def repeat(fn: Callable[[], object], runs: int, includes: str) -> tuple[Timing, object]:
    """(timing of ``runs`` calls of ``fn``, the last call's result). No warm-up: call ``fn`` first yourself
    when the figure should exclude a first-call cost, and say so in ``includes``."""
    samples, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        samples.append(time.perf_counter() - t0)
    return Timing(tuple(samples), includes), out


def env(**extra: str) -> dict[str, str]:
    """This process's environment with the checkout first on PYTHONPATH (and its Numba cache), bytecode caching on
    (an installed lutsim has its ``.pyc`` files; without them every fresh process compiles ~0.1 s of source)."""
    out = dict(os.environ)
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    out["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([out["PYTHONPATH"]] if out.get("PYTHONPATH") else []))
    out.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))
    out.update(extra)
    return out


def process(cmd: list[str], runs: int, includes: str, cwd: Path | None = None,
            environ: dict | None = None) -> tuple[Timing, str]:
    """Wall time of ``runs`` fresh processes of ``cmd`` (each must exit 0); (timing, last stdout)."""
    samples, out = [], ""
    for _ in range(runs):
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=environ or env())
        samples.append(time.perf_counter() - t0)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, cmd))} exited {res.returncode}: {res.stderr.strip()[-2000:]}")
        out = res.stdout
    return Timing(tuple(samples), includes), out


def lutsim(*args: str) -> list[str]:
    """The command line of ``lutsim ARGS`` in a fresh interpreter of this checkout."""
    return [sys.executable, "-m", "lutsim", *args]


class Verdicts:
    """The targets of one benchmark: each prints PASS/FAIL; :meth:`exit_code` is 1 when any failed or could not
    be evaluated."""

    def __init__(self, name: str):
        self.name = name
        self.failed: list[str] = []
        self.passed = 0

    def check(self, target: str, ok: bool, detail: str = "") -> bool:
        print(f"{'PASS' if ok else 'FAIL'}: {target}" + (f" — {detail}" if detail else ""), flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed.append(target)
        return ok

    def missing(self, target: str, why: str) -> None:
        """A target that cannot be evaluated here: a failure (``make bench`` installs what it needs)."""
        print(f"FAIL: {target} — cannot be evaluated: {why}", flush=True)
        self.failed.append(target)

    def exit_code(self) -> int:
        total = self.passed + len(self.failed)
        print(f"{self.name}: {self.passed} of {total} targets PASS" +
              (f"; FAIL: {', '.join(self.failed)}" if self.failed else ""), flush=True)
        return 1 if self.failed else 0
