"""What the pipeline and the commands return: typed results, each serialized by one ``to_dict`` (what
``--json`` prints), one module per stage.

Units are in the field names (``_ms``, ``_pj``, ``_mm2``, ``_per_s``, ``_hz``) or the docstrings (cycles,
bytes, ops). :mod:`.base` holds the machinery (:func:`to_dict`, :func:`from_dict`, :func:`omitted_when`,
:func:`json_key`); :func:`lutsim.schema.schema_of` turns these classes into the JSON schema of the output.

The names below are loaded from their module on first use (PEP 562), so that a command imports only the result
modules it needs (``lutsim gemm --mode scalesim`` needs :mod:`.gemm`; :mod:`.workload` alone imports numpy and the
workload tables).
"""

from __future__ import annotations

import importlib

#: module of this package -> the names it exports here
_EXPORTS: dict[str, tuple[str, ...]] = {
    "base": ("KEY", "OMIT", "Result", "from_dict", "json_key", "key_of", "load", "omitted_when", "to_dict"),
    "compare": ("CompareResult", "CompareRow"),
    "gemm": ("BitmodComparison", "BitmodLayer", "BitmodOurs", "BitmodOursRow", "BitmodResult", "FoldCycles",
             "GemmConfig", "GemmResult", "ScalesimResult"),
    "hardware": ("ArchSummary", "FpgaResult", "RtlDesign", "SynthResult", "VerilogResult"),
    "pipeline": ("Assumptions", "DemoResult", "GPUInfo", "LutGemmCheck", "OpRow", "RooflineResult", "RooflineTotal",
             "RunResult", "SimResult", "Stalls", "SweepPlan", "SweepSummary", "Tile", "Totals"),
    "workload": ("AccuracyResult", "AccuracyRow", "AccuracySummary", "ModelRow", "ModelsResult", "RecipeInfo",
             "RecipeRow", "TensorFormatInfo", "TraceMeta", "TraceResult", "TraceTotal"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [name for names in _EXPORTS.values() for name in names]


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

