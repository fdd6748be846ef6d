"""Fused attention (compiler/attention.py), the FP16 matrix unit (FMMA) and the FP16 lm_head on it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import compiler
from compiler import attention, float_gemm
from lutsim.cli import main
from lutsim.pipeline import resolve_model, simulate
from sim import arch, engine, formats, isa, pe, reference
from sim.errors import InputError
from sim.pe.base import GemmProblem
from workloads.recipes import get_recipe
from workloads.trace import build_trace

LUT = arch.load("lut-tc-28nm")
MU = pe.get(LUT.matrix_unit.type)


def _with_matrix_unit(**unit) -> arch.Arch:
    d = LUT.to_dict()
    d["matrix_unit"] = unit
    return arch.from_dict(d)


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 40), n=st.integers(1, 40), k=st.integers(1, 70), rows=st.integers(1, 8),
       cols=st.integers(1, 8), dataflow=st.sampled_from(["os", "ws", "is"]), seed=st.integers(0, 2**31))
def test_fmma_cycles_are_the_matrix_unit_pe_per_cycle_model(m, n, k, rows, cols, dataflow, seed):
    """The engine times FMMA with the matrix unit's tile model, which equals its per-cycle model (values
    bit-exact with the rounding emulation) for the dataflow the instruction names."""
    a = _with_matrix_unit(type="fp16-mac", array=[rows, cols])
    p = isa.Program()
    p.add("FMMA", m=m, n=n, k=k, weights="fp16", acts="fp16", map=dataflow)
    st_ = engine.run(p, a)
    rng = np.random.default_rng(seed)
    acts = reference.round_to(rng.normal(size=(m, k)), np.float16)
    qw = formats.get("fp16").quantize(rng.normal(size=(n, k)))
    problem = GemmProblem(m, n, k, "fp16", "fp16")
    config = pe.config_of(a.matrix_unit.config(), dataflow)
    per_cycle = MU.run(problem, config, "per-cycle", acts, qw)
    assert np.array_equal(per_cycle.out, MU.expected(problem, config, acts, qw))
    assert st_.cycles == per_cycle.cycles and st_.events["matrix"]["macs"] == m * n * k
    assert st_.units["matrix"]["busy"] == per_cycle.cycles


def test_a_matrix_unit_must_be_a_float_mac_grid():
    for bad, field in [({"type": "lut-tc", "tile": [2, 64, 4]}, "arch.matrix_unit.type"),
                       ({"type": "fp16-mac", "array": [0, 16]}, "arch.matrix_unit.array[0]"),
                       ({"type": "fp16-mac", "array": [16, 16], "size": 3}, "arch.matrix_unit.size")]:
        with pytest.raises(InputError) as exc:
            _with_matrix_unit(**bad)
        assert exc.value.field == field
    bare = {k: v for k, v in LUT.to_dict().items() if k != "matrix_unit"}
    p = isa.Program()
    p.add("FMMA", m=2, n=2, k=2, weights="fp16", acts="fp16")
    with pytest.raises(InputError, match="no matrix_unit"):
        engine.run(p, arch.from_dict(bare))


def test_bad_matrix_unit_in_a_user_arch_is_one_error_line(tmp_path, capsys):
    d = LUT.to_dict()
    d["matrix_unit"] = {"type": "fp16-mac", "array": [16, "x"]}
    f = tmp_path / "a.yaml"
    import yaml

    f.write_text(yaml.safe_dump(d))
    assert main(["simulate", "--arch", str(f), "--model", "llama-2-7b", "--quant", "w4a16-g128",
                 "--phase", "decode"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "arch.matrix_unit.array[1]" in err


def _spec(t, l, groups=2, g=1, kv="fp16", out="fp16"):
    kv_bits = get_recipe("w4a8kv4").kv_cache.bits if kv != "fp16" else 16
    return attention.AttentionSpec(t=t, l=l, hd=64, groups=groups, heads_per_group=g, kv_format=kv,
                                   kv_bytes=kv_bits / 8, out_bytes=1 if out != "fp16" else 2,
                                   quantize_out=out != "fp16")


@settings(max_examples=30, deadline=None)
@given(t=st.integers(1, 300), extra=st.integers(0, 300), g=st.sampled_from([1, 2, 4]),
       br=st.sampled_from([32, 64, 128]), bc=st.sampled_from([32, 64, 128, 256]),
       kv=st.sampled_from(["fp16", "int4", "int4-qk-array"]))
def test_fused_program_moves_only_q_k_v_o_and_computes_the_causal_blocks(t, extra, g, br, bc, kv):
    """DRAM traffic is exactly Q + O once and K + V once per query block; the MACs are those of the causal
    blocks (diagonal blocks whole), never fewer than the useful causal pairs; nothing waits forever. With QKᵀ on
    the PE array (the K codes as weights) the matrix unit does P·V only and the array every score."""
    l = t + extra
    qk_array = kv.endswith("qk-array")
    spec = attention.AttentionSpec(**{**_spec(t, l, groups=3, g=g, kv=kv[:4]).__dict__, "br": min(br, t),
                                      "bc": min(bc, l), "qk_array": qk_array})
    assume(attention.fits(spec, LUT))  # the block search offers only blocks that fit
    st_ = engine.run(attention.emit(spec, LUT, "matrix"), LUT)
    blocks = spec.blocks()
    hd = spec.hd
    q_bytes = t * g * hd * 2
    kv_read = sum(sum(-(-w * hd * spec.kv_bytes // 1) for w in ws) for _, _, ws in blocks) * 2
    o_bytes = sum(max(1, -(-q * g * hd * spec.out_bytes // 1)) for _, q, _ in blocks)
    dram = st_.events["dram"]
    assert dram["read_bits"] == 8 * spec.groups * (q_bytes + kv_read)
    assert dram["write_bits"] == 8 * spec.groups * o_bytes
    macs = st_.events["matrix"]["macs"]
    matmuls = 1 if qk_array else 2
    assert macs == spec.groups * sum(matmuls * q * g * sum(ws) * hd for _, q, ws in blocks)
    useful = spec.groups * g * matmuls * hd * sum(l - t + i + 1 for i in range(t))
    assert useful <= macs
    if qk_array:  # every score of the causal blocks formed once on the arrays (tables built once per Q block)
        rows = sum(q * g for _, q, _ in blocks)
        assert st_.events["table"]["tables"] == spec.groups * rows * hd // LUT.table_unit.group
        assert st_.events["vector"]["elems:dequant"] == spec.groups * sum(q * g * sum(ws) + sum(ws) * hd
                                                                          for _, q, ws in blocks)
    assert all(sum(ws) == l - t + q0 + q for q0, q, ws in blocks)  # each block sees up to its last query


def test_prefill_2048_is_compute_bound_with_fused_causal_attention():
    """Issue 13's done-when: Llama-2-7B W4A16 prefill 2048 on lut-tc-28nm — attention under a third of the
    cycles, at least half of the arch's peak ops/s over the pass, the per-op rows say where attention ran."""
    s = simulate("lut-tc-28nm", "llama-2-7b", "w4a16-g128", "prefill", seq_len=2048)
    rows = {r.name: r for r in s.ops}
    attn = sum(rows[n].cycles * rows[n].repeat for n in ("attn_qk", "softmax", "attn_sv"))
    assert attn < s.totals.cycles / 3
    assert s.totals.ops / (s.totals.latency_ms * 1e-3) >= 0.5 * s.totals.peak_ops_per_s
    assert rows["attn_qk"].unit == "matrix" and rows["attn_qk"].schedule.startswith("fused flash")
    assert rows["softmax"].cycles == rows["attn_sv"].cycles == 0
    assert rows["lm_head"].unit == "vector"  # one row (the last token's): the 64 lanes beat one grid row
    unfused = simulate("lut-tc-28nm", "llama-2-7b", "w4a16-g128", "prefill", seq_len=2048, attention="unfused")
    assert {r.unit for r in unfused.ops if r.kind.startswith("attn")} == {"vector"}
    assert unfused.totals.cycles > 1.5 * s.totals.cycles


