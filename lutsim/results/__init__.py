"""What the pipeline and the commands return: typed results, each serialized by one ``to_dict`` (what
``--json`` prints), one module per stage.

Units are in the field names (``_ms``, ``_pj``, ``_mm2``, ``_per_s``, ``_hz``) or the docstrings (cycles,
bytes, ops). :mod:`.base` holds the machinery (:func:`to_dict`, :func:`from_dict`, :func:`omitted_when`,
:func:`json_key`); :func:`lutsim.schema.schema_of` turns these classes into the JSON schema of the output.
"""

from __future__ import annotations

from .base import KEY, OMIT, Result, from_dict, json_key, key_of, load, omitted_when, to_dict
from .compare import CompareResult, CompareRow
from .gemm import (
    BitmodComparison,
    BitmodLayer,
    BitmodOurs,
    BitmodOursRow,
    BitmodResult,
    FoldCycles,
    GemmConfig,
    GemmResult,
    ScalesimResult,
)
from .hardware import ArchSummary, FpgaResult, RtlDesign, SynthResult, VerilogResult
from .pipeline import (
    Assumptions,
    DemoResult,
    GPUInfo,
    LutGemmCheck,
    OpRow,
    RooflineResult,
    RooflineTotal,
    RunResult,
    SimResult,
    Stalls,
    SweepPlan,
    SweepSummary,
    Tile,
    Totals,
)
from .workload import (
    AccuracyResult,
    AccuracyRow,
    AccuracySummary,
    ModelRow,
    ModelsResult,
    RecipeInfo,
    RecipeRow,
    TensorFormatInfo,
    TraceMeta,
    TraceResult,
    TraceTotal,
)

__all__ = ["CompareResult", "CompareRow",
           "KEY", "OMIT", "Result", "from_dict", "json_key", "key_of", "load", "omitted_when", "to_dict",
           "BitmodComparison", "BitmodLayer", "BitmodOurs", "BitmodOursRow", "BitmodResult", "FoldCycles",
           "GemmConfig", "GemmResult", "ScalesimResult", "ArchSummary", "FpgaResult", "RtlDesign", "SynthResult",
           "VerilogResult",
           "Assumptions", "DemoResult", "GPUInfo", "LutGemmCheck", "OpRow", "RooflineResult", "RooflineTotal",
           "RunResult", "SimResult", "Stalls", "SweepPlan", "SweepSummary", "Tile", "Totals", "AccuracyResult",
           "AccuracyRow", "AccuracySummary", "ModelRow", "ModelsResult", "RecipeInfo", "RecipeRow",
           "TensorFormatInfo", "TraceMeta", "TraceResult", "TraceTotal"]
