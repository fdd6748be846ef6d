"""Trace → compiled programs → stats: floors, caching, determinism, clear errors, the sweep evaluator."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

import compiler
from lutsim.api import evaluate, simulate
from lutsim.results import SimResult
from lutsim.schema import schema_of, validate
from sim import arch
from sim.errors import InputError
from workloads.models import get_model
from workloads.recipes import get_recipe
from workloads.trace import build_trace


@pytest.mark.parametrize("preset,quant", [("lut-tc-28nm", "w4a16-g128"), ("lut-tc-28nm", "w2a16-g64"),
                                          ("int8-systolic-28nm", "w8a8"), ("fp16-mac-28nm", "fp16"),
                                          ("ant-28nm", "w4a4")])
def test_decode_latency_never_below_weight_bandwidth_floor(preset, quant, tiny_model):
    a = arch.load(preset)
    s = simulate(a, tiny_model, quant, "decode", kv_len=64).to_dict()
    trace = build_trace(get_model(tiny_model), get_recipe(quant), "decode", kv_len=64)
    weight_bits = sum(op.bytes_weight * op.repeat for op in trace.ops) * 8
    assert s["totals"]["cycles"] >= weight_bits / a.dram.bandwidth
    assert validate(s, schema_of(SimResult)) is None
    for row in s["ops"]:
        assert row["cycles"] >= row["bytes"] * 8 / a.dram.bandwidth  # every byte crosses the DRAM interface


def test_identical_layers_compile_once(tiny_model):
    a = arch.load("lut-tc-28nm")
    c = compiler.Compiler(a)
    recipe = get_recipe("w4a16-g128")
    trace = build_trace(get_model(tiny_model), recipe, "decode", kv_len=32)
    lowered = {op.name: c.lower(op, recipe) for op in trace.ops}
    assert lowered["q_proj"] is lowered["o_proj"]  # same shape and formats: one program
    assert lowered["gate_proj"] is lowered["up_proj"]
    assert lowered["q_proj"] is not lowered["k_proj"]  # GQA: k_proj is narrower
    specs = {c.spec_of(op, recipe)[1] for op in trace.ops}
    assert c.misses == len(specs) and c.hits == len(trace.ops) - len(specs)
    before = c.misses
    for op in trace.ops:
        c.lower(op, recipe)
    assert c.misses == before  # a second pass is all hits


def test_repeat_counts_multiply_layer_ops(tiny_model):
    s = simulate("lut-tc-28nm", tiny_model, "w4a16-g128", "decode", kv_len=32).to_dict()
    assert s["totals"]["cycles"] == sum(r["cycles"] * r["repeat"] for r in s["ops"])
    assert {r["repeat"] for r in s["ops"] if r["layer"] == 0} == {3}
    assert abs(s["totals"]["energy_pj"] - sum(r["energy_pj"] * r["repeat"] for r in s["ops"])) \
        <= 1e-9 * s["totals"]["energy_pj"]


def test_same_inputs_same_numbers_bit_for_bit(tiny_model):
    a = arch.load("lut-tc-28nm")
    recipe = get_recipe("w4a8kv4")
    trace = build_trace(get_model(tiny_model), recipe, "prefill", seq_len=64)
    runs = []
    for _ in range(2):
        c = compiler.Compiler(a)  # fresh caches: compiled and simulated again
        runs.append([(lw.stats.cycles, lw.energy.total_pj, lw.tile, len(lw.program))
                     for lw in (c.lower(op, recipe) for op in trace.ops)])
    assert runs[0] == runs[1]
    s1 = simulate(a, tiny_model, "w4a8kv4", "prefill", seq_len=64).to_dict()
    s2 = simulate(a, tiny_model, "w4a8kv4", "prefill", seq_len=64).to_dict()  # served from the cache
    assert any(r["cache"] == "miss" for r in s1["ops"]) and all(r["cache"] == "hit" for r in s2["ops"])
    for s in (s1, s2):
        for r in s["ops"]:
            del r["cache"]
    assert json.dumps(s1, sort_keys=True, default=str) == json.dumps(s2, sort_keys=True, default=str)


@pytest.mark.parametrize("preset,quant,field", [
    ("int8-systolic-28nm", "mxfp4", "--weights"),   # FP4 weights on an INT8 array without a decoder
    ("ant-28nm", "w4a16-g128", "--"),               # ANT takes int4/8/16 activations, not fp16
    ("lut-tc-28nm", "fp16", "--weights"),           # LUT Tensor Core needs integer-affine weights
])
def test_unsupported_format_pe_combination_is_a_clear_error(preset, quant, field, tiny_model):
    with pytest.raises(InputError) as err:
        simulate(preset, tiny_model, quant, "decode", kv_len=16).to_dict()
    msg = str(err.value)
    assert "q_proj" in msg and field in msg and "allowed" in msg


def test_fp16_lm_head_runs_on_the_matrix_unit_else_the_vector_unit_when_the_pe_cannot(tiny_model):
    s = simulate("lut-tc-28nm", tiny_model, "w4a16-g128", "prefill", seq_len=64, lm_head_all_tokens=True).to_dict()
    head = next(r for r in s["ops"] if r["kind"] == "lm_head")
    assert head["unit"] == "matrix" and "on the matrix unit" in head["note"]  # 64 rows: the grid wins
    q = next(r for r in s["ops"] if r["name"] == "q_proj")
    assert q["unit"] == "array"
    s = simulate("lut-tc-28nm", tiny_model, "w4a16-g128", "decode", kv_len=16).to_dict()
    head = next(r for r in s["ops"] if r["kind"] == "lm_head")  # one row: the faster of the two, both named
    assert head["unit"] in ("matrix", "vector") and "the matrix unit" in head["note"] and "vector unit" in head["note"]
    bare = {k: v for k, v in arch.load("lut-tc-28nm").to_dict().items() if k != "matrix_unit"}
    s = simulate(arch.from_dict(bare), tiny_model, "w4a16-g128", "decode", kv_len=16).to_dict()
    head = next(r for r in s["ops"] if r["kind"] == "lm_head")
    assert head["unit"] == "vector" and "vector unit" in head["note"]


def test_prefill_totals(tiny_model):
    s = simulate("lut-tc-28nm", tiny_model, "w4a16-g128", "prefill", seq_len=128, batch=2).to_dict()
    t = s["totals"]
    assert t["ttft_ms"] == t["latency_ms"]
    assert t["tokens_per_s"] == pytest.approx(256 / (t["latency_ms"] / 1e3))
    assert t["energy_per_token_mj"] == pytest.approx(t["energy_pj"] * 1e-9 / 256)
    assert s["assumptions"]["clock_hz"] == 1e9
    assert t["peak_ops_per_s"] > 0 and t["dram_bytes_per_s"] == 256 / 8 * 1e9


def test_evaluate_applies_params_and_flattens_metrics(tiny_model):
    w = {"model": tiny_model, "quant": "w4a16-g128", "phase": "decode", "kv_len": 32}
    base = evaluate("lut-tc-28nm", {}, w)
    fast = evaluate("lut-tc-28nm", {"dram.bandwidth": 1024, "buffers.wbuf.capacity": "1MiB"}, w)
    assert fast["latency_ms"] < base["latency_ms"]
    assert fast["area.sram:wbuf"] > base["area.sram:wbuf"]
    assert "energy.dram" in base and "area_mm2" in base and base["design"] == "lut-tc-28nm"
    assert "dram.bandwidth=1024" in fast["design"]


@pytest.mark.parametrize("params", [{"dram.bandwidth_bits_per_cycle": 512}, {"buffers.nosuch.capacity": 1},
                                    {"dram.bandwidth": -1}, {"pe.tile": [2, 64, 3]}])
def test_evaluate_rejects_bad_params(params, tiny_model):
    with pytest.raises(ValueError):
        evaluate("lut-tc-28nm", params, {"model": tiny_model, "quant": "w4a16-g128", "phase": "decode"})


def test_attention_on_the_vector_unit_counts_macs_and_kv_dequantization(tiny_model):
    a = arch.load("lut-tc-28nm")
    c = compiler.Compiler(a)
    for quant, kv_bits in (("w4a16-g128", None), ("w4a8kv4", 4 + 20 / 128)):
        recipe = get_recipe(quant)
        trace = build_trace(get_model(tiny_model), recipe, "decode", kv_len=64)
        qk = next(op for op in trace.ops if op.kind == "attn_qk")
        low = c.lower(qk, recipe)
        assert low.unit == "vector"
        kv_elems = 0 if kv_bits is None else round(qk.bytes_kv_read * 8 / kv_bits)
        assert low.stats.events["vector"]["elems:dequant"] == qk.M * qk.N * qk.K * qk.count + kv_elems


def test_spatial_utilization_is_useful_macs_over_busy_capacity(tiny_model):
    """simulate reports spatial utilization per array op and for the pass: useful MACs over what the busy arrays
    could do at the PE's peak rate; a one-row decode on an output-stationary grid pinned to its rows-over-N
    mapping uses less of it than the mapper's choice."""
    from lutsim.pipeline import peak_macs_per_cycle

    s = simulate("ant-28nm", tiny_model, "w4a8-flint4", "decode", kv_len=64)
    rows = [r for r in s.ops if r.unit == "array"]
    a = arch.load("ant-28nm")
    for r in rows:
        peak = peak_macs_per_cycle(a, r.w_fmt, r.a_fmt, get_recipe("w4a8-flint4").weights.group_size)
        assert r.spatial_utilization == pytest.approx(r.ops / 2 / (r.utilization * r.cycles * peak))
        assert 0 < r.spatial_utilization <= 1
    want = sum(r.ops / 2 * r.repeat for r in rows) / sum(r.ops / 2 / r.spatial_utilization * r.repeat for r in rows)
    assert s.totals.spatial_utilization_by_unit["array"] == pytest.approx(want)
    # the fused attention on the matrix unit counts its QK and SV MACs against the matrix unit's peak
    qk = next(r for r in s.ops if r.kind == "attn_qk")
    sv = next(r for r in s.ops if r.kind == "attn_sv" and r.layer == qk.layer)
    assert qk.unit == "matrix" and qk.schedule.startswith("fused")
    mu = peak_macs_per_cycle(replace(a, pe=a.matrix_unit, arrays=1), "fp16", "fp16", None)
    lanes = re.search(r"vector lanes \((\d+) of (\d+) columns\)", qk.schedule)  # P·V columns not on the grid
    on_grid = 1 - int(lanes[1]) / int(lanes[2]) if lanes else 0 if qk.schedule.endswith("the vector lanes") else 1
    assert qk.spatial_utilization == pytest.approx((qk.ops + sv.ops * on_grid) / 2
                                                   / (qk.utilization * qk.cycles * mu))
    assert 0 < qk.spatial_utilization <= 1 and sv.spatial_utilization is None
    assert 0 < s.totals.spatial_utilization_by_unit["matrix"] <= 1
    assert "matrix unit" in s.totals.spatial_utilization_covers
    assert min(s.totals.spatial_utilization_by_unit.values()) <= s.totals.spatial_utilization
    pinned = arch.load("ant-28nm").to_dict()
    pinned["pe"]["dataflow"], pinned["pe"]["mapping"] = "os", "nm"
    low = simulate(arch.from_dict(pinned), tiny_model, "w4a8-flint4", "decode", kv_len=64)
    assert low.totals.spatial_utilization < s.totals.spatial_utilization
