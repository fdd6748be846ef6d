"""Area of an arch (mm²): PEs + table unit + vector unit + SRAM.

* PEs: ``arrays`` × PEs per array × the PE's synthesis area (:func:`sim.cost.constants.pe_entry`, scaled
  to the node, then by the PE's ``cost_scale`` hook; ``lut-tc``: the published unit's area × the component
  model's ratio for the arch's unit, :mod:`sim.cost.lut_unit_scale`), or — the calibration hook —
  ``ge_count`` × ``um2_per_ge`` from yosys gate-equivalent counts of our own RTL (pass both; the µm²/GE
  figure must be for the arch's node).
* Table unit: ``tables_per_cycle`` × µm² per table/cycle (LUT Tensor Core, docs/references.md#lut-tensor-core), scaled
  like the unit to the arch's K-group and entry width.
* Matrix unit (optional): its PEs × its PE type's synthesis area.
* Vector unit: ``lanes`` × one FP16 MAC PE (a proxy, flagged in the assumptions).
* SRAM: banks × the CACTI-fit bank area for the bank size (docs/references.md#energy-and-area-constants).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import pe as pe_registry
from ..arch import Arch
from ..errors import InputError
from . import lut_unit_scale
from .constants import by_float_acts, pe_entry, scale, scaling_assumption, sram_bank, table

_UM2_PER_MM2 = 1e6


@dataclass
class AreaReport:
    """Total area (mm²), its breakdown by component (mm²) and the constants used."""

    total_mm2: float
    breakdown: dict[str, float]
    assumptions: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"total_mm2": self.total_mm2, "breakdown_mm2": self.breakdown, "assumptions": self.assumptions}


def pe_area_from_ge(ge_count: float, um2_per_ge: float) -> float:
    """µm² of a PE from a yosys gate-equivalent count (NAND2 = 1 GE) and the node's µm² per GE."""
    if ge_count <= 0 or um2_per_ge <= 0:
        raise InputError("ge_count" if ge_count <= 0 else "um2_per_ge", "must be > 0")
    return ge_count * um2_per_ge


def run_acts(events: dict) -> str | None:
    """The activation format to build the PE for from a run's engine events: the FP format of every active array
    cycle (``active_cycles:<acts>``, :mod:`sim.engine.decode`), else None (integer or mixed formats, or no array
    work: the arch's own reading)."""
    ev = events.get("array", {})
    fp = by_float_acts(ev, "active_cycles")
    return next(iter(fp)) if len(fp) == 1 and sum(fp.values()) == ev.get("active_cycles", 0) else None


def area(arch: Arch, ge_count: float | None = None, um2_per_ge: float | None = None,
         acts: str | None = None) -> AreaReport:
    """Area of ``arch``; ``ge_count`` and ``um2_per_ge`` (both or neither) calibrate the PE area; ``acts``: the
    activation format the PE and table unit are built for (the run's; ``lut-tc`` with FP activations: FP
    tables, adders and accumulators), None = the arch's own reading."""
    t, node = table(), arch.node_nm
    used: dict = {"node_nm": node, "technology_scaling": scaling_assumption()}
    out: dict[str, float] = {}
    count = arch.arrays
    if (ge_count is None) != (um2_per_ge is None):
        raise InputError("ge_count" if ge_count is None else "um2_per_ge", "give both ge_count and um2_per_ge")
    model = pe_registry.get(arch.pe.type)
    entry = pe_entry(model)
    if ge_count is not None:
        pe_um2 = pe_area_from_ge(ge_count, um2_per_ge)
        count *= arch.pe.pes_per_array if entry is None or entry["per"] == "pe" else 1
        used["pe"] = {"um2": pe_um2, "ge_count": ge_count, "um2_per_ge": um2_per_ge, "source": "yosys GE count (hook)"}
    elif entry is not None:
        pe_um2 = scale(entry["area_um2"], entry["node_nm"], node, "area")
        count *= arch.pe.pes_per_array if entry["per"] == "pe" else 1
        used["pe"] = {"um2": pe_um2, "per": entry["per"], "source": entry["source"]}
        ratio, how = model.cost_scale(arch, "area", acts)
        if how is not None:
            pe_um2 *= ratio
            used["pe"].update(um2=pe_um2, published_um2=entry["area_um2"], scaled_to_arch_unit=how)
    else:
        pe_um2 = 0.0
        used["pe"] = {"um2": 0.0, "source": f"MISSING: no area figure for PE {arch.pe.type!r}; pass ge_count"}
    out["array"] = count * pe_um2 / _UM2_PER_MM2
    if arch.table_unit is not None:
        tu = t["table_unit"]
        ratio, how = lut_unit_scale.table_ratio(arch, "area", acts)
        per = scale(tu["area_um2_per_table_per_cycle"], tu["node_nm"], node, "area") * ratio
        out["table"] = arch.table_unit.tables_per_cycle * per / _UM2_PER_MM2
        used["table"] = {"um2_per_table_per_cycle": per, "source": tu["source"], "scaled_to_arch_table": how}
    if arch.matrix_unit is not None:
        out["matrix"] = _matrix_mm2(arch, used)
    lane = t["vector_lane"]
    lane_um2 = scale(lane["area_um2"], lane["node_nm"], node, "area")
    out["vector"] = arch.vector.lanes * lane_um2 / _UM2_PER_MM2
    used["vector"] = {"um2_per_lane": lane_um2, "source": lane["source"]}
    sram = t["sram"]
    for b in arch.buffers:
        bank = sram_bank(b.bank_bytes / 1024)
        out[f"sram:{b.name}"] = b.banks * scale(bank["area_mm2"], sram["node_nm"], node, "area")
    used["sram_model"] = {"fit": sram["fit"], "source": sram["source"]}
    return AreaReport(total_mm2=float(sum(out.values())), breakdown=out, assumptions=used)


def _matrix_mm2(arch: Arch, used: dict) -> float:
    """mm² of the arch's float matrix unit: its PEs × its PE type's synthesis area at the arch's node."""
    mu = arch.matrix_unit
    entry = pe_entry(pe_registry.get(mu.type))
    if entry is None:
        used["matrix_unit"] = {"um2": 0.0, "source": f"MISSING: no area figure for PE {mu.type!r}"}
        return 0.0
    um2 = scale(entry["area_um2"], entry["node_nm"], arch.node_nm, "area")
    n = mu.pes_per_array if entry["per"] == "pe" else 1
    used["matrix_unit"] = {"type": mu.type, "array": list(mu.array), "um2_per_pe": um2, "pes": n,
                           "source": entry["source"]}
    return n * um2 / _UM2_PER_MM2
