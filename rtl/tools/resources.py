"""Resource table of the RTL components, and the LUT-vs-MAC ratios (``python -m rtl.tools.resources``,
``make rtl-resources``).

Synthesizes every design in :data:`rtl.tools.verilog.DESIGNS` at its default parameters for the generic
gate-equivalent flow and for ECP5 (:mod:`rtl.tools.synth`), and places and routes every design on an
LFE5U-85F (:mod:`rtl.tools.fpga`; the LUT units and MAC arrays at the comparison shapes of
:data:`FPGA_PARAMS`), then writes ``reports/rtl_resources.md`` (and the raw figures to
``reports/rtl_resources.json``, for calibrating the cost model). Every figure carries the version of the
tool that produced it. Both flows cache their results by the hash of the Verilog and the tool versions,
so a rerun only synthesizes what changed; ``--jobs`` runs that many tool processes at once.
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..gateware.params import DEFAULT_K
from . import fpga, synth, verilog

TARGETS = ("generic", "ecp5")
REPORT = Path("reports/rtl_resources.md")
# The paper's claim for 1-bit weights: LUT tensor core power and area 4–6× lower than the MAC tensor
# core (docs/references.md#lut-tensor-core; LUT Tensor Core, arXiv 2408.06003, hardware evaluation, 28 nm, Synopsys DC).
PAPER_RATIO = (4.0, 6.0)


def _gather(jobs: dict, workers: int) -> dict:
    """{key: fn()} for ``jobs`` {key: fn}, run on ``workers`` threads (each waits on a tool process); a
    ToolError becomes {"error": message} (shown as "—" in the tables)."""
    def one(fn):
        try:
            return fn()
        except synth.ToolError as exc:
            return {"error": str(exc)}

    with ThreadPoolExecutor(max(1, workers)) as pool:
        futures = {key: pool.submit(one, fn) for key, fn in jobs.items()}
    return {key: f.result() for key, f in futures.items()}


def collect(designs=None, timeout_s: float = 1200, workers: int = 1) -> dict[str, dict[str, dict]]:
    """{design: {target: synthesis summary}} at default parameters (Verilog generated here, one thread;
    Yosys runs on ``workers`` threads)."""
    jobs, skipped = {}, {}
    for name in designs or verilog.DESIGNS:
        params = {**verilog.design(name).parameters(), **REPORT_PARAMS.get(name, {})}
        top, text = verilog.generate(name, **REPORT_PARAMS.get(name, {}))
        for t in TARGETS:
            if t in NOT_SYNTHESIZED.get(name, {}):
                skipped[name, t] = {"design": name, "params": params, "error": NOT_SYNTHESIZED[name][t]}
                continue
            jobs[name, t] = (lambda text=text, top=top, t=t, name=name, params=params:
                             {"design": name, "params": params,
                              **synth.summarize(synth.run_yosys(text, top, t, timeout_s), t)})
    res = {**_gather(jobs, workers), **skipped}
    out: dict[str, dict[str, dict]] = {}
    for (name, t), r in res.items():
        out.setdefault(name, {})[t] = r
    return out


# The FPGA flow's comparison shapes: the default M2N64K4 LUT unit needs more LUT4s than an LFE5U-85F has
# (89,165 LUT4 + 58,508 PFUMX from synth_ecp5 above, 83,640 LUT4 on the part), so each LUT unit is placed at a
# smaller N beside the MAC array of the same M×N×K; the FP16 pair at N = 2 (the FP16 MAC array's 16 FP16
# multipliers and 16 FP16 adders map to about 33 k LUT4). Every other design at its defaults.
# The FP16 MAC array is why the flow's synthesis is split (rtl/tools/fpga.py): synth_ecp5's SAT-based `share`
# ran over 5 minutes on its 152 $mul/$shl/$shr cells (hence `share -fast`), and its ABC9 LUT mapping did not
# finish in 50 minutes on the 84 k AND gates of the harnessed M2N2K4 array (hence `abc -lut 4:7 -dress`, 21 s);
# with both, Yosys takes 77 s and nextpnr about 30 minutes on it (YoWASP Yosys 0.70 + nextpnr 0.11.1, 2 cores
# shared by several sessions; measured 4 Dec 2026).
FPGA_PARAMS = {"lut-tc": {"n": 8}, "mac-array": {"n": 8}, "lut-tc-fp16": {"n": 2}, "mac-array-fp16": {"n": 2}}
# (label, LUT unit, precompute unit, MAC array, model activations) at one shape each (FPGA_PARAMS)
FPGA_COMPARISONS = (("INT8 activations", "lut-tc", "table-precompute", "mac-array", "int8"),
                    ("FP16 activations", "lut-tc-fp16", "table-precompute-fp16", "mac-array-fp16", "fp16"))
# the MAC arrays again with their multipliers in LUTs (synth_ecp5 -nodsp): the all-LUT comparison
NODSP = tuple(c[3] for c in FPGA_COMPARISONS)


def collect_fpga(designs=None, timeout_s: float = 1800, workers: int = 1, run: bool = True) -> dict[str, dict]:
    """{design (``<name> -nodsp`` for the DSP-free MAC arrays): FPGA flow result} on :data:`fpga.DEFAULT_PART`
    (``run=False``: cached results only)."""
    jobs = {}
    for name in designs or verilog.DESIGNS:
        top, text, harness, params = fpga.harnessed(name, **FPGA_PARAMS.get(name, {}))
        for nodsp in (False, True) if name in NODSP else (False,):
            jobs[f"{name} -nodsp" if nodsp else name] = (
                lambda name=name, top=top, text=text, harness=harness, params=params, nodsp=nodsp:
                fpga.result(name, params, harness,
                            fpga.place_and_route(text, top, timeout_s=max(timeout_s, fpga.timeout_for(name)),
                                                 nodsp=nodsp, run=run)))
    return _gather(jobs, workers)


def _cell(r: dict, key: str, fmt: str = "{:,}") -> str:
    return "—" if "error" in r else fmt.format(r[key])


# Designs synthesized below their default size for this report: the FP16 unit at M2N64 exceeds a
# 1000 s budget per synthesis with Yosys 0.23 on a 2-core machine (measured); its lanes are
# identical, so N = 8 gives the per-lane area at the same products per cycle as its MAC array.
REPORT_PARAMS = {"lut-tc-fp16": {"n": 8}}
# Targets not run, and why: the LUT array of lut-tc-rtl-small is far larger than anything else here (its buffers'
# asynchronous reads are flip-flops and LUT RAM copies per read port: docs/fpga_flow.md); Yosys 0.23's synth_ecp5
# of it took 95 minutes and 16.8 GB (measured 5 Dec 2026), so the gate-equivalent flow is not run on it.
NOT_SYNTHESIZED = {"lut-array": {"generic": "not run (synth_ecp5 alone took 95 min and 16.8 GB with Yosys 0.23)"}}

# (label, LUT unit, precompute unit, MAC PE, products per MAC PE and cycle): the MAC array has the
# LUT unit's M·N·K products per cycle with 1-bit weights (DP4 PEs: 4 products; single-product PEs: 1)
COMPARISONS = (
    ("INT8 activations", "lut-tc", "table-precompute", "mac-dp4", DEFAULT_K),
    ("FP16 activations", "lut-tc-fp16", "table-precompute-fp16", "mac-fp16-int8", 1),
)


def area_ratio(res: dict, lut: str, pre: str, mac: str, per_pe: int) -> dict[str, float]:
    """MAC array (M·N·K / ``per_pe`` × ``mac``) over the LUT unit in gate equivalents, without and with
    the M precompute units; M, N, K are the LUT unit's synthesized parameters."""
    p = res[lut]["generic"]["params"]
    count = p["m"] * p["n"] * p["k"] // per_pe
    lut_ge = res[lut]["generic"]["ge"]
    with_pre = lut_ge + p["m"] * res[pre]["generic"]["ge"]
    mac_ge = count * res[mac]["generic"]["ge"]
    return {"mac_pes": count, "mac_array_ge": mac_ge, "lut_ge": lut_ge, "lut_with_precompute_ge": with_pre,
            "ratio": mac_ge / lut_ge, "ratio_with_precompute": mac_ge / with_pre}


