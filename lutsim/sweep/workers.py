"""Local worker processes that never outlive the sweep that started them.

:func:`pool` is a ``ProcessPoolExecutor`` whose workers run :func:`die_with_parent` first: on Linux the
kernel sends them SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``), and on every OS a watchdog
thread exits the worker once its parent process is gone (checked every :data:`WATCH_S` seconds). So a
sweep killed with kill -9 leaves no worker computing rows nobody will save.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor

#: seconds between the watchdog's checks that the parent is alive
WATCH_S = 0.5
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int) -> None:
    """Worker initializer: exit when process ``parent`` is gone."""
    if sys.platform.startswith("linux"):
        import ctypes  # Linux only: prctl(PR_SET_PDEATHSIG)

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(WATCH_S)
        os._exit(1)

    threading.Thread(target=watch, name="lutsim-parent-watchdog", daemon=True).start()


def pool(jobs: int) -> ProcessPoolExecutor:
    """``jobs`` worker processes tied to this process's life."""
    return ProcessPoolExecutor(max_workers=jobs, initializer=die_with_parent, initargs=(os.getpid(),))
