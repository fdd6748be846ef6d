"""Compatibility mode: LLM-Viewer's roofline of a Llama-style model (arXiv 2402.16363, references §7).

Reproduces the per-layer ops and bytes of LLM-Viewer's ``model_analyzer.py`` (github hahnyuan/LLM-Viewer,
``ModelAnalyzer.analyze`` with ``use_flashattention=False`` and the ``lm_head`` post-process of its Llama
config), including its quirks, which exist only here:
- the SwiGLU activation is sized by ``hidden`` rather than ``intermediate``;
- ``lm_head`` counts one op per MAC, reads one token's activations whatever the batch, and is added once,
  also in prefill (where it covers the last token);
- prefill QK reads K twice from the KV cache and no Q; decode and prefill K/V projections store the cache
  in ``kv_bits`` but no activations;
- norms count 7 ops per element, softmax 5; the peak is INT8 only when weight, activation and KV widths are
  all at most 8 bits, else FP16.
Times per op: ``ops / min(peak, AI·BW)`` (:func:`sim.gpu.roofline.roofline_time`), summed without overlap.
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


def llm_viewer_rows(m: ModelConfig, phase: str, seq_len: int, batch: int, w_bits: float, a_bits: float,
                    kv_bits: float) -> list[dict]:
    """LLM-Viewer's rows (totalled over layers). ``seq_len``: prompt length (prefill) or KV length (decode)."""
    if m.mlp != "swiglu":
        raise InputError("model", f"--compat llm-viewer models only Llama-style SwiGLU decoders; {m.name} is {m.mlp}",
                         "llama, mistral, qwen2, bitnet families")
    if phase not in ("prefill", "decode"):
        raise InputError("phase", f"unknown phase {phase!r}", "prefill, decode")
    wB, aB, kB = w_bits / 8, a_bits / 8, kv_bits / 8
    h, H, KV, s, b, n = m.hidden, m.heads, m.kv_heads, seq_len, batch, m.layers
    hd = h // H
    T = s if phase == "prefill" else 1
    bt = b * T
    rows = []
    kv_out = h * KV / H
    for name, ic, oc in (("q_proj", h, h), ("k_proj", h, kv_out), ("v_proj", h, kv_out), ("out_proj", h, h),
                         ("gate_proj", h, m.intermediate), ("up_proj", h, m.intermediate),
                         ("down_proj", m.intermediate, h)):
        to_cache = name in ("k_proj", "v_proj")
        rows.append(_row(name, n, ic * oc * bt * 2, ic * oc * wB, ic * bt * aB, 0 if to_cache else oc * bt * aB,
                         0, oc * bt * kB if to_cache else 0))
    scores = b * H * T * s  # score elements: T queries × s keys per head
    att_ops = 2 * T * s * hd * H * b
    cache = s * hd * b * KV * kB
    if phase == "prefill":
        rows.append(_row("qk_matmul", n, att_ops, 0, 0, scores * aB, 2 * cache))
    else:
        rows.append(_row("qk_matmul", n, att_ops, 0, hd * b * H * aB, scores * aB, cache))
    rows.append(_row("sv_matmul", n, att_ops, 0, scores * aB, T * hd * b * H * aB, cache))
    rows.append(_row("softmax", n, 5 * scores, 0, scores * aB, scores * aB))
    for name in ("attn_norm", "mlp_norm"):
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
