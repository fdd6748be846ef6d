"""The cost of a run follows its activation format: FP16/BF16 activations on the LUT Tensor Core build FP tables with
FP adders and accumulate in FP (sim/cost/lut_unit_scale.py), MixPE's W4A16 mode is an FP-activation PE
(sim/pe/mixpe.py cost_scale); integer activations are costed exactly as before.

Cited ratios: Horowitz ISSCC 2014, 45 nm (docs/references.md#energy-and-area-constants): FP16 add 0.4 pJ / 1360 µm²,
32-bit integer add 0.1 pJ / 137 µm² (the FA cell's per-bit energy is 0.1/32 pJ: lut_components.yaml
energy_per_ge); NanGate FA_X1 4.256 µm²; BitMoD's FP16 × INT8 PE 0.613 pJ / 1318.6 µm² at 28 nm
(docs/references.md#bitmod); the INT8 PE 0.3436 pJ / 687.6 µm² at 45 nm (docs/references.md#baselines).
"""

import copy

import pytest

from lutsim import pipeline
from sim import arch, cost
from sim.cost import lut_unit_scale
from sim.cost.lut_array_model import LutUnitConfig, lut_unit
from sim.errors import InputError
from sim.isa import parse
from tests.tiny_models import write_tiny_llama

PUBLISHED_PJ, PUBLISHED_UM2 = 16.22, 11991.29  # LUT Tensor Core Table 2, "+precompute fused" unit
FP16_ADD_PJ, FP16_ADD_UM2 = 0.4, 1360.0          # Horowitz, 45 nm
FA_PJ_PER_BIT, FA_UM2 = 0.1 / 32, 4.256          # Horowitz 32-bit add over 32 FA cells; NanGate FA_X1, 45 nm
LMMA = open("examples/lmma_tile.s").read()       # one M2N64K4 tile with fp16 activations on lut-tc-28nm


class _Stats:
    def __init__(self, array: dict, tables: dict):
        self.events, self.seconds = {"array": array, "table": tables}, 0.0
        self.cycles = array.get("active_cycles", 0)


def _lut(**pe) -> arch.Arch:
    d = copy.deepcopy(arch.read_yaml(arch.PRESET_DIR / "lut-tc-28nm.yaml"))
    d["pe"].update(pe)
    return arch.from_dict(d)


def test_fp16_tables_cost_more_than_int_ones_by_the_cited_adder_ratio():
    a = arch.load("lut-tc-28nm")  # K = 4, 16-bit entries: 14 adders per table either way
    bits = a.table_unit.entry_bits
    for kind, want in (("energy", FP16_ADD_PJ / (bits * FA_PJ_PER_BIT)), ("area", FP16_ADD_UM2 / (bits * FA_UM2))):
        fp, _ = lut_unit_scale.table_ratio(a, kind, "fp16")
        integer, _ = lut_unit_scale.table_ratio(a, kind, "int8")
        assert fp / integer == pytest.approx(want, rel=1e-9)
    assert FP16_ADD_PJ / (bits * FA_PJ_PER_BIT) == pytest.approx(8.0)  # 0.4 pJ vs 16 × 0.1/32 pJ


def test_table_energy_of_a_run_charges_fp_tables_at_the_fp_figure():
    a = arch.load("lut-tc-28nm")
    int_only = cost.energy(_Stats({}, {"tables": 100}), a).breakdown["table"]
    mixed = cost.energy(_Stats({}, {"tables": 100, "tables:fp16": 40}), a)
    ratio, _ = lut_unit_scale.table_ratio(a, "energy", "fp16")
    base, _ = lut_unit_scale.table_ratio(a, "energy")
    assert mixed.breakdown["table"] == pytest.approx(int_only * (60 + 40 * ratio / base) / 100)
    assert mixed.assumptions["table"]["by_activation_format"]["fp16"]["tables"] == 40


def test_array_energy_of_fp_cycles_is_the_fp_unit_of_the_component_model():
    a = arch.load("lut-tc-28nm")
    ref = LutUnitConfig(acts="int8", w_bits=2, acc="int32", lut_bits=10)
    fp16 = LutUnitConfig(acts="fp16", w_bits=2, acc="fp16", lut_bits=16)
    want = PUBLISHED_PJ * lut_unit(fp16).pj_per_cycle / lut_unit(ref).pj_per_cycle
    e = cost.energy(_Stats({"active_cycles": 1000, "active_cycles:fp16": 1000}, {}), a)
    assert e.breakdown["array"] == pytest.approx(1000 * want * a.pnr_factor)
    assert e.assumptions["array"]["by_activation_format"]["fp16"]["pj_per_cycle"] == pytest.approx(want)
    parts = lut_unit(fp16).breakdown_pj  # FP16 accumulators: Horowitz FP16 adds, one per output slot
    assert parts["acc_adders"] == pytest.approx(128 * FP16_ADD_PJ * 28 / 45)


