"""Trace shapes, flops and bytes against hand computation (Llama-2-7B, Llama-3-8B GQA, OPT)."""

import json

import pytest

from sim.errors import InputError
from workloads.models import get_model
from workloads.recipes import get_recipe
from workloads.trace import build_trace, causal_pairs

H, I, HEADS, LAYERS, VOCAB, HD = 4096, 11008, 32, 32, 32000, 128  # Llama-2-7B (docs/references.md#model-shapes)


def _ops(trace):
    return {op.name: op for op in trace.ops}


def test_llama2_7b_prefill_linear_ops():
    S, B = 1024, 2
    ops = _ops(build_trace(get_model("llama-2-7b"), get_recipe("fp16"), "prefill", seq_len=S, batch=B))
    for name, n, k in [("q_proj", H, H), ("k_proj", H, H), ("v_proj", H, H), ("o_proj", H, H),
                       ("gate_proj", I, H), ("up_proj", I, H), ("down_proj", H, I)]:
        op = ops[name]
        assert (op.M, op.N, op.K, op.count, op.repeat) == (B * S, n, k, 1, LAYERS)
        assert op.flops == 2 * B * S * n * k
        assert op.bytes_weight == n * k * 2
        assert op.bytes_act_in == B * S * k * 2
    # q and o write fp16 activations; v goes to the KV cache; k goes through RoPE first
    assert ops["q_proj"].bytes_act_out == B * S * H * 2 and ops["v_proj"].bytes_kv_write == B * S * H * 2
    assert ops["rope"].bytes_kv_write == B * S * H * 2 and ops["rope"].flops == 3 * B * S * 2 * H
    # lm_head: last token of each sequence only
    lm = ops["lm_head"]
    assert (lm.M, lm.N, lm.K, lm.repeat) == (B, VOCAB, H, 1) and lm.flops == 2 * B * VOCAB * H


def test_llama2_7b_prefill_attention():
    S, B = 512, 1
    ops = _ops(build_trace(get_model("llama-2-7b"), get_recipe("fp16"), "prefill", seq_len=S, batch=B))
    qk, sv, sm = ops["attn_qk"], ops["attn_sv"], ops["softmax"]
    assert (qk.M, qk.N, qk.K, qk.count) == (S, S, HD, B * HEADS)
    assert (sv.M, sv.N, sv.K, sv.count) == (S, HD, S, B * HEADS)
    pairs = S * (S + 1) // 2  # causal: the lower triangle of the S x S scores, diagonal included
    assert qk.flops == sv.flops == 2 * pairs * HD * HEADS
    assert qk.bytes_kv_read == sv.bytes_kv_read == S * H * 2  # K (or V) of every head, once
    assert qk.bytes_act_out == sv.bytes_act_in == HEADS * pairs * 2 and sm.flops == 5 * HEADS * pairs
    assert (sm.M, sm.N) == (B * HEADS, pairs)


@pytest.mark.parametrize("tokens,positions", [(1, 1), (1, 700), (5, 5), (3, 10), (64, 64)])
def test_causal_pairs_count_each_query_up_to_its_own_position(tokens, positions):
    brute = sum(1 for i in range(tokens) for j in range(positions) if j <= positions - tokens + i)
    assert causal_pairs(tokens, positions) == brute


def test_llama2_7b_decode_bytes_w4():
    L, B = 1024, 1
    t = build_trace(get_model("llama-2-7b"), get_recipe("w4a16-g128"), "decode", kv_len=L, batch=B)
    ops = _ops(t)
    w_bits = 4 + (16 + 4) / 128  # INT4 + FP16 scale + 4-bit zero point per 128
    assert ops["q_proj"].bytes_weight == H * H * w_bits / 8
    assert ops["down_proj"].flops == 2 * H * I
    assert ops["attn_qk"].bytes_kv_read == L * H * 2 and ops["attn_qk"].flops == 2 * L * HD * HEADS
    assert ops["lm_head"].bytes_weight == VOCAB * H * 2  # lm_head stays FP16
    linear_w = sum(op.bytes_weight * op.repeat for op in t.ops if op.kind == "linear")
    assert linear_w == LAYERS * (4 * H * H + 3 * H * I) * w_bits / 8
    totals = t.totals()
    assert totals["flops"] == sum(op.flops * op.repeat for op in t.expanded())
    assert totals["bytes_kv_read"] == LAYERS * 2 * L * H * 2


