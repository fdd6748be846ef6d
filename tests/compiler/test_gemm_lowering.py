"""One GEMM, trace op → program: the compiled schedule keeps the PE busy (its compute time is the PE tile
model's), stays inside the buffers, and its instructions are valid ISA."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import gemm, search
from compiler.gemm import Tile
from compiler.specs import GemmSpec
from lutsim.api import apply_params
from sim import arch, engine, isa
from sim import pe as pe_registry
from sim.arch import ARRAY_OPCODES

FAST_DRAM = {"dram.bandwidth": 1 << 22, "dram.latency": 0}  # DRAM never the bottleneck

CASES = [  # (arch preset, weights, acts, group, w_bytes, a_bytes)
    ("lut-tc-28nm", "int4_asym", "fp16", 128, 4.15625 / 8, 2.0),
    ("lut-tc-28nm", "int2", "int8", None, 2 / 8, 1.0),
    ("ant-28nm", "int8", "int8", None, 1.0, 1.0),
    ("int8-systolic-28nm", "int4", "int8", None, 0.5, 1.0),
    ("fp16-mac-28nm", "fp16", "fp16", None, 2.0, 2.0),
]


def _arch(preset: str, **extra):
    return arch.from_dict(apply_params(arch.load(preset).to_dict(), {**FAST_DRAM, **extra}))


def _spec(weights, acts, group, w_bytes, a_bytes, m, n, k) -> GemmSpec:
    return GemmSpec(m=m, n=n, k=k, weights=weights, acts=acts, group=group, w_bytes=w_bytes, a_bytes=a_bytes,
                    out_bytes=2.0, quantize_out=False)


def _array_spans(stats, program):
    """(first array start, last array end, Σ array durations) over the array instructions."""
    idx = [i for i, ins in enumerate(program.instrs) if ins.op in ARRAY_OPCODES]
    busy = sum(stats.end[i] - stats.start[i] for i in idx)
    return min(stats.start[i] for i in idx), max(stats.end[i] for i in idx), busy


@pytest.mark.parametrize("preset,weights,acts,group,w_bytes,a_bytes", CASES)
def test_one_tile_gemm_takes_the_pe_tile_model_cycles(preset, weights, acts, group, w_bytes, a_bytes):
    a = _arch(preset, arrays=1)
    m, n, k = 8, 128, 256
    spec = _spec(weights, acts, group, w_bytes, a_bytes, m, n, k)
    program = gemm.emit(spec, a, Tile(m, n, k))
    stats = engine.run(program, a)
    model = pe_registry.get(a.pe.type)
    expected = model.run(pe_registry.GemmProblem(m, n, k, weights, acts, group), model.resolve(a.pe.config()),
                         "tile").cycles
    first, last, busy = _array_spans(stats, program)
    assert busy == expected == last - first
    assert stats.cycles >= expected


@settings(max_examples=10, deadline=None)
@given(m=st.integers(1, 40), n=st.integers(1, 300), kg=st.integers(1, 6), preset_i=st.integers(0, len(CASES) - 1),
       stationary=st.booleans())
def test_tiled_gemm_keeps_the_arrays_busy_with_fast_dram(m, n, kg, preset_i, stationary):
    preset, weights, acts, group, w_bytes, a_bytes = CASES[preset_i]
    a = _arch(preset, arrays=1)
    k = kg * (group or 64)
    spec = _spec(weights, acts, group, w_bytes, a_bytes, m, n, k)
    t = Tile(max(1, m // 2), max(1, n // 3), k // kg if kg > 1 else k, a_stationary=stationary)
    program = gemm.emit(spec, a, t)
    stats = engine.run(program, a)
    first, last, busy = _array_spans(stats, program)
    # the array never waits between its instructions: compute time = Σ PE tile-model cycles of the tiles
    assert last - first == busy
    model = pe_registry.get(a.pe.type)
    config = model.resolve(a.pe.config())
    tiles = [(mt, nt, kt) for _, mt in gemm._tiles(m, t.mt) for _, nt in gemm._tiles(n, t.nt)
             for _, kt in gemm._tiles(k, t.kt)]
    assert busy == sum(model.run(pe_registry.GemmProblem(*s, weights, acts, group), config, "tile").cycles
                       for s in tiles)


@pytest.mark.parametrize("preset,weights,acts,group,w_bytes,a_bytes", CASES[:3])
def test_searched_tile_fits_buffers_and_beats_bandwidth_floor(preset, weights, acts, group, w_bytes, a_bytes):
    a = arch.load(preset)
    spec = _spec(weights, acts, group, w_bytes, a_bytes, 64, 1024, 1024)
    found = search.search(spec, a)
    assert gemm.fits(spec, a, found.tile)
    for b in a.buffers:
        assert found.stats.peak_bytes[b.name] <= b.capacity
    floor = (spec.m * spec.k * a_bytes + spec.n * spec.k * w_bytes + spec.m * spec.n * 2) * 8 / a.dram.bandwidth
    assert found.stats.cycles >= floor
    assert found.stats.cycles == min(entry["simulated"] for entry in found.log)


def test_compiled_instructions_are_valid_isa():
    a = arch.load("lut-tc-28nm")
    spec = _spec("int4_asym", "fp16", 128, 4.15625 / 8, 2.0, 4, 256, 512)
    program = gemm.emit(spec, a, Tile(2, 128, 256, 1, 2))
    for i, ins in enumerate(program.instrs):
        remade = isa.make(ins.op, deps=ins.deps, alloc=ins.alloc, free=ins.free, rd=ins.rd, wr=ins.wr,
                          where=f"instr[{i}]", **dict(ins.args))
        assert remade == ins
    program.validate()
    assert isa.parse(isa.format(program)).instrs == program.instrs


def test_weight_bytes_cover_the_whole_matrix():
    a = arch.load("lut-tc-28nm")
    spec = _spec("int4_asym", "fp16", 128, 4.15625 / 8, 2.0, 3, 200, 384)
    program = gemm.emit(spec, a, Tile(2, 64, 128, 1, 1))
    loaded = sum(ins["bytes"] for ins in program.instrs if ins.op == "LOAD" and ins["buf"] == "wbuf")
    m_tiles = math.ceil(3 / 2)
    assert loaded >= spec.n * spec.k * spec.w_bytes * m_tiles
    assert loaded <= spec.n * spec.k * spec.w_bytes * m_tiles + 2 * math.ceil(200 / 64) * 3 * m_tiles


@pytest.mark.parametrize("preset,quant", [("lut-tc-28nm", "w4a16-g128"), ("int8-systolic-28nm", "w8a8"),
                                          ("bitmod-28nm", "bitmod-lossy")])
def test_trace_gemm_with_fast_dram_is_pe_cycles_plus_prologue_and_epilogue(preset, quant, tiny_model):
    """A trace's linear layer, compiled and run with DRAM out of the way: the arrays work back to back (their
    span is the PE tile model's cycles for the tiles), before them only the first step's loads and table
    precompute, after them only the last tile's epilogue and store."""
    import compiler
    from workloads.models import get_model
    from workloads.recipes import get_recipe
    from workloads.trace import build_trace

    a = _arch(preset)
    recipe = get_recipe(quant)
    trace = build_trace(get_model(tiny_model), recipe, "prefill", seq_len=64)
    op = next(o for o in trace.ops if o.name == "gate_proj")
    low = compiler.Compiler(a).lower(op, recipe)
    program, stats = low.program, low.stats
    dec = engine.decode(program, a)
    arrays = [i for i, ins in enumerate(program.instrs) if ins.op in ARRAY_OPCODES]
    first, last = arrays[0], arrays[-1]
    model = pe_registry.get(a.pe.type)
    config = model.resolve(a.pe.config())
    per_array = {}
    for i in arrays:
        ins = program.instrs[i]
        cyc = model.run(pe_registry.GemmProblem(ins["m"], ins["n"], ins["k"], ins["weights"], ins["acts"],
                                                ins["group"] or None), config, "tile").cycles
        assert stats.end[i] - stats.start[i] == cyc
        per_array[stats.unit[i]] = per_array.get(stats.unit[i], 0) + cyc
    span = max(stats.end[i] for i in arrays) - min(stats.start[i] for i in arrays)
    assert span == max(per_array.values())  # the busiest array never waits
    prologue = sum(int(dec.dur[i]) for i in range(first) if program.instrs[i].op in ("LOAD", "PRECOMPUTE"))
    assert min(stats.start[i] for i in arrays) <= prologue
    epilogue = sum(int(dec.dur[i]) for i in range(last + 1, len(program)) if program.instrs[i].op != "LOAD")
    assert stats.cycles - max(stats.end[i] for i in arrays) <= epilogue


