"""Tiny Hugging Face configs written by tests (fast end-to-end runs, never a download)."""

import json
from pathlib import Path

#: a Llama-style config.json small enough to compile and simulate in well under a second
TINY_LLAMA = {"model_type": "llama", "_name_or_path": "tiny-llama", "hidden_size": 256, "intermediate_size": 768,
              "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 512}


def write_tiny_llama(folder: Path, **fields) -> str:
    """The path of :data:`TINY_LLAMA` (with ``fields`` replaced) written as ``folder/config.json``."""
    path = Path(folder) / "config.json"
    path.write_text(json.dumps({**TINY_LLAMA, **fields}))
    return str(path)
