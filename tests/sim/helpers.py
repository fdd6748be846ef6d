"""Arch dictionaries for the system tests (built on the lut-tc-28nm preset, PE swapped for the test PE)."""

from __future__ import annotations

import copy

from sim import arch
from tests.sim.unit_pe import NAME


def lut_arch_dict(**over) -> dict:
    d = copy.deepcopy(arch.read_yaml(arch.PRESET_DIR / "lut-tc-28nm.yaml"))
    d["pe"] = {"type": NAME, "tile": [2, 64, 4], "opcode": "LMMA"}
    d["name"] = "lut-tc-28nm-unit-pe"
    for k, v in over.items():
        d[k] = v
    return d


def lut_arch(**over):
    return arch.from_dict(lut_arch_dict(**over))