def test_auto_keeps_the_faster_lowering_and_fused_forces_it(tiny_model):
    a, recipe = LUT, get_recipe("w4a16-g128")
    trace = build_trace(resolve_model(tiny_model), recipe, "decode", kv_len=4096)
    comp = compiler.for_arch(a)
    i = next(j for j, op in enumerate(trace.ops) if op.kind == "attn_qk")
    fused = comp.lower(trace.ops[i], recipe, True).stats.cycles
    unfused = sum(comp.lower(o, recipe, False).stats.cycles for o in trace.ops[i:i + 3])
    notes: dict = {}
    auto = compiler.fusion_plan(trace.ops, a, recipe, "auto", notes)
    assert ({i, i + 1, i + 2} <= auto) == (fused < unfused)
    won, lost = ("fused", "unfused") if fused < unfused else ("unfused", "fused")
    assert notes[i].startswith(f"--attention auto: {won} ({min(fused, unfused):,} cycles")  # then the runner-up
    assert f"; {lost} " in notes[i]
    assert {i, i + 1, i + 2} <= compiler.fusion_plan(trace.ops, a, recipe, "fused")
    assert not {i, i + 1, i + 2} & compiler.fusion_plan(trace.ops, a, recipe, "unfused")
    with pytest.raises(InputError, match="attention"):
        compiler.fusion_plan(trace.ops, a, recipe, "flash")


