"""``lutsim compare``: several designs on one memory system, optionally at iso-area or iso-peak; a table of
latency, tokens/s, energy/token, area, TOPS/mm², TOPS/W, % of the DRAM roofline and of peak, bits per weight,
weight SQNR and ratios to a baseline (:mod:`lutsim.compare`; docs/compare.md)."""

from __future__ import annotations

NAME = "compare"
HELP = "compare designs on one memory system: latency, tokens/s, energy/token, TOPS/mm², roofline %, SQNR"

#: table columns: (header, row field, scale)
COLUMNS = (("design", "design", None), ("arrays", "arrays", None), ("bits/w", "bits_per_weight", 1),
           ("SQNR (dB)", "weight_sqnr_db", 1), ("latency (ms)", "latency_ms", 1), ("tokens/s", "tokens_per_s", 1),
           ("mJ/token", "energy_per_token_mj", 1), ("area (mm²)", "area_mm2", 1), ("TOPS/mm²", "tops_per_mm2", 1),
           ("TOPS/W", "tops_per_w", 1), ("DRAM roof (%)", "dram_roofline_pct", 1), ("peak (%)", "peak_pct", 1),
           ("spatial (%)", "spatial_utilization", 100), ("x tokens/s", "tokens_per_s_ratio", 1),
           ("x mJ/token", "energy_per_token_ratio", 1), ("x TOPS/W", "tops_per_w_ratio", 1))


def add_arguments(p) -> None:
    from lutsim.compare import DEFAULT_MEMORY, NATIVE, NORMALIZE
    from sim.arch import memory

    from .simulate import add_attention_argument
    from .trace import add_workload_arguments

    p.add_argument("--designs", required=True, metavar="A,B,...",
                   help="arch presets or YAML files, comma-separated; ARCH@RECIPE gives one its own recipe")
    add_workload_arguments(p, quant=False)
    p.add_argument("--quant", default=None, help="recipe of the designs without @RECIPE (name or YAML)")
    p.add_argument("--memory", default=None, metavar="PRESET|FILE",
                   help=f"memory system for all designs: {', '.join(memory.names())}, a YAML file, or {NATIVE} "
                        f"(each preset's own) (default {DEFAULT_MEMORY})")
    p.add_argument("--normalize", default="none", help=f"{' | '.join(NORMALIZE)} (default none)")
    p.add_argument("--baseline", default=None, help="design the ratios are to (default: the first)")
    add_attention_argument(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON (python -m lutsim.schema compare)")


def run(args) -> int:
    from lutsim.compare import NORMALIZE, compare, memory_of, parse_designs
    from lutsim.output import print_json, working
    from sim.errors import InputError

    if args.normalize not in NORMALIZE:
        raise InputError("--normalize", f"unknown mode {args.normalize!r}", ", ".join(NORMALIZE))
    if args.phase not in ("prefill", "decode"):
        raise InputError("--phase", f"unknown phase {args.phase!r}", "prefill, decode")
    designs = parse_designs(args.designs, args.quant)
    mem = memory_of(args.memory)
    with working(f"comparing {len(designs)} designs on {args.model} {args.phase}"):
        res = compare(designs, args.model, args.phase, mem, args.normalize, args.baseline, seq_len=args.seq_len,
                      kv_len=args.kv_len, batch=args.batch, lm_head_all_tokens=args.lm_head_all_tokens,
                      attention=args.attention)
    if args.json:
        print_json(res.to_dict())
        return 0
    print_result(res)
    return 0


def print_result(res) -> None:
    from lutsim.output import print_table, sig

    rows = []
    for r in res.rows:
        row = {}
        for head, field, scale in COLUMNS:
            v = getattr(r, field)
            row[head] = v if scale is None or v is None else sig(v * scale)
            if v is None:
                row[head] = "-"
        rows.append(row)
    mem = res.memory if res.memory_system is None else (
        f"{res.memory} ({res.memory_system['clock_mhz']:g} MHz, {res.memory_system['gb_per_s']:g} GB/s, "
        f"{res.memory_system['pj_per_bit']:g} pJ/bit)")
    print_table(f"{res.model} {res.phase} (B={res.batch}, T={res.seq_len}, L={res.kv_len}) on memory {mem}; "
                f"normalize {res.normalize}; ratios to {res.baseline}", rows)
    print("fields that differ between the designs: " + (", ".join(res.differing_fields) or "none"))
    for r in res.rows:
        recipe = f"{r.quant}: {r.weights} x {r.activations}"
        if r.normalize_ratio is not None:
            recipe += f"; {res.normalize} ratio {r.normalize_ratio:.3g}"
        print(f"{r.design}: {recipe}" + (f" -- {r.note}" if r.note else ""))
    print(f"weight SQNR on {res.sqnr_weights}")
