"""Validation table: the LUT Tensor Core with W_INT4 × A_FP16 — compute density and energy as lutsim costs it,
against the paper (LUT Tensor Core, arXiv 2408.06003, ISCA'25, TSMC 28 nm, 1 GHz; docs/references.md#lut-tensor-core).

Two figures of ours per metric: the *simulator's unit* (what ``lutsim simulate`` charges on ``lut-tc-28nm`` for FP16
activations: the published Table 2 unit × the component model's FP16 / INT8 ratio, sim/cost/lut_unit_scale.py) and
the *component model* alone (sim/cost/lut_array_model.py, Horowitz FP16 adders). The paper gives its FP16 figures at
W1 (DP4 density 61.55 TFLOPs/mm², FP16 MAC 3.39) and the MAC/LUT tensor-core power ratio (4–6×) at W1; a W_b weight
takes b cycles on the same hardware (bit-serial, docs/references.md#lut-tensor-core), so the W4 figures are the W1
ones over 4 [I]. Rows outside ±15 % carry a note and a tolerance just wide enough for today's figure, as in
:mod:`reports.validation.ltc`.

:data:`LTC_FP16_TABLE` is one table of :data:`reports.validation.report.CHECKS`.
"""

from __future__ import annotations

from sim import arch, cost
from sim.cost import lut_unit_scale
from sim.cost.constants import table as cost_table
from sim.cost.lut_array_model import LutUnitConfig, MacUnitConfig, lut_unit, mac_unit

from .ltc import PUB_DENSITY_LUT_FP16, PUB_DENSITY_MAC_FP16, PUB_TC_RATIO, PUB_TOPS_PER_W_INT8
from .row import Row

SRC = "LUT Tensor Core W4×FP16"
TARGET = 0.15
W_BITS = 4  # W_INT4: four weight planes, four cycles per K-group (bit-serial)
ARCH = "lut-tc-28nm"  # the preset whose M2N64K4 unit simulate costs

FP16_ADDER_NOTE = ("the published W1×FP16 density leaves ≈130 µm² per 4-input dot product (lookup + FP16 accumulate), "
                   "while one Horowitz FP16 adder scaled by node² to 28 nm is 527 µm² and BitMoD's synthesized 28 nm "
                   "FP16 MAC PE 1969 µm² (docs/references.md#bitmod): the paper's FP16 adder is about 10× smaller than "
                   "both cited sources, and our FP16 accumulators are {share:.0%} of the unit")


def simulator_unit(acts: str = "fp16", w_bits: int = W_BITS) -> dict:
    """The M2N64K4 unit of :data:`ARCH` as ``simulate`` costs it for ``acts`` activations and ``w_bits``-bit
    weights: µm² (``cost.area``), pJ/cycle (the published Table 2 figure × the component model's ratio,
    sim/cost/lut_unit_scale.py) and ops/cycle (2·M·N·K / W_BITS)."""
    a = arch.load(ARCH)
    energy_ratio, _ = lut_unit_scale.array_ratio(a, "energy", acts)
    m, n, k = a.pe.tile
    return {"um2": cost.area(a, acts=acts).assumptions["pe"]["um2"],
            "pj_per_cycle": cost_table()["pe"]["lut-tc"]["pj_per_cycle"] * energy_ratio,
            "ops_per_cycle": 2 * m * n * k / w_bits}


def component_unit(w_bits: int = W_BITS):
    """The component model's M2N64K4 FP16 unit (FP16 tables and accumulators) at ``w_bits``."""
    return lut_unit(LutUnitConfig(acts="fp16", w_bits=w_bits, acc="fp16"))


def _density(ops_per_cycle: float, um2: float) -> float:
    """TFLOPs/mm² at the paper's 1 GHz."""
    return ops_per_cycle * 1e9 / 1e12 / (um2 / 1e6)


def _row(metric: str, published: float, ours: float, tolerance: float = TARGET, note: str = "") -> Row:
    return Row(SRC, metric, published, ours, tolerance, note)


