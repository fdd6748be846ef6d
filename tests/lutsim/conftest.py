"""Shared fixtures of the lutsim tests: a tiny Llama-style config.json (fast end-to-end runs)."""

import pytest

from tests.tiny_models import write_tiny_llama


@pytest.fixture
def tiny(tmp_path):
    """The path of :data:`tests.tiny_models.TINY_LLAMA` written as a config.json."""
    return write_tiny_llama(tmp_path)
