"""BitMoD tile-model compatibility mode against their published cycle counts (docs/references.md#bitmod)."""

import json

import pytest

from lutsim.cli import main
from sim.compat.bitmod_tile_model import (
    TileLayer,
    bitmod_cycles,
    comparison,
    design_names,
    design_point,
    headline_models,
    headline_speedups,
    layer_cost,
    tile_layers,
)
from sim.errors import InputError
from workloads.models import get_model


# Golden: Llama-2-7B, BitMoD-HPCA-25 bitmod_sim/plot/speedup_plot.ipynb (docs/references.md#bitmod table).
@pytest.mark.parametrize("design,phase,cycles", [
    ("fp16", "prefill", 3_156_574_208),
    ("fp16", "decode", 413_518_608),
    ("bitmod-lossy", "prefill", 1_202_921_472),
    ("bitmod-lossy", "decode", 79_493_200),
])
def test_published_llama2_7b_cycles(design, phase, cycles):
    assert bitmod_cycles(get_model("llama-2-7b"), design, phase)["total_cycles"] == cycles


def test_q_proj_fp16_prefill_by_hand():
    # W 4096x4096 fp16 = 32 MiB and IN 256x4096 fp16 = 2 MiB both exceed 512 KiB: n_I = 64, n_W = 4;
    # 4·W + IN = 136,314,880 < 64·IN + W = 167,772,160, so weights are fetched 4 times; OUT = 2 MiB.
    layer = next(x for x in tile_layers(get_model("llama-2-7b"), "prefill") if x.name == "q_proj")
    r = layer_cost(layer, design_point("fp16", "prefill", "llama-2-7b"))
    assert r["compute_cycles"] == 4096 * 128 * 11  # ⌈4096/1⌉·⌈4096/32⌉·⌈256/24⌉
    assert r["dram_bytes"] == 4 * 33_554_432 + 2_097_152 + 2_097_152
    assert r["dram_cycles"] == r["dram_bytes"] * 8 // 256 and r["cycles"] == r["compute_cycles"]


def test_input_refetch_branch():
    # W = 1 MiB, IN = 8 MiB: n_I = 2, n_W = 16; 16·W + IN = 24 MiB > 2·IN + W = 17 MiB, so inputs twice.
    layer = TileLayer("x", 512, 1024, 4096, 1024, 1, False, 1)
    r = layer_cost(layer, design_point("fp16", "prefill", "llama-2-7b"))
    assert r["weight_bytes"] == 2**20 and r["input_bytes"] == 8 * 2**20
    assert r["dram_bytes"] == 2 * 8 * 2**20 + 2**20 + 512 * 2


def test_small_layers_fetch_once():
    layer = TileLayer("x", 64, 64, 8, 64, 8, False, 1)
    r = layer_cost(layer, design_point("bitmod-lossy", "decode", "llama-2-7b"))
    assert r["weight_bytes"] == 25 * 64  # ⌈64·3.0625/8⌉ = ⌈24.5⌉ bytes per row, 64 rows
    assert r["dram_bytes"] == 25 * 64 + 8 * 64 * 2 + 8 * 64 * 2


@pytest.mark.parametrize("design,phase,lat", [("bitmod-lossy", "prefill", 2), ("bitmod-lossy", "decode", 2),
                                              ("bitmod-lossless", "prefill", 3), ("ant", "prefill", 1),
                                              ("fp16", "decode", 1)])
def test_bit_serial_latency(design, phase, lat):
    # ⌈⌊w_prec⌋/2⌉ for bit-serial designs: FP4 2, FP3 2, INT6 3 cycles per weight (docs/references.md#bitmod)
    assert design_point(design, phase, "llama-2-7b").latency == lat


def test_layer_list_and_shapes():
    m = get_model("llama-3-8b")
    layers = {x.name: x for x in tile_layers(m, "decode")}
    assert set(layers) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
                           "attn_qk", "attn_sv", "lm_head"}
    qk, sv = layers["attn_qk"], layers["attn_sv"]
    assert (qk.cout, qk.cin, qk.in_rows, qk.in_width, qk.out_rows) == (1, 4096, 32, 1024, 32)  # width h/H·KV
    assert (sv.cout, sv.cin, sv.in_rows, sv.out_rows) == (32, 256, 1, 1)
    assert layers["lm_head"].repeat == 1 and layers["q_proj"].repeat == 32


