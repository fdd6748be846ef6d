"""Every DRAM constant shipped (memory presets and arch presets) lies inside the cited physical range of
``sim/cost/data/dram.yaml``; a memory file outside it is refused with the field named."""

import pytest
import yaml

from sim import arch
from sim.arch import memory
from sim.errors import InputError


def _inside(key: str, value: float) -> bool:
    r = memory.ranges()[key]
    return r["min"] <= value <= r["max"]


def test_the_ranges_cite_their_sources():
    for key in ("pj_per_bit", "gb_per_s"):
        r = memory.ranges()[key]
        assert 0 < r["min"] < r["max"] and "docs/references.md" in r["source"]


@pytest.mark.parametrize("name", memory.names())
def test_memory_presets_are_inside_the_range(name):
    m = memory.load(name)
    assert _inside("pj_per_bit", m.pj_per_bit) and _inside("gb_per_s", m.gb_per_s)
    assert m.pj_source and m.sources


@pytest.mark.parametrize("name", arch.names())
def test_arch_presets_dram_is_inside_the_range(name):
    a = arch.load(name)
    gb_per_s = a.dram.bandwidth * a.clock_mhz * 1e6 / 8e9
    assert _inside("pj_per_bit", a.dram.pj_per_bit) and _inside("pj_per_bit", a.dram.write_pj_per_bit)
    assert _inside("gb_per_s", gb_per_s), (name, gb_per_s)


def test_a_memory_file_outside_the_range_is_refused(tmp_path):
    d = yaml.safe_load((memory.PRESET_DIR / "bitmod.yaml").read_text())
    d["dram"]["pj_per_bit"] = 0.01
    p = tmp_path / "m.yaml"
    p.write_text(yaml.safe_dump(d))
    with pytest.raises(InputError, match=r"pj_per_bit.*outside the physical range"):
        memory.load(p)


def test_apply_sets_clock_dram_and_named_buffers_only():
    lut = arch.load("lut-tc-28nm")
    m = memory.load("mixpe-paper")
    a = memory.apply(lut, m)
    assert (a.clock_mhz, a.dram.bandwidth, a.dram.pj_per_bit, a.dram.write_pj_per_bit, a.dram.static_mw) == (
        500, 1024, 0.63, 0.77, 485)
    assert a.dram.latency == 100  # 200 ns at 500 MHz
    assert a.buffer("wbuf").capacity == 128 * 1024 and a.buffer("abuf").capacity == 256 * 1024
    assert a.buffer("tbuf") == lut.buffer("tbuf")  # the LUT unit's own buffer is the design's
    assert memory.load("hbm2e").bandwidth_bits_per_cycle() == round(460.8 * 8)
