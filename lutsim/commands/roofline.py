"""``lutsim roofline``: GPU roofline latency of one prefill or decode pass (ours, or LLM-Viewer's numbers)."""

from __future__ import annotations

from lutsim.commands.trace import add_workload_arguments, trace_from_args

NAME = "roofline"
HELP = "GPU roofline latency of a model pass: per op ops / min(peak, AI x BW), summed"
BLAS_THREADS = 1  # no linear algebra worth threads (lutsim.cli)
COMPAT_MODES = ("llm-viewer",)


def add_arguments(p) -> None:
    from sim.gpu.roofline import gpu_names, llm_viewer_gpu_names

    p.add_argument("--gpu", required=True, help=f"GPU preset: {', '.join(gpu_names())} (--compat llm-viewer: "
                   f"{', '.join(llm_viewer_gpu_names())})")
    add_workload_arguments(p, quant=False)
    p.add_argument("--quant", default=None, help="recipe name or YAML (instead of --w-bits/--a-bits/--kv-bits)")
    p.add_argument("--w-bits", type=int, default=None, help="weight bits: 16 or 2..8 (default 16)")
    p.add_argument("--a-bits", type=int, default=None, help="activation bits: 16 or 2..8 (default 16)")
    p.add_argument("--kv-bits", type=int, default=None, help="KV-cache bits: 16 or 2..8 (default: --a-bits)")
    p.add_argument("--compat", default=None, help="reproduce a peer tool's numbers: llm-viewer")
    p.add_argument("--json", action="store_true", help="write per-op rows and the total as JSON")


def _bits(args) -> tuple[int, int, int]:
    w = 16 if args.w_bits is None else args.w_bits
    a = 16 if args.a_bits is None else args.a_bits
    kv = a if args.kv_bits is None else args.kv_bits
    return w, a, kv


def run(args) -> int:
    from lutsim.output import print_json, print_table, si
    from lutsim.results import RooflineResult
    from sim.errors import InputError
    from sim.gpu.roofline import get_gpu, roofline_trace
    from workloads.recipes import get_recipe, recipe_from_bits

    if args.compat is not None and args.compat not in COMPAT_MODES:
        raise InputError("compat", f"unknown mode {args.compat!r}", ", ".join(COMPAT_MODES))
    bits_given = any(x is not None for x in (args.w_bits, args.a_bits, args.kv_bits))
    if args.quant is not None and (bits_given or args.compat):
        raise InputError("quant", "give either --quant or --w-bits/--a-bits/--kv-bits (--compat takes bits only)")
    if args.compat and args.lm_head_all_tokens:
        raise InputError("lm-head-all-tokens", "LLM-Viewer's lm_head covers one token per pass, so --compat "
                         "llm-viewer cannot project every token", "omit --lm-head-all-tokens under --compat")
    gpu = get_gpu(args.gpu, llm_viewer=args.compat == "llm-viewer")
    if args.compat == "llm-viewer":
        from sim.gpu.llm_viewer_compat import llm_viewer_roofline
        from workloads.models import get_model

        w, a, kv = _bits(args)
        for field, v in (("w-bits", w), ("a-bits", a), ("kv-bits", kv)):
            if v <= 0:
                raise InputError(field, f"must be positive, got {v}")
        if args.batch <= 0 or args.seq_len <= 0 or (args.kv_len is not None and args.kv_len <= 0):
            raise InputError("seq-len/kv-len/batch", "must be positive integers")
        length = args.kv_len if args.phase == "decode" and args.kv_len is not None else args.seq_len
        res = llm_viewer_roofline(get_model(args.model), gpu, args.phase, length, args.batch, w, a, kv)
    else:
        recipe = get_recipe(args.quant) if args.quant is not None else recipe_from_bits(*_bits(args))
        res = roofline_trace(trace_from_args(args, recipe), gpu)
    if args.json:
        print_json(RooflineResult.from_dict(res).to_dict())
        return 0
    print_table(f"roofline ({res['mode']}) on {gpu.name}; rows per occurrence, totals x repeat",
                [per_occurrence(r) for r in res["ops"]])
    t = res["total"]
    print(f"total: {si(t['latency_ms'] * 1e-3, 's')}, {si(t['ops'], 'op')}, {si(t['bytes'], 'B')}")
    return 0


def per_occurrence(row: dict) -> dict:
    """A table row of one occurrence of the op (the JSON rows hold all ``repeat`` occurrences), like
    ``trace`` and ``simulate`` rows."""
    n = row.get("repeat", 1) or 1
    return {"name": row["name"], "repeat": n, "precision": row.get("precision", ""), "ops": row["ops"] / n,
            "bytes (B)": row["bytes"] / n, "intensity (ops/B)": row["arithmetic_intensity"], "bound": row["bound"],
            "latency (µs)": row["latency_ms"] * 1e3 / n}
