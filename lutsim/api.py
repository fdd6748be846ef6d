"""Python API: simulate a quantized model on an accelerator, run a program, and the sweep evaluator.

::

    from lutsim.api import simulate, evaluate
    res = simulate("lut-tc-28nm", "llama-2-7b", "w4a16-g128", "decode", kv_len=1024)
    res.totals.latency_ms, res.ops[0].cycles, res.to_dict()   # to_dict(): what ``lutsim simulate --json`` prints
    row = evaluate("lut-tc-28nm", {"dram.bandwidth": 512}, {"model": "llama-2-7b", "quant": "w4a16-g128",
                                                            "phase": "decode", "kv_len": 1024})

``simulate`` returns a :class:`~lutsim.results.SimResult` (per-op rows, totals, energy and area breakdowns,
assumptions; units in the field names and docstrings of :mod:`lutsim.results`). The code lives in
:mod:`lutsim.pipeline` (trace -> compile -> run -> cost) and :mod:`lutsim.sweep` (the parameter patcher and
the evaluator); this module is the stable public surface.
"""

from __future__ import annotations

from .pipeline import lower_trace, resolve_arch, run_program, simulate
from .results import OpRow, RunResult, SimResult, Totals
from .sweep.evaluate import evaluate
from .sweep.params import apply_params
from .sweep.workload import WORKLOAD_KEYS, check_workload, check_workload_fields

__all__ = ["WORKLOAD_KEYS", "OpRow", "RunResult", "SimResult", "Totals", "apply_params", "check_workload",
           "check_workload_fields", "evaluate", "lower_trace", "resolve_arch", "run_program", "simulate"]
