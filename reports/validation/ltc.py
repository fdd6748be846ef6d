"""Validation table: our component-level LUT Tensor Core model (sim/cost/lut_array_model.py) against the paper.

Published figures: LUT Tensor Core, arXiv 2408.06003 (ISCA'25), TSMC 28 nm, 1 GHz (docs/references.md#lut-tensor-core).
Rows we hold to ±15 % carry no note; a row outside it carries a one-sentence note naming the modelling
difference and a tolerance just wide enough for today's figure, so a change that moves it further fails; the
golden tests also pin our own figures (tests/validation/test_golden_ltc_model.py).

:data:`LTC_TABLE` is one table of :data:`reports.validation.report.CHECKS`.
"""

from __future__ import annotations

from sim.cost.constants import scale
from sim.cost.constants import table as cost_table
from sim.cost.lut_array_model import ABLATION, LutUnitConfig, MacUnitConfig, ablation_step, lut_unit, mac_unit

from .row import Row

SRC = "LUT Tensor Core (component model)"
TARGET = 0.15  # the ±15 % we aim for on every published ratio

# docs/references.md#lut-tensor-core (arXiv 2408.06003): DP4 compute density W1×FP16, PE energy efficiency W1×INT8
PUB_DENSITY_LUT_FP16 = 61.55   # TFLOPs/mm²
PUB_DENSITY_MAC_FP16 = 3.39    # TFLOPs/mm²
PUB_TOPS_PER_W_INT8 = 63.78    # TOPs/W
# docs/references.md#lut-tensor-core, Table 2 (W2×INT8, M·N·K = 512): area µm², power mW, normalised density, per
# ablation step
PUB_TABLE2 = {
    "conventional": (17_271.71, 23.39, 1.0),
    "+weight reinterpretation": (13_116.60, 17.98, 1.317),
    "-negation circuit": (12_780.05, 17.37, 1.351),
    "+precompute fused": (11_991.29, 16.22, 1.440),
}
# docs/references.md#lut-tensor-core: MAC tensor core area and power 4–6× the LUT one, 1-bit weights
PUB_TC_RATIO = (4.0, 6.0)

FP_ADD_NOTE = ("the published density leaves ≈130 µm² per output slot for lookup plus FP16 accumulate, while "
               "one Horowitz FP16 adder scaled to 28 nm is 527 µm² and dominates our LUT unit")


def acc_note(unit) -> str:
    """Why our absolute INT8 figures are high: the accumulators' share of ``unit`` (a UnitCost)."""
    share = (unit.breakdown_um2["acc_adders"] + unit.breakdown_um2["acc_regs"]) / unit.area_um2
    return (f"{share:.0%} of our unit is its INT32 accumulators (ripple adder + register per output), whose width "
            "and circuit the paper does not give, and our energy is proportional to switched gate area")


def _ratio_row(metric: str, published: float, ours: float, tolerance: float = TARGET, note: str = ""):
    """A :class:`reports.validation.row.Row` of this table."""
    return Row(SRC, metric, published, ours, tolerance, note)


def bitmod_fp16_mac_density() -> float:
    """TFLOPs/mm² of an array of BitMoD's FP16 MAC PEs (2 FLOPs per PE per cycle at 1 GHz; data/constants.yaml)."""
    pe = cost_table()["pe"]["fp16-mac"]
    return 2 * 1e9 / 1e12 / (scale(pe["area_um2"], pe["node_nm"], 28, "area") / 1e6)


