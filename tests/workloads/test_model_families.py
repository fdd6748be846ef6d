"""Hugging Face families beyond Llama (GPT-2, GPT-NeoX, Phi, Gemma, Mixtral, Qwen-MoE, DeepSeek-MoE): each test
writes the family's config.json itself (sizes as in the public config of a model of that family), loads it as
a file and as a model folder, and checks the trace against hand computation."""

from __future__ import annotations

import json
import math

import pytest

from lutsim.api import simulate
from sim.errors import InputError
from workloads.models import ROUTING, get_model
from workloads.recipes import get_recipe
from workloads.trace import build_trace

CONFIGS = {
    # openai-community/gpt2
    "gpt2": {"model_type": "gpt2", "n_embd": 768, "n_head": 12, "n_layer": 12, "n_inner": None, "vocab_size": 50257,
             "activation_function": "gelu_new"},
    # EleutherAI/pythia-410m
    "gpt_neox": {"model_type": "gpt_neox", "hidden_size": 1024, "intermediate_size": 4096, "num_attention_heads": 16,
                 "num_hidden_layers": 24, "vocab_size": 50304, "rotary_pct": 0.25, "hidden_act": "gelu"},
    # microsoft/phi-1_5
    "phi": {"model_type": "phi", "hidden_size": 2048, "intermediate_size": 8192, "num_attention_heads": 32,
            "num_hidden_layers": 24, "vocab_size": 51200, "partial_rotary_factor": 0.5, "hidden_act": "gelu_new"},
    # google/gemma-2b
    "gemma": {"model_type": "gemma", "hidden_size": 2048, "intermediate_size": 16384, "num_attention_heads": 8,
              "num_key_value_heads": 1, "head_dim": 256, "num_hidden_layers": 18, "vocab_size": 256000,
              "hidden_act": "gelu_pytorch_tanh"},
    # mistralai/Mixtral-8x7B-v0.1
    "mixtral": {"model_type": "mixtral", "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32,
                "num_key_value_heads": 8, "num_hidden_layers": 32, "vocab_size": 32000, "num_local_experts": 8,
                "num_experts_per_tok": 2, "sliding_window": None, "hidden_act": "silu"},
    # Qwen/Qwen1.5-MoE-A2.7B
    "qwen2_moe": {"model_type": "qwen2_moe", "hidden_size": 2048, "intermediate_size": 5632,
                  "num_attention_heads": 16, "num_key_value_heads": 16, "num_hidden_layers": 24,
                  "vocab_size": 151936, "num_experts": 60, "num_experts_per_tok": 4, "moe_intermediate_size": 1408,
                  "shared_expert_intermediate_size": 5632, "decoder_sparse_step": 1, "mlp_only_layers": [],
                  "hidden_act": "silu"},
    # deepseek-ai/deepseek-moe-16b-base
    "deepseek": {"model_type": "deepseek", "hidden_size": 2048, "intermediate_size": 10944,
                 "num_attention_heads": 16, "num_key_value_heads": 16, "num_hidden_layers": 28, "vocab_size": 102400,
                 "n_routed_experts": 64, "n_shared_experts": 2, "num_experts_per_tok": 6,
                 "moe_intermediate_size": 1408, "first_k_dense_replace": 1, "moe_layer_freq": 1, "hidden_act": "silu"},
}


def _folder(tmp_path, mtype: str):
    d = tmp_path / f"{mtype}-model"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(CONFIGS[mtype]))
    return d


def _ops(trace):
    return {op.name: op for op in trace.ops}


@pytest.mark.parametrize("mtype", sorted(CONFIGS))
def test_a_model_folder_and_its_config_json_load_the_same(tmp_path, mtype):
    d = _folder(tmp_path, mtype)
    assert get_model(str(d)) == get_model(str(d / "config.json"))
    assert get_model(str(d)).family == mtype


def test_a_folder_without_config_json_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="no config.json"):
        get_model(str(tmp_path))


def test_gpt2_shapes(tmp_path):
    m = get_model(str(_folder(tmp_path, "gpt2")))
    assert (m.intermediate, m.mlp, m.norm, m.rope, m.bias) == (4 * 768, "gelu", "layernorm", False, True)
    assert [s.name for s in m.linear_layers()] == ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"]
    # 12 x (4·768² + 2·768·3072) + lm_head 50257·768: GPT-2's 124M minus embeddings, positions and norms
    assert m.weight_params() == 12 * (4 * 768**2 + 2 * 768 * 3072) + 50257 * 768
    ops = _ops(build_trace(m, get_recipe("fp16"), "decode", kv_len=8))
    assert "rope" not in ops and ops["mlp_act"].flops == 9 * 3072 and ops["fc1"].bytes_weight == (3072 * 768 + 3072) * 2


