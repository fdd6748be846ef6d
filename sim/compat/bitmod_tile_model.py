"""Compatibility mode: BitMoD's analytical tile model (HPCA'25; docs/references.md#bitmod).

Reproduces the cycle counts published in BitMoD-HPCA-25 ``bitmod_sim/plot/speedup_plot.ipynb`` with the
rule of docs/references.md#bitmod, artefacts included (they live only here, never in lutsim's own model):
- layers: every linear layer of the model (q, k, v, o, MLP, lm_head) plus two attention pseudo-layers per
  decoder layer (QK and SV) with the shapes below; prefill QK reads K once per head, decode never reads the
  KV cache from DRAM, and the attention pseudo-layers get the weights' bit-serial latency;
- per layer: ``compute = ⌈cin/dp⌉·⌈cout/rows⌉·⌈out_rows/cols⌉·lat``; bytes of W, IN, OUT with the
  re-fetch rule when W and IN both overflow their 512 KiB buffers; ``dram = int(bytes·8/256)``;
  ``cycles = max(compute, dram)``; total = sum over layers.
Parameters and their sources: ``bitmod_designs.yaml``. Units: cycles at 1 GHz, bytes.

This is a timing model of a machine from layer shapes (a fidelity level of sim, design.md "Fidelity"),
not a lowering of a trace, hence sim/compat rather than compiler/.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from sim.errors import InputError
from sim.userfile import read_packaged_file

DESIGNS_FILE = Path(__file__).with_name("bitmod_designs.yaml")
PHASES = ("prefill", "decode")


def _data() -> dict:
    return read_packaged_file(DESIGNS_FILE)


def design_names() -> list[str]:
    return list(_data()["designs"])


@dataclass(frozen=True)
class TileLayer:
    """One layer as their model sees it: W (cout, cin), IN (in_rows, in_width), OUT (out_rows, ·)."""

    name: str
    cout: int
    cin: int
    in_rows: int
    in_width: int
    out_rows: int
    attention: bool  # attention pseudo-layer: FP16 "weights"
    repeat: int  # decoder layers sharing this shape (1 for lm_head)


@dataclass(frozen=True)
class DesignPoint:
    """One design in one phase: array rows×cols, dot-product width, bit-serial flag, weight bits."""

    name: str
    rows: int
    cols: int
    dp: int
    bit_serial: bool
    w_prec: Fraction

    @property
    def latency(self) -> int:
        """Cycles per weight: ⌈⌊w_prec⌋/2⌉ for bit-serial designs, else 1 (docs/references.md#bitmod)."""
        return math.ceil(math.floor(self.w_prec) / 2) if self.bit_serial else 1


def design_point(design: str, phase: str, model: str) -> DesignPoint:
    designs = _data()["designs"]
    if design not in designs:
        raise InputError("design", f"unknown design {design!r}", ", ".join(designs))
    if phase not in PHASES:
        raise InputError("phase", f"unknown phase {phase!r}", ", ".join(PHASES))
    d = designs[design]
    prec = d["w_prec"][phase]
    if isinstance(prec, dict):
        if model not in prec:
            raise InputError("model", f"design {design} has no published {phase} weight precision for {model!r}",
                             ", ".join(prec))
        prec = prec[model]
    rows, cols = d["array"][phase]
    return DesignPoint(design, rows, cols, d["dp"], d["bit_serial"], Fraction(str(prec)))


def tile_layers(model, phase: str) -> list[TileLayer]:
    """Their layer list for a :class:`workloads.models.ModelConfig` (decoder layers folded by ``repeat``)."""
    sysd = _data()["system"]
    ctx = sysd["context"]
    T = sysd["prefill_tokens"] if phase == "prefill" else 1
    n, h, H = model.layers, model.hidden, model.heads
    width = h // H * model.kv_heads
    layers = [TileLayer(s.name, s.out_features, s.in_features, T, s.in_features, T, False, n)
              for s in model.linear_layers()]
    if phase == "prefill":
        layers += [TileLayer("attn_qk", ctx, h, H * ctx, width, H * ctx, True, n),
                   TileLayer("attn_sv", H * ctx, ctx, T, width, ctx, True, n)]
    else:
        layers += [TileLayer("attn_qk", 1, h, H, width, H, True, n),
                   TileLayer("attn_sv", H, ctx, 1, width, 1, True, n)]
    lm = model.lm_head()
    layers.append(TileLayer(lm.name, lm.out_features, lm.in_features, T, lm.in_features, T, False, 1))
    return layers


def _ceil_bytes(elements: int, bits) -> int:
    return math.ceil(Fraction(elements) * Fraction(bits) / 8)


def layer_cost(layer: TileLayer, dp_: DesignPoint) -> dict:
    """Cycles and bytes of one occurrence of ``layer`` on design point ``dp_``."""
    sysd = _data()["system"]
    buf, act = sysd["buffer_bytes"], sysd["act_bits"]
    compute = (math.ceil(layer.cin / dp_.dp) * math.ceil(layer.cout / dp_.rows)
               * math.ceil(layer.out_rows / dp_.cols) * dp_.latency)
    w_bits = sysd["attention_weight_bits"] if layer.attention else dp_.w_prec
    w = _ceil_bytes(layer.cin, w_bits) * layer.cout
    inp = _ceil_bytes(layer.in_width, act) * layer.in_rows
    out = _ceil_bytes(layer.cout, act) * layer.out_rows
    if w > buf and inp > buf:
        n_in, n_w = math.ceil(w / buf), math.ceil(inp / buf)
        fetched = min(n_w * w + inp, n_in * inp + w)  # their rule: weights n_w times if cheaper, else inputs
    else:
        fetched = w + inp
    total_bytes = fetched + out
    dram = int(Fraction(total_bytes * 8, sysd["dram_bits_per_cycle"]))
    return {"name": layer.name, "repeat": layer.repeat, "compute_cycles": compute, "dram_cycles": dram,
            "cycles": max(compute, dram), "weight_bytes": w, "input_bytes": inp, "output_bytes": out,
            "dram_bytes": total_bytes}


def bitmod_cycles(model, design: str, phase: str) -> dict:
    """Total cycles of one pass (prefill of 256 tokens, or one decode token) with per-layer rows."""
    dp_ = design_point(design, phase, model.name)
    rows = [layer_cost(layer, dp_) for layer in tile_layers(model, phase)]
    total = sum(r["cycles"] * r["repeat"] for r in rows)
    return {"design": design, "phase": phase, "model": model.name, "array": [dp_.rows, dp_.cols], "dp": dp_.dp,
            "bit_serial": dp_.bit_serial, "w_prec": float(dp_.w_prec), "latency_per_weight": dp_.latency,
            "layers": rows, "total_cycles": total,
            "total_dram_bytes": sum(r["dram_bytes"] * r["repeat"] for r in rows)}


def comparison(model) -> dict:
    """Every design's prefill / decode cycles on ``model`` and BitMoD's speedups over the baselines.

    ``prefill+N`` = prefill + N decode tokens, each decode token costed like the first (their model).
    Designs without a published decode precision for ``model`` are listed under ``unavailable``.
    """
    n_dec = _data()["headline"]["decode_tokens"]
    cycles, unavailable = {}, {}
    for d in design_names():
        try:
            cycles[d] = {p: bitmod_cycles(model, d, p)["total_cycles"] for p in PHASES}
        except InputError as exc:
            unavailable[d] = str(exc)
    for c in cycles.values():
        c[f"prefill+{n_dec}"] = c["prefill"] + n_dec * c["decode"]
    speedups = {}
    for ours in ("bitmod-lossy", "bitmod-lossless"):
        for base in ("fp16", "ant", "olive"):
            if ours in cycles and base in cycles:
                r = {k: cycles[base][k] / cycles[ours][k] for k in cycles[ours]}
                r["mean_prefill_and_prefill+N"] = (r["prefill"] + r[f"prefill+{n_dec}"]) / 2  # their averaging
                speedups[f"{ours}_over_{base}"] = r
    return {"cycles": cycles, "speedups": speedups, "unavailable": unavailable,
            "published_headline": _data()["headline"]}


def headline_models() -> list[str]:
    """Their six models (zoo names), over which their headline averages."""
    return list(_data()["headline_models"])


def headline_speedups(models) -> dict:
    """BitMoD-lossy's mean speedup over ``ant`` and ``olive``: per model the mean of prefill and prefill+N
    (:func:`comparison`), then the arithmetic mean over ``models`` (:class:`workloads.models.ModelConfig` objects;
    their six are the zoo names of :func:`headline_models`)."""
    per_model = [comparison(m)["speedups"] for m in models]
    return {base: sum(s[f"bitmod-lossy_over_{base}"]["mean_prefill_and_prefill+N"] for s in per_model) / len(models)
            for base in ("ant", "olive")}
