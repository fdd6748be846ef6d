"""RTL ≡ model at volume: ≥ 10,000 random vectors per PE through one Verilator build each (the C++ streaming
testbench of tests/hdl/verilator_stream.py), every result and the edge it appears at equal to the Python
model's (tests/hdl/volume_cases.py). Each test records "N vectors, R results, C cycles compared" (printed
with ``-s`` and in the terminal summary, tests/conftest.py). A missing Verilator skips with its install
command unless $REQUIRE_SIMS names it; then the test fails (tests/hdl/test_hdl.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.hdl import verilator_stream, volume_cases
from tests.hdl.test_hdl import _need

VOLUME = 10_000   # vectors per PE (issue 18)


def _compare(name: str, stream, case, strobe: str, record_property) -> None:
    rec = stream.run(case.vectors, case.side, case.tail)
    hit = rec[strobe][:, 0] != 0 if strobe in rec else np.ones(len(rec["edge"]), bool)
    edges = rec["edge"][hit]
    assert len(edges) == len(case.edges), f"{name}: {len(edges)} results, model {len(case.edges)}"
    bad = np.flatnonzero(edges != case.edges)
    assert not len(bad), f"{name}: result {bad[0]} at edge {edges[bad[0]]}, model {case.edges[bad[0]]}"
    for port, want in case.expect.items():
        want = want.reshape(len(want), -1)
        got = verilator_stream.unpack_words(rec[port][hit], stream.outputs[port] // want.shape[1], want.shape[1],
                                            signed=case.signed.get(port, False))
        bad = np.flatnonzero((got != want).any(axis=1))
        assert not len(bad), f"{name}: {port} of result {bad[0]}: RTL {got[bad[0]][:8]}, model {want[bad[0]][:8]}"
    line = (f"{name}: {case.vectors_n} vectors, {len(edges)} results, {stream.edges} cycles compared "
            f"(build {stream.build_s:.0f} s)")
    print("volume", line)
    record_property("volume", line)
    assert case.vectors_n >= VOLUME


@pytest.fixture
def verilator():
    _need("verilator")


LUT_TC = {"int8-m2n64k4": ("lut-tc", {}, {"m": 2, "n": 64, "k": 4}),
          "fp16-m2n8k4": ("lut-tc-fp16", {"n": 8}, {"m": 2, "n": 8, "k": 4, "mode": "fp16"})}


@pytest.mark.parametrize("label", list(LUT_TC))
def test_lut_tc_volume(label, verilator, tmp_path, record_property):
    """Back-to-back tiles of random 1..8 planes; psum_in junk between starts."""
    design, params, shape = LUT_TC[label]
    case = volume_cases.lut_tc_case(np.random.default_rng(18), VOLUME, **shape)
    stream = verilator_stream.build(design, tmp_path, record=("valid",), **params)
    _compare(f"lut-tc {label}", stream, case, "valid", record_property)


@pytest.mark.parametrize("mode", ["int", "fp16"])
def test_table_precompute_volume(mode, verilator, tmp_path, record_property):
    case = volume_cases.table_precompute_case(np.random.default_rng(19), VOLUME, 4, mode)
    design = "table-precompute" if mode == "int" else "table-precompute-fp16"
    stream = verilator_stream.build(design, tmp_path, record=("o__valid",))
    _compare(f"table-precompute {mode}", stream, case, "o__valid", record_property)


@pytest.mark.parametrize("weights", ["bitmod_fp4", "int8"])
def test_bitmod_volume(weights, verilator, tmp_path, record_property):
    """Folds of random GEMM shapes; lane steps held until in_ready; every group's dequant output too."""
    case = volume_cases.bitmod_case(np.random.default_rng(20), weights, VOLUME)
    is_bitmod = weights.startswith("bitmod")
    stream = verilator_stream.build("bitmod", tmp_path, record=("d_valid", "out_valid"), advance="in_ready",
                                    side=("chan",) if is_bitmod else (), side_next="out_valid", weights=weights)
    rec = stream.run(case.vectors, case.side, case.tail)
    dv = rec["d_valid"][:, 0] != 0
    d = verilator_stream.unpack_words(rec["d"][dv], stream.outputs["d"], 1, signed=True)[:, 0]
    e = verilator_stream.unpack_words(rec["d_exp"][dv], stream.outputs["d_exp"], 1, signed=True)[:, 0]
    assert np.array_equal(np.ldexp(d.astype(np.float64), e), case.group_values), "group dequant outputs differ"
    _compare(f"bitmod {weights}", stream, case, "out_valid", record_property)


MIXPE = [("int4", "int8", 16), ("int4_asym", "fp16", 12)]


@pytest.mark.parametrize("weights,acts,max_group", MIXPE)
def test_mixpe_volume(weights, acts, max_group, verilator, tmp_path, record_property):
    case = volume_cases.mixpe_case(np.random.default_rng(21), weights, acts, VOLUME, max_group)
    stream = verilator_stream.build("mixpe", tmp_path, record=("out_valid",), weights=weights, acts=acts,
                                    max_group=max_group)
    _compare(f"mixpe {weights} {acts}", stream, case, "out_valid", record_property)


MAC = {"mac-int8": {"k": 1}, "mac-dp4": {"k": 4}, "mac-fp16-int8": {"k": 1, "mode": "fp16"}}


@pytest.mark.parametrize("design", list(MAC))
def test_mac_volume(design, verilator, tmp_path, record_property):
    """One accumulator value per edge (en / clear random)."""
    case = volume_cases.mac_case(np.random.default_rng(22), VOLUME, **MAC[design])
    stream = verilator_stream.build(design, tmp_path, record=())
    _compare(design, stream, case, "", record_property)


@pytest.mark.parametrize("width,count", [(1, 64), (3, 8), (10, 16), (16, 3), (21, 1), (32, 128), (12, 5)])
def test_port_words_round_trip(width, count):
    """pack_words / unpack_words (no simulator): two's complement in, the same values out, element 0 lowest."""
    rng = np.random.default_rng(width * count)
    v = rng.integers(-(1 << (width - 1)), 1 << (width - 1), size=(50, count))
    v[0] = -(1 << (width - 1))
    words = verilator_stream.pack_words(v, width)
    assert words.shape == (50, -(-width * count // 32))
    assert np.array_equal(verilator_stream.unpack_words(words, width, count, signed=True), v)
    assert int(words[1, 0]) & ((1 << min(width, 32)) - 1) == int(v[1, 0]) & ((1 << min(width, 32)) - 1)
