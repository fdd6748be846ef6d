"""The lut-tc array and table-unit figures follow the arch's unit (tile, entry width, accumulator), anchored to the
published LUT Tensor Core Table 2 numbers (docs/references.md#lut-tensor-core): sim/cost/lut_unit_scale.py."""

import copy

import pytest

from sim import arch, cost
from sim.cost.lut_array_model import LutUnitConfig, lut_unit
from sim.errors import InputError

PUBLISHED_UM2, PUBLISHED_PJ = 11991.29, 16.22  # Table 2, "+precompute fused" (docs/references.md#lut-tensor-core)
TABLE_UM2, TABLE_PJ = 394.38, 0.575  # constants.yaml table_unit, from Table 2 (docs/references.md#lut-tensor-core)


def lut(tile=(2, 64, 4), entry_bits=16, acc=None, **top) -> arch.Arch:
    """lut-tc-28nm with its unit tile, table entry width and accumulator replaced."""
    d = copy.deepcopy(arch.read_yaml(arch.PRESET_DIR / "lut-tc-28nm.yaml"))
    d["pe"]["tile"] = list(tile)
    if acc is not None:
        d["pe"]["acc"] = acc
    d["table_unit"]["entry_bits"] = entry_bits
    d.update(top)
    return arch.from_dict(d)


def unit_um2(a: arch.Arch) -> float:
    return cost.area(a).assumptions["pe"]["um2"]


class _Stats:  # engine stats stand-in: 1000 active array cycles and 100 tables built
    events = {"array": {"active_cycles": 1000}, "table": {"tables": 100}}
    seconds, cycles = 0.0, 1000


def test_the_table_2_unit_reproduces_the_published_figures_exactly():
    a = lut(entry_bits=10)  # M2N64K4, INT8 × K = 4 stored entries, INT32 accumulator: the paper's unit
    r = cost.area(a)
    assert r.assumptions["pe"]["um2"] == PUBLISHED_UM2
    assert r.breakdown["array"] == 16 * PUBLISHED_UM2 / 1e6
    assert r.assumptions["table"]["um2_per_table_per_cycle"] == TABLE_UM2
    e = cost.energy(_Stats, a)
    assert e.assumptions["array"]["pj_per_cycle"] == PUBLISHED_PJ
    assert e.assumptions["table"]["pj_per_table"] == TABLE_PJ
    assert e.breakdown["array"] == pytest.approx(1000 * PUBLISHED_PJ * 1.5)  # × pnr_factor


def test_assumptions_name_the_reference_unit_the_ratio_and_the_source():
    pe = cost.area(lut(entry_bits=12)).assumptions["pe"]
    how = pe["scaled_to_arch_unit"]
    assert how["reference_unit"]["m"] == 2 and how["reference_unit"]["n"] == 64 and how["reference_unit"]["k"] == 4
    assert how["reference_unit"]["entry_bits"] == 10 and how["reference_unit"]["w_bits"] == 2
    assert how["arch_unit"]["entry_bits"] == 12 and how["ratio"] > 1
    assert pe["um2"] == pytest.approx(PUBLISHED_UM2 * how["ratio"], rel=1e-12)
    assert pe["published_um2"] == PUBLISHED_UM2 and "Table 2" in pe["source"]
    assert "lut_array_model" in how["model"]


def test_preset_area_is_the_published_unit_times_the_model_ratio_for_16_bit_entries():
    a = arch.load("lut-tc-28nm")
    ref = LutUnitConfig(m=2, n=64, k=4, acts="int8", w_bits=2, acc="int32", lut_bits=10)
    mine = LutUnitConfig(m=2, n=64, k=4, acts="int8", w_bits=2, acc="int32", lut_bits=16)
    ratio = lut_unit(mine).area_um2 / lut_unit(ref).area_um2
    assert 1.1 < ratio < 1.4  # wider tables, multiplexers, sign and shift; accumulators unchanged
    assert cost.area(a).breakdown["array"] == pytest.approx(16 * PUBLISHED_UM2 * ratio / 1e6, rel=1e-12)


@pytest.mark.parametrize("small,big", [
    ({"tile": (2, 64, 4)}, {"tile": (2, 128, 4)}),   # N
    ({"tile": (2, 64, 4)}, {"tile": (4, 64, 4)}),    # M
    ({"tile": (2, 64, 4)}, {"tile": (2, 64, 8)}),    # K: 2^(K−1) entries per table
    ({"entry_bits": 10}, {"entry_bits": 11}),        # entry width
    ({"entry_bits": 16}, {"entry_bits": 24}),
    ({"acc": "fp16"}, {"acc": "fp32"}),              # accumulator
])
def test_unit_area_and_energy_grow_with_the_design_parameter(small, big):
    a, b = lut(**small), lut(**big)
    assert unit_um2(b) > unit_um2(a)
    ea, eb = cost.energy(_Stats, a), cost.energy(_Stats, b)
    assert eb.breakdown["array"] > ea.breakdown["array"]


def test_area_is_affine_in_n_and_m_at_fixed_entry_width():
    n = [unit_um2(lut(tile=(2, 64 * j, 4))) for j in (1, 2, 3)]
    assert n[2] - n[1] == pytest.approx(n[1] - n[0])
    m = [unit_um2(lut(tile=(2 * j, 64, 4))) for j in (1, 2, 3)]
    assert m[2] - m[1] == pytest.approx(m[1] - m[0])


def test_table_unit_follows_entry_width_and_node_scaling_still_applies():
    narrow, wide = cost.area(lut(entry_bits=10)), cost.area(lut(entry_bits=20))
    # INT precompute adders: area ∝ entry bits at a fixed K-group
    assert wide.breakdown["table"] == pytest.approx(2 * narrow.breakdown["table"])
    assert cost.area(lut(node_nm=16)).breakdown["array"] == pytest.approx(
        cost.area(lut()).breakdown["array"] * (16 / 28) ** 2)


def test_a_k_group_the_cost_model_lacks_is_an_input_error_naming_the_tile():
    with pytest.raises(InputError) as exc:
        cost.area(lut(tile=(2, 64, 16)))
    assert exc.value.field == "arch.pe.tile"


def test_other_pes_and_the_ge_hook_are_not_scaled():
    bitmod = cost.area(arch.load("bitmod-28nm"))
    assert bitmod.assumptions["pe"]["um2"] == 1793.7 and "scaled_to_arch_unit" not in bitmod.assumptions["pe"]
    hook = cost.area(arch.load("lut-tc-28nm"), ge_count=20000, um2_per_ge=0.5)
    assert hook.breakdown["array"] == 16 * 20000 * 0.5 / 1e6