def density_rows() -> list:
    """DP4 compute density W1×FP16 (LUT and FP16 MAC, TFLOPs/mm²) and their ratio."""
    lut = lut_unit(LutUnitConfig(acts="fp16", w_bits=1)).density_tops_mm2()
    mac = mac_unit(MacUnitConfig(acts="fp16")).density_tops_mm2()
    return [
        _ratio_row("DP4 density W1×FP16, LUT (TFLOPs/mm²)", PUB_DENSITY_LUT_FP16, lut, 0.85, FP_ADD_NOTE),
        _ratio_row("DP4 density FP16 MAC (TFLOPs/mm²)", PUB_DENSITY_MAC_FP16, mac, 0.55,
                   "Horowitz's 45 nm FP16 multiplier and adder areas, scaled by node², are ≈2× what the paper's "
                   "28 nm synthesis implies, and BitMoD's synthesized 28 nm FP16 MAC PE (docs/references.md#bitmod) "
                   "gives "
                   f"{bitmod_fp16_mac_density():.2f} TFLOPs/mm², lower still"),
        _ratio_row("DP4 density ratio LUT / FP16 MAC", PUB_DENSITY_LUT_FP16 / PUB_DENSITY_MAC_FP16, lut / mac, 0.65,
                   "one FP16 adder per output bounds our ratio near (4 mult + 4 add) / (1 add + mux) ≈ 7.4×"),
    ]


def efficiency_rows() -> list:
    """PE energy efficiency W1×INT8 (TOPs/W)."""
    unit = lut_unit(LutUnitConfig(acts="int8", w_bits=1))
    return [_ratio_row("PE energy efficiency W1×INT8 (TOPs/W)", PUB_TOPS_PER_W_INT8, unit.tops_per_w(), 0.45,
                       acc_note(unit))]


def ablation_rows() -> list:
    """Table 2: normalised density and power reduction (ratios), then absolute area and power per step."""
    units = {step: lut_unit(ablation_step(step)) for step in ABLATION}
    base_area, base_power, _ = PUB_TABLE2["conventional"]
    ref = units["conventional"]
    rows = []
    for step, (_, power, density) in PUB_TABLE2.items():
        if step == "conventional":
            continue
        rows.append(_ratio_row(f"Table 2 normalised density, {step}", density, ref.area_um2 / units[step].area_um2))
        rows.append(_ratio_row(f"Table 2 power reduction P(conventional)/P, {step} [I]", base_power / power,
                               ref.pj_per_cycle / units[step].pj_per_cycle))
    for step, (area, power, _) in PUB_TABLE2.items():
        rows.append(_ratio_row(f"Table 2 area, {step} (µm²)", area, units[step].area_um2, 1.1, acc_note(units[step])))
        rows.append(_ratio_row(f"Table 2 power, {step} (mW at 1 GHz)", power, units[step].power_mw(), 0.8,
                               acc_note(units[step])))
    return rows


def tensor_core_ratio_rows() -> list:
    """MAC tensor core over LUT unit, area and power, 1-bit weights: published 4–6× (row value: the middle, 5;
    ±20 % is the published range). The MAC unit runs the 1-bit weights as INT8 (FP16) operands, M·N·K = 512 MACs
    per cycle like the LUT unit at W1."""
    mid = sum(PUB_TC_RATIO) / 2
    int8 = ("a Horowitz INT8 multiplier (282 µm² at 45 nm) is small next to the INT32 accumulators both units "
            "carry, so our INT8 ratio lies below the published range")
    fp16 = ("our LUT unit's one FP16 add per output is cheap next to the MAC unit's four Horowitz FP16 multiplies "
            "and adds per output, so our FP16 ratio lies above the published range")
    rows = []
    for acts, tol_area, tol_power, note in (("int8", 0.3, 0.3, int8), ("fp16", 0.5, 1.05, fp16)):
        lut, mac = lut_unit(LutUnitConfig(acts=acts, w_bits=1)), mac_unit(MacUnitConfig(acts=acts))
        rows.append(_ratio_row(f"MAC / LUT area, W1×{acts.upper()} (4–6×)", mid, mac.area_um2 / lut.area_um2,
                               tol_area, note))
        rows.append(_ratio_row(f"MAC / LUT power, W1×{acts.upper()} (4–6×)", mid,
                               mac.pj_per_cycle / lut.pj_per_cycle, tol_power, note))
    return rows


def ltc_model_rows() -> list:
    """Every row of the component-model table."""
    return density_rows() + efficiency_rows() + ablation_rows() + tensor_core_ratio_rows()


# (title, rows function): a table of reports.validation.report.CHECKS
LTC_TABLE = ("LUT Tensor Core component model (28 nm area/power vs the paper)", ltc_model_rows)
