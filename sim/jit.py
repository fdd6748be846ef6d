"""``njit``: Numba's ``numba.njit``, applied on a kernel's first call instead of at import.

Importing Numba takes about 0.3 s, more than a whole ``lutsim simulate`` of one decode step otherwise needs;
with this decorator a module can define its kernels at its top and import nothing heavy, and a command that never
calls a kernel never loads Numba. ``@njit(cache=True)`` here takes the same options as Numba's; the object it
returns is called like the compiled function, compiles on first call (from Numba's disk cache when warm), and
keeps the plain Python function as ``py_func``, like a Numba dispatcher.

Jitted code resolves the functions it calls in its module's globals when it is compiled, so the first call of a
kernel also replaces every not yet compiled kernel named in that module's globals by its compiled dispatcher
(recursively, for the modules those come from).
"""

from __future__ import annotations

import sys
from functools import update_wrapper


class LazyJit:
    """A function that ``numba.njit(**options)`` compiles when it is first called (or :attr:`dispatcher` read)."""

    def __init__(self, fn, options: dict):
        self.py_func = fn
        self.options = options
        self._dispatcher = None
        update_wrapper(self, fn)

    @property
    def dispatcher(self):
        """The Numba dispatcher (created on first use; Numba is imported then)."""
        if self._dispatcher is None:
            from numba import njit as numba_njit

            self._dispatcher = numba_njit(**self.options)(self.py_func)
            _bind(self.py_func.__globals__)
        return self._dispatcher

    def __call__(self, *args, **kwargs):
        return self.dispatcher(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<lazy njit {self.__module__}.{self.__qualname__}>"


def _bind(namespace: dict) -> None:
    """Replace every :class:`LazyJit` in a module namespace by its dispatcher, so that jitted code there can call
    it."""
    for name, value in list(namespace.items()):
        if isinstance(value, LazyJit):
            namespace[name] = value.dispatcher


def njit(**options):
    """Decorator: ``numba.njit(**options)`` on first call (see the module docstring)."""
    def wrap(fn) -> LazyJit:
        return LazyJit(fn, options)
    return wrap


def numba_loaded() -> bool:
    """Whether Numba is imported in this process already (then compiling a kernel costs no import)."""
    return "numba" in sys.modules
