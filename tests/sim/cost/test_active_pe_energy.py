"""Dynamic PE-array energy is charged per active PE-cycle (idle PEs clock-gated, leakage only), logic leakage scales
with time and area, and ``idle_pes: charged`` keeps the papers' all-PE convention (sim/cost/energy.py)."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from sim import cost, pe
from sim.arch import from_dict, load
from sim.cost.constants import logic_leakage_mw_per_mm2
from sim.errors import InputError
from sim.pe import GemmProblem
from sim.pe.base import ACTIVE_EVENT


def _stats(arch, m: int, n: int = 256, k: int = 256, extra_cycles: int = 0):
    """Engine-like stats of one GEMM instruction on ``arch``'s array (its tile model's cycles and events)."""
    t = pe.tile_cycles(arch.pe.type, arch.pe.config(), GemmProblem(m, n, k, "int4", "int8", None))
    cycles = t.cycles + extra_cycles
    ev = {"array": {"active_cycles": t.cycles, **{f"pe:{key}": v for key, v in t.events.items()}}}
    return SimpleNamespace(cycles=cycles, seconds=cycles / (arch.clock_mhz * 1e6), events=ev), t


def _array_pj_per_cycle(arch) -> float:
    return cost.energy(SimpleNamespace(cycles=0, seconds=0.0, events={}), arch).assumptions["array"]["pj_per_cycle"]


@pytest.fixture
def ant():
    a = load("ant-28nm")
    return replace(a, pe=replace(a.pe, mapping="nm"), pnr_factor=1.0)  # the native grid: M = 1 uses one PE column


def test_m1_gemm_on_an_output_stationary_array_charges_active_pes_only(ant):
    per_cycle = _array_pj_per_cycle(ant)
    pes = ant.pe.pes_per_array
    energies = []
    for m in (1, 4, 32):
        stats, t = _stats(ant, m)
        e = cost.energy(stats, ant)
        spatial = t.events[ACTIVE_EVENT] / (pes * t.cycles)
        assert e.breakdown["array"] == pytest.approx(t.events[ACTIVE_EVENT] * per_cycle)
        charged = cost.energy(stats, replace(ant, idle_pes="charged")).breakdown["array"]
        assert charged == pytest.approx(t.cycles * pes * per_cycle)
        assert e.breakdown["array"] / charged == pytest.approx(spatial)  # falls with spatial utilization
        energies.append(e.breakdown["array"] / (m * 256 * 256))  # pJ per MAC
    assert energies[0] == pytest.approx(energies[2], rel=0.35)  # per MAC about the same: idle PEs cost nothing
    stats, t = _stats(ant, 1)
    assert t.events[ACTIVE_EVENT] / (pes * t.cycles) < 0.1  # one PE column of 32 works


def test_idle_pes_are_charged_leakage_only(ant):
    stats, _ = _stats(ant, 1)
    idle = SimpleNamespace(cycles=stats.cycles, seconds=stats.seconds, events={"array": {"active_cycles": 0}})
    e = cost.energy(idle, ant)
    assert e.breakdown["array"] == 0.0
    ar = cost.area(ant).breakdown
    leak = logic_leakage_mw_per_mm2(ant.node_nm) * stats.seconds * 1e9
    want = (ar["array"] + ar["matrix"] + ar["vector"]) * leak  # every logic block of ant-28nm idles
    assert e.breakdown["logic_leakage"] == pytest.approx(want)
    assert "not_modelled" not in e.assumptions and e.assumptions["logic_leakage"]["source"]


def test_logic_leakage_scales_with_time_and_area(ant):
    stats, _ = _stats(ant, 8)
    base = cost.energy(stats, ant).breakdown["logic_leakage"]
    longer, _ = _stats(ant, 8, extra_cycles=stats.cycles)  # the same work, twice the time
    assert cost.energy(longer, ant).breakdown["logic_leakage"] > 1.9 * base
    blocks = cost.energy(stats, ant).assumptions["logic_leakage"]["blocks"]
    wide = replace(ant, arrays=2)  # twice the array area; the second array idles the whole run
    wide_blocks = cost.energy(stats, wide).assumptions["logic_leakage"]["blocks"]
    assert wide_blocks["array"]["area_mm2"] == pytest.approx(2 * blocks["array"]["area_mm2"])
    assert wide_blocks["array"]["pj"] > 2 * blocks["array"]["pj"]
    assert wide_blocks["vector"]["pj"] == pytest.approx(blocks["vector"]["pj"])


def test_breakdown_sums_to_total_and_charged_has_no_logic_leakage(ant):
    stats, _ = _stats(ant, 3, n=100, k=96)
    for arch in (ant, replace(ant, idle_pes="charged")):
        e = cost.energy(stats, arch)
        assert e.total_pj == pytest.approx(sum(e.breakdown.values()))
        assert e.assumptions["idle_pes"]["mode"] == arch.idle_pes and e.assumptions["idle_pes"]["source"]
    assert cost.energy(stats, replace(ant, idle_pes="charged")).breakdown["logic_leakage"] == 0.0


def test_the_paper_presets_keep_their_convention_and_a_bad_value_is_an_input_error():
    assert load("bitmod-iso-ant-decode").idle_pes == "charged" and load("mixpe-paper-w4a8").idle_pes == "charged"
    assert load("lut-tc-28nm").idle_pes == "gated"
    d = load("ant-28nm").to_dict()
    d["idle_pes"] = "sometimes"
    with pytest.raises(InputError) as exc:
        from_dict(d)
    assert exc.value.field == "arch.idle_pes" and "gated" in exc.value.allowed
