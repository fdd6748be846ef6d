"""Energy of a run: Σ events × per-event energy + leakage × time (pJ).

Components (keys of the breakdown):

* ``dram``: bits read × ``dram.pj_per_bit`` + bits written × ``dram.pj_per_bit_write``;
  ``dram_static``: ``dram.static_mw`` × time.
* ``sram:NAME``: bits read/written × CACTI-fit pJ per bit of the buffer's bank size;
  ``sram_leakage``: banks × CACTI-fit leakage × time.
* ``array``: array active cycles × pJ per cycle of the PE (synthesis figure, per PE or per LUT
  unit, :func:`sim.cost.constants.pe_entry`; scaled to the arch's unit by the PE's ``cost_scale`` hook,
  e.g. ``lut-tc``: :mod:`sim.cost.lut_unit_scale`) × PEs per array; for a PE with no figure,
  Σ ``pe:<event>`` × the Horowitz per-event energies (events without an entry are listed under
  ``uncosted_events``).
  Active cycles of instructions with FP activations (``active_cycles:<acts>``, :mod:`sim.engine.decode`) are
  charged at the hook's figure for that format (``lut-tc``: FP tables and FP accumulators).
* ``matrix`` (an arch with a ``matrix_unit``): its active cycles × its PE's pJ per cycle × its PEs, as ``array``.
* ``table``: tables built × pJ per table (scaled to the arch's K-group and entry width; tables of FP
  activations, ``tables:<acts>``, at the FP adders' figure);
  ``vector``: elements × the FP16 actions of each op.

Logic energies are scaled from their node to the arch's node and multiplied by ``arch.pnr_factor``
(BitMoD's place-and-route factor, docs/references.md#bitmod). Logic leakage is not modelled (no cited figure).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .. import pe as pe_registry
from ..arch import Arch
from . import lut_unit_scale
from .constants import pe_entry, scale, scaling_assumption, sram_bank, table

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


def by_float_acts(ev: dict, key: str) -> dict[str, int]:
    """``{acts: count}`` of the ``key:<acts>`` events of one component (FP activation formats only)."""
    return {k.split(":", 1)[1]: v for k, v in ev.items() if k.startswith(f"{key}:")}


def _array(arch: Arch, ev: dict, used: dict) -> float:
    node = arch.node_nm
    model = pe_registry.get(arch.pe.type)
    entry = pe_entry(model)
    if entry is not None:
        per_cycle = scale(entry["pj_per_cycle"], entry["node_nm"], node, "energy")
        n = arch.pe.pes_per_array if entry["per"] == "pe" else 1
        used["array"] = {"pj_per_cycle": per_cycle, "per": entry["per"], "count_per_array": n,
                         "source": entry["source"]}
        published = per_cycle
        ratio, how = model.cost_scale(arch, "energy")
        if how is not None:
            per_cycle *= ratio
            used["array"].update(pj_per_cycle=per_cycle, published_pj_per_cycle=entry["pj_per_cycle"],
                                 scaled_to_arch_unit=how)
        fp = by_float_acts(ev, "active_cycles")
        total = (ev.get("active_cycles", 0) - sum(fp.values())) * per_cycle
        for acts, cycles in sorted(fp.items()):
            ratio, how = model.cost_scale(arch, "energy", acts)
            total += cycles * published * ratio
            if how is not None:
                used["array"].setdefault("by_activation_format", {})[acts] = {
                    "active_cycles": cycles, "pj_per_cycle": published * ratio, "scaled_to_arch_unit": how}
        return total * n
    total, uncosted, per_event = 0.0, [], {}
    for key, count in ev.items():
        if not key.startswith("pe:"):
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
    out["array"] = _array(arch, ev.get("array", {}), used) * pnr
    if arch.matrix_unit is not None:  # costed like an array of its own PE type (its figures, its grid)
        sub: dict = {}
        out["matrix"] = _array(replace(arch, pe=arch.matrix_unit, arrays=1), ev.get("matrix", {}), sub) * pnr
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
    used.update({
        "node_nm": node, "clock_mhz": arch.clock_mhz, "seconds": seconds, "pnr_factor": pnr,
        "dram": {"pj_per_bit": arch.dram.pj_per_bit, "pj_per_bit_write": arch.dram.write_pj_per_bit,
                 "static_mw": arch.dram.static_mw, "source": arch.dram.pj_source},
        "sram_model": {"fit": sram["fit"], "source": sram["source"]},
        "table": {"pj_per_table": per_table, "source": tu["source"], "scaled_to_arch_table": table_how,
                  **({"by_activation_format": table_fp} if table_fp else {})},
        "vector": {"source": t["vector_ops"]["source"], "event_source": t["events"]["fp16_add"]["source"]},
        "technology_scaling": scaling_assumption(),
        "not_modelled": ["logic leakage (no cited figure)"],
    })
    return EnergyReport(total_pj=float(sum(out.values())), breakdown=out, assumptions=used)
