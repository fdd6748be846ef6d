"""The registered weight formats' names and default groups, without importing :mod:`sim.formats`.

:mod:`sim.formats` builds every format (and imports numpy, ~60 ms) when it is first imported; a data-free command
(``lutsim gemm --mode scalesim``, a SCALE-Sim compatible closed form) needs only which names exist and each one's
``default_group_size``. This table mirrors the registry: each entry is the ``default_group_size`` its format states
in its own module (``sim/formats/*.py``; None = per channel), and ``tests/sim/formats/test_format_index.py`` fails
when a format is added, removed or changes its default group without this table following.

Once :mod:`sim.formats` is imported (a plug-in format can only be registered through it), its registry answers
instead of the table; an unknown name always gets the registry's own ``FormatError``.
"""

from __future__ import annotations

import sys

#: format name -> default group size in elements (None = per channel), as each format in sim/formats/ states it
DEFAULT_GROUPS: dict[str, int | None] = {
    "any4": None, "bf16": None, "binary": None, "bitmod_fp3": 128, "bitmod_fp4": 128, "flint4": None,
    "fp16": None, "fp4_e2m1": None, "fp6_e2m3": None, "fp6_e3m2": None, "fp8_e4m3": None, "fp8_e5m2": None,
    "int1": None, "int1_asym": None, "int2": None, "int2_asym": None, "int3": None, "int3_asym": None,
    "int4": None, "int4_asym": None, "int5": None, "int5_asym": None, "int6": None, "int6_asym": None,
    "int7": None, "int7_asym": None, "int8": None, "int8_asym": None,
    "mxfp4": 32, "mxfp6_e2m3": 32, "mxfp6_e3m2": 32, "mxfp8_e4m3": 32, "mxfp8_e5m2": 32, "mxint8": 32,
    "nf4": 64, "nvfp4": 16, "olive4": None, "ternary": None,
}


def _registry():
    """:mod:`sim.formats` if it is imported already, else None."""
    return sys.modules.get("sim.formats")


def names() -> list[str]:
    """The registered format names, sorted (:func:`sim.formats.names`)."""
    registry = _registry()
    return registry.names() if registry is not None else sorted(DEFAULT_GROUPS)


def default_group_size(name: str) -> int | None:
    """The default group (elements; None = per channel) of format ``name``, case-insensitive
    (:attr:`sim.formats.base.Format.default_group_size`); the registry's ``FormatError`` for an unknown name."""
    registry = _registry()
    if registry is None and isinstance(name, str) and name.lower() in DEFAULT_GROUPS:
        return DEFAULT_GROUPS[name.lower()]
    from sim import formats  # the registry: plug-in formats, and its own error for an unknown name

    return formats.get(name).default_group_size
