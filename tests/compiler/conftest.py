"""Shared fixtures: a tiny Llama-style config.json (fast end-to-end runs) and arch variants."""

from __future__ import annotations

import json

import pytest

TINY_LLAMA = {"model_type": "llama", "_name_or_path": "tiny-llama", "hidden_size": 256, "intermediate_size": 768,
              "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 3, "vocab_size": 1000}


@pytest.fixture
def tiny_model(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(TINY_LLAMA))
    return str(path)
