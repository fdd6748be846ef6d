"""sim.pe.tile_cycles: the one tile-timing entry of the compiler and the engine."""

from __future__ import annotations

import pytest

from sim import pe
from sim.errors import InputError
from sim.pe import GemmProblem, PEConfig


@pytest.mark.parametrize("name,problem", [
    ("lut-tc", GemmProblem(2, 64, 256, "int2", "int8")),
    ("int8-systolic", GemmProblem(33, 70, 96, "int4", "int8", 32)),
    ("bitmod", GemmProblem(16, 40, 128, "bitmod_fp4", "fp16")),
    ("mixpe", GemmProblem(8, 64, 128, "int4", "int8", 64)),
    ("bitfusion", GemmProblem(5, 17, 64, "int2", "int8")),
])
def test_is_the_pe_tile_model(name, problem):
    model = pe.get(name)
    res = model.run(problem, model.resolve(None), "tile")
    t = pe.tile_cycles(name, None, problem)
    assert t.cycles == res.cycles and dict(t.events) == res.events


def test_equal_configs_share_one_entry_and_results_are_read_only():
    problem = GemmProblem(2, 64, 64, "int4", "fp16")
    a = pe.tile_cycles("lut-tc", PEConfig(tile=(2, 64, 4), options={"table_quant": True}), problem)
    b = pe.tile_cycles("lut-tc", PEConfig(tile=(2, 64, 4), options={"table_quant": True}), problem)
    assert a is b  # options are compared by value, not by identity
    c = pe.tile_cycles("lut-tc", PEConfig(tile=(2, 32, 4), options={"table_quant": True}), problem)
    assert c.cycles != a.cycles
    with pytest.raises(TypeError):
        a.events["lookups"] = 0


def test_the_cache_is_bounded():
    assert pe._timed.cache_info().maxsize == pe.TILE_CACHE_SIZE


def test_an_unsupported_problem_is_the_pe_check_error():
    with pytest.raises(InputError) as exc:
        pe.tile_cycles("int8-systolic", None, GemmProblem(2, 2, 64, "fp16", "int8"))
    assert exc.value.field == "--weights"
