"""LUT Tensor Core figures for an arch's own unit: the published Table 2 numbers × a component-model ratio.

``published × model(arch's unit) / model(reference unit)``, with the published area (µm²) and energy
(pJ/cycle) of ``data/constants.yaml`` (LUT Tensor Core Table 2, docs/references.md#lut-tensor-core), the
reference unit :func:`reference_unit` (M2N64K4, W2 × INT8) and ``model`` the cell-count model
:mod:`sim.cost.lut_array_model`: the published number stays the calibration anchor, the model supplies only
the ratio. How an arch maps onto the model (each reading is repeated in the returned assumptions):
docs/lut_cost_model.md, "Scaling the published unit"; the unit for a run's FP activations (FP16/BF16 tables,
adders and accumulators, :func:`datapath`): "FP activations".
"""

from __future__ import annotations

from dataclasses import asdict, replace
from functools import lru_cache

from ..arch import Arch
from ..errors import InputError
from ..pe.base import ACTIVATION_FORMATS
from ..pe.table_precompute import DEFAULT_TILE, table_entry_bits, table_format
from .lut_array_model import ACCS, TABLE_K, LutUnitConfig, ablation_step, lut_parts, lut_unit

REFERENCE_STEP = "+precompute fused"  # the Table 2 row of constants.yaml pe.lut-tc (docs/references.md#lut-tensor-core)
FP_ACCS = ("fp16", "fp32")


def reference_unit() -> LutUnitConfig:
    """The unit of the published figures: Table 2's last step, M2N64K4 W2 × INT8, INT32 accumulator, 10-bit
    stored entries."""
    c = ablation_step(REFERENCE_STEP)
    return replace(c, acc="int32", lut_bits=table_entry_bits(c.acts, c.k))


def _check_k(k: int, field: str) -> None:
    if k not in TABLE_K:
        raise InputError(field, f"K = {k}: the LUT unit (and its cost model) takes K in {TABLE_K}",
                         ", ".join(map(str, TABLE_K)))


def datapath(arch: Arch, acts: str | None = None) -> tuple[str, str]:
    """(activation datapath, accumulator) of the model unit for ``arch`` running ``acts`` activations.

    ``acts`` FP: its table datapath (:func:`sim.pe.table_precompute.table_format`: BF16, or FP16 for FP16 and
    FP8), with ``arch.pe.acc`` when it fits it, else the datapath's default (FP16 → FP16, BF16 → FP32;
    ``lut_array_model.ACCS``). ``acts`` None or an integer format: the arch's own reading — FP16 when
    ``arch.pe.acc`` names an FP format, else the reference's INT8 datapath with ``arch.pe.acc`` (default INT32)."""
    if acts is not None and acts not in ACTIVATION_FORMATS:
        raise InputError("acts", f"unknown activation format {acts!r}", ", ".join(ACTIVATION_FORMATS))
    dp = None if acts is None else table_format(acts)
    if dp not in (None, "int32"):
        return dp, arch.pe.acc if arch.pe.acc in ACCS[dp] else ACCS[dp][0]
    if arch.pe.acc in FP_ACCS:
        return "fp16", arch.pe.acc
    return reference_unit().acts, arch.pe.acc or "int32"


def arch_unit(arch: Arch, acts: str | None = None) -> LutUnitConfig:
    """The model configuration of ``arch``'s LUT unit for a run of ``acts`` activations (:func:`datapath`;
    readings in the module docstring)."""
    m, n, k = arch.pe.tile or DEFAULT_TILE
    _check_k(k, "arch.pe.tile")
    dp, acc = datapath(arch, acts)
    bits = arch.table_unit.entry_bits if arch.table_unit is not None else table_entry_bits(dp, k)
    return replace(reference_unit(), m=m, n=n, k=k, acts=dp, acc=acc, lut_bits=bits)


@lru_cache(maxsize=256)
def _unit_table(c: LutUnitConfig, k: int, bits: int) -> tuple[float, float]:
    """(µm², pJ per table) of the precompute adders of one table of K-group ``k`` with ``bits``-bit entries."""
    part = lut_parts(replace(c, m=1, k=k, lut_bits=bits, precompute_in_unit=True))["precompute"]
    return part.area_um2, part.count * part.pj


@lru_cache(maxsize=256)
def _unit_cost(c: LutUnitConfig) -> dict[str, float]:
    """{"area_um2", "pj_per_cycle"} of LUT unit ``c`` (the component model is pure: cached per config)."""
    u = lut_unit(c)
    return {"area_um2": u.area_um2, "pj_per_cycle": u.pj_per_cycle}


def _describe(c: LutUnitConfig) -> dict:
    d = asdict(c)
    d["entry_bits"] = d.pop("lut_bits")
    return d


def array_ratio(arch: Arch, kind: str, acts: str | None = None) -> tuple[float, dict]:
    """(model(arch's unit for ``acts``) / model(reference unit), assumptions) for ``kind`` ``"area"`` or
    ``"energy"``."""
    ref, unit = reference_unit(), arch_unit(arch, acts)
    attr = "area_um2" if kind == "area" else "pj_per_cycle"
    ratio = _unit_cost(unit)[attr] / _unit_cost(ref)[attr]
    return ratio, {"ratio": ratio, "arch_unit": _describe(unit), "reference_unit": _describe(ref),
                   "model": "sim/cost/lut_array_model.py (data/lut_components.yaml); readings in "
                            "sim/cost/lut_unit_scale.py"}


def table_ratio(arch: Arch, kind: str, acts: str | None = None) -> tuple[float, dict]:
    """(model(one table of ``arch.table_unit`` for ``acts``) / model(one table of the reference unit),
    assumptions) for ``kind`` ``"area"`` (µm² of its adders) or ``"energy"`` (pJ to build one table): FP
    activations build their tables with adders of the FP datapath (Horowitz FP16 adds), integer ones with
    ripple adders of the entry width."""
    ref, unit = reference_unit(), arch_unit(arch, acts)
    tu = arch.table_unit
    _check_k(tu.group, "arch.table_unit.group")
    mine, base = _unit_table(unit, tu.group, tu.entry_bits), _unit_table(ref, ref.k, ref.lut_bits)
    ratio = mine[0] / base[0] if kind == "area" else mine[1] / base[1]
    return ratio, {"ratio": ratio, "arch_table": {"k": tu.group, "entry_bits": tu.entry_bits, "acts": unit.acts},
                   "reference_table": {"k": ref.k, "entry_bits": ref.lut_bits, "acts": ref.acts},
                   "model": "precompute adders of sim/cost/lut_array_model.py"}