def test_bias_stays_in_wbuf_beside_two_weight_tiles_and_is_added_per_output_tile():
    a = arch.load("int8-systolic-28nm")
    spec = GemmSpec(m=4, n=4096, k=4096, weights="int8", acts="int8", group=None, w_bytes=1.0, a_bytes=1.0,
                    out_bytes=1.0, quantize_out=True, bias_bytes=2 * 4096)
    found = search.search(spec, a)
    w_tile = gemm.tile_bytes(spec, a, found.tile)["wbuf"]
    assert 2 * w_tile + spec.bias_bytes <= a.buffer("wbuf").capacity
    out_tiles = math.ceil(spec.m / found.tile.mt) * math.ceil(spec.n / found.tile.nt)
    adds = [ins for ins in found.program.instrs if ins.op == "VEC" and ins["op"] == "residual"]
    assert len(adds) == out_tiles and sum(ins["elems"] for ins in adds) == spec.m * spec.n


@pytest.mark.parametrize("preset", ["int8-systolic-28nm", "lut-tc-28nm"])
def test_stationary_activations_are_loaded_once_per_m_block(preset):
    a = arch.load(preset)
    spec = _spec("int4", "int8", None, 0.5, 1.0, 16, 1024, 512)
    for stationary, a_reads in ((False, 1024 // 128), (True, 1)):
        t = Tile(8, 128, 128, 1, 1, a_stationary=stationary)
        program = gemm.emit(spec, a, t)
        stats = engine.run(program, a)
        loaded = sum(ins["bytes"] for ins in program.instrs if ins.op == "LOAD" and ins["buf"] == "abuf")
        assert loaded == spec.m * spec.k * a_reads
        assert stats.events["dram"]["read_bits"] == 8 * (gemm.traffic(spec, t) - spec.m * spec.n * spec.out_bytes)
        assert stats.peak_bytes["abuf"] <= a.buffer("abuf").capacity


def test_tile_search_is_bounded_and_picks_the_fastest_simulated():
    a = arch.load("lut-tc-28nm")
    spec = _spec("int4_asym", "fp16", 128, 4.15625 / 8, 2.0, 2048, 4096, 4096)  # a Llama-2-7B prefill layer
    found = search.search(spec, a)
    assert 1 <= len(found.log) <= search.SIMULATED
    assert all(entry["instructions"] <= search.MAX_INSTRUCTIONS for entry in found.log)
    assert sum(entry["instructions"] for entry in found.log) <= search.SEARCH_BUDGET + search.MAX_INSTRUCTIONS
    assert found.stats.cycles == min(entry["simulated"] for entry in found.log)
    assert len(found.program) == next(e["instructions"] for e in found.log if e["simulated"] == found.stats.cycles)


@pytest.mark.parametrize("acts,bits,options,ok", [("fp16", 8, {}, False), ("fp16", 16, {}, True),
                                                  ("fp16", 8, {"table_quant": True}, True), ("int8", 9, {}, False),
                                                  ("int8", 10, {}, True), ("int16", 16, {}, False)])
def test_gemm_check_rejects_table_entries_too_narrow_for_the_activations(acts, bits, options, ok):
    from sim.errors import InputError

    a = _arch("lut-tc-28nm", **{"table_unit.entry_bits": bits, "pe.options": options})
    spec = _spec("int4", acts, None, 0.5, 2.0, 8, 64, 256)
    if ok:
        gemm.check(spec, a)
    else:
        with pytest.raises(InputError) as exc:
            gemm.check(spec, a)
        assert exc.value.field == "arch.table_unit.entry_bits"