def test_llama3_8b_gqa_shapes():
    L, B = 2048, 3
    ops = _ops(build_trace(get_model("llama-3-8b"), get_recipe("fp16"), "decode", kv_len=L, batch=B))
    assert ops["k_proj"].N == ops["v_proj"].N == 8 * HD and ops["q_proj"].N == 32 * HD
    qk = ops["attn_qk"]
    assert (qk.M, qk.N, qk.K, qk.count) == (1, L, HD, B * 32)
    assert qk.flops == 2 * L * HD * 32 * B
    assert qk.bytes_kv_read == B * 8 * L * HD * 2  # 8 KV heads read once, shared by 4 query heads each
    assert ops["v_proj"].bytes_kv_write == B * 8 * HD * 2
    assert ops["lm_head"].N == 128256


def test_kv4_recipe_shrinks_cache_traffic():
    m = get_model("llama-3-8b")
    a = _ops(build_trace(m, get_recipe("fp16"), "decode", kv_len=1000))
    b = _ops(build_trace(m, get_recipe("w4a8kv4"), "decode", kv_len=1000))
    assert b["attn_sv"].bytes_kv_read == a["attn_sv"].bytes_kv_read * (4 + 20 / 128) / 16
    assert b["q_proj"].a_fmt == "int8" and b["attn_norm"].out_fmt == "int8"


def test_lm_head_all_tokens_flag():
    m = get_model("mistral-7b")
    t = build_trace(m, get_recipe("fp16"), "prefill", seq_len=64, batch=2, lm_head_all_tokens=True)
    assert _ops(t)["lm_head"].M == 128 and _ops(t)["final_norm"].M == 128


def test_opt_trace_relu_layernorm_bias():
    ops = _ops(build_trace(get_model("opt-6.7b"), get_recipe("fp16"), "prefill", seq_len=16))
    assert "rope" not in ops and "gate_proj" not in ops
    assert ops["fc1"].N == 16384 and ops["mlp_act"].flops == 16 * 16384
    assert ops["fc1"].bytes_weight == 16384 * 4096 * 2 + 16384 * 2  # weights + fp16 bias
    assert ops["attn_norm"].flops == 7 * 16 * 4096 and ops["attn_norm"].bytes_weight == 2 * 4096 * 2
    assert ops["k_proj"].bytes_kv_write == 16 * 4096 * 2  # no RoPE: K goes straight to the cache


def test_phi_trace_gelu_mlp():
    ops = _ops(build_trace(get_model("phi-2"), get_recipe("fp16"), "prefill", seq_len=16))
    assert "gate_proj" not in ops and "rope" in ops
    assert ops["fc1"].N == 10240 and ops["mlp_act"].flops == 9 * 16 * 10240  # tanh-form GELU, 9 steps
    assert ops["fc2"].bytes_weight == 2560 * 10240 * 2 + 2560 * 2  # weights + fp16 bias


def test_expanded_and_exports():
    t = build_trace(get_model("llama-2-7b"), get_recipe("fp16"), "decode", kv_len=16)
    ex = t.expanded()
    assert len(ex) == 16 * LAYERS + 2 and {op.layer for op in ex} == set(range(LAYERS)) | {-1}
    df = t.to_dataframe()
    assert len(df) == len(t.ops) and int((df.flops * df.repeat).sum()) == t.totals()["flops"]
    d = json.loads(t.to_json())
    assert d["total"]["flops"] == t.totals()["flops"] and d["meta"]["phase"] == "decode"


@pytest.mark.parametrize("kw,field", [({"phase": "train"}, "phase"), ({"batch": 0}, "batch"),
                                      ({"seq_len": -3}, "seq-len"), ({"phase": "decode", "kv_len": 0}, "kv-len")])
def test_bad_arguments(kw, field):
    args = {"phase": "prefill", **kw}
    with pytest.raises(InputError) as e:
        build_trace(get_model("llama-2-7b"), get_recipe("fp16"), **args)
    assert e.value.field == field


def test_mistral_sliding_window_caps_decode_span():
    m = get_model("mistral-7b")  # HF config.json: sliding_window 4096
    t = build_trace(m, get_recipe("fp16"), "decode", kv_len=10000)
    qk = _ops(t)["attn_qk"]
    assert t.kv_len == 4096 and qk.N == 4096 and qk.bytes_kv_read == 8 * 4096 * HD * 2
    assert build_trace(m, get_recipe("fp16"), "decode", kv_len=100).kv_len == 100
