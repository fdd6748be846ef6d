"""Quantization recipes: a numeric format (and group size) per tensor class.

Tensor classes: ``weights`` (decoder linear layers), ``activations`` (inputs of those linear layers),
``kv_cache`` (K and V as stored and read by attention), ``lm_head`` (the output projection's weights).
Recipes come by name from ``recipes.yaml`` or from a user YAML file with the same keys.

Storage cost per element and a format's GPU family come from :func:`sim.formats.storage` only (the
registered format's own figures, or its storage-only entry); an unknown format is an InputError.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim import formats as sim_formats
from sim.errors import InputError
from sim.userfile import read_packaged_file, read_user_file

RECIPES_FILE = Path(__file__).with_name("recipes.yaml")
TENSOR_CLASSES = ("weights", "activations", "kv_cache", "lm_head")


def format_names() -> list[str]:
    """Every format name a recipe may use (:func:`sim.formats.all_names`)."""
    return sim_formats.all_names()


def format_info(name: str) -> sim_formats.Storage:
    """Storage bits and GPU family of ``name`` from :func:`sim.formats.storage`; InputError if unknown."""
    if not isinstance(name, str):
        raise InputError("format", f"expected a format name, got {name!r}", ", ".join(format_names()))
    try:
        return sim_formats.storage(name)
    except sim_formats.FormatError:
        raise InputError("format", f"unknown format {name!r}", ", ".join(format_names())) from None


def bits_per_element(name: str, group_size: int | None = None) -> float:
    """Storage bits per element (codes + group metadata amortised over ``group_size``)."""
    info = format_info(name)
    if group_size is not None:
        _check_group(group_size)
    return info.bits_per_element(group_size)


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


def _builtin() -> dict:
    return read_packaged_file(RECIPES_FILE)


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
