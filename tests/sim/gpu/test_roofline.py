import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lutsim.cli import main
from sim.errors import InputError
from sim.gpu.llm_viewer_compat import llm_viewer_roofline, llm_viewer_rows
from sim.gpu.roofline import get_gpu, gpu_names, op_precision, roofline_time, roofline_trace
from workloads.models import get_model, names
from workloads.recipes import get_recipe
from workloads.recipes import names as recipe_names
from workloads.trace import build_trace


def sig4(x: float) -> str:
    return f"{x:.4g}"


# LLM-Viewer golden numbers (docs/references.md#peer-tools; LLM-Viewer run offline, github hahnyuan/LLM-Viewer):
# LLaMA-2-7B, batch 1, 1024 tokens, no FlashAttention, A100-40G.
@pytest.mark.parametrize("phase,w_bits,ops_t,gbytes,ms", [
    ("prefill", 16, "13.82", None, "50.79"),
    ("decode", 16, None, "13.77", "8.854"),
    ("decode", 4, None, "3.857", "2.481"),
])
def test_llm_viewer_golden(phase, w_bits, ops_t, gbytes, ms):
    res = llm_viewer_roofline(get_model("llama-2-7b"), get_gpu("a100-40g", llm_viewer=True), phase, 1024, 1,
                              w_bits, 16, 16)
    t = res["total"]
    assert sig4(t["latency_ms"]) == ms
    if ops_t:
        assert sig4(t["ops"] / 1e12) == ops_t
    if gbytes:
        assert sig4(t["bytes"] / 1e9) == gbytes


def test_llm_viewer_golden_cli(capsys):
    argv = ["roofline", "--gpu", "a100-40g", "--model", "llama-2-7b", "--phase", "decode", "--seq-len", "1024",
            "--w-bits", "4", "--a-bits", "16", "--kv-bits", "16", "--compat", "llm-viewer", "--json"]
    assert main(argv) == 0
    d = json.loads(capsys.readouterr().out)
    assert sig4(d["total"]["latency_ms"]) == "2.481" and sig4(d["total"]["bytes"] / 1e9) == "3.857"
    assert d["mode"] == "llm-viewer" and any(r["name"] == "qk_matmul" for r in d["ops"])


def test_llm_viewer_quirk_swiglu_sized_by_hidden():
    rows = {r["name"]: r for r in llm_viewer_rows(get_model("llama-2-7b"), "prefill", 1024, 1, 16, 16, 16)}
    assert rows["mlp_act"]["ops"] == 32 * 2 * 1024 * 4096  # hidden, not intermediate (their quirk)
    assert rows["lm_head"]["ops"] == 4096 * 32000  # one op per MAC (their quirk)


def test_our_default_differs_from_llm_viewer_where_their_quirks_are():
    t = build_trace(get_model("llama-2-7b"), get_recipe("fp16"), "prefill", seq_len=1024)
    ops = {op.name: op for op in t.ops}
    assert ops["mlp_act"].N == 11008 and ops["lm_head"].flops == 2 * 4096 * 32000


def test_roofline_time_formula():
    bw, peak = 1e12, 100e12
    assert roofline_time(200e12, 1e9, peak, bw) == pytest.approx(2.0)  # compute bound: ops / peak
    assert roofline_time(1e9, 1e12, peak, bw) == pytest.approx(1.0)  # memory bound: bytes / BW
    assert roofline_time(0, 5e11, peak, bw) == pytest.approx(0.5)
    assert roofline_time(3e12, 0, peak, bw) == pytest.approx(0.03)


def test_presets_cite_sources():
    assert set(gpu_names()) == {"v100", "a100-40g", "a100-80g", "h100-sxm", "l40", "rtx-4090", "orin-agx", "a6000",
                                "a40", "a800-80g", "h100-pcie"}
    for k in gpu_names():
        g = get_gpu(k)
        assert g.source and g.bandwidth > 0 and g.peaks["fp16"] > 0 and g.peaks["int8"] > 0
    a100 = get_gpu("a100-40g")  # docs/references.md#gpu-presets
    assert (a100.bandwidth, a100.peaks["fp16"], a100.peaks["int8"]) == (1555e9, 312e12, 624e12)
    assert get_gpu("h100-sxm").bandwidth == 3350e9 and get_gpu("h100-sxm", llm_viewer=True).bandwidth == 3072e9


