"""Every choice the compiler's mapper can make (each PE × each of its dataflows × each of its mappings) is exact:
per-cycle outputs equal the PE's ``expected`` bit for bit, and per-cycle cycles equal the tile model's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lutsim.commands.gemm import random_activations
from sim import formats, pe
from sim.errors import InputError
from sim.pe import GemmProblem, PEConfig
from sim.pe.base import ACTIVE_EVENT, kernel_array

SHIPPED = [name for name in pe.names() if not name.startswith("test")]


def choices(name: str) -> list[tuple[str | None, str | None]]:
    """(dataflow, mapping) pairs the mapper may pick for PE ``name`` (None: the PE reads no such field)."""
    model = pe.get(name)
    return [(d, m) for d in model.dataflows for m in (model.mappings or (None,))]


CASES = [(name, d, m) for name in SHIPPED for d, m in choices(name)]


@st.composite
def problems(draw, name):
    model = pe.get(name)
    weights = draw(st.sampled_from(model.weight_formats))
    acts = draw(st.sampled_from(model.act_formats))
    g = draw(st.sampled_from([4, 8, 16]))
    k = g * draw(st.integers(1, 3))
    m, n = draw(st.integers(1, 6)), draw(st.integers(1, 9))
    array = None if model.resolve(None).tile else (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    return GemmProblem(m, n, k, weights, acts, g), array, draw(st.integers(0, 2**32 - 1))


@pytest.mark.parametrize("name,dataflow,mapping", CASES)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_every_mapping_is_exact_and_tile_equals_per_cycle(name, dataflow, mapping, data):
    problem, array, seed = data.draw(problems(name))
    model = pe.get(name)
    config = model.resolve(PEConfig(array=array, dataflow=dataflow, mapping=mapping))
    try:
        model.check(problem, config)
    except InputError:
        assume(False)  # a format pair or group this PE does not take
    rng = np.random.default_rng(seed)
    qw = formats.get(problem.weights).quantize(rng.standard_t(4, size=(problem.n, problem.k)), problem.group_size)
    a = random_activations(problem.acts, problem.m, problem.k, rng)
    try:
        res = model.run(problem, config, "per-cycle", a, qw)
    except InputError:
        assume(False)  # operands this PE rejects (e.g. a per-tensor scale)
    want = model.expected(problem, config, a, qw)
    np.testing.assert_array_equal(res.out, want)
    tile = pe.tile_cycles(name, config, problem)
    assert res.cycles == tile.cycles
    assert model.run(problem, config, "tile").cycles == tile.cycles
    # PE-cycles of useful work: the per-cycle machine's count equals the tile model's, and edge tiles leave PEs idle
    active = tile.events[ACTIVE_EVENT]
    assert res.events[ACTIVE_EVENT] == active
    lanes = model.active_lanes(config)
    slots = tile.cycles * lanes * (config.array[0] * config.array[1] if config.array else 1)
    assert 0 < active <= slots


def test_every_output_stationary_grid_offers_the_gemv_mapping():
    """The decode GEMV (M = 1) can use the whole grid on every PE with a choice of mapping."""
    for name in SHIPPED:
        model = pe.get(name)
        if model.mappings:
            assert "nn" in model.mappings and model.mapping_source
            problem = GemmProblem(1, 4096, 256, model.weight_formats[0], model.act_formats[0], 128)
            config = model.resolve(PEConfig(array=(8, 8)))
            native = pe.tile_cycles(name, config, problem).cycles
            flat = pe.tile_cycles(name, PEConfig(array=(8, 8), mapping="nn"), problem).cycles
            assert flat * 3 < native, name  # 64 outputs per fold instead of 8 (less the longer fill)


def test_kernel_array_of_each_mapping():
    assert kernel_array((4, 3), "nm", "n") == (4, 3)
    assert kernel_array((4, 3), "mn", "n") == (3, 4)
    assert kernel_array((4, 3), "mn", "m") == (4, 3)
    assert kernel_array((4, 3), "nn", "n") == (12, 1)
    assert kernel_array((4, 3), "nn", "m") == (1, 12)


def test_a_mapping_the_pe_does_not_offer_names_the_field():
    with pytest.raises(InputError) as exc:
        pe.tile_cycles("lut-tc", PEConfig(mapping="nn"), GemmProblem(2, 64, 64, "int4", "int8"))
    assert exc.value.field == "--mapping"
