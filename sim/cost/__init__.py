"""Energy and area (``sim.cost``), from the cited constants in ``sim/cost/data/constants.yaml``.

API::

    from sim import cost
    e = cost.energy(stats, arch)   # EnergyReport: total_pj, breakdown (pJ), assumptions
    a = cost.area(arch)            # AreaReport: total_mm2, breakdown (mm²), assumptions
    a = cost.area(arch, acts="fp16")   # the PE and table unit built for FP16 activations (lut-tc: FP datapath)
    a = cost.area(arch, ge_count=12000, um2_per_ge=0.5)   # PE area calibrated from yosys GE counts

Technology-node scaling between 45/28/16/7 nm: :func:`sim.cost.constants.scale` (rule and source in
the data file).
"""

from .area import AreaReport, area, pe_area_from_ge, run_acts
from .constants import scale, sram_bank, table
from .energy import EnergyReport, energy, event_pj

__all__ = ["AreaReport", "EnergyReport", "area", "energy", "event_pj", "pe_area_from_ge", "run_acts", "scale",
           "sram_bank", "table"]
