import pytest

from sim import arch
from sim.errors import InputError
from tests.sim.helpers import lut_arch_dict

ISSUE_PRESETS = ["lut-tc-28nm", "bitmod-28nm", "mixpe-w4a8-28nm", "mixpe-w4a16-28nm", "fp16-mac-28nm",
                 "int8-systolic-28nm", "ant-28nm", "olive-28nm", "bitfusion-45nm"]


@pytest.mark.parametrize("name", arch.names())
def test_every_preset_loads_and_round_trips_through_to_dict(name):
    a = arch.load(name)
    assert a.name == name
    assert a.sources, "every preset cites its sources"
    assert arch.from_dict(a.to_dict()) == a


def test_issue_presets_and_bitmod_iso_area_configs_are_shipped():
    names = arch.names()
    for n in ISSUE_PRESETS:
        assert n in names
    # BitMoD iso-area arrays (docs/references.md#bitmod table): prefill / decode
    expect = {"fp16": ((32, 24), (64, 12)), "ant": ((32, 32), (64, 16)), "olive": ((36, 32), (72, 16)),
              "bitmod": ((32, 32), (64, 16))}
    for design, (pre, dec) in expect.items():
        assert arch.load(f"bitmod-iso-{design}-prefill").pe.array == pre
        assert arch.load(f"bitmod-iso-{design}-decode").pe.array == dec


def test_lut_preset_uses_m2n64k4_units_and_sizes_parse():
    a = arch.load("lut-tc-28nm")
    assert a.pe.tile == (2, 64, 4) and a.pe.opcode == "LMMA"
    assert a.buffer("wbuf").capacity == 512 * 1024
    assert a.buffer("wbuf").bank_bytes == 8 * 1024


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.pop("clock_mhz"), "arch.clock_mhz"),
    (lambda d: d["buffers"][1].update(capacity=-5), "arch.buffers[1].capacity"),
    (lambda d: d["pe"].update(type="warp-drive"), "arch.pe.type"),
    (lambda d: d["dram"].update(bandwidth=0), "arch.dram.bandwidth"),
    (lambda d: d["vector"]["ops_per_cycle"].pop("softmax"), "arch.vector.ops_per_cycle.softmax"),
    (lambda d: d.update(colour="red"), "arch.colour"),
    (lambda d: d["buffers"][0].update(capacity="12 parsecs"), "arch.buffers[0].capacity"),
    (lambda d: d["buffers"][0].update(banks=3), "arch.buffers[0].banks"),
    (lambda d: d["pe"].update(tile=[2, 64]), "arch.pe.tile"),
])
def test_bad_specs_name_the_field(mutate, field, unit_pe):
    d = lut_arch_dict()
    mutate(d)
    with pytest.raises(InputError) as exc:
        arch.from_dict(d)
    assert exc.value.field == field


def test_unknown_pe_lists_allowed_names():
    d = arch.read_yaml(arch.PRESET_DIR / "bitmod-28nm.yaml")
    d["pe"]["type"] = "warp-drive"
    with pytest.raises(InputError, match="lut-tc"):
        arch.from_dict(d)


def test_unknown_preset_or_missing_file():
    with pytest.raises(InputError, match="no preset or file"):
        arch.load("no-such-arch")
    with pytest.raises(InputError, match="cannot read"):
        arch.load("/nonexistent/arch.yaml")


def test_dram_write_energy_and_pe_parameters_are_validated():
    a = arch.load("mixpe-w4a8-28nm")
    # docs/references.md#energy-and-area-constants
    assert (a.dram.pj_per_bit, a.dram.write_pj_per_bit, a.dram.static_mw) == (0.63, 0.77, 485)
    assert arch.load("bitmod-28nm").dram.write_pj_per_bit == 18.75
    d = arch.read_yaml(arch.PRESET_DIR / "int8-systolic-28nm.yaml")
    d["pe"]["dataflow"] = "diagonal"
    with pytest.raises(InputError) as exc:
        arch.from_dict(d)
    assert exc.value.field == "arch.pe.dataflow" and "os" in exc.value.allowed