@pytest.mark.parametrize("w,a,p", [("int4_asym", "fp16", "fp16"), ("int8", "int8", "int8"), ("ternary", "int8", "int8"),
                                   ("mxfp4", "mxfp4", "fp4"), ("fp8_e4m3", "fp8_e4m3", "fp8"),
                                   ("bitmod_fp4", "fp16", "fp16"), ("", "fp16", "fp16")])
def test_op_precision(w, a, p):
    assert op_precision(w, a) == p


def test_fp4_falls_back_to_fp16_peak_without_fp8():
    assert get_gpu("a100-40g").peak("fp4") == 312e12 and get_gpu("h100-sxm").peak("fp4") == 1979e12


@settings(max_examples=25, deadline=None)
@given(model=st.sampled_from(names()), gpu=st.sampled_from(gpu_names()), recipe=st.sampled_from(recipe_names()),
       kv_len=st.integers(1, 8192), batch=st.integers(1, 64))
def test_decode_latency_never_below_weight_bytes_over_bandwidth(model, gpu, recipe, kv_len, batch):
    g = get_gpu(gpu)
    t = build_trace(get_model(model), get_recipe(recipe), "decode", kv_len=kv_len, batch=batch)
    res = roofline_trace(t, g)
    weight_bytes = t.totals()["bytes_weight"]
    assert res["total"]["latency_ms"] * 1e-3 >= weight_bytes / g.bandwidth * (1 - 1e-12)
    assert res["total"]["bytes"] == pytest.approx(t.totals()["bytes"])


def test_lower_weight_bits_never_slower_in_decode():
    g, m = get_gpu("a100-80g"), get_model("llama-3-8b")
    lat = [roofline_trace(build_trace(m, get_recipe(r), "decode", kv_len=512), g)["total"]["latency_ms"]
           for r in ("fp16", "w8a8", "w4a16-g128", "w2a16-g64")]
    assert lat == sorted(lat, reverse=True)


def test_cli_json_default_mode(capsys):
    assert main(["roofline", "--gpu", "h100-sxm", "--model", "llama-3-8b", "--phase", "prefill", "--seq-len", "256",
                 "--quant", "w4a8kv4", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["mode"] == "lutsim" and {"latency_ms", "ops", "bytes"} <= set(d["total"])
    assert sum(r["latency_ms"] for r in d["ops"]) == pytest.approx(d["total"]["latency_ms"])


@pytest.mark.parametrize("extra", [
    ["--gpu", "a100", "--phase", "decode"],
    ["--gpu", "a100-40g", "--phase", "decode", "--w-bits", "5", "--quant", "fp16"],
    ["--gpu", "a100-40g", "--phase", "decode", "--w-bits", "12"],
    ["--gpu", "a100-40g", "--phase", "decode", "--compat", "vllm"],
    ["--gpu", "a100-40g", "--phase", "warmup"],
    ["--gpu", "a100-40g", "--phase", "decode", "--compat", "llm-viewer", "--seq-len", "0"],
])
def test_cli_bad_input_exit_2(capsys, extra):
    assert main(["roofline", "--model", "llama-2-7b", *extra]) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_llm_viewer_runs_opt_through_its_opt_config():
    # LLM-Viewer configs/opt.py lists gate_proj, up_proj and down_proj of ffn_dim (OPT has no gate: their quirk)
    rows = {r["name"]: r for r in llm_viewer_rows(get_model("opt-6.7b"), "decode", 128, 1, 16, 16, 16)}
    assert rows["gate_proj"]["ops"] == rows["up_proj"]["ops"] == 2 * 4096 * 16384 * 32
    with pytest.raises(InputError, match="phi"):
        llm_viewer_rows(get_model("phi-2"), "decode", 128, 1, 16, 16, 16)
