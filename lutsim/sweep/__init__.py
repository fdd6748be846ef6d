"""Design-space sweeps: specs (:mod:`.spec`) and the resumable runner (:mod:`.runner`)."""

from .runner import load_results, plan_sweep, run_sweep
from .spec import SweepSpec, load_spec, parse_spec

__all__ = ["SweepSpec", "load_results", "load_spec", "parse_spec", "plan_sweep", "run_sweep"]