def test_integer_activations_cost_exactly_as_the_arch_reading():
    for name in ("lut-tc-28nm", "lut-tc-rtl-small", "mixpe-w4a8-28nm", "bitmod-28nm"):
        a = arch.load(name)
        assert cost.area(a, acts="int8").to_dict() == cost.area(a).to_dict()
        assert cost.area(a, acts="int4").to_dict() == cost.area(a).to_dict()
    a = arch.load("lut-tc-28nm")
    e = cost.energy(_Stats({"active_cycles": 700}, {"tables": 30}), a)
    pj = PUBLISHED_PJ * lut_unit_scale.array_ratio(a, "energy")[0]
    assert e.assumptions["array"]["pj_per_cycle"] == pytest.approx(pj)
    assert e.breakdown["array"] == pytest.approx(700 * pj * a.pnr_factor)
    assert "by_activation_format" not in e.assumptions["array"] and "by_activation_format" not in e.assumptions["table"]


@pytest.mark.parametrize("acts,datapath,acc", [("fp16", "fp16", "fp16"), ("fp8_e4m3", "fp16", "fp16"),
                                               ("bf16", "bf16", "fp32"), ("int8", "int8", "int32"),
                                               (None, "int8", "int32")])
def test_datapath_of_each_activation_format(acts, datapath, acc):
    assert lut_unit_scale.datapath(arch.load("lut-tc-28nm"), acts) == (datapath, acc)


def test_arch_accumulator_is_kept_when_it_fits_the_fp_datapath():
    assert lut_unit_scale.datapath(_lut(acc="fp32"), "fp16") == ("fp16", "fp32")
    assert lut_unit_scale.datapath(_lut(acc="fp16"), "bf16") == ("bf16", "fp32")  # BF16 accumulates in FP32


def test_fp_units_are_larger_and_bf16_with_fp32_accumulators_largest():
    a = arch.load("lut-tc-28nm")
    areas = {acts: cost.area(a, acts=acts).breakdown["array"] for acts in ("int8", "fp16", "bf16")}
    assert areas["int8"] < areas["fp16"] < areas["bf16"]
    fp16 = cost.area(a, acts="fp16").assumptions["pe"]["scaled_to_arch_unit"]["arch_unit"]
    assert fp16["acts"] == "fp16" and fp16["acc"] == "fp16" and fp16["entry_bits"] == 16


def test_bf16_adder_is_the_flagged_fp16_proxy():
    t = cost.table()["events"]
    assert t["bf16_add"]["pj"] == t["fp16_add"]["pj"] and t["bf16_add"]["source"].startswith("PROXY")


def test_an_fp16_lmma_program_is_charged_the_fp_unit_and_an_int8_one_is_not():
    fp_res, fp_stats = pipeline.run_program(parse(LMMA), "lut-tc-28nm")
    int_res, int_stats = pipeline.run_program(parse(LMMA.replace("acts=fp16", "acts=int8")), "lut-tc-28nm")
    assert fp_stats.events["array"]["active_cycles:fp16"] == fp_stats.events["array"]["active_cycles"]
    assert fp_stats.events["table"]["tables:fp16"] == fp_stats.events["table"]["tables"] == 2
    assert not any(k.startswith("active_cycles:") for k in int_stats.events["array"])
    assert not any(k.startswith("tables:") for k in int_stats.events["table"])
    assert fp_res.energy_breakdown_pj["array"] > int_res.energy_breakdown_pj["array"]
    assert fp_res.energy_breakdown_pj["table"] > int_res.energy_breakdown_pj["table"]
    a = arch.load("lut-tc-28nm")
    assert fp_res.area_mm2 == cost.area(a, acts="fp16").total_mm2 and int_res.area_mm2 == cost.area(a).total_mm2


def test_simulate_builds_the_unit_for_the_recipes_activations(tmp_path):
    model = write_tiny_llama(tmp_path)
    a = arch.load("lut-tc-28nm")
    w4a16 = pipeline.simulate("lut-tc-28nm", model, "w4a16-g128", "decode", kv_len=64)
    w4a8 = pipeline.simulate("lut-tc-28nm", model, "w4a8kv4", "decode", kv_len=64)
    assert w4a16.totals.area_mm2 == cost.area(a, acts="fp16").total_mm2 > w4a8.totals.area_mm2
    assert w4a8.totals.area_mm2 == cost.area(a).total_mm2


def test_mixpe_w4a16_is_costed_as_an_fp16_activation_pe():
    a = arch.load("mixpe-w4a16-28nm")
    int8_pe_um2, int8_pe_pj = 687.6 * (28 / 45) ** 2, 0.3436 * 28 / 45  # the INT8 PE proxy at 28 nm
    area, how = pe_hook(a, "area", "fp16")
    assert area == pytest.approx(1318.6 / int8_pe_um2) and how["activation_format"] == "fp16"
    assert pe_hook(a, "energy", "fp16")[0] == pytest.approx(0.613 / int8_pe_pj)
    assert pe_hook(a, "energy", "int8") == (1.0, None) and pe_hook(a, "area", None) == (1.0, None)
    assert cost.area(a, acts="fp16").assumptions["pe"]["um2"] == pytest.approx(1318.6)


def pe_hook(a, kind, acts):
    from sim import pe
    return pe.get(a.pe.type).cost_scale(a, kind, acts)


def test_unknown_activation_format_is_an_input_error_naming_it():
    with pytest.raises(InputError) as exc:
        cost.area(arch.load("lut-tc-28nm"), acts="fp12")
    assert exc.value.field == "acts" and "bf16" in exc.value.allowed
