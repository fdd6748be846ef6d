"""Report figures (matplotlib, headless). Each function returns a Figure; callers save it.

Every figure has labelled axes with units and a legend placed outside the data. Captions (workload,
recipe, assumptions) are the report's text under each figure (:mod:`reports.html_report`), written once,
not drawn into the image. A component (PE array, DRAM, ...) has the same colour in every chart
(:func:`component_colour`).
"""

from __future__ import annotations

import textwrap
import zlib

import matplotlib

matplotlib.use("Agg")  # headless: reports are written to files
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from .pareto import pareto_front  # noqa: E402

#: a fixed colour per report component (the groups of reports.build.COMPONENT_GROUPS), so energy and area charts
#: agree; any other component gets a colour from its name
COMPONENT_COLOURS = {"PE array": "tab:blue", "table unit": "tab:orange", "vector unit": "tab:green",
                     "buffers (SRAM)": "tab:red", "DRAM": "tab:purple", "leakage / static": "tab:brown"}
_SPARE_COLOURS = ("tab:pink", "tab:gray", "tab:olive", "tab:cyan", "gold", "navy", "teal", "maroon")


def component_colour(name: str) -> str:
    """The colour of ``name`` in every breakdown chart (stable across charts and runs)."""
    return COMPONENT_COLOURS.get(name) or _SPARE_COLOURS[zlib.crc32(name.encode()) % len(_SPARE_COLOURS)]


#: roofline marker per op kind group (points without a kind are circles)
_KIND_MARKERS = {"linear": ("o", "linear / lm_head"), "lm_head": ("o", "linear / lm_head"),
                 "attn_qk": ("^", "attention"), "attn_sv": ("^", "attention")}
_OTHER_MARKER = ("s", "element-wise (norm, act, ...)")


def roofline(roofs: list[dict], points: list[dict], title: str):
    """Log-log roofline.

    roofs: [{"name", "peak_ops_per_s", "bytes_per_s", "kind"}] — GPUs (dashed) and accelerators (solid).
    points: [{"label", "intensity" (ops/byte), "ops_per_s", "device", "kind" (optional)}] — one per layer;
    colour = device, marker = op kind. Points with no ops or no bytes cannot sit on log axes and are left out;
    points of one device and marker within 2 % of each other on both axes are drawn once (q/k/v projections
    of one shape would otherwise pile up on one spot).
    """
    points = _distinct([p for p in points if p["intensity"] > 0 and p["ops_per_s"] > 0])
    fig, ax = plt.subplots(figsize=(9.5, 5.2))
    ridge = [r["peak_ops_per_s"] / r["bytes_per_s"] for r in roofs]
    intensities = [p["intensity"] for p in points] or [1.0]
    lo = min(min(intensities), *ridge) / 4
    hi = max(max(intensities), *ridge) * 4
    x = np.logspace(np.log10(lo), np.log10(hi), 200)
    colors = {}
    cmap = plt.get_cmap("tab10")
    for i, r in enumerate(roofs):
        colors[r["name"]] = cmap(i % 10)
        ax.plot(x, np.minimum(r["peak_ops_per_s"], x * r["bytes_per_s"]) / 1e12, lw=2, color=colors[r["name"]],
                ls="-" if r.get("kind") != "gpu" else "--", label=f"{r['name']} roof")
    used = {}
    for dev in dict.fromkeys(p["device"] for p in points):
        for p in (q for q in points if q["device"] == dev):
            marker, name = _KIND_MARKERS.get(p["kind"], _OTHER_MARKER) if p.get("kind") else ("o", "layer")
            used[marker] = name
            ax.scatter(p["intensity"], p["ops_per_s"] / 1e12, s=34 if marker == "^" else 26, marker=marker,
                       color=colors.get(dev, "k"), edgecolor="black", linewidths=0.4, alpha=0.8,
                       zorder=4 if marker == "^" else 3)  # attention often sits on lm_head: draw it on top
    handles, _ = ax.get_legend_handles_labels()
    handles += [Line2D([], [], ls="", marker=m, color="white", markeredgecolor="black", label=f"layer: {n}")
                for m, n in used.items()]
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (ops / DRAM byte)")
    ax.set_ylabel("attained throughput (Tops/s)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              title="roofs (colour = device)", title_fontsize=7)
    fig.tight_layout()
    return fig


def _distinct(points: list[dict], tol: float = 0.02) -> list[dict]:
    """Points of one device and kind group more than ``tol`` (relative) apart on either axis from every kept one."""
    kept: list[dict] = []
    for p in points:
        group = _KIND_MARKERS.get(p.get("kind"), _OTHER_MARKER)[0] if p.get("kind") else "o"
        if not any(q["device"] == p["device"] and q["_group"] == group
                   and abs(np.log(q["intensity"] / p["intensity"])) < tol
                   and abs(np.log(q["ops_per_s"] / p["ops_per_s"])) < tol for q in kept):
            kept.append({**p, "_group": group})
    return kept


def pareto(df: pd.DataFrame, x: str, y: str, maximize_y: bool, xlabel: str, ylabel: str, title: str,
           label: str | None = "design", max_labels: int = 8):
    """Scatter of design points with the Pareto front highlighted and dominated points greyed.

    Front points are numbered (at most ``max_labels`` of them, spread along the front) and the numbers
    are keyed to their ``label`` in a list beside the plot, so long design names never overlap; numbers of
    neighbouring points alternate above and below the front."""
    fig, ax = plt.subplots(figsize=(9.5, 4.8))
    on = pareto_front(df, x, y, maximize_y)
    ax.scatter(df.loc[~on, x], df.loc[~on, y], color="0.75", s=14, label=f"dominated ({int((~on).sum())})")
    front = df[on].sort_values(x)
    ax.plot(front[x], front[y], "-o", color="tab:red", ms=5, label=f"Pareto front ({len(front)})")
    keys = []
    if label and label in front and len(front):
        picks = np.unique(np.linspace(0, len(front) - 1, min(max_labels, len(front))).round().astype(int))
        at: dict[tuple, list[str]] = {}  # equal points share one annotation ("1,2")
        for n, i in enumerate(picks, 1):
            r = front.iloc[i]
            at.setdefault((r[x], r[y]), []).append(str(n))
            keys.append(f"{n}: {r[label]}")
        for j, ((px, py), nums) in enumerate(at.items()):
            ax.annotate(",".join(nums), (px, py), fontsize=8, xytext=(3, 5 if j % 2 == 0 else -12),
                        textcoords="offset points", color="tab:red", fontweight="bold")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.margins(x=0.08, y=0.1)
    if keys:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 0.25))
        fig.subplots_adjust(left=0.09, right=0.6, bottom=0.12)
        fig.text(0.62, 0.88, "Pareto designs\n" + "\n".join(_wrap(k, 44) for k in keys), fontsize=7,
                 va="top", ha="left", family="monospace")
    else:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
    return fig


