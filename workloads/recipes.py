"""Quantization recipes: a numeric format (and group size) per tensor class.

Tensor classes: ``weights`` (decoder linear layers), ``activations`` (inputs of those linear layers),
``kv_cache`` (K and V as stored and read by attention), ``lm_head`` (the output projection's weights).
Recipes come by name from ``recipes.yaml`` or from a user YAML file with the same keys.

Storage cost per element comes from :func:`bits_per_element`: the registered format's own
``bits_per_element(g)`` when ``sim.formats`` has it, else the cited table :data:`FORMAT_BITS`
(formats arriving on other branches); a test checks that both agree for the registered ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from sim import formats as sim_formats
from sim.errors import InputError
from sim.userfile import read_user_file

RECIPES_FILE = Path(__file__).with_name("recipes.yaml")
TENSOR_CLASSES = ("weights", "activations", "kv_cache", "lm_head")


@dataclass(frozen=True)
class FormatBits:
    """Storage of one format: ``code_bits`` per element plus ``group_bits`` once per group.

    ``family`` says what a GPU computes it with: ``float`` (fp16/bf16/fp32), ``int`` (integer codes with
    an affine decode), ``fp8``, ``fp4`` (MX/NV FP4 blocks), ``codebook`` (decoded to fp16 first).
    ``default_group``: group used when a recipe gives none (None = per channel/token/tensor, metadata
    amortised over an unknown length and not counted).
    """

    code_bits: int
    group_bits: int
    family: str
    source: str
    default_group: int | None = None


def _int_entries() -> dict[str, FormatBits]:
    # sim/formats/integer.py: symmetric INTb = b-bit code + FP16 scale; asymmetric adds a b-bit zero point.
    src = "sim/formats/integer.py (FP16 scale per group, GPTQ/AWQ practice; asym adds a b-bit zero point)"
    table = {f"int{b}": FormatBits(b, 16, "int", src) for b in range(2, 9)}
    table.update({f"int{b}_asym": FormatBits(b, 16 + b, "int", src) for b in range(1, 9)})
    table["int1"] = FormatBits(1, 17, "int", src)
    return table


# Bits per element of every format a recipe may name. Sources next to each entry.
FORMAT_BITS: dict[str, FormatBits] = {
    "fp32": FormatBits(32, 0, "float", "IEEE 754 binary32"),
    "fp16": FormatBits(16, 0, "float", "IEEE 754 binary16"),
    "bf16": FormatBits(16, 0, "float", "bfloat16 (1-8-7)"),
    "fp8_e4m3": FormatBits(8, 0, "fp8", "OCP FP8 E4M3 (per-tensor scale amortised, not counted)"),
    "fp8_e5m2": FormatBits(8, 0, "fp8", "OCP FP8 E5M2 (per-tensor scale amortised, not counted)"),
    **_int_entries(),
    "ternary": FormatBits(2, 16, "int", "BitNet b1.58 ternary in 2-bit codes + FP16 absmean scale "
                                        "(sim/formats/integer.py; arXiv 2402.17764)"),
    "binary": FormatBits(1, 16, "int", "±1 codes + FP16 scale (sim/formats/integer.py)"),
    # OCP MX v1.0: blocks of 32 sharing an 8-bit E8M0 scale; MXFP4 = 4.25 bits/element (references §5).
    "mxfp4": FormatBits(4, 8, "fp4", "OCP MX v1.0, E2M1 + E8M0 per 32 (references §5)", 32),
    "mxfp6_e3m2": FormatBits(6, 8, "fp8", "OCP MX v1.0, E3M2 + E8M0 per 32 (references §5)", 32),
    "mxfp6_e2m3": FormatBits(6, 8, "fp8", "OCP MX v1.0, E2M3 + E8M0 per 32 (references §5)", 32),
    "mxfp8_e4m3": FormatBits(8, 8, "fp8", "OCP MX v1.0, E4M3 + E8M0 per 32 (references §5)", 32),
    "mxint8": FormatBits(8, 8, "int", "OCP MX v1.0, INT8 + E8M0 per 32 (references §5)", 32),
    # NVFP4: E2M1 in blocks of 16 with an E4M3 scale (the per-tensor FP32 scale is amortised; references §5).
    "nvfp4": FormatBits(4, 8, "fp4", "NVFP4, E2M1 + E4M3 per 16 (references §5)", 16),
    # BitMoD counts 8 extra bits per 128-weight group: 3.0625 / 4.0625 / 6.0625 bits (references §3).
    "bitmod_fp3": FormatBits(3, 8, "codebook", "BitMoD FP3 + 8 b per 128 (references §3, arXiv 2411.11745)", 128),
    "bitmod_fp4": FormatBits(4, 8, "codebook", "BitMoD FP4 + 8 b per 128 (references §3, arXiv 2411.11745)", 128),
    "bitmod_int6": FormatBits(6, 8, "int", "BitMoD lossless 6.0625 b/weight (references §3, arXiv 2411.11745)", 128),
    # any4: 4-bit index into a learned 16-entry FP16 codebook per row (arXiv 2507.04610 [R]; sim/formats/
    # codebook.py): 16 x 16 = 256 codebook bits per row, amortised over the row (not counted per channel).
    "any4": FormatBits(4, 256, "codebook", "any4 (arXiv 2507.04610) [R]: 4-bit index + 16-entry FP16 codebook/row"),
}


def format_names() -> list[str]:
    """Every format name a recipe may use (table entries and registered formats)."""
    return sorted(set(FORMAT_BITS) | set(sim_formats.names()))


def format_info(name: str) -> FormatBits:
    """The table entry of ``name``; a format registered in sim.formats but not tabled gets a stub entry."""
    if not isinstance(name, str):
        raise InputError("format", f"expected a format name, got {name!r}", ", ".join(format_names()))
    key = name.lower()
    if key in FORMAT_BITS:
        return FORMAT_BITS[key]
    if key in sim_formats.names():
        f = sim_formats.get(key)
        return FormatBits(f.code_bits, f.metadata_bits_per_group(), "int" if f.affine else "codebook",
                          f"sim.formats.{key}", f.default_group_size)
    raise InputError("format", f"unknown format {name!r}", ", ".join(format_names()))


def table_bits_per_element(name: str, group_size: int | None = None) -> float:
    """Bits per element from :data:`FORMAT_BITS` (group metadata amortised over ``group_size``)."""
    info = format_info(name)
    g = group_size if group_size is not None else info.default_group
    if g is None:
        return float(info.code_bits)
    _check_group(g)
    return info.code_bits + info.group_bits / g


def bits_per_element(name: str, group_size: int | None = None) -> float:
    """Storage bits per element: the registered format's figure when registered, else the table's."""
    if name.lower() in sim_formats.names():
        if group_size is not None:
            _check_group(group_size)
        return float(sim_formats.get(name).bits_per_element(group_size))
    return table_bits_per_element(name, group_size)


def _check_group(g) -> None:
    if not isinstance(g, int) or isinstance(g, bool) or g <= 0:
        raise InputError("group_size", f"must be a positive integer or null, got {g!r}")


@dataclass(frozen=True)
class TensorFormat:
    """The format of one tensor class; ``group_size`` None = per channel / token / tensor."""

    format: str
    group_size: int | None = None

    def __post_init__(self):
        format_info(self.format)  # raises on an unknown name
        object.__setattr__(self, "format", self.format.lower())
        if self.group_size is not None:
            _check_group(self.group_size)

    @property
    def bits(self) -> float:
        """Storage bits per element (codes + group metadata)."""
        return bits_per_element(self.format, self.group_size)

    @property
    def family(self) -> str:
        return format_info(self.format).family

    def label(self) -> str:
        return self.format if self.group_size is None else f"{self.format}/g{self.group_size}"


FP16 = TensorFormat("fp16")


@dataclass(frozen=True)
class Recipe:
    name: str
    weights: TensorFormat
    activations: TensorFormat
    kv_cache: TensorFormat
    lm_head: TensorFormat
    source: str = ""

    def to_dict(self) -> dict:
        d = {c: {"format": getattr(self, c).format, "group_size": getattr(self, c).group_size,
                 "bits": getattr(self, c).bits} for c in TENSOR_CLASSES}
        return {"name": self.name, **d, "source": self.source}


def recipe_from_dict(name: str, d) -> Recipe:
    """Build a recipe from a mapping with the four tensor-class keys (``lm_head`` defaults to fp16)."""
    if not isinstance(d, dict):
        raise InputError(f"recipe {name}", "must be a mapping of tensor class to format", ", ".join(TENSOR_CLASSES))
    unknown = set(d) - set(TENSOR_CLASSES) - {"source", "name"}
    if unknown:
        raise InputError(f"recipe {name}", f"unknown key(s) {sorted(unknown)}", ", ".join(TENSOR_CLASSES) + ", source")
    parts = {}
    for cls in TENSOR_CLASSES:
        spec = d.get(cls, {"format": "fp16"} if cls == "lm_head" else None)
        if spec is None:
            raise InputError(f"recipe {name}.{cls}", "missing", "a mapping {format: NAME, group_size: N|null}")
        if isinstance(spec, str):
            spec = {"format": spec}
        if not isinstance(spec, dict) or "format" not in spec or set(spec) - {"format", "group_size"}:
            raise InputError(f"recipe {name}.{cls}", f"bad entry {spec!r}", "{format: NAME, group_size: N|null}")
        parts[cls] = TensorFormat(spec["format"], spec.get("group_size"))
    return Recipe(name=str(d.get("name", name)), source=str(d.get("source", "")), **parts)


@cache
def _builtin() -> dict:
    with open(RECIPES_FILE) as f:
        return yaml.safe_load(f)


def names() -> list[str]:
    return list(_builtin())


def get_recipe(spec: str) -> Recipe:
    """A built-in recipe by name, or one read from a YAML file path."""
    if isinstance(spec, str) and spec.lower() in _builtin():
        return recipe_from_dict(spec.lower(), _builtin()[spec.lower()])
    if isinstance(spec, str) and spec.endswith((".yaml", ".yml")):
        return load_recipe(spec)
    raise InputError("quant", f"unknown recipe {spec!r}", ", ".join(names()) + ", or a path to a recipe .yaml")


def load_recipe(path: str | Path) -> Recipe:
    path = Path(path)
    d = read_user_file(path, "quant", "yaml")
    return recipe_from_dict(path.stem, d)


def recipe_from_bits(w_bits: int, a_bits: int, kv_bits: int) -> Recipe:
    """A recipe from plain bit widths: 16 = fp16, 2..8 = symmetric INTb per channel / token."""
    def fmt(field: str, b: int) -> TensorFormat:
        if b == 16:
            return FP16
        if isinstance(b, int) and 2 <= b <= 8:
            return TensorFormat(f"int{b}")
        raise InputError(field, f"unsupported bit width {b!r}", "16, 2..8")

    return Recipe(name=f"w{w_bits}a{a_bits}kv{kv_bits}", weights=fmt("w-bits", w_bits),
                  activations=fmt("a-bits", a_bits), kv_cache=fmt("kv-bits", kv_bits),
                  lm_head=fmt("w-bits", w_bits), source="plain bit widths, per-channel/per-token integers")
