"""The compiler's own tile search on lut-tc-rtl-small gives programs the RTL array's assembler
(rtl/tools/array_program.py) accepts unchanged: every tile's tables fit tbuf as the RTL holds them
(``table_unit.streamed: false``) and every transfer is whole 32-bit port words (``dram.aligned``: a KV-quantized
output's packed rows then make its tiles whole rows, one KV group each on pythia-14m's v_proj). Each of the two
arch fields is needed: without it the search picks a tile that the assembler refuses."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import gemm, search
from compiler.specs import GemmSpec
from rtl.gateware.array_params import from_arch
from rtl.tools.array_program import assemble, kv_stream_bits
from sim import arch as arch_registry
from sim import formats
from sim.errors import InputError

PRESET = "lut-tc-rtl-small"
BIG = dict(max_instrs=4096, dram_words=1 << 20)  # the assembler's own limits are the design's, not the program's


def _spec(m, n, k, weights="int4_asym", group=128, bias=False, kv=False) -> GemmSpec:
    fmt = formats.get(weights)
    return GemmSpec(m=m, n=n, k=k, weights=weights, acts="int8", group=group, a_bytes=1,
                    w_bytes=(fmt.code_bits + fmt.metadata_bits_per_group() / group) / 8,
                    out_bytes=kv_stream_bits(1, n) / (8 * n) if kv else 2, quantize_out=kv,
                    bias_bytes=2 * n if bias else 0)


def _arch(**changes):
    d = arch_registry.load(PRESET).to_dict()
    for path, value in changes.items():
        unit, key = path.split("__")
        d[unit] = {**d[unit], key: value}
    return arch_registry.from_dict(d)


def _assembles(spec: GemmSpec, arch) -> gemm.Tile:
    found = search.search(spec, arch)
    assemble(found.program, arch, from_arch(arch, **BIG))
    return found.tile


# pythia-14m's layers under w4a8kv4 at 8 tokens (tests/rtl/array_case.layer_cases): q/k/out_proj, v_proj with
# its KV quantize, fc1, fc2
LAYERS = {"q_proj": _spec(8, 128, 128, bias=True), "v_proj": _spec(8, 128, 128, bias=True, kv=True),
          "fc1": _spec(8, 512, 128, bias=True), "fc2": _spec(8, 128, 512, bias=True)}


@pytest.mark.parametrize("name", LAYERS)
def test_the_layers_own_tiles_assemble(name):
    tile = _assembles(LAYERS[name], arch_registry.load(PRESET))
    if name == "v_proj":
        assert tile.nt == 128


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mb=st.integers(1, 8), nb=st.integers(1, 8), kg=st.integers(1, 6), bits=st.sampled_from([2, 3, 4]),
       group=st.sampled_from([8, 16, 32, 64, 128]), bias=st.booleans(), kv=st.booleans())
def test_random_gemms_assemble(mb, nb, kg, bits, group, bias, kv):
    """Whole-unit GEMMs (M a multiple of 2, N of 16, K of the group); KV-quantized ones one group of 128 wide."""
    arch = arch_registry.load(PRESET)
    n = 128 if kv else 16 * nb
    spec = _spec(2 * mb, n, group * kg, weights=f"int{bits}", group=group, bias=bias, kv=kv)
    try:
        found = search.search(spec, arch)
    except InputError as exc:  # only a GEMM that no tile fits may be refused, and by the search itself
        assert exc.field == "arch.buffers", exc
        return
    if not gemm.word_aligned(spec, arch, found.tile):  # none of its tiles is: the assembler refuses, saying why
        with pytest.raises(InputError):
            assemble(found.program, arch, from_arch(arch, **BIG))
        return
    assemble(found.program, arch, from_arch(arch, **BIG))


@pytest.mark.parametrize("name, field, value", [("q_proj", "table_unit__streamed", True),
                                                ("fc1", "table_unit__streamed", True),
                                                ("fc2", "dram__aligned", False)])
def test_each_field_is_needed(name, field, value):
    with pytest.raises(InputError):
        _assembles(LAYERS[name], _arch(**{field: value}))


def test_a_gemm_without_aligned_tiles_still_compiles():
    """Llama-2-7B's 4096-wide int4 g128 rows on this preset: K-slices of 66.5·j B, whole words only at K = 1024,
    which abuf and tbuf cannot hold; the search takes an unaligned tile (the engine times it)."""
    arch = arch_registry.load(PRESET)
    spec = _spec(4, 4096, 4096)
    found = search.search(spec, arch)
    assert not gemm.word_aligned(spec, arch, found.tile)
    with pytest.raises(InputError, match="port word"):
        assemble(found.program, arch, from_arch(arch, max_instrs=1 << 16, dram_words=1 << 24))