def render(res: dict, fpga_res: dict | None = None) -> str:
    """The Markdown report: the synthesis tables of ``res`` (:func:`collect`), then the place-and-route
    section of ``fpga_res`` (:func:`collect_fpga`) when given."""
    versions = sorted({r["yosys"] for per in res.values() for r in per.values() if "error" not in r})
    failed = [f"{name} on {t}: {r['error']}" for name, per in res.items() for t, r in per.items() if "error" in r]
    lines = [
        "# RTL resources",
        "",
        "Generated by `make rtl-resources` (`python -m rtl.tools.resources`; do not edit by hand). Default "
        "parameters of every design;",
        "`generic`: Yosys `synth -noabc` + ABC onto `rtl/tools/ge.lib` (gate equivalents, NAND2 = 1 GE, D flip-flop",
        "5.67 GE); `ecp5`: `synth_ecp5` (LUT4, flip-flops, CCU2C carry cells, PFUMX/L6MUX21 muxes,",
        f"MULT18X18D DSPs). Yosys: {', '.join(versions)}.",
        "",
        "| design | parameters | GE | FFs | ECP5 LUT4 | ECP5 FF | ECP5 carry | ECP5 mux | ECP5 DSP |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, per in res.items():
        g, e = per["generic"], per["ecp5"]
        params = {**verilog.design(name).parameters(), **REPORT_PARAMS.get(name, {})}
        params = ", ".join(f"{k}={v}" for k, v in params.items())
        lines.append(f"| {name} | {params} | {_cell(g, 'ge', '{:,.0f}')} | {_cell(g, 'ff')} | {_cell(e, 'lut')} | "
                     f"{_cell(e, 'ff')} | {_cell(e, 'carry')} | {_cell(e, 'mux')} | {_cell(e, 'dsp')} |")
    if failed:
        lines += ["", "Not measured (—): " + "; ".join(failed) + "."]
    lines += ["", "## LUT unit vs MAC array", "",
              "Same products per cycle with 1-bit weights: an M×N×K LUT unit does M·N·K multiply-equivalents per "
              "cycle (512 for the default M2N64K4); the MAC array doing the same is M·N INT8×INT8 DP4 PEs (INT8) "
              "or M·N·K FP16×INT8 MAC PEs (FP16). Precompute: M table-precompute units (one table per row per "
              "cycle, contract).", "",
              "| activations | LUT unit | MAC array GE | LUT unit GE | LUT + precompute GE | MAC / LUT "
              "| MAC / (LUT + precompute) |",
              "|---|---|---:|---:|---:|---:|---:|"]
    for label, lut, pre, mac, per_pe in COMPARISONS:
        if {lut, pre, mac} <= set(res) and all("error" not in res[d]["generic"] for d in (lut, pre, mac)):
            r = area_ratio(res, lut, pre, mac, per_pe)
            p = res[lut]["generic"]["params"]
            lines.append(f"| {label} ({r['mac_pes']} × {mac}) | M{p['m']}N{p['n']}K{p['k']} | "
                         f"{r['mac_array_ge']:,.0f} | {r['lut_ge']:,.0f} | "
                         f"{r['lut_with_precompute_ge']:,.0f} | **{r['ratio']:.2f}×** | "
                         f"**{r['ratio_with_precompute']:.2f}×** |")
    lines += [
        "",
        f"The paper reports {PAPER_RATIO[0]:.0f}–{PAPER_RATIO[1]:.0f}× lower tensor-core area for the LUT design "
        "with 1-bit weights (docs/references.md#lut-tensor-core).",
        "",
        "Caveats: generic gates mapped by ABC with unit-less GE areas, not a 28 nm library with Synopsys DC; "
        "no table buffer, weight buffer or operand SRAMs are counted on either side; our LUT lanes carry an "
        "accumulator *and* an output register (the contract's registered output) and an 8-way barrel shifter "
        "(INT) or exponent adder (FP16) for LSB-first planes, while each MAC PE keeps one accumulator; our FP16 "
        "adders are exact-sum-then-round designs (about 2,000 GE each), larger than a tuned FP16 adder; the "
        "FP16 MAC array is single-product PEs, not dot-product units; the ratio holds only at equal throughput "
        "for 1-bit weights (the FP16 unit is measured at N = 8, where the M precompute units serve 8 columns "
        "instead of 64, so its with-precompute ratio is pessimistic) — with b-bit weights the LUT unit needs "
        "b cycles per tile, so its throughput per area drops by b; on ECP5 the MACs use DSP blocks, "
        "so LUT counts do not compare.",
    ]
    if fpga_res is not None:
        lines += render_fpga(fpga_res, res)
    return "\n".join(lines) + "\n"


def _shape(p: dict) -> str:
    return f"M{p['m']}N{p['n']}K{p['k']}"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "—"


def model_area_ratio(params: dict, acts: str) -> float:
    """The cost model's MAC unit area over the LUT unit's (sim/cost/lut_array_model.py, 28 nm, 1-bit weights)
    at the LUT unit's M×N×K."""
    from sim.cost.lut_array_model import LutUnitConfig, MacUnitConfig, lut_unit, mac_unit

    shape = {k: params[k] for k in ("m", "n", "k")}
    return mac_unit(MacUnitConfig(**shape, acts=acts)).area_um2 / lut_unit(
        LutUnitConfig(**shape, acts=acts, w_bits=1)).area_um2


def _unplaced(name: str, why: str, synth_res: dict, part: dict) -> str:
    """``name: why``, with the design's synth_ecp5 LUT4 / FF of the synthesis section beside the part's when they
    are known (a design larger than the part cannot be placed on it, whatever the tools)."""
    e = synth_res.get(name, {}).get("ecp5", {})
    if "lut" not in e or not part:
        return f"{name}: {why}"
    return (f"{name}: {why}; synth_ecp5 in the synthesis section above: {e['lut']:,} LUT4 and {e['ff']:,} FF "
            f"({e['yosys']}), the part has {part['lut4']:,} and {part['ff']:,}")


def render_fpga(res: dict, synth_res: dict | None = None) -> list[str]:
    """The Markdown lines of the place-and-route section: one row per design, then the LUT-vs-MAC ratios;
    ``synth_res`` (:func:`collect`) sizes the designs that were not placed."""
    ok = {k: r for k, r in res.items() if "error" not in r}
    versions = sorted({f"{r['yosys']}, {r['nextpnr']}" for r in ok.values()})
    any_r = next(iter(ok.values()), {"part": fpga.DEFAULT_PART, "package": fpga.DEFAULT_PACKAGE, "speed": 6})
    lines = [
        "", "## ECP5 place and route (nextpnr)", "",
        f"Every design through `lutsim rtl fpga` on an {any_r['part']} ({any_r['package']}, speed {any_r['speed']}): "
        f"Yosys `synth_ecp5` with `{fpga.SHARE}` in place of its `share` and `{fpga.LUTS}` in place of its ABC9 "
        "(ABC9 does not finish on the FP16 MAC array; ABC's LUT mapping is not timing-driven, so some designs get "
        "more LUT4s and a lower Fmax than ABC9 would give: docs/fpga_flow.md), "
        f"nextpnr-ecp5 at seed {fpga.SEED} aiming at {fpga.TARGET_MHZ:g} MHz; Fmax is nextpnr's "
        f"achieved figure for the clock. Tools: {'; '.join(versions) or 'none ran'}. The design sits in a measurement "
        "harness (inputs from a shift chain, outputs captured and XOR-reduced to one pin: rtl/tools/fpga.py): "
        "LUT4 and FF are placed cells, harness included; the harness's flip-flops and the LUT4s of its XOR "
        "tree (⌈(output bits − 1)/3⌉, the fewest possible) are the *harness* columns. Throughput: the cost "
        "model's ops per cycle (a MAC = 2 ops, LUT units at 1-bit weights) × Fmax. `-nodsp`: the multipliers "
        "mapped to LUTs instead of MULT18X18D.", "",
        "| design | parameters | LUT4 | FF | harness LUT4 | harness FF | DSP | EBR | Fmax (MHz) | ops/cycle "
        "| Gops/s at Fmax | flow (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, r in res.items():
        if "error" in r:
            continue
        params = ", ".join(f"{k}={v}" for k, v in r["params"].items())
        ops = "—" if r.get("ops_per_cycle") is None else f"{r['ops_per_cycle']:,.0f}"
        gops = "—" if r.get("ops_per_s") is None else f"{r['ops_per_s'] / 1e9:,.1f}"
        lines.append(f"| {key} | {params} | {r['lut4']:,} | {r['ff']:,} | {r['harness_lut4']:,} | "
                     f"{r['harness_ff']:,} | {r['dsp']} | "
                     f"{r['ebr']} | {r['fmax_mhz']:.1f} | {ops} | {gops} | {r['seconds']:.0f} |")
    part = any_r.get("available", {})
    failed = [_unplaced(k, r["error"], synth_res or {}, part) for k, r in res.items() if "error" in r]
    failed += [_unplaced(name, "not run", synth_res or {}, part) for name in verilog.DESIGNS if name not in res]
    if failed:
        lines += ["", "Not placed: " + "; ".join(failed) + "."]
    lines += [
        "", "### LUT unit vs MAC array on the FPGA", "",
        "MAC array and LUT unit of the same M×N×K (equal products per cycle at 1-bit weights, so equal ops per "
        "cycle). LUT4 and FF: the design's own (placed minus harness). *+ pre*: the LUT unit with its M "
        "table-precompute units (LUT4 added). Model: the cost model's MAC-unit "
        "area over LUT-unit area (28 nm "
        "components, sim/cost/lut_array_model.py). Paper: LUT Tensor Core (arXiv 2408.06003), 4–6× lower "
        "tensor-core area for the LUT design with 1-bit weights (28 nm, Synopsys DC).", "",
        "| activations | shape | MAC DSP | MAC/LUT LUT4 | MAC/LUT FF | MAC -nodsp / LUT LUT4 | "
        "MAC -nodsp / (LUT + pre) LUT4 | Fmax LUT, MAC (MHz) | Fmax LUT / MAC | model area MAC/LUT | paper |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, lut, pre, mac, acts in FPGA_COMPARISONS:
        if not all(k in ok for k in (lut, pre, mac)):
            continue
        lu, pr, ma = ok[lut], ok[pre], ok[mac]
        mn = ok.get(f"{mac} -nodsp")
        m = lu["params"]["m"]
        lut4, ff = (lambda r: r["lut4"] - r["harness_lut4"]), (lambda r: r["ff"] - r["harness_ff"])
        with_pre = lut4(lu) + m * lut4(pr)
        lines.append(
            f"| {label} | {_shape(lu['params'])} | {ma['dsp']} | {_ratio(lut4(ma), lut4(lu))} | "
            f"{_ratio(ff(ma), ff(lu))} | **{_ratio(lut4(mn), lut4(lu)) if mn else '—'}** | "
            f"{_ratio(lut4(mn), with_pre) if mn else '—'} | "
            f"{lu['fmax_mhz']:.1f}, {ma['fmax_mhz']:.1f} | {_ratio(lu['fmax_mhz'], ma['fmax_mhz'])} | "
            f"{model_area_ratio(lu['params'], acts):.2f}× | {PAPER_RATIO[0]:.0f}–{PAPER_RATIO[1]:.0f}× |")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPORT), help="Markdown output (default reports/rtl_resources.md)")
    ap.add_argument("--timeout", type=float, default=1800,
                    help="seconds allowed per tool run (default 1800; rtl.tools.fpga.DESIGN_TIMEOUT_S gives some "
                         "designs more)")
    ap.add_argument("--jobs", type=int, default=2, help="tool processes at once (default 2)")
    ap.add_argument("--render-only", action="store_true",
                    help="rewrite the Markdown from the existing JSON next to --out, without synthesis")
    ap.add_argument("--designs", default="", help="comma-separated designs to place and route (default: all)")
    ap.add_argument("--cached-only", action="store_true",
                    help="place and route nothing new: designs without a cached result are listed as not placed")
    ap.add_argument("--fpga-only", action="store_true",
                    help="run the place-and-route section only; the synthesis section comes from the existing JSON")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.render_only or args.fpga_only:
        old = json.loads(out.with_suffix(".json").read_text())
        res = old if "synth" in old else {"synth": old, "fpga": {}}  # before the FPGA section: synthesis only
    if not args.render_only:
        names = [n.strip() for n in args.designs.split(",") if n.strip()]
        for n in names:
            verilog.design(n)  # InputError for an unknown name, before any tool runs
        fpga_res = collect_fpga(names or None, timeout_s=args.timeout, workers=args.jobs, run=not args.cached_only)
        res = {"synth": res["synth"] if args.fpga_only else collect(timeout_s=args.timeout, workers=args.jobs),
               "fpga": {k: {f: v for f, v in r.items() if f != "cached"} for k, r in fpga_res.items()}}
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps(res, indent=2) + "\n")
    out.write_text(render(res["synth"], res["fpga"]))
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
