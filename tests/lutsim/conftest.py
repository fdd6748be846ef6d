"""Shared fixtures of the lutsim tests: a tiny Llama-style config.json (fast end-to-end runs)."""

import json

import pytest

TINY = {"model_type": "llama", "_name_or_path": "tiny-llama", "hidden_size": 256, "intermediate_size": 768,
        "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 512}


@pytest.fixture
def tiny(tmp_path):
    """The path of :data:`TINY` written as a config.json."""
    p = tmp_path / "config.json"
    p.write_text(json.dumps(TINY))
    return str(p)