def test_rows_sum_to_total_and_cycles_are_max():
    r = bitmod_cycles(get_model("llama-2-13b"), "olive", "decode")
    assert sum(x["cycles"] * x["repeat"] for x in r["layers"]) == r["total_cycles"]
    assert all(x["cycles"] == max(x["compute_cycles"], x["dram_cycles"]) for x in r["layers"])


def test_comparison_speedups():
    c = comparison(get_model("llama-2-7b"))
    assert set(c["cycles"]) == set(design_names()) and not c["unavailable"]
    s = c["speedups"]["bitmod-lossy_over_fp16"]
    assert s["prefill"] == pytest.approx(3_156_574_208 / 1_202_921_472)
    assert s["decode"] == pytest.approx(413_518_608 / 79_493_200)
    # Same direction as their headline (1.69x over ANT, 1.48x over OliVe, averaged over 6 models)
    assert c["speedups"]["bitmod-lossy_over_ant"]["prefill"] > 1
    assert c["speedups"]["bitmod-lossy_over_olive"]["prefill"] > 1
    assert c["published_headline"]["speedup_over_ant"] == 1.69


@pytest.mark.parametrize("model", ["opt-1.3b", "phi-2", "yi-6b", "llama-2-7b", "llama-2-13b", "llama-3-8b"])
def test_their_six_models_run_every_design(model):
    # BitMoD-HPCA-25 bitmod_sim/test_ant.py and test_olive.py give ANT/OliVe decode precisions for all six
    assert model in headline_models()
    c = comparison(get_model(model))
    assert set(c["cycles"]) == set(design_names()) and not c["unavailable"]


def test_decode_precisions_of_their_scripts():
    # w_prec_list of bitmod_sim/test_ant.py and test_olive.py
    ant = {"opt-1.3b": 5, "phi-2": 5, "yi-6b": 5.25, "llama-2-7b": 5, "llama-2-13b": 5, "llama-3-8b": 4.5}
    olive = {"opt-1.3b": 3.875, "phi-2": 4, "yi-6b": 4.25, "llama-2-7b": 3.75, "llama-2-13b": 3.75, "llama-3-8b": 3.5}
    for design, precs in (("ant", ant), ("olive", olive)):
        assert {m: float(design_point(design, "decode", m).w_prec) for m in precs} == precs


def test_headline_over_six_models_lands_on_published():
    # arXiv 2411.11745: 1.69x over ANT, 1.48x over OliVe (2 decimals); speedup_plot.ipynb's own cycle counts give
    # 1.6914 / 1.4739 with its per-model averaging
    h = headline_speedups([get_model(n) for n in headline_models()])
    assert h["ant"] == pytest.approx(1.6913965, abs=1e-6) and round(h["ant"], 2) == 1.69
    assert h["olive"] == pytest.approx(1.4739002, abs=1e-6)
    assert headline_speedups([get_model(n) for n in ("llama-2-7b", "llama-2-13b", "llama-3-8b")])["ant"] == \
        pytest.approx(1.632014, abs=1e-6)


def test_cli_phi2(capsys):
    assert main(["compat", "bitmod", "--model", "phi-2", "--design", "olive", "--phase", "decode", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_cycles"] == 41_655_712  # speedup_plot.ipynb cycle_olive_g


def test_model_specific_precision_missing():
    with pytest.raises(InputError, match="llama-2-7b"):
        bitmod_cycles(get_model("mistral-7b"), "ant", "decode")
    assert set(comparison(get_model("mistral-7b"))["unavailable"]) == {"ant", "olive"}


def test_cli_json(capsys):
    assert main(["compat", "bitmod", "--model", "llama-2-7b", "--design", "bitmod-lossy", "--phase", "prefill",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["total_cycles"] == 1_202_921_472 and "bitmod-lossy_over_ant" in d["comparison"]["speedups"]


@pytest.mark.parametrize("argv", [
    ["--model", "llama-2-7b", "--design", "bitfusion", "--phase", "prefill"],
    ["--model", "llama-2-7b", "--design", "fp16", "--phase", "train"],
    ["--model", "gpt-5", "--design", "fp16", "--phase", "prefill"],
    ["--model", "opt-6.7b", "--design", "olive", "--phase", "decode"],
])
def test_cli_bad_input_exit_2(capsys, argv):
    assert main(["compat", "bitmod", *argv]) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_cli_unknown_action_exit_2():
    with pytest.raises(SystemExit) as e:
        main(["compat", "scalesim-x"])
    assert e.value.code == 2