def test_a_pe_array_that_takes_fp16_runs_the_fused_attention_itself(tiny_model):
    s = simulate("fp16-mac-28nm", tiny_model, "fp16", "prefill", seq_len=256, attention="fused")
    qk = next(r for r in s.ops if r.kind == "attn_qk")
    assert qk.unit == "array" and "PE array" in qk.schedule


def test_causal_flops_are_the_lower_triangle(tiny_model):
    r, tiny_model = get_recipe("fp16"), resolve_model(tiny_model)
    causal = build_trace(tiny_model, r, "prefill", seq_len=100)
    full = build_trace(tiny_model, r, "prefill", seq_len=100, causal=False)
    qk = {t: next(o for o in tr.ops if o.kind == "attn_qk") for t, tr in (("c", causal), ("f", full))}
    assert qk["c"].flops * 100 * 100 == qk["f"].flops * (100 * 101 // 2)
    dec = build_trace(tiny_model, r, "decode", kv_len=77)
    assert next(o for o in dec.ops if o.kind == "attn_qk").flops == \
        next(o for o in build_trace(tiny_model, r, "decode", kv_len=77, causal=False).ops if o.kind == "attn_qk").flops


def test_fp16_gemm_on_the_matrix_unit_streams_weights_once():
    spec = float_gemm.FloatGemmSpec(m=3, n=1000, k=512)
    st_ = engine.run(float_gemm.emit(spec, LUT), LUT)
    assert st_.events["dram"]["read_bits"] == 8 * (1000 * 512 * 2 + 3 * 512 * 2)
    assert st_.events["dram"]["write_bits"] == 8 * 3 * 1000 * 2
    assert st_.events["matrix"]["macs"] == 3 * 1000 * 512
    assert st_.cycles >= 1000 * 512 * 2 * 8 / LUT.dram.bandwidth


@pytest.mark.parametrize("recipe", ["w4a8kv4", "fp16"])
def test_no_block_choice_waits_forever_on_any_preset(recipe):
    """Every block size the search may pick runs to the end on every preset with a matrix engine, long decode
    contexts with a quantized KV cache included (the DMA prefetches K/V blocks far ahead of the matrix engine)."""
    kv = get_recipe(recipe).kv_cache
    for name in arch.names():
        a = arch.load(name)
        where = attention.engine_of(a)
        if where is None:
            continue
        for t, l, g in [(1, 8192, 4), (1, 1024, 1), (200, 700, 2)]:
            spec = attention.AttentionSpec(t=t, l=l, hd=128, groups=1, heads_per_group=g, kv_format=kv.format,
                                           kv_bytes=kv.bits / 8, out_bytes=2, quantize_out=False,
                                           kv_group=kv.group_size)
            for c in attention.candidates(spec, a):  # QKᵀ on the PE array too where it takes the K codes
                assert engine.run(attention.emit(c, a, where), a).cycles > 0


#: presets whose PE array takes INT4 K codes with FP16 Q (a LUT array with a table unit, a MixPE bit-serial
#: array, an FP16 MAC array): QKᵀ may run there with the codes as weights
QK_ARRAY_PRESETS = ["lut-tc-28nm", "mixpe-w4a16-28nm", "fp16-mac-28nm"]


def _kv_spec(t, l, hd, g, group, fmt="int4_asym", groups=1):
    return attention.AttentionSpec(t=t, l=l, hd=hd, groups=groups, heads_per_group=g, kv_format=fmt,
                                   kv_bytes=formats.get(fmt).bits_per_element(group) / 8, out_bytes=2,
                                   quantize_out=False, kv_group=group)


@settings(max_examples=12, deadline=None)
@given(preset=st.sampled_from(QK_ARRAY_PRESETS), t=st.integers(1, 40), extra=st.integers(0, 100),
       g=st.sampled_from([1, 2]), group=st.sampled_from([32, 64, None]), seed=st.integers(0, 2**31))
def test_every_array_qk_candidate_is_timed_by_the_per_cycle_pe_and_computes_q_kt(preset, t, extra, g, group, seed):
    """Every block candidate with QKᵀ on the PE array: each array instruction of its program takes the PE's
    per-cycle cycles (the engine's array time is their sum), the per-cycle output is bit-exact with the PE's
    expected one and is Q·dequant(K)ᵀ (K codes as the weights, Q as the activations)."""
    a, hd = arch.load(preset), 64
    spec = _kv_spec(t, t + extra, hd, g, group)
    cands = [c for c in attention.candidates(spec, a) if c.qk_array]
    assert cands and attention.why_not_qk_array(spec, a) == ""
    model, rng = pe.get(a.pe.type), np.random.default_rng(seed)
    fmt = formats.get(spec.kv_format)
    timed: dict = {}
    for c in cands:
        program = attention.emit(c, a, attention.engine_of(a), groups=1)
        st_ = engine.run(program, a)
        arrays = [program.templates[i] for i in program.columns["tmpl"] if program.templates[i].op == a.pe.opcode]
        arrays = [ins for ins in arrays if ins["weights"] == spec.kv_format]
        assert sum(ins["m"] * ins["n"] for ins in arrays) == sum(q * g * w for _, q, ws in c.blocks() for w in ws)
        for ins in {(ins["m"], ins["n"], ins["map"]): ins for ins in arrays}.values():
            key = (ins["m"], ins["n"], ins["map"])
            if key in timed:
                continue
            problem = GemmProblem(ins["m"], ins["n"], hd, spec.kv_format, "fp16", group)
            config = model.resolve(pe.config_of(a.pe.config(), ins["map"]))
            q_ = reference.round_to(rng.normal(size=(ins["m"], hd)), np.float16)
            k_ = rng.normal(size=(ins["n"], hd))
            qw = fmt.quantize(k_, group)
            res = model.run(problem, config, "per-cycle", q_, qw)
            np.testing.assert_array_equal(res.out, model.expected(problem, config, q_, qw))
            deq = fmt.dequantize(qw)  # FP16 tables / accumulation: within 1 % of the sum of |products|
            assert np.all(np.abs(res.out - q_ @ deq.T) <= 1e-2 * (np.abs(q_) @ np.abs(deq).T) + 1e-9)
            assert res.cycles == pe.tile_cycles(a.pe.type, config, problem).cycles
            timed[key] = res.cycles
        if a.pe.opcode != "MMA":  # an MMA array also runs P·V (FP16): only the QK pieces are summed here
            assert st_.events["array"]["active_cycles"] == sum(timed[ins["m"], ins["n"], ins["map"]] for ins in arrays)


def test_qk_takes_the_k_codes_only_where_the_groups_follow_head_dim_and_the_pe_takes_them():
    assert attention.why_not_qk_array(_kv_spec(1, 64, 128, 1, 128), LUT) == ""
    assert attention.why_not_qk_array(_kv_spec(1, 64, 128, 1, None), LUT) == ""
    assert "do not tile head_dim" in attention.why_not_qk_array(_kv_spec(1, 64, 96, 1, 64), LUT)
    assert attention.why_not_qk_array(_kv_spec(1, 64, 64, 1, 128), LUT) == ""  # a group spans whole heads
    assert attention.qk_group(_kv_spec(1, 64, 64, 1, 128)) is None
    assert attention.qk_group(_kv_spec(1, 64, 64, 1, 32)) == 32
    assert "fp16 KV cache" in attention.why_not_qk_array(_spec(1, 64), LUT)
    assert "does not take" in attention.why_not_qk_array(_kv_spec(1, 64, 128, 1, 128), arch.load("ant-28nm"))
    assert not any(c.qk_array for c in attention.candidates(_spec(64, 64), LUT))  # FP16 KV: the old candidates


def test_w4a16kv4_prefill_runs_qk_on_the_lut_array_and_beats_dequantized_k(tiny_model):
    """lut-tc-28nm, INT4 KV in groups of 128 along head_dim: the block search also tries QKᵀ on the LUT array with
    the K codes as weights; it wins here (no dequantized K copy, tables of a Q block built once), the per-op
    table says so and the note says why V is still dequantized. Before, attention ran QKᵀ on the matrix unit."""
    s = simulate("lut-tc-28nm", tiny_model, "w4a16kv4-g128", "prefill", seq_len=256)
    qk = next(r for r in s.ops if r.kind == "attn_qk")
    assert qk.unit == "matrix" and "QKᵀ on the PE array" in qk.schedule and "P·V on the matrix unit" in qk.schedule
    assert "V dequantized" in qk.note
    a, recipe = LUT, get_recipe("w4a16kv4-g128")
    trace = build_trace(resolve_model(tiny_model), recipe, "prefill", seq_len=256)
    i = next(j for j, op in enumerate(trace.ops) if op.kind == "attn_qk")
    low = compiler.for_arch(a).lower(trace.ops[i], recipe, True)
    assert low.spec.qk_array and low.spec.kv_group == 128 and attention.qk_group(low.spec) is None
    assert low.stats.cycles == qk.cycles
    chosen = next(e for e in low.search_log if e.get("chosen"))
    dequantized = [engine.run(attention.emit(c, a, "matrix", groups=1), a).cycles
                   for c in attention.candidates(low.spec, a) if not c.qk_array]
    assert chosen["cycles_one_group"] < min(dequantized)  # the old schedule's best block choice is slower


@settings(max_examples=30, deadline=None)
@given(t=st.integers(1, 200), extra=st.integers(0, 300), g=st.sampled_from([1, 4]),
       br=st.sampled_from([32, 64]), bc=st.sampled_from([32, 64, 128]), sl=st.sampled_from([8, 24, 56, 64]),
       kv=st.sampled_from(["fp16", "int4", "int4-qk-array"]))
def test_pv_split_with_the_lanes_does_every_multiply_add_once_and_its_bound_holds(t, extra, g, br, bc, sl, kv):
    """With ``sv_lanes`` columns of P·V on the vector lanes: the matrix engine does the other columns, the lanes
    the rest (as FP16 multiply-adds, counted as ``dequant`` elements beside the K/V dequantization), each causal
    block once; DRAM traffic is unchanged; :func:`attention.engine_cycles` stays a lower bound of the simulated
    cycles (the block search skips candidates by it)."""
    l, qk_array = t + extra, kv.endswith("qk-array")
    base = attention.AttentionSpec(**{**_spec(t, l, groups=2, g=g, kv=kv[:4]).__dict__, "br": min(br, t),
                                      "bc": min(bc, l), "qk_array": qk_array})
    assume(attention.fits(base, LUT))
    split = attention.AttentionSpec(**{**base.__dict__, "sv_lanes": sl})
    one, two = (engine.run(attention.emit(s, LUT, "matrix"), LUT) for s in (base, split))
    hd, blocks = base.hd, base.blocks()
    pv = base.groups * sum(q * g * sum(ws) * hd for _, q, ws in blocks)  # P·V multiply-adds of the causal blocks
    def count(run, unit, key):
        return run.events.get(unit, {}).get(key, 0)
    assert count(one, "matrix", "macs") - count(two, "matrix", "macs") == pv * sl // hd
    assert count(two, "vector", "elems:dequant") - count(one, "vector", "elems:dequant") == pv * sl // hd
    assert two.events["dram"] == one.events["dram"]
    for s, run in ((base, one), (split, two)):
        assert attention.engine_cycles(s, LUT, "matrix") <= run.cycles


def test_long_context_decode_splits_pv_with_the_lanes_and_becomes_memory_bound():
    """Llama-2-7B decode at KV 8192 with an INT4 KV cache on lut-tc-28nm: one query row per head is a GEMV, which
    a 16x16 grid does at 16 multiply-adds a cycle in any dataflow (tile model below); the 64 lanes do 64. The block
    search puts most of P·V on the lanes, QKᵀ on the LUT array, and the fused attention is then within 10 % of the
    DRAM time of the K, V, Q and O bytes it moves (before: P·V on the grid alone, about 2x that)."""
    recipe = get_recipe("w4a16kv4-g128")
    for dataflow in MU.dataflows:
        gemv = pe.tile_cycles(LUT.matrix_unit.type, pe.config_of(LUT.matrix_unit.config(), dataflow),
                              GemmProblem(1, 128, 1024, "fp16", "fp16")).cycles
        assert 128 * 1024 / gemv <= LUT.matrix_unit.array[1]
    trace = build_trace(resolve_model("llama-2-7b"), recipe, "decode", kv_len=8192)
    i = next(j for j, op in enumerate(trace.ops) if op.kind == "attn_qk")
    low = compiler.for_arch(LUT).lower(trace.ops[i], recipe, True)
    spec = low.spec
    assert spec.qk_array and 0 < spec.sv_lanes <= spec.hd and "vector lanes" in low.schedule
    dram = low.stats.events["dram"]
    dram_cycles = (dram["read_bits"] + dram["write_bits"]) / LUT.dram.bandwidth
    assert dram_cycles <= low.stats.cycles <= 1.1 * dram_cycles
    grid_only = engine.run(attention.emit(attention.AttentionSpec(**{**spec.__dict__, "sv_lanes": 0}), LUT,
                                          "matrix", groups=1), LUT).cycles
    assert low.stats.cycles < 0.6 * grid_only * spec.groups
