"""Results about workloads: the op trace of a pass (``lutsim trace``), the model zoo (``lutsim models``), the
recipes (``lutsim recipes``) and the quantization error of a checkpoint (``lutsim accuracy``)."""

from __future__ import annotations

from dataclasses import dataclass

from workloads.trace import Op

from .base import Result, json_key, omitted_when


@dataclass
class TraceMeta(Result):
    """The pass: model and recipe names, phase, batch (sequences), tokens per sequence, kv_len (positions
    attended), whether lm_head projects every token, decoder layers (their ops are listed once with
    ``repeat``), and the expert-routing assumption (mixture-of-experts models only)."""

    model: str
    recipe: str
    phase: str
    batch: int
    tokens: int
    kv_len: int
    lm_head_all_tokens: bool
    layers: int
    layers_folded: bool
    routing: str | None = omitted_when(None)


@dataclass
class TensorFormatInfo(Result):
    """One tensor class of a recipe: format name, elements per scale group (None: per channel / token /
    tensor), storage bits per element (codes and group metadata)."""

    format: str
    group_size: int | None
    bits: float


@dataclass
class RecipeInfo(Result):
    """A quantization recipe: the format of each tensor class and where the recipe comes from."""

    name: str
    weights: TensorFormatInfo
    activations: TensorFormatInfo
    kv_cache: TensorFormatInfo
    lm_head: TensorFormatInfo
    source: str


@dataclass
class TraceTotal(Result):
    """All ops × repeat: flops and bytes per tensor class (weights, activations in and out, KV cache read and
    written) and in all."""

    flops: int
    bytes_weight: float
    bytes_act_in: float
    bytes_act_out: float
    bytes_kv_read: float
    bytes_kv_write: float
    bytes: float


@dataclass
class TraceResult(Result):
    """``lutsim trace --json``: one pass of a model. model: the model's shapes (the fields of
    :class:`workloads.models.ModelConfig`, sizes in elements); ops: one :class:`workloads.trace.Op` per op
    occurrence (M, N, K and count in elements, flops, bytes per tensor class; totals multiply by repeat)."""

    meta: TraceMeta
    model: dict
    recipe: RecipeInfo
    ops: list[Op]
    total: TraceTotal


@dataclass
class ModelRow(Result):
    """A zoo model: decoder layers, hidden size, attention and KV heads, MLP kind, experts (``k of E``, empty
    for a dense model), linear-layer weights incl. lm_head (billions of elements, 3 digits), source (URL)."""

    model: str
    family: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    mlp: str
    experts: str
    weights_g: float = json_key("weights (G)")
    source: str


@dataclass
class ModelsResult(Result):
    """``lutsim models --json``: the zoo and the Hugging Face ``model_type`` values a config.json may have."""

    models: list[ModelRow]
    hf_model_types: list[str]


@dataclass
class RecipeRow(Result):
    """``lutsim recipes --json`` (a list of these): a recipe's format per tensor class (``FORMAT gN``: N
    elements per scale group), storage bits per weight (4 digits) and source."""

    recipe: str
    weights: str
    activations: str
    kv_cache: str
    lm_head: str
    bits_per_weight: float = json_key("bits/weight")
    source: str


@dataclass
class AccuracyRow(Result):
    """One linear layer in one format: its place (block, module), shape (elements), the format's group size and
    bits per element, weight SQNR (dB), relative Frobenius error of the layer's output against FP32, the
    activation format and whether the activations were calibration data or synthetic."""

    layer: str
    block: int
    module: str
    out_features: int
    in_features: int
    format: str
    group_size: int | None
    bits_per_element: float
    weight_sqnr_db: float
    output_rel_error: float
    acts: str
    acts_source: str


@dataclass
class AccuracySummary(Result):
    """One format over all layers: bits per element (weighted by elements), mean and worst weight SQNR (dB) and
    output error (relative), and the layers where each is worst."""

    format: str
    group_size: int | None
    layers: int
    bits_per_element: float
    mean_weight_sqnr_db: float
    worst_weight_sqnr_db: float
    worst_sqnr_layer: str
    mean_output_rel_error: float
    worst_output_rel_error: float
    worst_error_layer: str


@dataclass
class AccuracyResult(Result):
    """``lutsim accuracy --json``: the checkpoint's path, the activation format, ``--group-size`` (None: each
    format's own), one row per layer and format, one summary per format."""

    weights: str
    acts: str
    group_size: int | None
    layers: list[AccuracyRow]
    summary: list[AccuracySummary]
