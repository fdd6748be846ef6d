"""Report figures (matplotlib, headless). Each function returns a Figure; callers save it.

Every figure has labelled axes with units, a legend and a caption line naming the workload and
the assumptions it rests on (passed in by the caller).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: reports are written to files
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .pareto import pareto_front  # noqa: E402

_CAPTION_Y = -0.02


def _caption(fig, text: str) -> None:
    if text:
        fig.text(0.01, _CAPTION_Y, text, fontsize=8, ha="left", va="top", wrap=True)


def roofline(roofs: list[dict], points: list[dict], title: str, caption: str = ""):
    """Log-log roofline.

    roofs: [{"name", "peak_ops_per_s", "bytes_per_s"}] — GPUs and accelerators alike.
    points: [{"label", "intensity" (ops/byte), "ops_per_s", "device"}] — one per layer/op.
    """
    fig, ax = plt.subplots(figsize=(7.5, 5))
    intensities = [p["intensity"] for p in points if p["intensity"] > 0] or [1.0]
    lo = min(min(intensities), min(r["peak_ops_per_s"] / r["bytes_per_s"] for r in roofs)) / 8
    hi = max(max(intensities), max(r["peak_ops_per_s"] / r["bytes_per_s"] for r in roofs)) * 8
    x = np.logspace(np.log10(lo), np.log10(hi), 200)
    colors = {}
    for r in roofs:
        (line,) = ax.plot(x, np.minimum(r["peak_ops_per_s"], x * r["bytes_per_s"]) / 1e12, lw=2,
                          ls="-" if r.get("kind") != "gpu" else "--", label=f"{r['name']} roof")
        colors[r["name"]] = line.get_color()
    for dev in dict.fromkeys(p["device"] for p in points):
        pts = [p for p in points if p["device"] == dev]
        ax.scatter([p["intensity"] for p in pts], [p["ops_per_s"] / 1e12 for p in pts], s=18,
                   color=colors.get(dev), edgecolor="black", linewidths=0.3, zorder=3, label=f"{dev}: layers")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (ops / DRAM byte)")
    ax.set_ylabel("attained throughput (Tops/s)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    _caption(fig, caption)
    fig.tight_layout()
    return fig


def pareto(df: pd.DataFrame, x: str, y: str, maximize_y: bool, xlabel: str, ylabel: str, title: str,
           label: str | None = "design", caption: str = ""):
    """Scatter of design points with the Pareto front highlighted and dominated points greyed."""
    fig, ax = plt.subplots(figsize=(7, 4.8))
    on = pareto_front(df, x, y, maximize_y)
    ax.scatter(df.loc[~on, x], df.loc[~on, y], color="0.75", s=14, label="dominated")
    front = df[on].sort_values(x)
    ax.plot(front[x], front[y], "-o", color="tab:red", ms=5, label="Pareto front")
    if label and label in front:
        for _, r in front.iterrows():
            ax.annotate(str(r[label]), (r[x], r[y]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    _caption(fig, caption)
    fig.tight_layout()
    return fig


def stacked_breakdown(breakdowns: dict[str, dict[str, float]], unit: str, title: str, scale: float = 1.0,
                      caption: str = ""):
    """Stacked bars, one per design, one segment per component (values × ``scale`` in ``unit``)."""
    designs = list(breakdowns)
    comps = list(dict.fromkeys(c for b in breakdowns.values() for c in b))
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(designs) + 2), 4.5))
    bottom = np.zeros(len(designs))
    for c in comps:
        vals = np.array([breakdowns[d].get(c, 0.0) * scale for d in designs])
        ax.bar(designs, vals, bottom=bottom, label=c)
        bottom += vals
    ax.set_ylabel(unit)
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=2)
    ax.tick_params(axis="x", rotation=30)
    _caption(fig, caption)
    fig.tight_layout()
    return fig


def utilization_and_stalls(ops: list[dict], title: str, caption: str = ""):
    """Per-op utilization (bars) and stall cycles by reason (stacked bars), top and bottom."""
    names = [o["name"] for o in ops]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(7, 0.35 * len(ops) + 2), 6), sharex=True)
    ax1.bar(names, [100 * o.get("utilization", 0.0) for o in ops], color="tab:blue")
    ax1.set_ylabel("array utilization (%)")
    ax1.set_ylim(0, 100)
    ax1.set_title(title)
    reasons = list(dict.fromkeys(r for o in ops for r in (o.get("stalls") or {})))
    bottom = np.zeros(len(ops))
    for r in reasons:
        vals = np.array([(o.get("stalls") or {}).get(r, 0) for o in ops], dtype=float)
        ax2.bar(names, vals, bottom=bottom, label=r)
        bottom += vals
    ax2.set_ylabel("stall cycles")
    if reasons:
        ax2.legend(fontsize=8)
    ax2.tick_params(axis="x", rotation=90, labelsize=7)
    _caption(fig, caption)
    fig.tight_layout()
    return fig
