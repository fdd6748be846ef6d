"""``lutsim trace``: the op trace of one model pass (prefill or decode) under a quantization recipe."""

from __future__ import annotations

import sys

from lutsim.output import print_json, print_table, si
from lutsim.results import RecipeInfo, TraceMeta, TraceResult, TraceTotal
from workloads.checkpoint import model_spec
from workloads.models import get_model
from workloads.recipes import get_recipe
from workloads.trace import build_trace

NAME = "trace"
HELP = "print the op trace (shapes, flops, bytes per tensor class) of one prefill or decode pass"
BLAS_THREADS = 1  # no linear algebra worth threads (lutsim.cli)


def add_workload_arguments(p, quant: bool = True) -> None:
    """Model / phase / size options shared with ``lutsim roofline``."""
    p.add_argument("--model", required=True, type=model_spec,
                   help="zoo model name, a Hugging Face config.json, or a model folder holding one")
    if quant:
        p.add_argument("--quant", default="fp16", help="recipe name or path to a recipe YAML (default fp16)")
    p.add_argument("--phase", required=True, help="prefill | decode")
    p.add_argument("--seq-len", type=int, default=1024, help="prefill: tokens per sequence (default 1024)")
    p.add_argument("--kv-len", type=int, default=None, help="decode: positions attended (default: --seq-len)")
    p.add_argument("--batch", type=int, default=1, help="sequences (default 1)")
    p.add_argument("--lm-head-all-tokens", action="store_true",
                   help="prefill: project every token through lm_head (default: last token only)")


def add_arguments(p) -> None:
    add_workload_arguments(p)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", action="store_true", help="write the ops as CSV")
    out.add_argument("--json", action="store_true", help="write the trace as JSON")


def trace_from_args(args, recipe=None):
    return build_trace(get_model(args.model), recipe or get_recipe(args.quant), args.phase, seq_len=args.seq_len,
                       kv_len=args.kv_len, batch=args.batch, lm_head_all_tokens=args.lm_head_all_tokens)


def trace_result(trace) -> TraceResult:
    """The typed form of a :class:`workloads.trace.Trace` (what ``--json`` prints)."""
    return TraceResult(meta=TraceMeta(**trace.meta()), model=trace.model.to_dict(),
                       recipe=RecipeInfo.from_dict(trace.recipe.to_dict()), ops=list(trace.ops),
                       total=TraceTotal(**trace.totals()))


def run(args) -> int:
    trace = trace_from_args(args)
    if args.json:
        print_json(trace_result(trace).to_dict())
    elif args.csv:
        trace.to_dataframe().to_csv(sys.stdout, index=False)
    else:
        m = trace.meta()
        rows = [{**r, "bytes (B)": op.bytes} for r, op in zip(trace.rows(), trace.ops)]
        print_table(f"{m['model']} {m['recipe']} {m['phase']} (B={m['batch']}, T={m['tokens']}, L={m['kv_len']}); "
                    f"rows per occurrence, totals x repeat (decoder ops x{trace.model.layers})", rows,
                    ["name", "repeat", "M", "N", "K", "count", "w_fmt", "a_fmt", "flops", "bytes (B)"])
        t = trace.totals()
        print(f"total: {si(t['flops'], 'flop')}, {si(t['bytes'], 'B')}")
        if "routing" in m:
            print(f"routing: {m['routing']}")
    return 0