def ltc_fp16_rows() -> list[Row]:
    """Density (TFLOPs/mm²), energy (pJ/op and TOPS/W) and the LUT/MAC ratios at W_INT4 × A_FP16."""
    sim_u, comp, int8 = simulator_unit(), component_unit(), simulator_unit("int8", 1)
    mac = mac_unit(MacUnitConfig(acts="fp16"))
    share = (comp.breakdown_um2["acc_adders"] + comp.breakdown_um2["acc_regs"]) / comp.area_um2
    note = FP16_ADDER_NOTE.format(share=share)
    pub_w4 = PUB_DENSITY_LUT_FP16 / W_BITS
    pub_ratio_w4 = PUB_DENSITY_LUT_FP16 / PUB_DENSITY_MAC_FP16 / W_BITS
    pub_energy_ratio = sum(PUB_TC_RATIO) / 2 / W_BITS  # MAC/LUT power 4–6× at W1; 4 cycles per op at W4 [I]
    sim_density = _density(sim_u["ops_per_cycle"], sim_u["um2"])
    lut_pj_per_op, mac_pj_per_op = comp.pj_per_cycle / comp.ops_per_cycle, mac.pj_per_cycle / mac.ops_per_cycle
    return [
        _row("W1×FP16 density, simulator's lut-tc-28nm unit (TFLOPs/mm²)", PUB_DENSITY_LUT_FP16,
             sim_density * W_BITS, 0.65, note),
        _row("W4×FP16 density, simulator's lut-tc-28nm unit (TFLOPs/mm²) [I: 61.55 / 4]", pub_w4, sim_density,
             0.65, note),
        _row("W4×FP16 density, component model (TFLOPs/mm²) [I: 61.55 / 4]", pub_w4, comp.density_tops_mm2(),
             0.85, note),
        _row("W1×INT8 energy efficiency, simulator's lut-tc-28nm unit, the FP16 figure's anchor (TOPs/W)",
             PUB_TOPS_PER_W_INT8, int8["ops_per_cycle"] / int8["pj_per_cycle"], 0.2,
             "the simulator's unit is Table 2's W2×INT8 unit (16.22 mW) with 16-bit instead of 10-bit entries; the "
             "paper's 63.78 TOPs/W is its W1 PE, whose weight and shift logic we keep at W2"),
        _row("W4×FP16 density ratio LUT / FP16 MAC, component model [I: 18.16 / 4]", pub_ratio_w4,
             comp.density_tops_mm2() / mac.density_tops_mm2(), 0.65,
             "one FP16 adder per output slot, cycled four times per weight at W4, against the MAC unit's four FP16 "
             "multiplies and adds per output: our ratio is bounded near 7.4 / 4 ≈ 1.8"),
        _row("W4×FP16 energy ratio MAC / LUT per op, component model [I: (4–6×) / 4]", pub_energy_ratio,
             mac_pj_per_op / lut_pj_per_op, 1.0,
             "the published 4–6× is for the whole tensor core at W1 (its 1.0–1.5× at W4 is our arithmetic); our "
             "MAC unit pays four Horowitz FP16 multiplies (1.1 pJ at 45 nm each) per output and cycle, which the "
             "LUT unit replaces by lookups, so our per-op ratio stays above 2"),
    ]


def figures() -> dict[str, float]:
    """The W4×FP16 figures of the simulator's unit and the component model, for the report's prose and tests:
    TFLOPs/mm², pJ/op, TOPS/W."""
    sim_u, comp = simulator_unit(), component_unit()
    return {"simulator_tflops_mm2": _density(sim_u["ops_per_cycle"], sim_u["um2"]),
            "simulator_pj_per_op": sim_u["pj_per_cycle"] / sim_u["ops_per_cycle"],
            "simulator_tops_per_w": sim_u["ops_per_cycle"] / sim_u["pj_per_cycle"],
            "component_tflops_mm2": comp.density_tops_mm2(),
            "component_pj_per_op": comp.pj_per_cycle / comp.ops_per_cycle,
            "component_tops_per_w": comp.tops_per_w()}


# (title, rows function): a table of reports.validation.report.CHECKS
LTC_FP16_TABLE = ("LUT Tensor Core W_INT4 × A_FP16 (density and energy of the FP16 datapath vs the paper)",
                  ltc_fp16_rows)
