import json

import pytest

from sim.errors import InputError
from workloads.models import HF_MODEL_TYPES, get_model, load_hf_config, names

# docs/references.md#model-shapes (public HF config.json): hidden, intermediate, heads, kv heads, layers, vocab
REFERENCE_SHAPES = {
    "llama-2-7b": (4096, 11008, 32, 32, 32, 32000),
    "llama-2-13b": (5120, 13824, 40, 40, 40, 32000),
    "llama-3-8b": (4096, 14336, 32, 8, 32, 128256),
    "mistral-7b": (4096, 14336, 32, 8, 32, 32000),
    "opt-6.7b": (4096, 16384, 32, 32, 32, 50272),
    "bitnet-b1.58-3b": (3200, 8640, 32, 32, 26, 32002),
    # HF config.json of meta-llama/Llama-2-70b-hf and meta-llama/Meta-Llama-3-70B
    "llama-2-70b": (8192, 28672, 64, 8, 80, 32000),
    "llama-3-70b": (8192, 28672, 64, 8, 80, 128256),
    # HF config.json of facebook/opt-{125m,1.3b,2.7b,30b,66b}, microsoft/phi-2, 01-ai/Yi-6B (the peers' models)
    "opt-125m": (768, 3072, 12, 12, 12, 50272),
    "opt-1.3b": (2048, 8192, 32, 32, 24, 50272),
    "opt-2.7b": (2560, 10240, 32, 32, 32, 50272),
    "opt-30b": (7168, 28672, 56, 56, 48, 50272),
    "opt-66b": (9216, 36864, 72, 72, 64, 50272),
    "phi-2": (2560, 10240, 32, 32, 32, 51200),
    "yi-6b": (4096, 11008, 32, 4, 32, 64000),
    # HF config.json of EleutherAI/gpt-j-6b and THUDM/chatglm3-6b (in LLM-Viewer's model list)
    "gpt-j-6b": (4096, 16384, 16, 16, 28, 50400),
    "chatglm3-6b": (4096, 13696, 32, 2, 28, 65024),
    # HF config.json of openai-community/gpt2, EleutherAI/pythia-6.9b, google/gemma-7b, mistralai/Mixtral-8x7B-v0.1,
    # Qwen/Qwen1.5-MoE-A2.7B, deepseek-ai/deepseek-moe-16b-base (intermediate = the dense MLP width)
    "gpt2": (768, 3072, 12, 12, 12, 50257),
    "pythia-6.9b": (4096, 16384, 32, 32, 32, 50432),
    # EleutherAI/pythia-14m config.json / model card (6 layers, model dim 128, 4 heads)
    "pythia-14m": (128, 512, 4, 4, 6, 50304),
    "gemma-7b": (3072, 24576, 16, 16, 28, 256000),
    "mixtral-8x7b": (4096, 14336, 32, 8, 32, 32000),
    "qwen1.5-moe-a2.7b": (2048, 5632, 16, 16, 24, 151936),
    "deepseek-moe-16b": (2048, 10944, 16, 16, 28, 102400),
}


@pytest.mark.parametrize("name", sorted(REFERENCE_SHAPES))
def test_zoo_shapes_match_references(name):
    m = get_model(name)
    assert (m.hidden, m.intermediate, m.heads, m.kv_heads, m.layers, m.vocab) == REFERENCE_SHAPES[name]
    assert m.source.startswith("https://huggingface.co/")
    assert set(names()) == set(REFERENCE_SHAPES)


def test_llama2_7b_parameter_count():
    # 32 layers x (4·4096² + 3·4096·11008) + lm_head 32000·4096 = 6.607e9 linear weights
    assert get_model("llama-2-7b").weight_params() == 32 * (4 * 4096**2 + 3 * 4096 * 11008) + 32000 * 4096


def test_opt_is_relu_layernorm_with_biases():
    m = get_model("OPT-6.7B")
    assert (m.mlp, m.norm, m.rope, m.bias) == ("relu", "layernorm", False, True)
    assert [s.name for s in m.linear_layers()] == ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"]


