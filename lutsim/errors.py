"""Errors the front door turns into a one-line message and exit status 2 (defined in sim)."""

from sim.errors import InputError

__all__ = ["InputError"]
