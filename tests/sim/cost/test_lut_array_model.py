"""Unit tests of the component-level LUT Tensor Core / MAC area and energy model (sim/cost/lut_array_model.py)."""

import itertools
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.cost.constants import scale
from sim.cost.constants import table as cost_table
from sim.cost.lut_array_model import (
    ABLATION,
    LutUnitConfig,
    MacUnitConfig,
    ablation_step,
    components_table,
    int_adders,
    lut_entry_bits,
    lut_parts,
    lut_unit,
    mac_unit,
    precompute_adds,
    signed_bits,
)
from sim.errors import InputError

shapes = st.tuples(st.integers(1, 8), st.integers(1, 128), st.sampled_from([2, 4, 8]))
acts = st.sampled_from(["int4", "int8", "int16", "fp16"])
steps = st.sampled_from(list(ABLATION))


def _cfg(m, n, k, a, step="+precompute fused", w_bits=2):
    return replace(ablation_step(step), m=m, n=n, k=k, acts=a, w_bits=w_bits)


@pytest.mark.parametrize("a,k", list(itertools.product(["int4", "int8"], [2, 4])))
@pytest.mark.parametrize("reinterpret", [False, True])
def test_entry_bits_hold_every_table_value(a, k, reinterpret):
    bits = {"int4": 4, "int8": 8}[a]
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    weights = (-1, 1) if reinterpret else (0, 1)
    # extreme sums: every activation at an end of its range, every weight pattern
    sums = [sum(w * x for w, x in zip(ws, xs)) for ws in itertools.product(weights, repeat=k)
            for xs in itertools.product((lo, hi), repeat=k)]
    w = lut_entry_bits(a, k, reinterpret)
    assert signed_bits(min(sums), max(sums)) == w
    assert -(1 << (w - 1)) <= min(sums) and max(sums) <= (1 << (w - 1)) - 1


def test_entry_bits_of_the_paper_unit():
    assert lut_entry_bits("int8", 4, False) == 10
    assert lut_entry_bits("int8", 4, True) == 11  # [−512, 512]
    assert lut_entry_bits("fp16", 4, True) == 16


def test_precompute_adders():
    assert precompute_adds(4, reinterpret=False) == 11  # 2^4 − 1 − 4 subsets of ≥ 2 activations
    assert precompute_adds(4, reinterpret=True) == 14  # the symmetric tree of rtl/gateware/table_precompute.py


@settings(max_examples=30, deadline=None)
@given(shapes, acts, st.booleans())
def test_table_storage_scales_with_m_and_entries(shape, a, reinterpret):
    m, n, k = shape
    c = replace(LutUnitConfig(m=m, n=n, k=k, acts=a), reinterpret=reinterpret)
    regs = lut_parts(c)["table_regs"]
    entries = 1 << (k - 1 if reinterpret else k)
    assert regs.count == m * entries * lut_entry_bits(a, k, reinterpret)
    double = lut_parts(replace(c, m=2 * m))["table_regs"]
    assert double.area_um2 == pytest.approx(2 * regs.area_um2)


@settings(max_examples=30, deadline=None)
@given(shapes, acts, steps, st.integers(1, 8))
def test_area_and_energy_affine_in_n(shape, a, step, w_bits):
    m, n, k = shape
    u = [lut_unit(_cfg(m, n * j, k, a, step, w_bits)) for j in (1, 2, 3)]
    assert u[2].area_um2 - u[1].area_um2 == pytest.approx(u[1].area_um2 - u[0].area_um2)
    assert u[2].pj_per_cycle - u[1].pj_per_cycle == pytest.approx(u[1].pj_per_cycle - u[0].pj_per_cycle)
    assert u[1].area_um2 > u[0].area_um2
    mac = [mac_unit(MacUnitConfig(m=m, n=n * j, k=k, acts=a if a in ("int8", "fp16") else "int8")) for j in (1, 2, 3)]
    assert mac[2].area_um2 - mac[1].area_um2 == pytest.approx(mac[1].area_um2 - mac[0].area_um2)


@settings(max_examples=30, deadline=None)
@given(shapes, acts, st.integers(1, 8))
def test_each_ablation_step_lowers_area_and_energy(shape, a, w_bits):
    m, n, k = shape
    units = [lut_unit(_cfg(m, n, k, a, step, w_bits)) for step in ABLATION]
    # halving the table: compare without the negation circuit the paper adds with it
    conv, sym = lut_unit(_cfg(m, n, k, a, "conventional", w_bits)), units[2]
    assert sym.breakdown_um2["table_regs"] < conv.breakdown_um2["table_regs"]
    assert sym.breakdown_um2["muxes"] < conv.breakdown_um2["muxes"]
    for before, after in zip(units[1:], units[2:]):  # − negation circuit, + precompute fused
        assert after.area_um2 < before.area_um2
        assert after.pj_per_cycle < before.pj_per_cycle


def test_paper_unit_steps_all_lower_area():
    areas = [lut_unit(ablation_step(s)).area_um2 for s in ABLATION]
    assert areas == sorted(areas, reverse=True) and len(set(areas)) == 4


