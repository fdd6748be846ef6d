"""A sweep's output directory ``OUT``: one writer at a time, atomic files, damaged parts set aside.

* :func:`out_lock` holds ``fcntl.flock`` on ``OUT/.lock`` for the whole run; a second run into the same
  ``OUT`` is refused (InputError on ``--out``, exit 2). The kernel drops the lock when its process dies,
  so a killed run (kill -9) leaves no stale lock.
* :func:`write_atomic` writes every file (parts, the manifest) to a temporary name in the same directory and
  renames it into place: a failed write (read-only or full disk) leaves nothing half-written, only a clear
  InputError on ``--out``.
* :func:`load_results` reads ``OUT/parts/part-*.parquet``; with ``quarantine=True`` (the writer, under the
  lock) a part that cannot be read (zero bytes, truncated) is moved to ``OUT/quarantine/``, a message says
  so, and its rows count as not done, so the run computes them again.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from sim.errors import InputError

KEY = ["point_id", "workload_id"]
LOCK = ".lock"
QUARANTINE = "quarantine"


def _os_error(path: Path, exc: OSError, saved: str = "") -> InputError:
    why = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only",
           errno.EACCES: "permission denied", errno.EDQUOT: "the disk quota is exceeded"}
    return InputError("--out", f"cannot write {str(path)!r}: {why.get(exc.errno, exc.strerror or str(exc))}{saved}",
                      "a writable directory with free space")


def make_out(out: Path) -> None:
    """Create ``out`` and ``out/parts`` (InputError when that is not possible)."""
    try:
        (out / "parts").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_error(out, exc) from None


@contextlib.contextmanager
def out_lock(out: Path) -> Iterator[None]:
    """Hold the exclusive writer lock of ``out`` (refused at once when another process holds it)."""
    import fcntl  # POSIX only: imported where the lock is taken

    path = out / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise _os_error(path, exc) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise InputError("--out", f"{str(out)!r} is being written by another lutsim sweep (pid {holder})",
                             "wait for it to finish, or use another --out directory") from None
        with contextlib.suppress(OSError):  # the pid is only for the message above
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def write_atomic(final: Path, write: Callable[[Path], None], saved: str = "") -> None:
    """``write(tmp)`` then rename ``tmp`` to ``final``; on an OSError remove ``tmp`` and raise an InputError
    (``saved`` is appended to its message, e.g. how many rows are already safe)."""
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, final)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise _os_error(final, exc, saved) from None


def remove_stale_temporaries(out: Path) -> None:
    """Temporary files left by a killed writer (only called under :func:`out_lock`)."""
    for tmp in [*out.glob(".*.tmp"), *out.glob("parts/.*.tmp")]:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _quarantine(part: Path, why: str) -> None:
    qdir = part.parent.parent / QUARANTINE
    qdir.mkdir(exist_ok=True)
    dest = qdir / part.name
    n = 1
    while dest.exists():
        dest = qdir / f"{part.stem}.{n}{part.suffix}"
        n += 1
    os.replace(part, dest)
    print(f"warning: {part} cannot be read ({why}); moved to {dest}, its rows will be computed again",
          file=sys.stderr)


def _read_part(part: Path, quarantine: bool) -> pd.DataFrame | None:
    try:
        if part.stat().st_size == 0:
            raise ValueError("zero bytes")
        df = pd.read_parquet(part)
        missing = [k for k in KEY if k not in df.columns]
        if missing:
            raise ValueError(f"no column {missing[0]!r}")
        return df
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        why = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        if not quarantine:
            raise InputError("--out", f"{str(part)!r} cannot be read ({why})",
                             "run the sweep again: it sets the file aside and computes its rows again") from None
        _quarantine(part, why)
        return None


def load_results(out: str | Path, quarantine: bool = False) -> pd.DataFrame:
    """All rows of a sweep directory, sorted by key (deterministic). A part that cannot be read is an
    InputError, or with ``quarantine`` (the writer, holding the lock) moved aside and left out."""
    parts = sorted(Path(out, "parts").glob("part-*.parquet"))
    frames = [df for df in (_read_part(p, quarantine) for p in parts) if df is not None]
    if not frames:
        return pd.DataFrame(columns=KEY + ["status", "reason"])
    df = pd.concat(frames, ignore_index=True)
    return df.sort_values(KEY, kind="stable").reset_index(drop=True)


class PartWriter:
    """Writes one Parquet file per finished chunk, atomically (temporary name, then rename)."""

    def __init__(self, out: Path):
        self.dir = out / "parts"
        existing = [int(p.stem.split("-")[1]) for p in self.dir.glob("part-*.parquet")
                    if p.stem.split("-")[1].isdigit()]
        self.next = max(existing, default=-1) + 1
        self.rows = 0

    def write(self, rows: list[dict]) -> None:
        if not rows:
            return
        final = self.dir / f"part-{self.next:06d}.parquet"
        saved = f"; the {self.rows} rows finished before it are saved: run the same command again to resume"
        write_atomic(final, lambda tmp: pd.DataFrame(rows).to_parquet(tmp, index=False), saved)
        self.next += 1
        self.rows += len(rows)
