"""The constants table (``sim/cost/data/constants.yaml``) and the technology-node scaling rule."""

from __future__ import annotations

from pathlib import Path

from ..pe import PEModel
from ..userfile import read_packaged_file

DATA = Path(__file__).parent / "data" / "constants.yaml"


def table() -> dict:
    """The parsed constants file (read once)."""
    return read_packaged_file(DATA)


def pe_entry(model: PEModel) -> dict | None:
    """Energy/area figures of the PE ``model`` (pj_per_cycle, area_um2, per, node_nm, source): its entry
    ``pe.<name>`` of the data file, or a plug-in's own ``cost_entry``; None when it has neither."""
    return model.cost_entry if model.cost_entry is not None else table()["pe"].get(model.name)


def scale(value: float, from_nm: float, to_nm: float, kind: str) -> float:
    """Scale an ``"energy"`` or ``"area"`` figure from one node to another (rule and source in the
    data file's ``technology_scaling``)."""
    rule = table()["technology_scaling"]
    return value * (to_nm / from_nm) ** rule[f"{kind}_exponent"]


def sram_bank(bank_kib: float) -> dict:
    """Read/write pJ per 512-bit access, leakage mW and area mm² of one bank at 28 nm, from the
    linear fit through the CACTI points."""
    p0, p1 = table()["sram"]["points"][:2]
    t = (bank_kib - p0["kib"]) / (p1["kib"] - p0["kib"])
    return {k: p0[k] + t * (p1[k] - p0[k]) for k in ("read_pj", "write_pj", "leakage_mw", "area_mm2")}


def scaling_assumption() -> dict:
    r = table()["technology_scaling"]
    return {"energy_exponent": r["energy_exponent"], "area_exponent": r["area_exponent"], "source": r["source"]}


def logic_leakage_mw_per_mm2(node_nm: float) -> float:
    """Leakage power of standard-cell logic per area at ``node_nm`` (mW/mm²), from the data file's
    ``logic_leakage`` figure and its node-scaling rule."""
    e = table()["logic_leakage"]
    per_um2_mw = e["nw_per_um2"] * 1e-6
    return per_um2_mw * 1e6 * scale(1.0, e["node_nm"], node_nm, "energy") / scale(1.0, e["node_nm"], node_nm, "area")


def by_float_acts(ev: dict, key: str) -> dict[str, int]:
    """``{acts: count}`` of the ``key:<acts>`` events of one component (FP activation formats only)."""
    return {k.split(":", 1)[1]: v for k, v in ev.items() if k.startswith(f"{key}:")}
