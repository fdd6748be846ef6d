import pytest

from sim import formats
from sim.errors import InputError
from workloads.recipes import (
    TensorFormat,
    bits_per_element,
    format_names,
    get_recipe,
    load_recipe,
    names,
    recipe_from_bits,
)

REQUIRED = ["fp16", "w8a8", "w4a16-g128", "w3a16-g128", "w2a16-g64", "w1.58a8", "w4a8kv4", "w4a4", "mxfp4", "nvfp4",
            "bitmod-lossy", "bitmod-lossless", "any4"]


def test_all_named_recipes_load():
    assert set(REQUIRED) <= set(names())
    for n in REQUIRED:
        r = get_recipe(n)
        assert r.name == n and r.source
        for cls in ("weights", "activations", "kv_cache", "lm_head"):
            assert getattr(r, cls).bits > 0


@pytest.mark.parametrize("name", formats.names())
@pytest.mark.parametrize("g", [None, 16, 32, 64, 128])
def test_bits_are_the_registered_formats_own(name, g):
    assert bits_per_element(name, g) == formats.get(name).bits_per_element(g)


def test_recipe_formats_are_sim_formats_names():
    assert format_names() == formats.all_names()
    assert set(formats.names()) <= set(format_names())


def test_unknown_format_is_an_error_not_a_default():
    with pytest.raises(InputError, match="unknown format 'int99'"):
        TensorFormat("int99")
    with pytest.raises(InputError, match="unknown format"):
        bits_per_element("no_such_format")


@pytest.mark.parametrize("name,g,bits", [
    ("mxfp4", None, 4.25),        # OCP MX v1.0: 4 + 8/32 (docs/references.md#baselines)
    ("nvfp4", None, 4.5),         # NVFP4: 4 + 8/16 (docs/references.md#baselines)
    ("bitmod_fp3", 128, 3.0625),  # BitMoD (docs/references.md#bitmod)
    ("bitmod_fp4", 128, 4.0625),
    ("bitmod_int6", 128, 6.0625),
    ("int4_asym", 128, 4 + 20 / 128),
    ("fp16", None, 16.0),
])
def test_cited_bits(name, g, bits):
    assert bits_per_element(name, g) == bits


def test_recipe_bits():
    r = get_recipe("w4a8kv4")
    assert (r.weights.bits, r.activations.bits, r.kv_cache.bits, r.lm_head.bits) == (4 + 20 / 128, 8, 4 + 20 / 128, 16)
    assert get_recipe("W8A8").weights.bits == 8.0


def test_recipe_from_yaml(tmp_path):
    p = tmp_path / "mine.yaml"
    p.write_text("weights: {format: int3, group_size: 64}\nactivations: fp16\nkv_cache: {format: int8}\n")
    r = get_recipe(str(p))
    assert r.name == "mine" and r.weights.bits == 3 + 16 / 64 and r.lm_head.format == "fp16"
    assert load_recipe(p) == r


@pytest.mark.parametrize("text,match", [
    ("weights: {format: int33}\nactivations: fp16\nkv_cache: fp16\n", "int33"),
    ("weights: {format: int4, group_size: 0}\nactivations: fp16\nkv_cache: fp16\n", "group_size"),
    ("weights: int4\nactivations: fp16\n", "kv_cache"),
    ("weights: int4\nactivations: fp16\nkv_cache: fp16\nbias: fp16\n", "bias"),
    ("weights: [int4\n", "YAML"),
])
def test_bad_recipe_yaml(tmp_path, text, match):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(InputError, match=match):
        load_recipe(p)


def test_unknown_recipe_lists_names():
    with pytest.raises(InputError, match="w4a16-g128"):
        get_recipe("w5a5")


def test_recipe_from_bits():
    r = recipe_from_bits(4, 16, 8)
    assert (r.weights.format, r.activations.format, r.kv_cache.format) == ("int4", "fp16", "int8")
    with pytest.raises(InputError, match="w-bits"):
        recipe_from_bits(5.5, 16, 16)
