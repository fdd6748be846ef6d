"""Energy of a run: Σ events × per-event energy + leakage × time (pJ).

Components (keys of the breakdown):

* ``dram``: bits read × ``dram.pj_per_bit`` + bits written × ``dram.pj_per_bit_write``;
  ``dram_static``: ``dram.static_mw`` × time.
* ``sram:NAME``: bits read/written × CACTI-fit pJ per bit of the buffer's bank size;
  ``sram_leakage``: banks × CACTI-fit leakage × time.
* ``array``: PE-cycles of useful work (the PE models' ``pe_active_cycles`` events; lane-cycles over the unit's
  lanes for a PE costed per unit) × pJ per cycle of the PE (synthesis figure, per PE or per LUT unit,
  :func:`sim.cost.constants.pe_entry`; scaled to the arch's unit by the PE's ``cost_scale`` hook, e.g. ``lut-tc``:
  :mod:`sim.cost.lut_unit_scale`). Idle PEs (an edge tile, one PE row of an output-stationary GEMV, a pipeline
  bubble) are clock-gated: no dynamic energy, leakage only (``clock_gating`` in the data file, with its source).
  An arch with ``idle_pes: charged`` (the BitMoD / MixPE paper presets) keeps those papers' convention: array
  active cycles × the figure × PEs per array, and no separate logic leakage. For a PE with no figure,
  Σ ``pe:<event>`` × the Horowitz per-event energies (events without an entry are listed under
  ``uncosted_events``).
  Instructions with FP activations (``active_cycles:<acts>``, ``pe_active_cycles:<acts>``, :mod:`sim.engine.decode`)
  are charged at the hook's figure for that format (``lut-tc``: FP tables and FP accumulators).
* ``matrix`` (an arch with a ``matrix_unit``): its active cycles × its PE's pJ per cycle × its PEs, as ``array``.
* ``table``: tables built × pJ per table (scaled to the arch's K-group and entry width; tables of FP
  activations, ``tables:<acts>``, at the FP adders' figure);
  ``vector``: elements × the FP16 actions of each op.
* ``logic_leakage``: each logic block's area (:mod:`sim.cost.area`) × the cited leakage per area
  (``logic_leakage``) × the run's time × the share of it the block is idle: the PE arrays and matrix unit their
  idle PE-cycles, the table unit its idle cycles (a synthesis figure holds the leakage of a working block), the
  vector unit all the time (Horowitz's energies are dynamic only).

Logic energies are scaled from their node to the arch's node and multiplied by ``arch.pnr_factor``
(BitMoD's place-and-route factor, docs/references.md#bitmod).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .. import pe as pe_registry
from ..arch import Arch
from ..pe.base import ACTIVE_EVENT
from . import lut_unit_scale
from .area import area, run_acts
from .constants import by_float_acts, logic_leakage_mw_per_mm2, pe_entry, scale, scaling_assumption, sram_bank, table

_PJ_PER_MW_S = 1e9  # 1 mW for 1 s = 1 mJ = 1e9 pJ


@dataclass
class EnergyReport:
    """Total energy (pJ), its breakdown by component (pJ) and the constants used."""

    total_pj: float
    breakdown: dict[str, float]
    assumptions: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"total_pj": self.total_pj, "breakdown_pj": self.breakdown, "assumptions": self.assumptions}


def event_pj(name: str, node_nm: int) -> float | None:
    """pJ of one action called ``name`` at ``node_nm``, or None if the table has no entry."""
    e = table()["events"].get(name)
    return None if e is None else scale(e["pj"], e["node_nm"], node_nm, "energy")


def _array(arch: Arch, ev: dict, used: dict, cycles: int) -> tuple[float, float]:
    """(dynamic pJ, share of the arrays' cost-unit-cycles of the run that only leak) of the PE arrays of ``arch``
    (or of its matrix unit, passed as an arch with that PE and one array)."""
    node = arch.node_nm
    model = pe_registry.get(arch.pe.type)
    entry = pe_entry(model)
    if entry is None:
        return _per_event(ev, node, used), 1.0  # Horowitz dynamic energies: the whole array leaks all the run
    per_cycle = scale(entry["pj_per_cycle"], entry["node_nm"], node, "energy")
    n = arch.pe.pes_per_array if entry["per"] == "pe" else 1
    used["array"] = {"pj_per_cycle": per_cycle, "per": entry["per"], "count_per_array": n, "source": entry["source"]}
    published = per_cycle
    ratio, how = model.cost_scale(arch, "energy")
    if how is not None:
        per_cycle *= ratio
        used["array"].update(pj_per_cycle=per_cycle, published_pj_per_cycle=entry["pj_per_cycle"],
                             scaled_to_arch_unit=how)
    gated = arch.idle_pes == "gated" and f"pe:{ACTIVE_EVENT}" in ev
    if gated:  # cost-unit-cycles of useful work (PE-cycles, or lane-cycles over the unit's lanes)
        lanes = model.active_lanes(arch.pe.config())
        busy, fp_key = ev[f"pe:{ACTIVE_EVENT}"] / lanes, ACTIVE_EVENT
        used["array"]["charged"] = ("active PE-cycles only (pe_active_cycles events); idle PEs clock-gated, "
                                    "leakage only")
    else:  # every PE of a busy array, each active cycle
        lanes, busy, fp_key = 1, ev.get("active_cycles", 0) * n, "active_cycles"
        used["array"]["charged"] = ("every PE of a busy array each active cycle (idle_pes: charged)"
                                    if arch.idle_pes == "charged" else
                                    "every PE of a busy array each active cycle (the PE reports no pe_active_cycles)")
    per = 1 if gated else n
    fp = by_float_acts(ev, fp_key)
    total = busy - sum(fp.values()) * per / lanes
    total *= per_cycle
    for acts, count in sorted(fp.items()):
        ratio, how = model.cost_scale(arch, "energy", acts)
        total += count * per / lanes * published * ratio
        if how is not None:
            used["array"].setdefault("by_activation_format", {})[acts] = {
                fp_key: count, "pj_per_cycle": published * ratio, "scaled_to_arch_unit": how}
    capacity = n * arch.arrays * cycles
    return total, (1.0 - busy / capacity if capacity else 0.0) if arch.idle_pes == "gated" else 0.0


def _per_event(ev: dict, node: int, used: dict) -> float:
    """pJ of a PE with no synthesis figure: Σ ``pe:<event>`` × the Horowitz per-event energies."""
    total, uncosted, per_event = 0.0, [], {}
    for key, count in ev.items():
        if not key.startswith("pe:") or key == f"pe:{ACTIVE_EVENT}":
            continue
        pj = event_pj(key[3:], node)
        if pj is None:
            uncosted.append(key[3:])
        else:
            per_event[key[3:]] = pj
            total += count * pj
    used["array"] = {"pj_per_event": per_event, "uncosted_events": sorted(uncosted),
                     "source": table()["events"][next(iter(table()["events"]))]["source"]}
    return total


def _logic_leakage(arch: Arch, stats, idle: dict[str, float], used: dict) -> float:
    """pJ of logic leakage: each logic block's area × leakage per area × the run's time × the share of it the block
    spends idle (``idle``: block -> share; a block costed by a synthesis figure leaks inside that figure while it
    works)."""
    if arch.idle_pes != "gated":
        used["logic_leakage"] = {"charged": "none apart from the PE figures (idle_pes: charged)"}
        return 0.0
    mw_per_mm2 = logic_leakage_mw_per_mm2(arch.node_nm)
    ar = area(arch, acts=run_acts(stats.events)).breakdown
    blocks, total = {}, 0.0
    for block, share in idle.items():
        mm2 = ar.get(block, 0.0)
        pj = mm2 * mw_per_mm2 * stats.seconds * _PJ_PER_MW_S * share
        blocks[block] = {"area_mm2": mm2, "idle_share": share, "pj": pj}
        total += pj
    e = table()["logic_leakage"]
    used["logic_leakage"] = {"mw_per_mm2": mw_per_mm2, "published_nw_per_um2": e["nw_per_um2"],
                             "published_node_nm": e["node_nm"], "source": e["source"], "node_scaling": e["scaling"],
                             "blocks": blocks}
    return total


def energy(stats, arch: Arch) -> EnergyReport:
    """Energy of the run ``stats`` (a :class:`sim.engine.Stats`) on ``arch``."""
    t = table()
    node, seconds, pnr = arch.node_nm, stats.seconds, arch.pnr_factor
    ev = stats.events
    used: dict = {}
    out: dict[str, float] = {}
    dram = ev.get("dram", {})
    out["dram"] = (dram.get("read_bits", 0) * arch.dram.pj_per_bit
                   + dram.get("write_bits", 0) * arch.dram.write_pj_per_bit)
    out["dram_static"] = arch.dram.static_mw * seconds * _PJ_PER_MW_S
    sram = t["sram"]
    leak = 0.0
    for b in arch.buffers:
        bank = sram_bank(b.bank_bytes / 1024)
        rd = scale(bank["read_pj"], sram["node_nm"], node, "energy") / sram["width_bits"]
        wr = scale(bank["write_pj"], sram["node_nm"], node, "energy") / sram["width_bits"]
        e = ev.get(f"buf:{b.name}", {})
        out[f"sram:{b.name}"] = e.get("read_bits", 0) * rd + e.get("write_bits", 0) * wr
        leak += b.banks * bank["leakage_mw"] * seconds * _PJ_PER_MW_S
        used[f"sram:{b.name}"] = {"bank_kib": b.bank_bytes / 1024, "read_pj_per_bit": rd, "write_pj_per_bit": wr,
                                  "leakage_mw_per_bank": bank["leakage_mw"]}
    out["sram_leakage"] = leak
    array_pj, array_idle = _array(arch, ev.get("array", {}), used, stats.cycles)
    out["array"] = array_pj * pnr
    idle = {"array": array_idle}
    if arch.matrix_unit is not None:  # costed like an array of its own PE type (its figures, its grid)
        sub: dict = {}
        matrix_pj, idle["matrix"] = _array(replace(arch, pe=arch.matrix_unit, arrays=1), ev.get("matrix", {}), sub,
                                           stats.cycles)
        out["matrix"] = matrix_pj * pnr
        used["matrix_unit"] = {"type": arch.matrix_unit.type, "array": list(arch.matrix_unit.array), **sub["array"]}
    tu = t["table_unit"]
    published_table = scale(tu["pj_per_table"], tu["node_nm"], node, "energy")
    per_table, table_how, table_fp = published_table, None, {}
    tables = ev.get("table", {})
    fp_tables = by_float_acts(tables, "tables")
    if arch.table_unit is not None:
        ratio, table_how = lut_unit_scale.table_ratio(arch, "energy")
        per_table *= ratio
        for acts in sorted(fp_tables):
            ratio, how = lut_unit_scale.table_ratio(arch, "energy", acts)
            table_fp[acts] = {"tables": fp_tables[acts], "pj_per_table": published_table * ratio,
                              "scaled_to_arch_table": how}
    out["table"] = ((tables.get("tables", 0) - sum(fp_tables.values())) * per_table
                    + sum(f["tables"] * f["pj_per_table"] for f in table_fp.values())) * pnr
    vec = 0.0
    for key, count in ev.get("vector", {}).items():
        if key.startswith("elems:"):
            actions = t["vector_ops"]["ops"][key[6:]]
            vec += count * sum(n * event_pj(a, node) for a, n in actions.items())
    out["vector"] = vec * pnr
    if arch.table_unit is not None:  # its synthesis figure holds its leakage while it builds tables
        idle["table"] = 1.0 - tables.get("active_cycles", 0) / stats.cycles if stats.cycles else 0.0
    idle["vector"] = 1.0  # Horowitz's per-operation energies are dynamic only: the lanes leak all the run
    out["logic_leakage"] = _logic_leakage(arch, stats, idle, used)
    used.update({
        "node_nm": node, "clock_mhz": arch.clock_mhz, "seconds": seconds, "pnr_factor": pnr,
        "dram": {"pj_per_bit": arch.dram.pj_per_bit, "pj_per_bit_write": arch.dram.write_pj_per_bit,
                 "static_mw": arch.dram.static_mw, "source": arch.dram.pj_source},
        "sram_model": {"fit": sram["fit"], "source": sram["source"]},
        "table": {"pj_per_table": per_table, "source": tu["source"], "scaled_to_arch_table": table_how,
                  **({"by_activation_format": table_fp} if table_fp else {})},
        "vector": {"source": t["vector_ops"]["source"], "event_source": t["events"]["fp16_add"]["source"]},
        "technology_scaling": scaling_assumption(),
        "idle_pes": {"mode": arch.idle_pes, **({"idle_pe_dynamic_pj": table()["clock_gating"]["idle_pe_dynamic_pj"],
                                               "source": table()["clock_gating"]["source"]}
                                              if arch.idle_pes == "gated" else
                                              {"source": "the BitMoD / MixPE papers' energy models charge every PE "
                                                         "of a busy array (docs/references.md#bitmod, #mixpe)"})},
    })
    return EnergyReport(total_pj=float(sum(out.values())), breakdown=out, assumptions=used)
