"""Shared fixtures: a tiny Llama-style config.json (fast end-to-end runs) and arch variants."""

from __future__ import annotations

import pytest

from tests.tiny_models import write_tiny_llama


@pytest.fixture
def tiny_model(tmp_path):
    """A 3-layer variant of the tiny Llama (vocab 1000)."""
    return write_tiny_llama(tmp_path, num_hidden_layers=3, vocab_size=1000)
