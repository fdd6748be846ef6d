"""Result of ``lutsim compare``: one row per design on one memory system (:mod:`lutsim.compare`)."""

from __future__ import annotations

from dataclasses import dataclass

from .base import Result, omitted_when


@dataclass
class CompareRow(Result):
    """One design. status ``ok`` or ``skipped`` (note: why); arrays: after normalization; normalize_ratio: its
    compute area or peak over the baseline's (iso-area / iso-peak); latency_ms; tokens_per_s;
    energy_per_token_mj (mJ); area_mm2, compute_area_mm2 (PE arrays + table unit); power_w; peak_tops
    (peak ops/s / 1e12); tops_per_mm2, tops_per_w (achieved: ops of the pass / time / area, ops / energy);
    dram_roofline_pct, peak_pct (%); spatial_utilization (0..1: useful MACs / MACs the busy arrays could do);
    array_busy_pct (% of the pass's cycles the arrays are busy);
    bits_per_weight; weight_sqnr_db (None when exact); ``*_ratio``: over the baseline; energy_breakdown_pj."""

    design: str
    arch: str
    quant: str
    weights: str
    activations: str
    bits_per_weight: float
    weight_sqnr_db: float | None
    arrays: int
    status: str
    normalize_ratio: float | None = omitted_when(None)
    latency_ms: float | None = omitted_when(None)
    tokens_per_s: float | None = omitted_when(None)
    energy_per_token_mj: float | None = omitted_when(None)
    area_mm2: float | None = omitted_when(None)
    compute_area_mm2: float | None = omitted_when(None)
    power_w: float | None = omitted_when(None)
    peak_tops: float | None = omitted_when(None)
    tops_per_mm2: float | None = omitted_when(None)
    tops_per_w: float | None = omitted_when(None)
    dram_roofline_pct: float | None = omitted_when(None)
    peak_pct: float | None = omitted_when(None)
    spatial_utilization: float | None = omitted_when(None)
    array_busy_pct: float | None = omitted_when(None)
    tokens_per_s_ratio: float | None = omitted_when(None)
    energy_per_token_ratio: float | None = omitted_when(None)
    area_ratio: float | None = omitted_when(None)
    tops_per_mm2_ratio: float | None = omitted_when(None)
    tops_per_w_ratio: float | None = omitted_when(None)
    energy_breakdown_pj: dict | None = omitted_when(None)
    note: str = omitted_when("")


@dataclass
class CompareResult(Result):
    """The comparison: workload, memory system (``native``: each design's own; memory_system: its fields),
    normalize mode, baseline design, the memory-system fields that differ between the designs, the roofline
    target (%), the synthetic weights behind the SQNR column, and the rows."""

    model: str
    phase: str
    seq_len: int
    kv_len: int | None
    batch: int
    memory: str
    memory_system: dict | None
    normalize: str
    baseline: str
    differing_fields: list[str]
    roofline_target_pct: float
    sqnr_weights: str
    rows: list[CompareRow]