@pytest.mark.parametrize("mtype,rotated", [("gpt_neox", 16), ("phi", 32)])
def test_partial_rotary_counts_rotated_dimensions(tmp_path, mtype, rotated):
    m = get_model(str(_folder(tmp_path, mtype)))
    assert m.rope_dim == rotated and m.norm == "layernorm" and m.mlp == "gelu"
    rope = _ops(build_trace(m, get_recipe("fp16"), "decode", kv_len=8))["rope"]
    assert rope.flops == 3 * (m.q_dim + m.kv_dim) * rotated // m.head_dim


def test_gemma_is_geglu_with_its_own_head_dim(tmp_path):
    m = get_model(str(_folder(tmp_path, "gemma")))
    assert (m.mlp, m.head_dim, m.q_dim, m.kv_dim) == ("geglu", 256, 8 * 256, 256)
    ops = _ops(build_trace(m, get_recipe("fp16"), "decode", kv_len=8))
    assert ops["q_proj"].N == 2048 and ops["k_proj"].N == 256 and ops["mlp_act"].flops == 10 * 16384


@pytest.mark.parametrize("batch,active", [(1, 2), (2, 4), (3, 6), (4, 8), (16, 8)])
def test_mixtral_decode_touches_min_of_experts_and_batch_times_top_k(tmp_path, batch, active):
    m = get_model(str(_folder(tmp_path, "mixtral")))
    t = build_trace(m, get_recipe("w4a16-g128"), "decode", kv_len=64, batch=batch)
    ops = _ops(t)
    gate = ops["expert_gate_proj"]
    assert gate.per_layer == active and gate.repeat == 32 * active
    assert gate.M == math.ceil(batch * 2 / active) and (gate.N, gate.K) == (14336, 4096)
    # every active expert's weights are streamed once per layer: active x its int4 (asym, g128) bytes
    w_bits = get_recipe("w4a16-g128").weights.bits
    assert gate.bytes_weight * gate.repeat == pytest.approx(32 * active * 14336 * 4096 * w_bits / 8)
    assert ops["router"].N == 8 and ops["router_softmax"].N == 8
    ex = t.expanded()
    assert sum(op.name == "expert_down_proj" for op in ex) == 32 * active
    assert sum(op.flops for op in ex) == t.totals()["flops"]
    assert f"-> {active} active" in t.meta()["routing"] and t.meta()["routing"].startswith(ROUTING)


def test_prefill_spreads_tokens_over_all_experts(tmp_path):
    m = get_model(str(_folder(tmp_path, "mixtral")))
    gate = _ops(build_trace(m, get_recipe("fp16"), "prefill", seq_len=100))["expert_gate_proj"]
    assert gate.per_layer == 8 and gate.M == 25  # 100 tokens x top-2 over 8 experts
    assert gate.flops * gate.repeat == 2 * 32 * 8 * 25 * 14336 * 4096


def test_qwen_moe_has_a_gated_shared_expert(tmp_path):
    m = get_model(str(_folder(tmp_path, "qwen2_moe")))
    ops = _ops(build_trace(m, get_recipe("fp16"), "decode", kv_len=16))
    assert ops["shared_expert_up_proj"].N == 5632 and ops["shared_expert_gate"].N == 1
    assert ops["expert_up_proj"].per_layer == 4 and ops["expert_up_proj"].N == 1408 and m.qkv_bias
    assert ops["moe_combine"].M == 4 + 1  # 4 routed outputs and the shared expert's, per token


def test_deepseek_first_layer_is_dense(tmp_path):
    m = get_model(str(_folder(tmp_path, "deepseek")))
    assert (m.dense_layers, m.moe_layers, m.shared_intermediate) == (1, 27, 2 * 1408)
    t = build_trace(m, get_recipe("fp16"), "decode", kv_len=16)
    ops = _ops(t)
    assert (ops["up_proj"].repeat, ops["up_proj"].N, ops["up_proj"].layer) == (1, 10944, 0)
    assert ops["router"].layer == 1 and ops["router"].repeat == 27 and ops["expert_up_proj"].per_layer == 6
    ex = t.expanded()
    assert [op.layer for op in ex if op.name == "up_proj"] == [0]
    assert {op.layer for op in ex if op.name == "router"} == set(range(1, 28))
    assert len([op for op in ex if op.layer == -1]) == 2  # final norm and lm_head


def test_deepseek_v2_latent_attention_is_refused(tmp_path):
    cfg = {**CONFIGS["deepseek"], "kv_lora_rank": 512}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(InputError, match="latent attention"):
        get_model(str(tmp_path))


def test_simulated_moe_states_its_routing_assumption(tmp_path):
    st = simulate("lut-tc-28nm", str(_folder(tmp_path, "mixtral")), "w4a16-g128", "decode", kv_len=64,
                  batch=2).to_dict()
    assert st["assumptions"]["routing"].startswith(ROUTING) and "-> 4 active" in st["assumptions"]["routing"]
    assert next(r for r in st["ops"] if r["name"] == "expert_gate_proj")["repeat"] == 32 * 4
    dense = simulate("lut-tc-28nm", "llama-2-7b", "w4a16-g128", "decode", kv_len=64).to_dict()
    assert "routing" not in dense["assumptions"]
