"""sim.formats.storage: every format's bits and GPU family come from the format itself (one source)."""

import pytest

from sim import formats
from sim.formats.base import FAMILIES, FormatError


@pytest.mark.parametrize("name", formats.names())
def test_every_registered_format_states_its_family(name):
    f = formats.get(name)
    s = formats.storage(name)
    assert s.family == f.family and s.family in FAMILIES
    assert (s.code_bits, s.group_bits, s.default_group) == (f.code_bits, f.metadata_bits_per_group(),
                                                            f.default_group_size)


@pytest.mark.parametrize("name,family", [
    ("fp16", "float"), ("bf16", "float"), ("fp32", "float"), ("int4", "int"), ("int8_asym", "int"),
    ("ternary", "int"), ("mxint8", "int"), ("fp8_e4m3", "fp8"), ("mxfp6_e2m3", "fp8"), ("mxfp8_e5m2", "fp8"),
    ("mxfp4", "fp4"), ("nvfp4", "fp4"), ("fp4_e2m1", "fp4"), ("bitmod_fp4", "codebook"), ("any4", "codebook"),
    ("nf4", "codebook"), ("flint4", "codebook"), ("olive4", "codebook"), ("bitmod_int6", "int"),
])
def test_family(name, family):
    assert formats.storage(name).family == family


def test_storage_only_formats_are_not_quantizers():
    assert set(formats.STORAGE_ONLY).isdisjoint(formats.names())
    assert set(formats.all_names()) == set(formats.names()) | set(formats.STORAGE_ONLY)
    assert formats.storage("bitmod_int6").bits_per_element(None) == 6.0625  # BitMoD, arXiv 2411.11745


def test_unknown_format_raises():
    with pytest.raises(FormatError, match="unknown format 'int99'"):
        formats.storage("int99")


def test_a_format_without_a_family_is_refused():
    class NoFamily(formats.Format):
        name, code_bits = "nofam", 4

        def quantize(self, x, group_size=None, axis=-1, per_tensor=False):
            raise NotImplementedError

        def decode(self, codes, tags=None):
            raise NotImplementedError

    with pytest.raises(FormatError, match="states no GPU family"):
        formats.storage_of(NoFamily())
