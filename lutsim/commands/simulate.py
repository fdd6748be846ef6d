"""``lutsim simulate``: compile a quantized model's pass (prefill or decode) for an accelerator and run it;
per-op table (cycles, bound, utilization, energy) and totals (latency, tokens/s, TTFT, energy per token,
area, power) with the assumptions behind them."""

from __future__ import annotations

import sys

NAME = "simulate"
HELP = "simulate a model pass on an accelerator: per-op cycles/energy, latency, tokens/s, energy/token, area"
BLAS_THREADS = 1  # no linear algebra worth threads (lutsim.cli)

CSV_COLUMNS = ["name", "kind", "layer", "repeat", "unit", "M", "N", "K", "count", "w_fmt", "a_fmt", "cycles",
               "bound", "utilization", "ops", "bytes", "energy_pj", "instructions", "cache", "schedule"]


def add_arguments(p) -> None:
    from .trace import add_workload_arguments

    p.add_argument("--arch", required=True, metavar="PRESET|FILE", help="arch preset name or arch YAML file")
    add_workload_arguments(p)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true",
                     help="print the result as JSON (schema: python -m lutsim.schema simulate)")
    out.add_argument("--csv", action="store_true", help="print the per-op rows as CSV")
    add_attention_argument(p)
    p.add_argument("--emit-asm", metavar="DIR", help="also write each op's compiled program (ISA text form) to "
                   "DIR/NN_<op>.s")


def add_attention_argument(p) -> None:
    p.add_argument("--attention", choices=("auto", "fused", "unfused"), default="auto",
                   help="auto (default): QK, softmax and SV as one flash-attention program (scores stay on chip) on "
                   "the matrix unit, or on a PE array that takes FP16, where that takes fewer cycles than op by op; "
                   "fused: wherever the arch can; unfused: op by op on the vector unit, scores through DRAM")


def emit_asm(args) -> None:
    """Write the programs (served from the compiler's cache: the run above compiled them)."""
    from pathlib import Path

    from lutsim.pipeline import lower_trace
    from sim import isa

    out = Path(args.emit_asm)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"--emit-asm: cannot create {str(out)!r}: {exc.strerror}") from None
    *_, lowered = lower_trace(args.arch, args.model, args.quant, args.phase, args.seq_len, args.kv_len, args.batch,
                              args.lm_head_all_tokens, args.attention)
    for i, (op, low, _) in enumerate(lowered):
        header = f"# {op.name}: {op.kind} M={op.M} N={op.N} K={op.K} x{op.count}, repeat {op.repeat}; " \
                 f"{low.unit}, {low.stats.cycles} cycles\n"
        (out / f"{i:02d}_{op.name}.s").write_text(header + isa.format(low.program))


def run(args) -> int:
    from lutsim.output import print_json, working
    from lutsim.pipeline import simulate

    with working(f"compiling and simulating {args.model} {args.phase} on {args.arch}"):
        stats = simulate(args.arch, args.model, args.quant, args.phase, seq_len=args.seq_len, kv_len=args.kv_len,
                         batch=args.batch, lm_head_all_tokens=args.lm_head_all_tokens,
                         attention=args.attention).to_dict()
    if args.emit_asm:
        emit_asm(args)
    if args.json:
        print_json(stats)
        return 0
    if args.csv:
        import csv

        w = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(stats["ops"])
        return 0
    print_stats(stats)
    return 0


def print_stats(stats: dict) -> None:
    """The per-op table, totals, notes and assumptions of a ``simulate`` result, for people (human-scaled
    units; ``--json`` has the exact SI values)."""
    from lutsim.output import print_table, si, sig

    rows = [{**{k: r[k] for k in ("name", "repeat", "unit", "cycles", "bound")},
             "util (%)": round(100 * r["utilization"], 1), "energy (µJ)": r["energy_pj"] * 1e-6,
             **mapper_columns(r.get("mapper"), r.get("schedule", "")), "cache": r["cache"]} for r in stats["ops"]]
    print_table(f"{stats['model']} {stats['quant']} {stats['phase']} on {stats['arch']} (B={stats['batch']}, "
                f"T={stats['seq_len']}, L={stats['kv_len']}); rows per occurrence, totals x repeat", rows)
    t = stats["totals"]
    seconds = t["latency_ms"] * 1e-3
    lines = [f"latency {si(seconds, 's')} ({t['cycles']:,} cycles at {si(stats['assumptions']['clock_hz'], 'Hz')})",
             f"throughput {sig(t['tokens_per_s'])} tokens/s"]
    if "ttft_ms" in t:
        lines.append(f"time to first token {si(t['ttft_ms'] * 1e-3, 's')}")
    lines += [f"energy {si(t['energy_per_token_mj'] * 1e-3, 'J')}/token, average power {si(t['power_w'], 'W')}",
              f"area {t['area_mm2']:.4g} mm²"]
    if t.get("spatial_utilization") is not None:
        by_unit = ", ".join(f"{u} {100 * v:.1f} %" for u, v in t.get("spatial_utilization_by_unit", {}).items())
        lines.append(f"spatial utilization while busy {100 * t['spatial_utilization']:.1f} % ({by_unit}): "
                     f"{t.get('spatial_utilization_covers', '')}")
    print("\n".join(lines))
    for note in sorted({r["note"] for r in stats["ops"] if r.get("note")}):
        print(f"note: {note}")
    print_assumptions(stats["assumptions"])


