"""LUT Tensor Core figures for an arch's own unit: the published Table 2 numbers × a component-model ratio.

``data/constants.yaml`` gives one LUT unit's area (µm²) and energy (pJ/cycle) (``pe.lut-tc``) and the table
unit's per-table area and energy (``table_unit``), all from LUT Tensor Core Table 2 (docs/references.md#lut-tensor-core)
for one unit, :func:`reference_unit`: M2N64K4, W2 × INT8, weight reinterpretation, no negation circuit, precompute
fused out of the unit. An arch's unit differs in its tile, its table entry width and its accumulator, so its
figure is::

    published × model(arch's unit) / model(reference unit)

with ``model`` the cell-count model :mod:`sim.cost.lut_array_model`. The published number stays the
calibration anchor (the reference unit reproduces it exactly); the model supplies only the ratio.

How an arch maps onto the model (each reading is repeated in the returned assumptions):

* M, N, K: ``arch.pe.tile`` (default M2N64K4). Table unit: K = ``arch.table_unit.group``, one table.
* Entry width: ``arch.table_unit.entry_bits``, the width of a stored entry. The reference's is 10 bits, the
  stored INT8 × K = 4 entries S[e] ∈ [−512, 511] (:func:`sim.pe.table_precompute.table_entry_bits`,
  docs/lut_tensor_core_contract.md); the model's own ``lut_entry_bits`` says 11, the range of the whole table
  including its negated half. Without a table unit: the stored width of the datapath (INT8 or FP16).
* Datapath: integer, as Table 2, with ``arch.pe.acc`` (default int32); FP16 (FP16 tables, exponent-add shift,
  FP accumulator) only when ``arch.pe.acc`` names an FP format. The area is the arch's, not a workload's, so
  an arch that leaves ``acc`` unset and runs FP16 activations is still costed as the integer unit.
* Weight width: W2, the reference's, on both sides. The arch declares no weight width (the lut-tc model takes
  W1..W8 bit-serially), so the weight-plane registers and the ×2^i shifter stay at the reference's size and
  the ratio does not depend on it.
* Precompute: out of the unit on both sides, as the reference; the table unit is costed on its own.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from functools import lru_cache

from ..arch import Arch
from ..errors import InputError
from ..pe.table_precompute import DEFAULT_TILE, table_entry_bits
from .lut_array_model import TABLE_K, LutUnitConfig, ablation_step, lut_parts, lut_unit

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


def arch_unit(arch: Arch) -> LutUnitConfig:
    """The model configuration of ``arch``'s LUT unit (readings in the module docstring)."""
    m, n, k = arch.pe.tile or DEFAULT_TILE
    _check_k(k, "arch.pe.tile")
    fp = arch.pe.acc in FP_ACCS
    acts = "fp16" if fp else reference_unit().acts
    bits = arch.table_unit.entry_bits if arch.table_unit is not None else table_entry_bits(acts, k)
    return replace(reference_unit(), m=m, n=n, k=k, acts=acts, acc=arch.pe.acc or "int32", lut_bits=bits)


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


def array_ratio(arch: Arch, kind: str) -> tuple[float, dict]:
    """(model(arch's unit) / model(reference unit), assumptions) for ``kind`` ``"area"`` or ``"energy"``."""
    ref, unit = reference_unit(), arch_unit(arch)
    attr = "area_um2" if kind == "area" else "pj_per_cycle"
    ratio = _unit_cost(unit)[attr] / _unit_cost(ref)[attr]
    return ratio, {"ratio": ratio, "arch_unit": _describe(unit), "reference_unit": _describe(ref),
                   "model": "sim/cost/lut_array_model.py (data/lut_components.yaml); readings in "
                            "sim/cost/lut_unit_scale.py"}


def table_ratio(arch: Arch, kind: str) -> tuple[float, dict]:
    """(model(one table of ``arch.table_unit``) / model(one table of the reference unit), assumptions) for
    ``kind`` ``"area"`` (µm² of its adders) or ``"energy"`` (pJ to build one table)."""
    ref, unit = reference_unit(), arch_unit(arch)
    tu = arch.table_unit
    _check_k(tu.group, "arch.table_unit.group")
    mine, base = _unit_table(unit, tu.group, tu.entry_bits), _unit_table(ref, ref.k, ref.lut_bits)
    ratio = mine[0] / base[0] if kind == "area" else mine[1] / base[1]
    return ratio, {"ratio": ratio, "arch_table": {"k": tu.group, "entry_bits": tu.entry_bits, "acts": unit.acts},
                   "reference_table": {"k": ref.k, "entry_bits": ref.lut_bits, "acts": ref.acts},
                   "model": "precompute adders of sim/cost/lut_array_model.py"}
