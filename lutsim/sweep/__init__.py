"""Design-space sweeps: specs (:mod:`.spec`) and the resumable runner (:mod:`.runner`)."""

from .runner import load_results, run_sweep
from .spec import SweepSpec, load_spec, parse_spec

__all__ = ["SweepSpec", "load_results", "load_spec", "parse_spec", "run_sweep"]
