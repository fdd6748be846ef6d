"""--compat llm-viewer against LLM-Viewer's own computed figures (tests/validation/llm_viewer_computed.yaml: its
model_analyzer.py run offline at commit 472f71f) on every GPU preset it has, with a-bits ≠ kv-bits, batch > 1 and
models other than Llama-2-7B; and the inputs it has no counterpart for are refused."""

from pathlib import Path

import pytest
import yaml

from lutsim.cli import main
from sim.gpu.llm_viewer_compat import LLM_VIEWER_CONFIGS, llm_viewer_config, llm_viewer_roofline
from sim.gpu.roofline import get_gpu, gpu_names, llm_viewer_gpu_names
from workloads.models import get_model, names

CASES = yaml.safe_load(Path(__file__).with_name("llm_viewer_computed.yaml").read_text())
BYTE_FIELDS = ("load_weight", "load_act", "store_act", "load_kv_cache", "store_kv_cache")
# LLM-Viewer's model list (backend_settings.py avaliable_model_ids_sources @472f71f) that lutsim's zoo holds
PEER_MODELS = {"llama-2-7b", "llama-2-13b", "llama-2-70b", "gpt-j-6b", "chatglm3-6b", "opt-125m", "opt-1.3b",
               "opt-2.7b", "opt-6.7b", "opt-30b", "opt-66b"}
# LLM-Viewer's hardware table (hardwares/hardware_params.py @472f71f): its NVIDIA keys and our presets
PEER_GPUS = {"nvidia_V100": "v100", "nvidia_A6000": "a6000", "nvidia_A100_40G": "a100-40g",
             "nvidia_A100_80G": "a100-80g", "nvidia_A800_80G_SXM": "a800-80g", "nvidia_A40": "a40",
             "nvidia_H100_SXM": "h100-sxm", "nvidia_H100_PCIe": "h100-pcie", "nvidia_L40": "l40"}
REL = 1e-12  # the same sums in another order: equal to float rounding


def _case_id(c):
    return f"{c['gpu']}-{c['model']}-{c['phase']}-b{c['batch']}-w{c['w_bits']}a{c['a_bits']}kv{c['kv_bits']}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_matches_llm_viewer_computed(case):
    m = get_model(case["model"])
    assert f"configs/{llm_viewer_config(m)}" == case["llm_viewer_config"]
    res = llm_viewer_roofline(m, get_gpu(case["gpu"], llm_viewer=True), case["phase"], case["seq_len"],
                              case["batch"], case["w_bits"], case["a_bits"], case["kv_bits"])
    t = res["total"]
    assert t["ops"] == pytest.approx(case["OPs"], rel=REL)
    assert t["bytes"] == pytest.approx(case["memory_access"], rel=REL)
    assert t["latency_ms"] == pytest.approx(case["inference_time"] * 1e3, rel=REL)
    for f in BYTE_FIELDS:
        assert sum(r[f] for r in res["ops"]) == pytest.approx(case[f], rel=REL), f


def test_cases_cover_every_gpu_and_model_of_the_peer():
    assert {PEER_GPUS[k] for k in PEER_GPUS} == set(llm_viewer_gpu_names())
    for g in llm_viewer_gpu_names():
        assert get_gpu(g, llm_viewer=True).key == g
        mine = [c for c in CASES if c["gpu"] == g]
        assert {c["phase"] for c in mine} == {"prefill", "decode"}
        assert any(c["a_bits"] != c["kv_bits"] and c["phase"] == "prefill" for c in mine)
        assert all(c["batch"] > 1 for c in mine) and any(c["model"] != "llama-2-7b" for c in mine)
    assert PEER_MODELS <= {c["model"] for c in CASES}
    covered = {n for n in names() if get_model(n).family in LLM_VIEWER_CONFIGS}
    assert covered == {c["model"] for c in CASES}  # every zoo model LLM-Viewer has a config for


def test_prefill_qk_reads_q_at_a_bits_and_k_at_kv_bits():
    # LLM-Viewer's prefill qk_matmul: load_act = s·hd·b·KV·a_byte, load_kv_cache = s·hd·b·KV·kv_byte
    rows = llm_viewer_roofline(get_model("llama-3-8b"), get_gpu("a100-40g", llm_viewer=True), "prefill", 256, 2,
                               4, 8, 4)["ops"]
    qk = next(r for r in rows if r["name"] == "qk_matmul")
    elems = 256 * 128 * 2 * 8 * 32  # × 32 layers
    assert qk["load_act"] == elems * 1 and qk["load_kv_cache"] == elems * 0.5


@pytest.mark.parametrize("gpu", sorted(set(gpu_names()) - set(llm_viewer_gpu_names())))
def test_gpus_llm_viewer_lacks_are_refused(capsys, gpu):
    assert gpu in ("rtx-4090", "orin-agx")
    assert main(["roofline", "--gpu", gpu, "--model", "llama-2-7b", "--phase", "decode", "--compat",
                 "llm-viewer"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: gpu:") and "a100-40g" in err and err.count("\n") == 1


@pytest.mark.parametrize("argv,field", [
    (["--model", "llama-2-7b", "--phase", "prefill", "--lm-head-all-tokens"], "lm-head-all-tokens"),
    (["--model", "phi-2", "--phase", "prefill"], "model"),
])
def test_inputs_without_llm_viewer_counterpart_are_refused(capsys, argv, field):
    assert main(["roofline", "--gpu", "a100-40g", "--compat", "llm-viewer", *argv]) == 2
    assert capsys.readouterr().err.startswith(f"error: {field}:")


def test_cli_opt_decode_matches(capsys):
    import json

    c = next(c for c in CASES if c["model"].startswith("opt-") and c["phase"] == "decode")
    assert main(["roofline", "--gpu", c["gpu"], "--model", c["model"], "--phase", "decode", "--kv-len",
                 str(c["seq_len"]), "--batch", str(c["batch"]), "--w-bits", str(c["w_bits"]), "--a-bits",
                 str(c["a_bits"]), "--kv-bits", str(c["kv_bits"]), "--compat", "llm-viewer", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["latency_ms"] == pytest.approx(c["inference_time"] * 1e3,
                                                                                        rel=REL)
