"""sim.format_index mirrors the format registry: the same names, each with its format's own default group (its
table is read as long as sim.formats is not imported: tested in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sim import format_index, formats
from sim.formats import FormatError

SHIPPED = {n: formats.get(n).default_group_size for n in formats.names()}


def test_table_is_the_shipped_registry():
    assert format_index.DEFAULT_GROUPS == SHIPPED


def test_table_answers_without_importing_the_registry():
    code = ("import json, sys; from sim import format_index as f; "
            "print(json.dumps([f.names(), {n: f.default_group_size(n.upper()) for n in f.names()}, "
            "'sim.formats' in sys.modules, 'numpy' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    listed, groups, registry_loaded, numpy_loaded = json.loads(out)
    assert listed == formats.names() and groups == SHIPPED
    assert not registry_loaded and not numpy_loaded


@pytest.mark.parametrize("name", ["int99", "INT99", ""])
def test_unknown_name_gets_the_registrys_error(name):
    with pytest.raises(FormatError, match="unknown format"):
        format_index.default_group_size(name)


def test_registry_answers_once_loaded():
    assert format_index.names() == formats.names()
    assert format_index.default_group_size("NF4") == formats.get("nf4").default_group_size
