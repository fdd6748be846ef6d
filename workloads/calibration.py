"""Calibration activations from a file: the recorded inputs of a model's linear layers.

A calibration file is a ``.safetensors`` or ``.npz`` file with one array per layer, keyed by the layer's
tensor name with or without ``.weight`` (``model.layers.0.self_attn.q_proj``); each array holds that
layer's inputs, ``(tokens, in_features)`` or any shape whose last axis is ``in_features`` (leading axes are
flattened into tokens). Arrays are read one at a time, when their layer is measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import safe_open

from sim.errors import InputError

SUFFIXES = (".safetensors", ".npz")


@dataclass(frozen=True)
class Calibration:
    """The keys of a calibration file; :meth:`inputs` reads one layer's array."""

    path: Path
    keys: frozenset[str]

    def _key(self, layer_name: str) -> str | None:
        for k in (layer_name, f"{layer_name}.weight"):
            if k in self.keys:
                return k
        return None

    def inputs(self, layer_name: str, in_features: int) -> np.ndarray | None:
        """Float32 ``(tokens, in_features)`` inputs of ``layer_name``, or None when the file has none."""
        key = self._key(layer_name)
        if key is None:
            return None
        x = _read(self.path, key)
        if x.ndim < 1 or x.shape[-1] != in_features or x.size == 0:
            raise InputError("--calib", f"array {key!r} in {str(self.path)!r} has shape {list(x.shape)}; "
                             f"its last axis must be the layer's in_features={in_features}")
        if not np.issubdtype(x.dtype, np.floating) and x.dtype.name != "bfloat16":
            raise InputError("--calib", f"array {key!r} in {str(self.path)!r} has dtype {x.dtype}", "a float dtype")
        x = np.asarray(x, dtype=np.float32).reshape(-1, in_features)
        if not np.isfinite(x).all():
            raise InputError("--calib", f"array {key!r} in {str(self.path)!r} holds NaN or inf")
        return x


def _read(path: Path, key: str) -> np.ndarray:
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return z[key]
    with safe_open(str(path), framework="numpy") as f:
        return f.get_tensor(key)


def open_calibration(path: str | Path) -> Calibration:
    """The keys of a calibration file (no array read yet); an InputError for a missing or unreadable file."""
    p = Path(path)
    if p.suffix not in SUFFIXES:
        raise InputError("--calib", f"{str(p)!r} is neither .safetensors nor .npz", ", ".join(SUFFIXES))
    if not p.is_file():
        raise InputError("--calib", f"{str(p)!r} does not exist")
    try:
        if p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                keys = frozenset(z.files)
        else:
            with safe_open(str(p), framework="numpy") as f:
                keys = frozenset(f.keys())
    except Exception as exc:  # noqa: BLE001 - zipfile, safetensors and OS errors all mean "cannot read"
        raise InputError("--calib", f"cannot read {str(p)!r}: {exc}") from None
    return Calibration(p, keys)