def test_phi_config_json_is_gelu_layernorm_with_biases(tmp_path):
    # microsoft/phi-2 config.json (model_type phi): fc1/fc2 with gelu_new, LayerNorm, biases everywhere
    cfg = {"model_type": "phi", "hidden_size": 2560, "intermediate_size": 10240, "num_attention_heads": 32,
           "num_key_value_heads": 32, "num_hidden_layers": 32, "vocab_size": 51200, "hidden_act": "gelu_new"}
    m = load_hf_config(_write(tmp_path, cfg))
    zoo = get_model("phi-2")
    assert (m.mlp, m.norm, m.bias, m.rope) == (zoo.mlp, zoo.norm, zoo.bias, zoo.rope) == ("gelu", "layernorm", True,
                                                                                          True)
    assert m.linear_layers() == zoo.linear_layers()
    assert [s.name for s in m.linear_layers()][-2:] == ["fc1", "fc2"]


def _write(tmp_path, cfg):
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    return p


LLAMA_CFG = {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32,
             "num_key_value_heads": 8, "num_hidden_layers": 32, "vocab_size": 128256, "hidden_act": "silu"}


@pytest.mark.parametrize("mtype", ["llama", "mistral", "qwen2", "bitnet"])
def test_load_llama_like_config(tmp_path, mtype):
    m = get_model(str(_write(tmp_path, {**LLAMA_CFG, "model_type": mtype})))
    assert (m.hidden, m.intermediate, m.heads, m.kv_heads, m.layers, m.vocab) == (4096, 14336, 32, 8, 32, 128256)
    assert m.family == mtype and m.mlp == "swiglu" and m.gqa_group == 4
    assert m.qkv_bias == (mtype == "qwen2")


def test_missing_kv_heads_means_mha(tmp_path):
    cfg = {k: v for k, v in LLAMA_CFG.items() if k != "num_key_value_heads"}
    assert load_hf_config(_write(tmp_path, cfg)).kv_heads == 32


def test_load_opt_config(tmp_path):
    cfg = {"model_type": "opt", "hidden_size": 4096, "ffn_dim": 16384, "num_attention_heads": 32,
           "num_hidden_layers": 32, "vocab_size": 50272, "word_embed_proj_dim": 4096,
           "activation_function": "relu", "enable_bias": True}
    m = load_hf_config(_write(tmp_path, cfg))
    ref = get_model("opt-6.7b")
    assert m.linear_layers() == ref.linear_layers() and m.norm == "layernorm"


def test_unknown_model_type_names_field_and_allowed(tmp_path):
    with pytest.raises(InputError) as e:
        load_hf_config(_write(tmp_path, {**LLAMA_CFG, "model_type": "t5"}))
    assert e.value.field == "model_type"
    assert all(t in str(e.value) for t in HF_MODEL_TYPES)


@pytest.mark.parametrize("bad", [{"num_hidden_layers": 0}, {"num_attention_heads": 30}, {"vocab_size": "x"}])
def test_bad_config_values(tmp_path, bad):
    with pytest.raises(InputError):
        load_hf_config(_write(tmp_path, {**LLAMA_CFG, **bad}))


def test_missing_field_and_bad_files(tmp_path):
    cfg = {k: v for k, v in LLAMA_CFG.items() if k != "hidden_size"}
    with pytest.raises(InputError, match="hidden_size"):
        load_hf_config(_write(tmp_path, cfg))
    with pytest.raises(InputError, match="does not exist"):
        get_model(str(tmp_path / "nope.json"))
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(InputError, match="JSON"):
        get_model(str(tmp_path / "broken.json"))
    with pytest.raises(InputError, match="llama-2-7b"):
        get_model("llama-9")


def test_sliding_window_from_config(tmp_path):
    assert load_hf_config(_write(tmp_path, {**LLAMA_CFG, "model_type": "mistral", "sliding_window": 4096})
                          ).sliding_window == 4096
    qwen = {**LLAMA_CFG, "model_type": "qwen2", "sliding_window": 131072, "use_sliding_window": False}
    assert load_hf_config(_write(tmp_path, qwen)).sliding_window == 0
    assert get_model("mistral-7b").sliding_window == 4096 and get_model("llama-3-8b").sliding_window == 0
