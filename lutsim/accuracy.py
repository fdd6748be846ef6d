"""Quantization error of every linear layer of a model in several formats (the engine of ``lutsim accuracy``).

Layers come from a checkpoint (:mod:`workloads.checkpoint`) or are synthetic (:func:`synthetic_layers`);
activations from a calibration file (:mod:`workloads.calibration`) where it has the layer, else from the
synthetic activation model (:mod:`workloads.synthetic`, docs/accuracy.md). Each layer is read once, measured
in every format (:func:`sim.quant_error.layer_error`) and dropped, so memory holds one layer at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from sim import formats
from sim.errors import InputError
from sim.quant_error import check_group, dequantized, layer_error
from workloads.calibration import Calibration
from workloads.synthetic import TOKENS, synthetic_activations, synthetic_weights

ROW_COLUMNS = ["layer", "block", "module", "out_features", "in_features", "format", "group_size",
               "bits_per_element", "weight_sqnr_db", "output_rel_error", "acts", "acts_source"]


@dataclass(frozen=True)
class LayerSource:
    """One layer to measure: its name, place and shape ``(out_features, in_features)``, and how to read it."""

    name: str
    block: int | None
    module: str
    shape: tuple[int, int]
    load: Callable[[], np.ndarray]


def checkpoint_layers(ckpt) -> list[LayerSource]:
    """The layers of an opened :class:`workloads.checkpoint.Checkpoint`, read lazily."""
    return [LayerSource(lay.name, lay.block, lay.module, lay.shape, lambda lay=lay: ckpt.load(lay))
            for lay in ckpt.layers]


def synthetic_layers(model, blocks: Sequence[int] = (0,), max_rows: int | None = None,
                     seed: int = 0) -> list[LayerSource]:
    """Synthetic weights with the shapes of ``model``'s (a :class:`workloads.models.ModelConfig`) linear
    layers in ``blocks``; ``max_rows`` keeps the first rows only (SQNR and output error are per-row averages,
    so a row sample estimates them at a fraction of the cost)."""
    out = []
    for b in blocks:
        for s in model.linear_layers():
            rows = s.out_features if max_rows is None else min(max_rows, s.out_features)
            name = f"layers.{b}.{s.name}"
            out.append(LayerSource(name, b, s.name, (rows, s.in_features),
                                   lambda name=name, r=rows, k=s.in_features: synthetic_weights(name, r, k, seed)))
    return out


def check_formats(names: Iterable[str], field: str) -> list[str]:
    """Registered format names (lower case), or an InputError naming ``field`` and the allowed names."""
    out = []
    for n in names:
        if n.lower() not in formats.names():
            raise InputError(field, f"unknown format {n!r}", ", ".join(formats.names()))
        out.append(n.lower())
    if not out:
        raise InputError(field, "no format given", ", ".join(formats.names()))
    return out


def _measure_layer(src: LayerSource, w: np.ndarray, fmts: list[str], group_size, act_format: str,
                   calib: Calibration | None, tokens: int, seed: int) -> list[dict]:
    k = src.shape[1]
    x = calib.inputs(src.name, k) if calib is not None else None
    source = "calibration" if x is not None else "synthetic"
    if x is None:
        x = synthetic_activations(src.name, k, tokens, seed)
    try:
        xq = dequantized(act_format, x)
        reference = x @ w.T
        errs = [layer_error(w, x, f, group_size, act_format, reference=reference, xq=xq) for f in fmts]
    except formats.FormatError as exc:
        raise InputError("--weights", f"layer {src.name}: {exc}") from None
    return [{"layer": src.name, "block": src.block, "module": src.module, "out_features": src.shape[0],
             "in_features": k, "format": e.format, "group_size": e.group_size,
             "bits_per_element": e.bits_per_element, "weight_sqnr_db": e.weight_sqnr_db,
             "output_rel_error": e.output_rel_error, "acts": act_format, "acts_source": source} for e in errs]


def measure_layers(layers: Sequence[LayerSource], fmts: Sequence[str], group_size: int | None = None,
                   act_format: str = "fp16", calib: Calibration | None = None, tokens: int = TOKENS,
                   seed: int = 0, progress: Callable[[LayerSource], None] | None = None) -> list[dict]:
    """One row per (layer, format), in layer order; ``progress(layer)`` is called after each layer."""
    fmts = check_formats(fmts, "--formats")
    act_format = check_formats([act_format], "--acts")[0]
    if group_size is not None:
        for src in layers:
            for f in fmts:
                check_group(f, group_size, src.shape[1], src.name)
    rows = []
    for src in layers:
        w = src.load()
        if w.shape != src.shape:
            raise InputError("--weights", f"layer {src.name} read with shape {list(w.shape)}, "
                             f"expected {list(src.shape)}")
        rows += _measure_layer(src, w, fmts, group_size, act_format, calib, tokens, seed)
        del w
        if progress is not None:
            progress(src)
    return rows


def _mean_of(values: list[float]) -> float:
    """Arithmetic mean (inf when a layer is exact in a format: its SQNR is inf)."""
    return float(np.mean(values))


def summarize(rows: list[dict]) -> list[dict]:
    """Model-level figures per format: element-weighted bits, mean and worst layer of both metrics."""
    out = []
    for fmt in dict.fromkeys(r["format"] for r in rows):
        rs = [r for r in rows if r["format"] == fmt]
        elems = [r["out_features"] * r["in_features"] for r in rs]
        worst_sqnr = min(rs, key=lambda r: r["weight_sqnr_db"])
        worst_err = max(rs, key=lambda r: r["output_rel_error"])
        out.append({"format": fmt, "group_size": rs[0]["group_size"], "layers": len(rs),
                    "bits_per_element": float(np.average([r["bits_per_element"] for r in rs], weights=elems)),
                    "mean_weight_sqnr_db": _mean_of([r["weight_sqnr_db"] for r in rs]),
                    "worst_weight_sqnr_db": worst_sqnr["weight_sqnr_db"], "worst_sqnr_layer": worst_sqnr["layer"],
                    "mean_output_rel_error": _mean_of([r["output_rel_error"] for r in rs]),
                    "worst_output_rel_error": worst_err["output_rel_error"], "worst_error_layer": worst_err["layer"]})
    return out
