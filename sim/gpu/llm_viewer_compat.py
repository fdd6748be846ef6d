"""Compatibility mode: LLM-Viewer's roofline of a decoder (arXiv 2402.16363; github hahnyuan/LLM-Viewer @472f71f).

Reproduces the per-layer ops and bytes of LLM-Viewer's ``model_analyzer.py`` (``ModelAnalyzer.analyze`` with
``use_flashattention=False``, then the ``lm_head`` of its model config's ``post_process``), quirks included, which
exist only here:
- every model runs through one of its model configs (:data:`LLM_VIEWER_CONFIGS`): ``configs/Llama.py`` for
  the Llama-style SwiGLU families, ``chatglm3.py`` (the same layers), ``opt.py``, which lists gate_proj, up_proj
  and down_proj of ``ffn_dim`` although OPT has no gate (its fc1/fc2 MLP is counted as a SwiGLU one), and
  ``gpt-j-6B.py`` (up/down only, one norm per layer, intermediate fixed at 16384);
- the MLP activation is sized by ``hidden`` rather than ``intermediate``;
- ``lm_head`` counts one op per MAC, reads one token's activations whatever the batch, and is added once,
  also in prefill (where it covers one token);
- prefill QK reads K from the KV cache at ``kv_bits`` and charges its Q read at ``a_bits`` but over the KV heads
  (seq·head_dim·batch·kv_heads elements); decode QK reads one token's Q over all heads; K/V projections store
  the cache in ``kv_bits`` but no activations;
- norms count 7 ops per element, softmax 5; the peak is INT8 only when weight, activation and KV widths are
  all at most 8 bits, else FP16.
Times per op: ``ops / min(peak, AI·BW)`` (:func:`sim.gpu.roofline.roofline_time`), summed without overlap. Units:
ops, bytes, ms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.errors import InputError

from .roofline import GPU, roofline_rows

if TYPE_CHECKING:  # the model's shape only; sim/ imports nothing from workloads/ at run time
    from workloads.models import ModelConfig

_FIELDS = ("load_weight", "load_act", "store_act", "load_kv_cache", "store_kv_cache")


def _row(name, repeat, ops, load_weight=0.0, load_act=0.0, store_act=0.0, load_kv=0.0, store_kv=0.0):
    per = dict(zip(_FIELDS, (load_weight, load_act, store_act, load_kv, store_kv)))
    return {"name": name, "repeat": repeat, "ops": ops * repeat, "bytes": sum(per.values()) * repeat,
            **{k: v * repeat for k, v in per.items()}}


# Our model family -> the LLM-Viewer model config that analyses it (configs/<file> @472f71f). Its auto-search
# picks a config whose name is in the model id (Llama, opt, gpt-j-6B, chatglm3); the other SwiGLU families run
# through Llama.py given as --config_file, with their own head counts (GQA) and sizes.
LLM_VIEWER_CONFIGS = {"llama": "Llama.py", "mistral": "Llama.py", "qwen2": "Llama.py", "bitnet": "Llama.py",
                      "opt": "opt.py", "chatglm": "chatglm3.py", "gptj": "gpt-j-6B.py"}
SWIGLU_STYLE = (("gate_proj", "up_proj", "down_proj"), ("attn_norm", "mlp_norm"), None)
# config -> (MLP linear layers of its get_linear_layers, its get_norm_layers, its fixed get_intermediate_size)
CONFIG_LAYERS = {"Llama.py": SWIGLU_STYLE, "opt.py": SWIGLU_STYLE, "chatglm3.py": SWIGLU_STYLE,
                 "gpt-j-6B.py": (("up_proj", "down_proj"), ("attn_norm",), 16384)}


def llm_viewer_config(m: ModelConfig) -> str:
    """The LLM-Viewer model config file that covers ``m``; InputError for families it has none for."""
    if m.family not in LLM_VIEWER_CONFIGS:
        raise InputError("model", f"LLM-Viewer has no model config for {m.name} (family {m.family!r})",
                         "models of the families " + ", ".join(LLM_VIEWER_CONFIGS))
    return LLM_VIEWER_CONFIGS[m.family]


def llm_viewer_rows(m: ModelConfig, phase: str, seq_len: int, batch: int, w_bits: float, a_bits: float,
                    kv_bits: float) -> list[dict]:
    """LLM-Viewer's rows (totalled over layers). ``seq_len``: prompt length (prefill) or KV length (decode)."""
    mlp, norms, fixed_ffn = CONFIG_LAYERS[llm_viewer_config(m)]
    if phase not in ("prefill", "decode"):
        raise InputError("phase", f"unknown phase {phase!r}", "prefill, decode")
    wB, aB, kB = w_bits / 8, a_bits / 8, kv_bits / 8
    h, H, KV, s, b, n = m.hidden, m.heads, m.kv_heads, seq_len, batch, m.layers
    hd = h // H
    T = s if phase == "prefill" else 1
    bt = b * T
    rows = []
    kv_out = h * KV / H
    ffn = fixed_ffn or m.intermediate
    shapes = {"q_proj": (h, h), "k_proj": (h, kv_out), "v_proj": (h, kv_out), "out_proj": (h, h),
              "gate_proj": (h, ffn), "up_proj": (h, ffn), "down_proj": (ffn, h)}
    for name in ("q_proj", "k_proj", "v_proj", "out_proj", *mlp):
        ic, oc = shapes[name]
        to_cache = name in ("k_proj", "v_proj")
        rows.append(_row(name, n, ic * oc * bt * 2, ic * oc * wB, ic * bt * aB, 0 if to_cache else oc * bt * aB,
                         0, oc * bt * kB if to_cache else 0))
    scores = b * H * T * s  # score elements: T queries × s keys per head
    att_ops = 2 * T * s * hd * H * b
    cache = s * hd * b * KV * kB
    if phase == "prefill":
        rows.append(_row("qk_matmul", n, att_ops, 0, s * hd * b * KV * aB, scores * aB, cache))
    else:
        rows.append(_row("qk_matmul", n, att_ops, 0, hd * b * H * aB, scores * aB, cache))
    rows.append(_row("sv_matmul", n, att_ops, 0, scores * aB, T * hd * b * H * aB, cache))
    rows.append(_row("softmax", n, 5 * scores, 0, scores * aB, scores * aB))
    for name in norms:
        rows.append(_row(name, n, 7 * bt * h, 0, bt * h * aB, bt * h * aB))
    for name in ("attn_add", "mlp_add"):
        rows.append(_row(name, n, bt * h, 0, bt * h * aB, bt * h * aB))
    rows.append(_row("mlp_act", n, 2 * bt * h, 0, 2 * bt * h * aB, bt * h * aB))
    rows.append(_row("lm_head", 1, b * h * m.vocab, h * m.vocab * wB, h * aB, m.vocab * aB))
    precision = "int8" if max(w_bits, a_bits, kv_bits) <= 8 else "fp16"
    for r in rows:
        r["precision"] = precision
    return rows


def llm_viewer_roofline(m: ModelConfig, gpu: GPU, phase: str, seq_len: int, batch: int, w_bits: float,
                        a_bits: float, kv_bits: float) -> dict:
    res = roofline_rows(llm_viewer_rows(m, phase, seq_len, batch, w_bits, a_bits, kv_bits), gpu)
    res["mode"] = "llm-viewer"
    res["meta"] = {"model": m.name, "phase": phase, "seq_len": seq_len, "batch": batch, "w_bits": w_bits,
                   "a_bits": a_bits, "kv_bits": kv_bits, "use_flashattention": False}
    return res