def _wrap(text: str, width: int) -> str:
    return "\n   ".join(textwrap.wrap(text, width)) or text


def stacked_breakdown(breakdowns: dict[str, dict[str, float]], unit: str, title: str, scale: float = 1.0):
    """Stacked bars, one per design, one segment per component (values × ``scale`` in ``unit``), each
    component in its :func:`component_colour`.

    Long design names get horizontal bars (names on the y axis, one per line)."""
    designs = list(breakdowns)
    comps = list(dict.fromkeys(c for b in breakdowns.values() for c in b))
    horizontal = max((len(d) for d in designs), default=0) > 14
    if horizontal:
        fig, ax = plt.subplots(figsize=(9.5, 0.42 * len(designs) + 1.8))
    else:
        fig, ax = plt.subplots(figsize=(max(5.5, 1.1 * len(designs) + 2.5), 4.5))
    bottom = np.zeros(len(designs))
    for c in comps:
        vals = np.array([breakdowns[d].get(c, 0.0) * scale for d in designs])
        if horizontal:
            ax.barh(designs, vals, left=bottom, label=c, color=component_colour(c))
        else:
            ax.bar(designs, vals, bottom=bottom, label=c, color=component_colour(c))
        bottom += vals
    if horizontal:
        ax.set_xlabel(unit)
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=7)
    else:
        ax.set_ylabel(unit)
        ax.tick_params(axis="x", rotation=25, labelsize=8)
        for t in ax.get_xticklabels():
            t.set_ha("right")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="component", title_fontsize=8)
    fig.tight_layout()
    return fig


def utilization_and_stalls(ops: list[dict], title: str):
    """Per-op utilization of the op's unit (bars, %) and its stall cycles by reason (stacked bars): as % of
    the op's cycles when the ops give ``cycles``, else in cycles."""
    names = [o["name"] for o in ops]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(7, 0.45 * len(ops) + 2), 6.2), sharex=True)
    ax1.bar(names, [100 * o.get("utilization", 0.0) for o in ops], color="tab:blue")
    ax1.set_ylabel("utilization of the\nop's unit (%)")
    ax1.set_ylim(0, 100)
    ax1.grid(True, axis="y", alpha=0.3)
    ax1.set_title(title)
    reasons = list(dict.fromkeys(r for o in ops for r in (o.get("stalls") or {})))
    share = all(o.get("cycles") for o in ops)
    bottom = np.zeros(len(ops))
    for i, r in enumerate(reasons):
        vals = np.array([(o.get("stalls") or {}).get(r, 0) for o in ops], dtype=float)
        if share:
            vals = 100 * vals / np.array([o["cycles"] for o in ops], dtype=float)
        ax2.bar(names, vals, bottom=bottom, label=f"waiting: {r.replace('_', ' ')}", color=plt.get_cmap("Set2")(i))
        bottom += vals
    ax2.set_ylabel("stalls (% of the op's\ncycles)" if share else "stall cycles")
    if share:
        ax2.set_ylim(0, 100)
    ax2.grid(True, axis="y", alpha=0.3)
    if reasons:  # beside the bars, never over them
        ax2.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax2.tick_params(axis="x", rotation=90, labelsize=8)
    fig.tight_layout()
    return fig
