"""Accelerator specs (``sim.arch``): load a preset or a YAML file into a validated :class:`Arch`.

API::

    from sim import arch
    arch.names()                     # shipped presets, e.g. ["ant-28nm", ..., "lut-tc-28nm", ...]
    a = arch.load("lut-tc-28nm")     # a preset name, or a path to a YAML file
    a = arch.from_dict({...})        # from plain data (same schema as the YAML files)
    a.pe.config()                    # the sim.pe.PEConfig of its PE; a.buffer("wbuf").capacity (bytes)

The YAML schema is the field list of :class:`sim.arch.spec.Arch` (see the presets in
``sim/arch/presets/``, each with its sources). Bad input raises ``InputError`` naming the field.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..userfile import read_user_file
from .spec import (
    ARRAY_OPCODES,
    DRAM,
    VECTOR_OPS,
    Arch,
    Buffer,
    DRAMBanks,
    PESpec,
    TableUnit,
    VectorUnit,
    from_dict,
)

PRESET_DIR = Path(__file__).parent / "presets"


def names() -> list[str]:
    """Names of the shipped presets (YAML files in ``sim/arch/presets``)."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def read_yaml(path: Path) -> dict:
    """Parse a YAML file; a syntax error becomes an InputError naming the file."""
    return read_user_file(path, str(path), "yaml")


def load(name_or_path: str | Path) -> Arch:
    """A preset by name, or a YAML file by path."""
    s = str(name_or_path)
    if s in names():
        return from_dict(read_yaml(PRESET_DIR / f"{s}.yaml"))
    p = Path(s)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return from_dict(read_yaml(p))
    raise InputError("--arch", f"no preset or file {s!r}", ", ".join(names()))


__all__ = ["ARRAY_OPCODES", "DRAM", "VECTOR_OPS", "Arch", "Buffer", "DRAMBanks", "PESpec", "TableUnit", "VectorUnit",
           "from_dict", "load", "names", "read_yaml"]
