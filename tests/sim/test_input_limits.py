"""Arch fields have a type, range and unit (sim/arch/fields.py); user files have size, alias and depth caps."""

import math

import pytest

from sim import arch
from sim.arch import fields
from sim.errors import InputError
from sim.userfile import MAX_BYTES, read_user_file


def test_every_preset_is_inside_the_field_table():
    for name in arch.names():
        arch.load(name)


@pytest.mark.parametrize("value", [math.nan, math.inf, 1e30, 10**30, -1, "3", True, [1]])
def test_a_bad_dram_bandwidth_names_field_value_and_range(value):
    d = arch.load("lut-tc-28nm").to_dict()
    d["dram"]["bandwidth"] = value
    with pytest.raises(InputError) as exc:
        arch.from_dict(d)
    assert exc.value.field == "arch.dram.bandwidth" and "bits/cycle" in exc.value.allowed
    assert repr(value)[:20] in str(exc.value)


def test_schema_keys_cover_list_items_and_vector_ops():
    assert fields.schema_key("arch.buffers[3].capacity") == "buffers[].capacity"
    assert fields.schema_key("arch.vector.ops_per_cycle.rope") == "vector.ops_per_cycle.*"
    assert fields.lookup("arch.pe.tile[2]").unit == "elements"


def test_a_yaml_alias_bomb_is_refused(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    lines.append("name: *a8")
    f = tmp_path / "bomb.yaml"
    f.write_text("\n".join(lines))
    with pytest.raises(InputError, match="aliases expand"):
        read_user_file(f, "ARCH")


@pytest.mark.parametrize("text,match", [("[" * 100_000 + "]" * 100_000, "nest"), ("x: \xff", "UTF-8")])
def test_deep_nesting_and_non_utf8_are_refused(tmp_path, text, match):
    f = tmp_path / "f.yaml"
    f.write_bytes(text.encode("latin-1"))
    with pytest.raises(InputError, match=match) as exc:
        read_user_file(f, "ARCH")
    assert exc.value.field == "ARCH"


def test_an_oversized_file_is_refused_before_parsing(tmp_path):
    f = tmp_path / "big.yaml"
    f.write_bytes(b"#" * (MAX_BYTES["yaml"] + 1))
    with pytest.raises(InputError, match="larger than"):
        read_user_file(f, "ARCH")


def test_shared_aliases_within_the_cap_load():
    import yaml

    from sim.userfile import _yaml

    doc = "base: &b {x: 1}\nuse: [*b, *b]\n"
    assert _yaml(doc) == yaml.safe_load(doc)
