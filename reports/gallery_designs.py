"""Design points of the gallery beyond the 4-bit comparison, all by :func:`lutsim.compare.compare` on the
gallery's memory system, decode:

* precision: W2 (``w2a16-g64``) and ternary (``w1.58a8``) weights on every design that takes them, beside the
  design's own 4-bit recipe: bits per weight, weight SQNR, tokens/s, energy per token;
* batch 1 / 8 / 32 decode (tokens/s per design);
* long-context decode (:data:`LONG_CONTEXT` × the workload's kv_len) with the design's recipe and with an INT4
  KV cache (group 128, the QServe KV4 setting of ``w4a8kv4``);
* sensitivity: the energy-per-token ranking of the designs on the HBM2E, LPDDR5 and DDR4 memory presets
  (sim/arch/memory/, cited pJ/bit) and with SRAM leakage × :data:`LEAKAGE_SCALES` (the ``sram_leakage``
  energy is leakage power × time, so scaling it scales that component alone).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from lutsim.compare import compare, memory_of
from workloads.recipes import recipe_from_dict

from .html_report import Section

LOW_BIT_RECIPES = ("w2a16-g64", "w1.58a8")
BATCHES = (1, 8, 32)
LONG_CONTEXT = 8
KV4 = {"format": "int4_asym", "group_size": 128}
SENSITIVITY_MEMORIES = ("hbm2e", "lpddr5", "ddr4")
LEAKAGE_SCALES = (0.5, 1.0, 2.0)
COLUMNS = ["design", "quant", "bits_per_weight", "weight_sqnr_db", "tokens_per_s", "energy_per_token_mj",
           "dram_roofline_pct", "status", "note"]


def _rows(res, **extra) -> list[dict]:
    return [{**extra, **{c: getattr(r, c) for c in COLUMNS}} for r in res.rows]


def _run(designs, workload: dict, memory: str, **kw):
    args = dict(seq_len=workload["seq_len"], kv_len=workload["kv_len"], batch=workload["batch"]) | kw
    return compare(designs, workload["model"], "decode", memory_of(memory), **args)


def _with(design, label: str, recipe):
    from lutsim.compare import Design

    return Design(f"{design.label} {label}", design.arch, recipe)


def precision_table(designs, workload: dict, memory: str) -> pd.DataFrame:
    from lutsim.pipeline import resolve_recipe

    ds = list(designs) + [_with(d, q, resolve_recipe(q)) for q in LOW_BIT_RECIPES for d in designs]
    rows = _rows(_run(ds, workload, memory))
    return pd.DataFrame([r for r in rows if r["status"] == "ok"]).sort_values("bits_per_weight")


def batch_table(designs, workload: dict, memory: str) -> pd.DataFrame:
    return pd.DataFrame([r for b in BATCHES for r in _rows(_run(designs, workload, memory, batch=b), batch=b)])


def _kv4(recipe):
    """``recipe`` with an INT4 KV cache (:data:`KV4`)."""
    parts = {c: {"format": t["format"], "group_size": t["group_size"]} for c, t in recipe.to_dict().items()
             if isinstance(t, dict)}
    return recipe_from_dict(f"{recipe.name}-kv4", parts | {"kv_cache": KV4})


def long_context_table(designs, workload: dict, memory: str) -> pd.DataFrame:
    kv4 = [_with(d, "KV4", _kv4(d.recipe)) for d in designs]
    kv = workload["kv_len"] * LONG_CONTEXT
    return pd.DataFrame(_rows(_run(list(designs) + kv4, workload, memory, kv_len=kv), kv_len=kv))


def sensitivity_table(designs, workload: dict) -> pd.DataFrame:
    rows = []
    for mem in SENSITIVITY_MEMORIES:
        res = _run(designs, workload, mem)
        for scale in LEAKAGE_SCALES:
            for r in res.rows:
                if r.status != "ok":
                    continue
                tokens = r.tokens_per_s * r.latency_ms * 1e-3
                extra = (scale - 1) * r.energy_breakdown_pj.get("sram_leakage", 0.0) / tokens * 1e-9
                rows.append({"memory": mem, "sram_leakage_scale": scale, "design": r.design,
                             "energy_per_token_mj": r.energy_per_token_mj + extra, "tokens_per_s": r.tokens_per_s})
    df = pd.DataFrame(rows)
    df["energy_rank"] = df.groupby(["memory", "sram_leakage_scale"])["energy_per_token_mj"].rank(method="min")
    return df


def _lines(df: pd.DataFrame, x: str, y: str, xlabel: str, ylabel: str, title: str, invert: bool = False):
    fig, ax = plt.subplots(figsize=(7, 4))
    for design, g in df.groupby("design", sort=False):
        ax.plot(g[x].astype(str), g[y], marker="o", label=design)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if invert:
        ax.invert_yaxis()
    ax.legend(fontsize=7)
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    fig.tight_layout()
    return fig


def design_point_sections(designs, workload: dict, memory: str = "bitmod") -> list[Section]:
    """The sections of the module docstring for the gallery's designs (:class:`lutsim.compare.Design`)."""
    where = f"{workload['model']} decode at kv_len {workload['kv_len']}, memory system {memory}"
    prec = precision_table(designs, workload, memory)
    batch = batch_table(designs, workload, memory)
    ok = batch[batch["status"] == "ok"]
    long = long_context_table(designs, workload, memory)
    sens = sensitivity_table(designs, workload)
    sens["scenario"] = sens["memory"] + " x" + sens["sram_leakage_scale"].map("{:g}".format)
    return [
        Section("designs_precision", "Bits per weight, weight error and efficiency: W2 and ternary points",
                table=prec, text=f"{where}. Each design with its own 4-bit recipe and with W2 (w2a16-g64) and "
                "ternary (w1.58a8) weights where its PE takes them (designs that cannot are left out). Weight SQNR "
                "of the format's quantizer on synthetic Student-t weights (lutsim compare, docs/compare.md)."),
        Section("designs_batch", "Decode tokens/s at batch 1, 8 and 32",
                _lines(ok, "batch", "tokens_per_s", "batch", "tokens/s", "Decode throughput vs batch"),
                f"{where}; batch 1, 8, 32.", table=batch),
        Section("designs_long_context", "Long-context decode with an INT4 KV cache", table=long,
                text=f"{workload['model']} decode at kv_len {workload['kv_len'] * LONG_CONTEXT}, memory system "
                     f"{memory}: each design with its recipe's KV cache and with an INT4 (group 128) one."),
        Section("designs_sensitivity", "Sensitivity of the energy ranking to DRAM pJ/bit and SRAM leakage",
                _lines(sens, "scenario", "energy_rank", "memory system x SRAM leakage scale",
                       "rank by energy per token (1 = lowest)", "Energy ranking vs DRAM and SRAM leakage",
                       invert=True),
                f"{workload['model']} decode at kv_len {workload['kv_len']} on the HBM2E, LPDDR5 and DDR4 memory "
                f"presets (sim/arch/memory/, docs/references.md#memory-systems), SRAM leakage x "
                f"{', '.join(f'{s:g}' for s in LEAKAGE_SCALES)}.", table=sens),
    ]