def test_negation_circuit_parts():
    with_neg = lut_parts(ablation_step("+weight reinterpretation"))
    without = lut_parts(ablation_step("-negation circuit"))
    assert with_neg["index_inverters"].count == 64 * 3  # N·(K−1) XORs
    assert with_neg["negate_incrementers"].count == 128 * 11  # M·N incrementers of LUT_BIT bits
    assert "index_inverters" not in without and "negate_incrementers" not in without
    assert without["sign"].count == 128 * 11  # the conditional inversion stays


def test_bit_serial_throughput_and_shift():
    u1, u2 = lut_unit(LutUnitConfig(w_bits=1)), lut_unit(LutUnitConfig(w_bits=4))
    assert u1.ops_per_cycle == 1024 and u2.ops_per_cycle == 256
    assert "shift" not in u1.parts
    assert u2.parts["shift"].count == 128 * 2 * (11 + 3)  # 2 MUX2 stages of LUT_BIT + 3 bits
    # tables and weight planes switch once per K-group: activity 1/W_BIT
    assert u2.parts["table_regs"].activity == 0.25


def test_cell_adder_matches_horowitz_area_and_energy():
    """The data file's consistency check: 32 FA cells ≈ Horowitz's 32-bit adder (137 µm² [R]), and the per-GE
    energy reproduces its 0.1 pJ, both scaled to 28 nm."""
    add = int_adders(1, 32)
    assert add.area_um2 == pytest.approx(scale(137, 45, 28, "area"), rel=0.01)
    ev = cost_table()["events"]["int32_add"]
    assert add.pj_per_cycle == pytest.approx(scale(ev["pj"], ev["node_nm"], 28, "energy"))


def test_units_and_derived_figures():
    u = lut_unit()
    assert u.power_mw() == pytest.approx(u.pj_per_cycle * components_table()["clock_ghz"])
    assert u.power_mw(2.0) == pytest.approx(2 * u.pj_per_cycle)
    assert u.tops_per_w() == pytest.approx(u.ops_per_cycle / u.pj_per_cycle)
    assert u.density_tops_mm2() == pytest.approx(u.ops_per_cycle * 1e-3 / (u.area_um2 * 1e-6))
    assert u.area_um2 == pytest.approx(sum(u.to_dict()["breakdown_um2"].values()))


def test_mac_unit_components():
    mac = mac_unit(MacUnitConfig(m=2, n=64, k=4, acts="fp16", acc="fp32"))
    assert mac.parts["multipliers"].count == 512
    assert mac.parts["adder_trees"].count == 128 * 3
    assert mac.parts["acc_regs"].count == 128 * 32
    assert mac.ops_per_cycle == lut_unit(LutUnitConfig(acts="fp16", w_bits=1)).ops_per_cycle
    int8 = mac_unit()
    assert int8.parts["adder_trees"].count == 128 * (2 * 16 + 17)  # two 16-bit adds, one 17-bit add


@pytest.mark.parametrize("kwargs,field", [
    ({"acts": "int3"}, "acts"), ({"acc": "fp16"}, "acc"), ({"k": 3}, "k"), ({"m": 0}, "m"), ({"w_bits": 9}, "w_bits"),
    ({"reinterpret": False, "negation_circuit": True}, "negation_circuit"), ({"acts": "fp16", "acc": "int32"}, "acc"),
])
def test_bad_lut_input_names_the_field(kwargs, field):
    with pytest.raises(InputError) as e:
        lut_unit(replace(LutUnitConfig(), **kwargs))
    assert e.value.field == field


def test_bad_mac_input_and_step():
    with pytest.raises(InputError) as e:
        mac_unit(MacUnitConfig(acts="int4"))
    assert e.value.field == "acts"
    with pytest.raises(InputError) as e:
        ablation_step("nope")
    assert e.value.field == "step"


def test_gate_equivalents_feed_the_area_hook():
    from sim.cost import pe_area_from_ge
    from sim.cost.lut_array_model import um2_per_ge

    u = lut_unit()
    assert pe_area_from_ge(u.gate_equivalents, um2_per_ge()) == pytest.approx(u.area_um2)
    assert um2_per_ge() == pytest.approx(0.798 * (28 / 45) ** 2)  # NanGate45 NAND2_X1, scaled by node²
    fa = int_adders(1, 1)
    assert fa.um2 / um2_per_ge() == pytest.approx(4.256 / 0.798)  # FA_X1 = 5.33 GE


def test_lut_bits_sets_the_entry_width_of_every_entry_wide_part():
    base = LutUnitConfig()  # M2N64K4 W2 × INT8: LUT_BIT 11 from lut_entry_bits
    assert lut_parts(replace(base, lut_bits=11)) == lut_parts(base)
    wide = lut_parts(replace(base, lut_bits=16))
    assert wide["table_regs"].count == 2 * 8 * 16 and wide["muxes"].count == 128 * 7 * 16
    assert wide["sign"].count == 128 * 16 and wide["shift"].count == 128 * 1 * (16 + 1)
    assert wide["acc_regs"] == lut_parts(base)["acc_regs"] and wide["weight_regs"] == lut_parts(base)["weight_regs"]
    for bad in (0, -3, 2.5, True):
        with pytest.raises(InputError, match="lut_bits"):
            lut_unit(replace(base, lut_bits=bad))
