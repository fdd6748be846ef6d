"""Reading a user's checkpoint: the linear layers of a Hugging Face safetensors model, one tensor at a time.

A checkpoint is a folder holding ``config.json`` and ``*.safetensors`` files (sharded with a
``model.safetensors.index.json`` or not), or one ``.safetensors`` file (with a ``config.json`` beside it
or none). :func:`open_checkpoint` reads only the files' JSON headers; :meth:`Checkpoint.load` reads one
tensor's data with the ``safetensors`` library (numpy API, sliced by blocks of rows; bf16 via ml_dtypes) into
a float32 array, so memory stays at one tensor however large the model.

Layers are the decoder blocks' linear layers (``lm_head`` and embeddings are not: every recipe keeps
``lm_head`` in fp16), found by their Hugging Face names — Llama, Mistral and Qwen
(``…layers.{i}.self_attn.q_proj.weight``, ``…layers.{i}.mlp.gate_proj.weight``) and OPT
(``…decoder.layers.{i}.self_attn.out_proj.weight``, ``…layers.{i}.fc1.weight``). With a ``config.json``
every layer the config implies (:func:`workloads.models.load_hf_config`) must be present with the shape
it implies, ``(out_features, in_features)``. Without one, every matching 2-D tensor is a layer; a file
with none is read as a plain bag of 2-D tensors (all of them but embeddings and ``lm_head``).
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open

from sim.errors import InputError
from sim.formats.elements import scalar_type

from .models import ModelConfig, load_hf_config

INDEX_FILE = "model.safetensors.index.json"
CONFIG_FILE = "config.json"
#: safetensors dtype names this reader converts to float32 (the safetensors format's own names)
FLOAT_DTYPES = ("F64", "F32", "F16", "BF16")
_HEADER_LIMIT = 100 * 1024 * 1024  # bytes; safetensors itself refuses headers above 100 MB
READ_CHUNK_ELEMENTS = 1 << 22      # elements converted to float32 at a time by Checkpoint.load (8 MB of bf16)
_LAYER_NAME = re.compile(r"(?:^|\.)layers\.(\d+)\.(?:self_attn\.|mlp\.)?"
                         r"(q_proj|k_proj|v_proj|o_proj|out_proj|gate_proj|up_proj|down_proj|fc1|fc2)\.weight$")
_NOT_LAYERS = ("embed", "wte", "wpe", "lm_head")


@dataclass(frozen=True)
class Layer:
    """One linear layer: ``tensor`` in ``file``, weight shape ``(out_features, in_features)``."""

    name: str            # tensor name without ``.weight``
    tensor: str
    file: Path
    shape: tuple[int, int]
    dtype: str           # safetensors dtype name (F16, BF16, F32, F64)
    block: int | None    # decoder block index; None for a tensor outside the naming scheme
    module: str          # q_proj, …, fc2; the tensor name when outside the scheme

    @property
    def elements(self) -> int:
        return self.shape[0] * self.shape[1]


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    layers: tuple[Layer, ...]
    config: ModelConfig | None

    def load(self, layer: Layer) -> np.ndarray:
        """The layer's weights as a float32 array, read once and converted in blocks of rows (about
        ``READ_CHUNK_ELEMENTS`` each), so memory holds the float32 tensor plus one block in the file's dtype."""
        rows, cols = layer.shape
        step = max(1, READ_CHUNK_ELEMENTS // max(cols, 1))
        out = np.empty(layer.shape, dtype=np.float32)
        if layer.dtype == "BF16":
            scalar_type("bfloat16")  # safetensors hands bf16 to numpy as ml_dtypes' bfloat16: register it first
        try:
            with safe_open(str(layer.file), framework="numpy") as f:
                part = f.get_slice(layer.tensor)
                for start in range(0, rows, step):
                    out[start:start + step] = part[start:min(start + step, rows)]
        except (SafetensorError, OSError, ValueError) as exc:
            raise InputError("--weights", f"cannot read tensor {layer.tensor!r} from {str(layer.file)!r}: {exc}") \
                from None
        return out


def model_spec(text: str) -> str:
    """A ``--model`` value: a model folder stands for its ``config.json`` (zoo names and files pass unchanged)."""
    p = Path(text)
    return str(p / CONFIG_FILE) if p.is_dir() and (p / CONFIG_FILE).is_file() else text


def read_header(file: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """``{tensor name: (dtype, shape)}`` from a safetensors file's JSON header (no tensor data read)."""
    try:
        with open(file, "rb") as f:
            raw = f.read(8)
            if len(raw) < 8:
                raise InputError("--weights", f"{str(file)!r} is not a safetensors file (shorter than its header)")
            (n,) = struct.unpack("<Q", raw)
            if n > _HEADER_LIMIT:
                raise InputError("--weights", f"{str(file)!r} is not a safetensors file (header length {n} bytes)")
            head = json.loads(f.read(n))
    except FileNotFoundError:
        raise InputError("--weights", f"{str(file)!r} does not exist") from None
    except (ValueError, UnicodeDecodeError):
        raise InputError("--weights", f"{str(file)!r} is not a safetensors file (its header is not JSON)") from None
    out = {}
    for name, entry in head.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict) or "dtype" not in entry or "shape" not in entry:
            raise InputError("--weights", f"tensor {name!r} in {str(file)!r} has no dtype/shape in the header")
        out[name] = (str(entry["dtype"]), tuple(int(d) for d in entry["shape"]))
    return out


def _tensor_files(root: Path) -> dict[str, Path]:
    """Tensor name -> the file holding it (index file when present, else every ``*.safetensors``)."""
    index = root / INDEX_FILE
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text())["weight_map"]
        except (ValueError, KeyError, TypeError):
            raise InputError("--weights", f"{str(index)!r} has no weight_map (not a safetensors index)") from None
        files = {}
        for tensor, shard in weight_map.items():
            f = root / shard
            if not f.is_file():
                raise InputError("--weights", f"shard {shard!r} named in {INDEX_FILE} for tensor {tensor!r} "
                                 f"is missing from {str(root)!r}")
            files[tensor] = f
        return files
    shards = sorted(root.glob("*.safetensors"))
    if not shards:
        raise InputError("--weights", f"{str(root)!r} holds no *.safetensors file")
    return {name: s for s in shards for name in read_header(s)}


