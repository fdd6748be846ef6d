"""Energy and area against hand computations from the constants (docs/references.md#lut-tensor-core,
docs/references.md#bitmod, docs/references.md#energy-and-area-constants)."""

import pytest

from sim import arch, cost, engine, isa
from sim.cost.constants import logic_leakage_mw_per_mm2
from tests.sim.helpers import lut_arch


def test_energy_of_a_toy_program_equals_hand_computation(unit_pe):
    a = lut_arch(arrays=1, pnr_factor=1.5,
                 buffers=[{"name": "wbuf", "capacity": "8KiB", "banks": 1, "width": 512},
                          {"name": "obuf", "capacity": "8KiB", "banks": 2, "width": 512}])
    p = isa.Program()
    w = p.add("LOAD", buf="wbuf", addr=0, bytes=64)
    p.add("LMMA", m=2, n=64, k=4, weights="int2", acts="int8", deps=[w], rd=[("wbuf", 64)], wr=[("obuf", 256)])
    s = engine.run(p, a)
    assert s.cycles == 102 + 3  # 2 (512 bits / 256) + 100 latency, then 1 tile x 2 bits + 1
    seconds = s.cycles / 1e9
    node = 28 / 45  # Horowitz 45 nm -> 28 nm, energy ∝ node
    hand = {
        "dram": 512 * 18.75,
        "dram_static": 0.0,
        # 8 KiB bank (a CACTI point): write 24.9 pJ, read 17.8 pJ per 512-bit access
        "sram:wbuf": 512 * 24.9 / 512 + 512 * 17.8 / 512,
        # obuf: two 4 KiB banks (the other CACTI point): write 20.3 pJ per 512 bits
        "sram:obuf": 2048 * 20.3 / 512,
        "sram_leakage": (1 * 5.50 + 2 * 2.97) * seconds * 1e9,
        # test PE events: int8_add = m·n·k = 512, int32_add = m·n·⌈k/4⌉ = 128 (Horowitz 0.03, 0.1 pJ at 45 nm)
        "array": (512 * 0.03 + 128 * 0.1) * node * 1.5,
        "table": 0.0,
        "vector": 0.0,
        "matrix": 0.0,  # the preset's FP16 matrix unit runs nothing here
        # every logic block idles or is costed by dynamic per-event energies: all its area leaks all the run
        "logic_leakage": sum(cost.area(a).breakdown[b] for b in ("array", "matrix", "table", "vector"))
        * logic_leakage_mw_per_mm2(28) * seconds * 1e9,
    }
    e = cost.energy(s, a)
    assert e.breakdown == pytest.approx(hand, rel=1e-12)
    assert e.total_pj == pytest.approx(sum(hand.values()), rel=1e-12)
    assert e.assumptions["dram"]["pj_per_bit"] == 18.75


def test_pe_energy_from_synthesis_figure_for_known_pe():
    a = arch.load("bitmod-28nm")

    class S:  # stats stand-in: 1000 active array cycles, nothing else
        events = {"array": {"active_cycles": 1000}}
        seconds, cycles = 0.0, 1000

    e = cost.energy(S, a)
    assert e.breakdown["array"] == pytest.approx(1000 * 0.586 * 32 * 32 * 1.5)  # docs/references.md#bitmod
    assert "BitMoD" in e.assumptions["array"]["source"]


def test_area_of_lut_preset_by_hand():
    a = arch.load("lut-tc-28nm")
    r = cost.area(a)
    # docs/references.md#lut-tensor-core Table 2, scaled from its 10-bit stored entries to the preset's 16
    # (sim/cost/lut_unit_scale.py):
    # the ratios are the component model's, tested in tests/sim/cost/test_lut_unit_scale.py
    unit = r.assumptions["pe"]["scaled_to_arch_unit"]["ratio"]
    table = r.assumptions["table"]["scaled_to_arch_table"]["ratio"]
    assert r.breakdown["array"] == pytest.approx(16 * 11991.29 * unit / 1e6) and 1.1 < unit < 1.4
    assert r.breakdown["table"] == pytest.approx(2 * 394.38 * 1.6 / 1e6) and table == pytest.approx(16 / 10)
    assert r.breakdown["vector"] == pytest.approx(64 * 1968.7 / 1e6)
    assert r.breakdown["sram:wbuf"] == pytest.approx(64 * 0.056)  # 8 KiB CACTI banks
                                                                  # (docs/references.md#energy-and-area-constants)
    assert r.breakdown["sram:tbuf"] == pytest.approx(4 * 0.056)
    assert r.total_mm2 == pytest.approx(sum(r.breakdown.values()))


def test_ge_calibration_hook_and_node_scaling():
    a = arch.load("bitmod-28nm")
    r = cost.area(a, ge_count=2000, um2_per_ge=0.5)
    assert r.breakdown["array"] == pytest.approx(1024 * 1000 / 1e6)
    assert r.assumptions["pe"]["ge_count"] == 2000
    # BitFusion 45 nm figure moved to 28 nm: area × (28/45)², energy × 28/45
    assert cost.scale(1733.1, 45, 28, "area") == pytest.approx(1733.1 * (28 / 45) ** 2)
    assert cost.scale(0.6886, 45, 7, "energy") == pytest.approx(0.6886 * 7 / 45)


def test_every_constant_has_a_source():
    t = cost.table()
    for group in ("events", "pe"):
        for name, entry in t[group].items():
            assert entry["source"], name
    for key in ("table_unit", "vector_lane", "sram", "technology_scaling", "vector_ops"):
        assert t[key]["source"]
