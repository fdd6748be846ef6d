"""Small Hugging Face-style checkpoints written by the tests themselves (never a download)."""

from __future__ import annotations

import json
from pathlib import Path

import ml_dtypes
import numpy as np
from safetensors.numpy import save_file

from workloads.models import load_hf_config

LLAMA_CONFIG = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
                "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 96, "hidden_act": "silu"}
OPT_CONFIG = {"model_type": "opt", "hidden_size": 64, "ffn_dim": 256, "num_attention_heads": 4,
              "num_hidden_layers": 2, "vocab_size": 96, "word_embed_proj_dim": 64, "activation_function": "relu"}
DTYPES = {"bf16": ml_dtypes.bfloat16, "fp16": np.float16, "fp32": np.float32}


def heavy_tailed(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Student-t rows with per-row scales and two outlier input channels (LLM-like weights)."""
    w = rng.standard_t(3, shape) * 0.02 * rng.lognormal(0, 0.4, (shape[0], 1))
    w[:, rng.choice(shape[1], 2, replace=False)] *= 8
    return w


def tensor_name(config: dict, block: int, module: str) -> str:
    if config["model_type"] == "opt":
        inner = f"self_attn.{module}" if module.endswith("_proj") else module
        return f"model.decoder.layers.{block}.{inner}.weight"
    inner = "self_attn" if module[0] in "qkvo" else "mlp"
    return f"model.layers.{block}.{inner}.{module}.weight"


def checkpoint_tensors(config: dict, seed: int = 0, dtypes=("bf16", "fp16")) -> dict[str, np.ndarray]:
    """Every tensor of a model with ``config``: linear layers (alternating ``dtypes``), embeddings, norms, lm_head."""
    rng = np.random.default_rng(seed)
    folder_cfg = load_hf_config_dict(config)
    out = {}
    i = 0
    for b in range(folder_cfg.layers):
        for s in folder_cfg.linear_layers():
            out[tensor_name(config, b, s.name)] = heavy_tailed(rng, (s.out_features, s.in_features)).astype(
                DTYPES[dtypes[i % len(dtypes)]])
            i += 1
        out[f"model.layers.{b}.input_layernorm.weight"] = np.ones(config["hidden_size"], np.float16)
    out["model.embed_tokens.weight"] = rng.standard_normal((config["vocab_size"], config["hidden_size"])).astype(
        np.float16)
    out["lm_head.weight"] = rng.standard_normal((config["vocab_size"], config["hidden_size"])).astype(np.float16)
    return out


def load_hf_config_dict(config: dict):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d, "config.json")
        p.write_text(json.dumps(config))
        return load_hf_config(p)


def write_checkpoint(folder: Path, config: dict = LLAMA_CONFIG, shards: int = 3, seed: int = 0,
                     dtypes=("bf16", "fp16"), tensors: dict | None = None) -> dict[str, np.ndarray]:
    """Write ``config.json``, ``shards`` safetensors shards (round-robin) and, when sharded, the index file."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = checkpoint_tensors(config, seed, dtypes) if tensors is None else tensors
    (folder / "config.json").write_text(json.dumps(config))
    names = sorted(tensors)
    if shards == 1:
        save_file(tensors, str(folder / "model.safetensors"))
        return tensors
    files = {n: f"model-{i % shards + 1:05d}-of-{shards:05d}.safetensors" for i, n in enumerate(names)}
    for shard in sorted(set(files.values())):
        save_file({n: tensors[n] for n in names if files[n] == shard}, str(folder / shard))
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": files}))
    return tensors
