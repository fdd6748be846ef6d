"""Sweep evaluator that joins accuracy and efficiency: ``evaluator: accuracy`` (a built-in name, see
:mod:`lutsim.sweep.evaluators`).

Each row is the default evaluator's (:func:`lutsim.api.evaluate`: latency, energy, area, …) plus the
quantization error of the workload's recipe (weight format and group size, activation format) on the
model's layers, as ``accuracy.*`` columns (:data:`COLUMNS`). Optional workload keys, used here and not passed
to the default evaluator:

* ``accuracy_weights``: a checkpoint folder or ``.safetensors`` file (:mod:`workloads.checkpoint`); without it,
  synthetic weights with the shapes of the workload's model (:func:`lutsim.accuracy.synthetic_layers`,
  docs/accuracy.md);
* ``accuracy_blocks``: decoder blocks of synthetic weights to measure (default ``[0]``: the blocks of a
  decoder share their shapes, and synthetic blocks differ only by their seed);
* ``accuracy_rows``: rows kept of each synthetic layer (default :data:`DEFAULT_ROWS`; the metrics are averages
  over rows, so a sample estimates them);
* ``accuracy_tokens``: synthetic activation tokens per layer (default 128).

The accuracy of a (recipe, weights) pair does not depend on the hardware, so it is computed once per worker
process and reused by every design point of the sweep.
"""

from __future__ import annotations

import math
from functools import lru_cache

from lutsim.accuracy import checkpoint_layers, measure_layers, summarize, synthetic_layers
from lutsim.sweep.evaluate import evaluate as evaluate_efficiency
from sim import formats
from workloads.checkpoint import open_checkpoint
from workloads.models import get_model
from workloads.recipes import get_recipe

ACCURACY_KEYS = ("accuracy_weights", "accuracy_blocks", "accuracy_rows", "accuracy_tokens")
DEFAULT_ROWS = 256
COLUMNS = ("accuracy.weight_format", "accuracy.group_size", "accuracy.act_format", "accuracy.bits_per_element",
           "accuracy.weight_sqnr_db", "accuracy.worst_weight_sqnr_db", "accuracy.output_rel_error",
           "accuracy.worst_output_rel_error", "accuracy.layers", "accuracy.source")


def evaluate(base_arch, params: dict, workload: dict) -> dict:
    """The default evaluator's metrics plus the ``accuracy.*`` columns of the workload's recipe."""
    row = evaluate_efficiency(base_arch, params, {k: v for k, v in workload.items() if k not in ACCURACY_KEYS})
    row.update(accuracy_columns(workload))
    return row


def accuracy_columns(workload: dict) -> dict:
    """The ``accuracy.*`` columns of ``workload`` (its ``quant`` recipe on its model's or checkpoint's layers)."""
    recipe = get_recipe(workload["quant"])
    blocks = workload.get("accuracy_blocks", [0])
    return dict(_columns(recipe.weights.format, recipe.weights.group_size, recipe.activations.format,
                         workload["model"], workload.get("accuracy_weights"),
                         tuple(blocks) if isinstance(blocks, list) else (blocks,),
                         int(workload.get("accuracy_rows", DEFAULT_ROWS)),
                         int(workload.get("accuracy_tokens", 128))))


@lru_cache(maxsize=64)
def _columns(weight_format: str, group_size, act_format: str, model: str, weights: str | None,
             blocks: tuple, rows: int, tokens: int) -> tuple:
    base = {"accuracy.weight_format": weight_format, "accuracy.group_size": group_size,
            "accuracy.act_format": act_format}
    if weight_format not in formats.names() or act_format not in formats.names():
        missing = weight_format if weight_format not in formats.names() else act_format
        nan = dict.fromkeys(COLUMNS[3:-2], math.nan)
        return tuple({**base, **nan, "accuracy.layers": 0,
                      "accuracy.source": f"no quantizer for {missing} in sim.formats"}.items())
    if weights:
        layers, source = checkpoint_layers(open_checkpoint(weights)), f"checkpoint {weights}"
    else:
        layers = synthetic_layers(get_model(model), blocks=blocks, max_rows=rows)
        source = f"synthetic {model} blocks {list(blocks)}, {rows} rows/layer"
    (s,) = summarize(measure_layers(layers, [weight_format], group_size, act_format, tokens=tokens))
    return tuple({**base, "accuracy.bits_per_element": s["bits_per_element"],
                  "accuracy.weight_sqnr_db": s["mean_weight_sqnr_db"],
                  "accuracy.worst_weight_sqnr_db": s["worst_weight_sqnr_db"],
                  "accuracy.output_rel_error": s["mean_output_rel_error"],
                  "accuracy.worst_output_rel_error": s["worst_output_rel_error"],
                  "accuracy.layers": s["layers"], "accuracy.source": source}.items())
