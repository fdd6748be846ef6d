"""Checkpoint reading: layers of a sharded bf16/fp16 safetensors folder, checked against config.json."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from safetensors.numpy import save_file

from sim.errors import InputError
from workloads.checkpoint import open_checkpoint, read_header

from .checkpoint_fixtures import LLAMA_CONFIG, OPT_CONFIG, tensor_name, write_checkpoint


def test_sharded_llama_folder_has_every_linear_layer_with_its_values(tmp_path):
    tensors = write_checkpoint(tmp_path / "m", shards=3)
    ck = open_checkpoint(tmp_path / "m")
    assert len(ck.layers) == 2 * 7
    assert {lay.file.name for lay in ck.layers} == {f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)}
    assert {lay.dtype for lay in ck.layers} == {"BF16", "F16"}
    assert [lay.module for lay in ck.layers[:7]] == ["q_proj", "k_proj", "v_proj", "o_proj",
                                                     "gate_proj", "up_proj", "down_proj"]
    k = ck.layers[1]
    assert k.shape == (2 * 16, 64)  # kv_heads x head_dim, hidden
    for lay in ck.layers:
        w = ck.load(lay)
        assert w.dtype == np.float32
        np.testing.assert_array_equal(w, tensors[lay.tensor].astype(np.float32))


def test_single_file_folder_and_single_file_path(tmp_path):
    write_checkpoint(tmp_path / "m", shards=1)
    a = open_checkpoint(tmp_path / "m")
    b = open_checkpoint(tmp_path / "m" / "model.safetensors")
    assert [x.tensor for x in a.layers] == [x.tensor for x in b.layers]
    assert b.config is not None  # config.json beside the file is used


def test_opt_names(tmp_path):
    write_checkpoint(tmp_path / "opt", config=OPT_CONFIG, shards=2)
    ck = open_checkpoint(tmp_path / "opt")
    assert [lay.module for lay in ck.layers[:6]] == ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"]
    assert ck.layers[4].shape == (256, 64)


def test_file_without_config_takes_layer_names_else_every_2d_tensor(tmp_path):
    f = tmp_path / "w.safetensors"
    save_file({"model.layers.3.mlp.up_proj.weight": np.ones((8, 4), np.float16),
               "model.layers.3.input_layernorm.weight": np.ones(4, np.float16)}, str(f))
    (lay,) = open_checkpoint(f).layers
    assert (lay.block, lay.module, lay.shape) == (3, "up_proj", (8, 4))
    g = tmp_path / "bag.safetensors"
    save_file({"a": np.ones((2, 4), np.float32), "embed_tokens": np.ones((9, 4), np.float32),
               "b": np.ones(3, np.float32)}, str(g))
    assert [x.tensor for x in open_checkpoint(g).layers] == ["a"]


def _error(path) -> str:
    with pytest.raises(InputError) as e:
        open_checkpoint(path)
    return str(e.value)


def test_missing_shard_names_the_shard_and_a_tensor(tmp_path):
    write_checkpoint(tmp_path / "m", shards=3)
    (tmp_path / "m" / "model-00002-of-00003.safetensors").unlink()
    msg = _error(tmp_path / "m")
    assert "model-00002-of-00003.safetensors" in msg and "missing" in msg and "tensor" in msg


def test_shape_mismatch_with_config_names_the_tensor(tmp_path):
    cfg = dict(LLAMA_CONFIG, intermediate_size=96)  # the tensors are written with 128
    tensors = write_checkpoint(tmp_path / "m", shards=2)
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    msg = _error(tmp_path / "m")
    assert "model.layers.0.mlp.gate_proj.weight" in msg and "[128, 64]" in msg and "[96, 64]" in msg
    assert len(tensors) > 0


def test_missing_layer_and_extra_block(tmp_path):
    from .checkpoint_fixtures import checkpoint_tensors

    t = checkpoint_tensors(LLAMA_CONFIG)
    del t[tensor_name(LLAMA_CONFIG, 1, "v_proj")]
    write_checkpoint(tmp_path / "a", shards=1, tensors=t)
    assert "block 1 has no v_proj" in _error(tmp_path / "a")
    t = checkpoint_tensors(LLAMA_CONFIG)
    t[tensor_name(LLAMA_CONFIG, 5, "v_proj")] = np.ones((32, 64), np.float16)
    write_checkpoint(tmp_path / "b", shards=2, tensors=t)
    assert "num_hidden_layers=2" in _error(tmp_path / "b")


def test_unknown_dtype_names_tensor_file_and_allowed(tmp_path):
    t = {"model.layers.0.mlp.up_proj.weight": np.ones((4, 4), np.int8)}
    save_file(t, str(tmp_path / "w.safetensors"))
    msg = _error(tmp_path / "w.safetensors")
    assert "model.layers.0.mlp.up_proj.weight" in msg and "I8" in msg and "BF16" in msg


def _raw_file(path, header: dict, data: bytes = b""):
    h = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(h)) + h + data)


def test_a_dtype_safetensors_does_not_know_is_named_too(tmp_path):
    f = tmp_path / "odd.safetensors"
    _raw_file(f, {"w": {"dtype": "Q7", "shape": [2, 2], "data_offsets": [0, 4]}}, b"\0" * 4)
    assert read_header(f) == {"w": ("Q7", (2, 2))}
    assert "'w'" in _error(f) and "Q7" in _error(f)


@pytest.mark.parametrize("content", [b"", b"\x10\0\0\0\0\0\0\0{not json", b"\xff" * 8])
def test_not_a_safetensors_file(tmp_path, content):
    f = tmp_path / "bad.safetensors"
    f.write_bytes(content)
    assert "not a safetensors file" in _error(f)


def test_missing_path_and_empty_folder(tmp_path):
    assert "does not exist" in _error(tmp_path / "nope")
    assert "no *.safetensors" in _error(tmp_path)


def test_index_lists_a_tensor_its_shard_lacks(tmp_path):
    write_checkpoint(tmp_path / "m", shards=2)
    idx = tmp_path / "m" / "model.safetensors.index.json"
    doc = json.loads(idx.read_text())
    doc["weight_map"]["model.layers.9.extra.weight"] = "model-00001-of-00002.safetensors"
    idx.write_text(json.dumps(doc))
    assert "absent from" in _error(tmp_path / "m")


def test_simulate_takes_a_model_folder(tmp_path, capsys):
    from lutsim.cli import main

    write_checkpoint(tmp_path / "m", shards=2)
    args = ["simulate", "--arch", "lut-tc-28nm", "--quant", "w2a16-g64", "--phase", "decode", "--kv-len", "64",
            "--json"]
    assert main([*args, "--model", str(tmp_path / "m")]) == 0
    by_folder = json.loads(capsys.readouterr().out)
    assert main([*args, "--model", str(tmp_path / "m" / "config.json")]) == 0
    assert json.loads(capsys.readouterr().out)["totals"] == by_folder["totals"]
