"""Synthetic LLM-like weights and activations for quantization-error measurements (docs/accuracy.md).

Both are deterministic: the random stream of a tensor is seeded from its name (a stable hash) and
``seed``, so the same layer gets the same tensor in every process and run.

* :func:`synthetic_activations` — the inputs of one linear layer, ``(tokens, in_features)``: Gaussian
  entries scaled per channel (log-normal, sigma ``CHANNEL_SIGMA``) and per token (log-normal, sigma
  ``TOKEN_SIGMA``), with ``OUTLIER_FRACTION`` of the channels (at least one) multiplied by
  ``OUTLIER_GAIN``. Outlier channels decide the error of INT activations (LLM.int8(), arXiv 2208.07339;
  SmoothQuant, arXiv 2211.10438), so the model has them.
* :func:`synthetic_weights` — one weight matrix ``(out_features, in_features)``: Student-t entries
  (``WEIGHT_DOF`` degrees of freedom: heavier tails than a Gaussian) scaled per row (log-normal, sigma
  ``ROW_SIGMA``), with ``OUTLIER_FRACTION`` of the input channels multiplied by ``WEIGHT_OUTLIER_GAIN``.

The parameter values are choices, not fits to one model; docs/accuracy.md says why each is what it is.
"""

from __future__ import annotations

import hashlib

import numpy as np

TOKENS = 128                # rows of synthetic activations per layer
CHANNEL_SIGMA = 0.5         # log-normal sigma of the per-channel activation scale
TOKEN_SIGMA = 0.3           # log-normal sigma of the per-token activation scale
OUTLIER_FRACTION = 0.0015   # share of input channels that are outliers (6 of 4096)
OUTLIER_GAIN = 50.0         # outlier channel magnitude over a typical channel (activations)
WEIGHT_STD = 0.02           # typical weight magnitude (the usual init std of LLM linear layers)
WEIGHT_DOF = 4.0            # Student-t degrees of freedom of weight entries
ROW_SIGMA = 0.3             # log-normal sigma of the per-row weight scale
WEIGHT_OUTLIER_GAIN = 4.0   # outlier input channels of the weights over a typical one


def _rng(name: str, seed: int, kind: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{kind}:{seed}:{name}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def outlier_channels(in_features: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of the outlier channels: ``OUTLIER_FRACTION`` of ``in_features``, at least one."""
    n = max(1, round(OUTLIER_FRACTION * in_features))
    return rng.choice(in_features, size=n, replace=False)


def synthetic_activations(name: str, in_features: int, tokens: int = TOKENS, seed: int = 0) -> np.ndarray:
    """Inputs of layer ``name``: float32 ``(tokens, in_features)`` with outlier channels (module docstring)."""
    rng = _rng(name, seed, "acts")
    channel = rng.lognormal(0.0, CHANNEL_SIGMA, in_features)
    channel[outlier_channels(in_features, rng)] *= OUTLIER_GAIN
    token = rng.lognormal(0.0, TOKEN_SIGMA, (tokens, 1))
    return (rng.standard_normal((tokens, in_features)) * channel * token).astype(np.float32)


def synthetic_weights(name: str, out_features: int, in_features: int, seed: int = 0) -> np.ndarray:
    """Weights of layer ``name``: float32 ``(out_features, in_features)``, heavy-tailed rows (module docstring)."""
    rng = _rng(name, seed, "weights")
    w = rng.standard_t(WEIGHT_DOF, (out_features, in_features)) * WEIGHT_STD
    w *= rng.lognormal(0.0, ROW_SIGMA, (out_features, 1))
    w[:, outlier_channels(in_features, rng)] *= WEIGHT_OUTLIER_GAIN
    return w.astype(np.float32)
