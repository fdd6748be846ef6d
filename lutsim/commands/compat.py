"""``lutsim compat``: peer tools' analytical models, reproduced exactly (reported beside our own model).

Actions: ``bitmod`` (BitMoD's tile model, references §3). Each action is one entry of :data:`ACTIONS`
(add_arguments, run), so further peers (e.g. SCALE-Sim) slot in beside it.
"""

from __future__ import annotations

NAME = "compat"
HELP = "reproduce a peer simulator's published numbers (bitmod)"


def _bitmod_arguments(p) -> None:
    from sim.compat.bitmod_tile_model import PHASES, design_names

    p.add_argument("--model", required=True, help="zoo model name or path to a Hugging Face config.json")
    p.add_argument("--design", required=True, help=f"one of: {', '.join(design_names())}")
    p.add_argument("--phase", required=True, help=f"one of: {', '.join(PHASES)}")
    p.add_argument("--json", action="store_true", help="write per-layer rows, total and comparison as JSON")


def _bitmod_run(args) -> int:
    from lutsim.output import print_json, print_table
    from sim.compat.bitmod_tile_model import bitmod_cycles, comparison
    from workloads.models import get_model

    model = get_model(args.model)
    res = bitmod_cycles(model, args.design, args.phase)
    res["comparison"] = comparison(model)
    res["source"] = "BitMoD tile model (references §3; github.com/yc2367/BitMoD-HPCA-25 bitmod_sim)"
    if args.json:
        print_json(res)
        return 0
    print_table(f"BitMoD tile model: {model.name}, {args.design}, {args.phase}", res["layers"],
                ["name", "repeat", "compute_cycles", "dram_cycles", "cycles", "dram_bytes"])
    print(f"total: {res['total_cycles']:,} cycles")
    for name, r in res["comparison"]["speedups"].items():
        print(f"{name}: " + ", ".join(f"{k} {v:.3f}x" for k, v in r.items()))
    return 0


ACTIONS = {"bitmod": (_bitmod_arguments, _bitmod_run, "BitMoD's analytical tile model (HPCA'25)")}


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    sub.required = True
    for name, (add, run_action, help_) in ACTIONS.items():
        sp = sub.add_parser(name, help=help_, description=help_)
        add(sp)
        sp.set_defaults(_action=run_action)


def run(args) -> int:
    return args._action(args)