def _mapping_text(choice: dict) -> str:
    return "/".join(x for x in (choice["dataflow"], choice["mapping"]) if x) or "fixed"


def mapper_columns(mapper: dict | None, schedule: str = "") -> dict[str, str]:
    """The per-op table's mapper columns: the chosen dataflow/mapping and the runner-up with its extra cycles
    (``-`` for ops without a mapper choice: vector ops; arrays with a single dataflow/mapping show ``fixed``;
    fused attention and matrix-unit GEMMs show their schedule)."""
    if mapper is None:
        return {"mapping": schedule or "-", "runner-up": "-"}
    chosen, other = mapper["chosen"], mapper["runner_up"]
    if other is None:
        return {"mapping": _mapping_text(chosen), "runner-up": "-"}
    extra = 100 * (other["cycles"] / chosen["cycles"] - 1)
    return {"mapping": _mapping_text(chosen), "runner-up": f"{_mapping_text(other)} ({extra:+.1f} % cycles)"}


def stand_ins(assumptions: dict) -> dict[str, list[str]]:
    """Constants that are stand-ins for a missing figure (their source says ``PROXY``): {source: [where]}."""
    found: dict[str, list[str]] = {}

    def walk(node, path):
        if isinstance(node, dict):
            src = node.get("source")
            if isinstance(src, str) and src.upper().startswith("PROXY"):
                found.setdefault(src, []).append(" ".join(path))
            for k, v in node.items():
                walk(v, [*path, str(k)])

    walk({k: assumptions.get(k) for k in ("energy", "area")}, [])
    return found


def print_assumptions(a: dict) -> None:
    """The assumptions block in short (``--json`` has all of it, with every constant's source), stand-in
    constants and what is not modelled included: they decide the result."""
    from lutsim.output import si

    eng = a["engine"]
    dram = eng["dram"]
    lines = [f"clock {si(a['clock_hz'], 'Hz')}, {eng['node_nm']} nm, PE {eng['pe']} x{eng['arrays']} "
             f"({eng['pe_model_mode']} model), place-and-route factor {eng['pnr_factor']:g}",
             f"DRAM {dram['bandwidth_bits_per_cycle']} bit/cycle, latency {dram['latency_cycles']} cycles, "
             f"{dram['pj_per_bit']:g} pJ/bit ({dram['source']})",
             "buffers " + ", ".join(f"{k} {v['bytes'] // 1024} KiB" for k, v in eng["buffers"].items()),
             a["layers"]["source"], f"ops: {a['op_overlap']}", f"placement: {a['placement']}", f"peak: {a['peak']}"]
    for src, where in stand_ins(a).items():
        lines.append(f"stand-in ({', '.join(where)}): {src}")
    energy = a.get("energy") or {}
    idle = energy.get("idle_pes")
    if idle:
        how = ("idle PEs clock-gated (no dynamic energy, leakage only)" if idle["mode"] == "gated" else
               "every PE of a busy array charged each active cycle (the paper's convention)")
        lines.append(f"idle PEs: {how}; its source: energy.idle_pes of the --json assumptions")
    leak = energy.get("logic_leakage", {})
    if "mw_per_mm2" in leak:
        lines.append(f"logic leakage {leak['mw_per_mm2']:.4g} mW/mm² over each block's idle time "
                     f"({leak['published_nw_per_um2']} nW/µm² at {leak['published_node_nm']} nm, Aladdin; "
                     "node scaling PROXY)")
    for part in ("energy", "area"):
        for item in (a.get(part) or {}).get("not_modelled", []):
            lines.append(f"not modelled ({part}): {item}")
    for key in ("routing",):  # MoE models: the expert-routing assumption behind the expert rows
        if key in a:
            lines.append(f"{key}: {a[key]}")
    print("assumptions:\n" + "\n".join(f"  {line}" for line in lines))
