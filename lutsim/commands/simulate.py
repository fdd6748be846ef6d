"""``lutsim simulate``: compile a quantized model's pass (prefill or decode) for an accelerator and run it;
per-op table (cycles, bound, utilization, energy) and totals (latency, tokens/s, TTFT, energy per token,
area, power) with the assumptions behind them."""

from __future__ import annotations

import sys

NAME = "simulate"
HELP = "simulate a model pass on an accelerator: per-op cycles/energy, latency, tokens/s, energy/token, area"

CSV_COLUMNS = ["name", "kind", "layer", "repeat", "unit", "M", "N", "K", "count", "w_fmt", "a_fmt", "cycles",
               "bound", "utilization", "ops", "bytes", "energy_pj", "instructions", "cache"]


def add_arguments(p) -> None:
    from .trace import add_workload_arguments

    p.add_argument("--arch", required=True, metavar="PRESET|FILE", help="arch preset name or arch YAML file")
    add_workload_arguments(p)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the result as JSON (lutsim/results.py: SimResult)")
    out.add_argument("--csv", action="store_true", help="print the per-op rows as CSV")
    p.add_argument("--emit-asm", metavar="DIR", help="also write each op's compiled program (ISA text form) to "
                   "DIR/NN_<op>.s")


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
                              args.lm_head_all_tokens)
    for i, (op, low, _) in enumerate(lowered):
        header = f"# {op.name}: {op.kind} M={op.M} N={op.N} K={op.K} x{op.count}, repeat {op.repeat}; " \
                 f"{low.unit}, {low.stats.cycles} cycles\n"
        (out / f"{i:02d}_{op.name}.s").write_text(header + isa.format(low.program))


def run(args) -> int:
    from lutsim.output import print_json
    from lutsim.pipeline import simulate

    stats = simulate(args.arch, args.model, args.quant, args.phase, seq_len=args.seq_len, kv_len=args.kv_len,
                     batch=args.batch, lm_head_all_tokens=args.lm_head_all_tokens).to_dict()
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
    """The per-op table, totals, notes and assumptions of a ``simulate`` result, for people."""
    from lutsim.output import print_table

    rows = [{**{k: r[k] for k in ("name", "repeat", "unit", "cycles", "bound")},
             "util %": round(100 * r["utilization"], 1), "energy µJ": r["energy_pj"] * 1e-6,
             "cache": r["cache"]} for r in stats["ops"]]
    print_table(f"{stats['model']} {stats['quant']} {stats['phase']} on {stats['arch']} (B={stats['batch']}, "
                f"T={stats['seq_len']}, L={stats['kv_len']}; per occurrence, x repeat in totals)", rows)
    t = stats["totals"]
    lines = [f"latency {t['latency_ms']:.6g} ms ({t['cycles']} cycles at {stats['assumptions']['clock_hz']:.6g} Hz)",
             f"throughput {t['tokens_per_s']:.6g} tokens/s"]
    if "ttft_ms" in t:
        lines.append(f"time to first token {t['ttft_ms']:.6g} ms")
    lines += [f"energy {t['energy_per_token_mj']:.6g} mJ/token, average power {t['power_w']:.6g} W",
              f"area {t['area_mm2']:.6g} mm2"]
    print("\n".join(lines))
    for note in sorted({r["note"] for r in stats["ops"] if r.get("note")}):
        print(f"note: {note}")
    print_assumptions(stats["assumptions"])


def print_assumptions(a: dict) -> None:
    """The assumptions block in short (``--json`` has all of it, with every constant's source)."""
    eng = a["engine"]
    dram = eng["dram"]
    lines = [f"clock {a['clock_hz'] / 1e6:g} MHz, {eng['node_nm']} nm, PE {eng['pe']} x{eng['arrays']} "
             f"({eng['pe_model_mode']} model), place-and-route factor {eng['pnr_factor']:g}",
             f"DRAM {dram['bandwidth_bits_per_cycle']} bit/cycle, latency {dram['latency_cycles']} cycles, "
             f"{dram['pj_per_bit']:g} pJ/bit ({dram['source']})",
             "buffers " + ", ".join(f"{k} {v['bytes'] // 1024} KiB" for k, v in eng["buffers"].items()),
             a["layers"]["source"], f"ops: {a['op_overlap']}", f"placement: {a['placement']}", f"peak: {a['peak']}"]
    print("assumptions:\n" + "\n".join(f"  {line}" for line in lines))
