"""The mapper (compiler.search): dataflow × mapping × tile per GEMM, bounded and deterministic; what it picks
reaches the engine exactly (the array instruction's ``map``), and an arch that pins a dataflow keeps it."""

from __future__ import annotations

import numpy as np
import pytest

from compiler import search
from compiler.specs import GemmSpec
from lutsim.api import apply_params
from lutsim.commands.gemm import random_activations
from sim import arch, engine, formats, isa
from sim import pe as pe_registry
from sim.arch import ARRAY_OPCODES
from sim.errors import InputError


def _spec(m, n, k, weights="flint4", acts="int8", group=None, w_bytes=0.5, a_bytes=1.0) -> GemmSpec:
    return GemmSpec(m=m, n=n, k=k, weights=weights, acts=acts, group=group, w_bytes=w_bytes, a_bytes=a_bytes,
                    out_bytes=2.0, quantize_out=False)


def _arrays(program):
    return [ins for ins in program.instrs if ins.op in ARRAY_OPCODES]


@pytest.mark.parametrize("preset,spec", [
    ("ant-28nm", _spec(1, 4096, 4096)),
    ("olive-28nm", _spec(1, 4096, 4096, weights="olive4")),
    ("mixpe-w4a16-28nm", _spec(1, 4096, 4096, weights="int4_asym", acts="fp16", group=128, a_bytes=2.0)),
])
def test_a_decode_gemv_on_an_output_stationary_grid_uses_the_whole_grid(preset, spec):
    a = arch.load(preset)
    found = search.search(spec, a)
    assert found.tile.mapping == "nn"
    assert {ins["map"] for ins in _arrays(found.program)} == {"os-nn"}
    other = search.runner_up(found.log)
    assert other is not None and other["mapping"] != "nn" and other["simulated"] > found.stats.cycles
    # on the DRAM roof: the weights at the DRAM bandwidth take at least 90 % of the GEMM's cycles
    assert spec.n * spec.k * spec.w_bytes * 8 / a.dram.bandwidth >= 0.9 * found.stats.cycles


def test_the_search_is_deterministic_and_bounded():
    a = arch.load("ant-28nm")
    spec = _spec(7, 1000, 512)
    first, again = search.search(spec, a), search.search(spec, a)
    assert first.tile == again.tile and first.log == again.log
    assert len(first.log) <= search.SIMULATED + 1
    assert sum(x["chosen"] for x in first.log if "chosen" in x) == 1
    assert first.stats.cycles == min(x["simulated"] for x in first.log)


def test_mac_arrays_choose_among_their_dataflows_and_a_pinned_one_stays():
    a = arch.load("fp16-mac-28nm")
    assert search.choices(a) == [(d, None) for d in pe_registry.get("fp16-mac").dataflows]
    pinned = arch.from_dict(apply_params(a.to_dict(), {"pe.dataflow": "ws"}))
    assert search.choices(pinned) == [(None, None)]
    found = search.search(_spec(3, 200, 64, weights="fp16", acts="fp16", w_bytes=2.0, a_bytes=2.0), pinned)
    assert {ins["map"] for ins in _arrays(found.program)} == {"arch"}
    assert search.runner_up(found.log) is None


def test_a_pinned_mapping_stays_and_a_pe_without_choices_has_none():
    a = arch.load("ant-28nm")
    pinned = arch.from_dict(apply_params(a.to_dict(), {"pe.mapping": "nm"}))
    assert search.choices(pinned) == [(None, None)]
    assert search.choices(arch.load("lut-tc-28nm")) == [(None, None)]
    assert search.choices(a) == [("os", m) for m in ("nm", "mn", "nn")]


@pytest.mark.parametrize("field,value,allowed", [("dataflow", "ws", "os"), ("dataflow", "xy", "os"),
                                                 ("mapping", "nn", "(none")])
def test_the_arch_spec_checks_dataflow_and_mapping_against_the_pe(field, value, allowed):
    d = arch.load("ant-28nm" if field == "dataflow" else "lut-tc-28nm").to_dict()
    d["pe"][field] = value
    with pytest.raises(InputError) as exc:
        arch.from_dict(d)
    assert exc.value.field == f"arch.pe.{field}" and exc.value.allowed.startswith(allowed)


@pytest.mark.parametrize("pe_type,array,weights,acts,map_", [
    ("ant", (4, 3), "int4", "int8", "os-nn"), ("ant", (4, 3), "int4", "int8", "os-mn"),
    ("mixpe", (3, 4), "int4", "int8", "os-nn"), ("bitmod", (4, 2), "int4", "fp16", "os-nn"),
    ("fp16-mac", (4, 3), "fp16", "fp16", "is"), ("int8-systolic", (3, 5), "int4", "int8", "ws"),
])
def test_an_array_instruction_runs_in_the_per_cycle_cycles_of_its_mapping(pe_type, array, weights, acts, map_):
    """programs.run's timing of an array instruction with ``map`` equals the per-cycle PE model, outputs exact."""
    preset = {"ant": "ant-28nm", "mixpe": "mixpe-w4a8-28nm", "bitmod": "bitmod-28nm", "fp16-mac": "fp16-mac-28nm",
              "int8-systolic": "int8-systolic-28nm"}[pe_type]
    a = arch.from_dict(apply_params(arch.load(preset).to_dict(), {"pe.array": list(array)}))
    a = arch.from_dict({**a.to_dict(), "pe": {k: v for k, v in a.to_dict()["pe"].items() if k != "dataflow"}})
    m, n, k, g = 2, 29, 64, 32
    prog = isa.Program(arch=a.name)
    prog.add(a.pe.opcode, m=m, n=n, k=k, weights=weights, acts=acts, group=g, map=map_)
    stats = engine.run(prog, a)
    model = pe_registry.get(pe_type)
    config = model.resolve(pe_registry.config_of(a.pe.config(), map_))
    rng = np.random.default_rng(0)
    problem = pe_registry.GemmProblem(m, n, k, weights, acts, g)
    qw = formats.get(weights).quantize(rng.standard_t(4, size=(n, k)), g)
    act = random_activations(acts, m, k, rng)
    res = model.run(problem, config, "per-cycle", act, qw)
    assert stats.cycles == res.cycles
    np.testing.assert_array_equal(res.out, model.expected(problem, config, act, qw))


def test_a_map_the_pe_does_not_take_is_an_input_error_naming_the_instruction():
    a = arch.load("lut-tc-28nm")
    prog = isa.Program(arch=a.name)
    prog.add("LMMA", m=2, n=64, k=64, weights="int4", acts="int8", map="os-nn")
    with pytest.raises(InputError) as exc:
        engine.run(prog, a)
    assert exc.value.field.startswith("instr[0]") and exc.value.field.endswith("mapping")