def open_checkpoint(path: str | Path) -> Checkpoint:
    """Inventory a checkpoint folder or safetensors file: its layers, checked against ``config.json``."""
    p = Path(path)
    if p.is_dir():
        root, files = p, _tensor_files(p)
    elif p.is_file():
        root, files = p.parent, {name: p for name in read_header(p)}
    else:
        raise InputError("--weights", f"{str(p)!r} does not exist", "a model folder or a .safetensors file")
    config = load_hf_config(root / CONFIG_FILE) if (root / CONFIG_FILE).is_file() else None
    headers = {f: read_header(f) for f in sorted(set(files.values()))}
    entries = {}
    for tensor, f in files.items():
        if tensor not in headers[f]:
            raise InputError("--weights", f"tensor {tensor!r} is listed in {INDEX_FILE} but absent from {str(f)!r}")
        entries[tensor] = (f, *headers[f][tensor])
    layers = _expected_layers(entries, config, root) if config else _found_layers(entries)
    if not layers:
        raise InputError("--weights", f"no 2-D weight tensor found in {str(p)!r}")
    for lay in layers:
        if lay.dtype not in FLOAT_DTYPES:
            raise InputError("--weights", f"tensor {lay.tensor!r} in {str(lay.file)!r} has dtype {lay.dtype}",
                             ", ".join(FLOAT_DTYPES))
    return Checkpoint(path=p, layers=tuple(layers), config=config)


def _matched(entries: dict) -> dict[tuple[int, str], str]:
    out = {}
    for tensor in entries:
        m = _LAYER_NAME.search(tensor)
        if m:
            out[(int(m.group(1)), m.group(2))] = tensor
    return out


def _expected_layers(entries: dict, config: ModelConfig, root: Path) -> list[Layer]:
    """Every linear layer that ``config`` implies, in block order, with its shape checked."""
    found = _matched(entries)
    extra = sorted(k for k in found if k[0] >= config.layers)
    if extra:
        raise InputError("--weights", f"tensor {found[extra[0]]!r} is in block {extra[0][0]}, but config.json has "
                         f"num_hidden_layers={config.layers}")
    layers = []
    for block in range(config.layers):
        for s in config.linear_layers():
            tensor = found.get((block, s.name))
            if tensor is None:
                raise InputError("--weights", f"block {block} has no {s.name} weight in {str(root)!r} "
                                 f"(config.json implies {config.layers} blocks of {config.family} layers)")
            f, dtype, shape = entries[tensor]
            want = (s.out_features, s.in_features)
            if shape != want:
                raise InputError("--weights", f"tensor {tensor!r} in {str(f)!r} has shape {list(shape)}; "
                                 f"config.json implies {list(want)} (out_features, in_features)")
            layers.append(Layer(tensor.removesuffix(".weight"), tensor, f, want, dtype, block, s.name))
    return layers


def _found_layers(entries: dict) -> list[Layer]:
    """Without a config: the tensors named like decoder linear layers, else every 2-D non-embedding tensor."""
    found = _matched(entries)
    if found:
        keys = sorted(found)
        picked = [(found[k], k[0], k[1]) for k in keys]
    else:
        picked = [(t, None, t.removesuffix(".weight")) for t in sorted(entries)
                  if len(entries[t][2]) == 2 and not any(s in t for s in _NOT_LAYERS)]
    layers = []
    for tensor, block, module in picked:
        f, dtype, shape = entries[tensor]
        if len(shape) != 2:
            raise InputError("--weights", f"tensor {tensor!r} in {str(f)!r} has shape {list(shape)}; "
                             "a linear layer's weight is 2-D")
        layers.append(Layer(tensor.removesuffix(".weight"), tensor, f, (shape[0], shape[1]), dtype, block, module))
    return layers
