"""``lutsim compat``: peer tools' analytical models, reproduced exactly (reported beside our own model).

Actions: ``bitmod`` (BitMoD's tile model, docs/references.md#bitmod; ``--ours`` also simulates its five designs in our
own model on the bitmod-iso presets, reports/validation/bitmod.py) and ``scalesim`` (SCALE-Sim's folds,
docs/references.md#peer-tools). Each action is one entry of :data:`ACTIONS` (add_arguments, run).
"""

from __future__ import annotations

from lutsim.commands.gemm import parse_dims
from lutsim.output import print_json, print_table
from lutsim.results import BitmodResult, FoldCycles, ScalesimResult
from reports.validation import bitmod as vb
from sim import pe
from sim.compat.bitmod_tile_model import PHASES, bitmod_cycles, comparison, design_names
from sim.pe.base import GemmProblem, PEConfig
from workloads.models import get_model

NAME = "compat"
HELP = "reproduce a peer simulator's published numbers (bitmod, scalesim)"


def _bitmod_arguments(p) -> None:
    p.add_argument("--model", required=True, help="zoo model name or path to a Hugging Face config.json")
    p.add_argument("--design", required=True, help=f"one of: {', '.join(design_names())}")
    p.add_argument("--phase", required=True, help=f"one of: {', '.join(PHASES)}")
    p.add_argument("--json", action="store_true", help="write per-layer rows, total and comparison as JSON")
    p.add_argument("--ours", action="store_true",
                   help="also simulate every design in our own model (bitmod-iso presets) and print both")


def _bitmod_run(args) -> int:
    model = get_model(args.model)
    res = BitmodResult.from_dict({
        **bitmod_cycles(model, args.design, args.phase), "comparison": comparison(model),
        "source": "BitMoD tile model (docs/references.md#bitmod; github.com/yc2367/BitMoD-HPCA-25 bitmod_sim)",
        **({"ours": _bitmod_ours(args.model)} if args.ours else {})})
    if args.json:
        print_json(res.to_dict())
        return 0
    print_table(f"BitMoD tile model: {model.name}, {args.design}, {args.phase}", res.to_dict()["layers"],
                ["name", "repeat", "compute_cycles", "dram_cycles", "cycles", "dram_bytes"])
    print(f"total: {res.total_cycles:,} cycles")
    for name, r in res.comparison.speedups.items():
        print(f"{name}: " + ", ".join(f"{k} {v:.3f}x" for k, v in r.items()))
    if args.ours:
        print_table(f"BitMoD designs, their tile model vs our model (lutsim simulate, bitmod-iso presets): "
                    f"{model.name}", res.to_dict()["ours"]["designs"],
                    ["design", "phase", "their_cycles", "our_cycles", "ours_over_theirs", "our_energy_uj",
                     "our_dram_share"])
        for name, r in res.ours.speedups.items():
            print(f"{name}: theirs {r['theirs']:.3f}x, ours {r['ours']:.3f}x (mean of prefill and prefill+20)")
    return 0


def _bitmod_ours(model: str) -> dict:
    """Every design in both models, and BitMoD-lossy's speedups over the baselines in each (where their model
    has the baseline's published precision for ``model``)."""
    designs = vb.design_table(model)
    known = {r["design"] for r in designs} - {r["design"] for r in designs if r["their_cycles"] is None}
    speedups = {f"bitmod-lossy_over_{b}": {"theirs": vb.headline(vb.their_cycles, b, models=(model,)),
                                           "ours": vb.headline(vb.our_cycles, b, models=(model,))}
                for b in ("fp16", "ant", "olive") if {b, "bitmod-lossy"} <= known}
    return {"designs": designs, "speedups": speedups,
            "source": "lutsim.api.simulate on the bitmod-iso presets (reports/validation/bitmod.py)"}


def _scalesim_arguments(p) -> None:
    p.add_argument("--m", type=int, required=True, help="rows of A (M x K)")
    p.add_argument("--n", type=int, required=True, help="columns of B (K x N)")
    p.add_argument("--k", type=int, required=True, help="reduction length")
    p.add_argument("--array", default="32x32", help="systolic array RxC (default 32x32)")
    p.add_argument("--dataflow", default="os", help="os, ws or is (default os)")
    p.add_argument("--json", action="store_true", help="print JSON")


def _scalesim_run(args) -> int:
    model = pe.get("int8-systolic")
    cfg = model.resolve(PEConfig(array=parse_dims(args.array, "--array", 2), dataflow=args.dataflow))
    problem = GemmProblem(args.m, args.n, args.k, "int8", "int8")
    model.check(problem, cfg)
    peer = model.run(problem, cfg, "scalesim")
    ours = model.run(problem, cfg, "tile")
    res = ScalesimResult(
        m=args.m, n=args.n, k=args.k, array=list(cfg.array), dataflow=cfg.dataflow,
        scalesim=FoldCycles(peer.cycles, peer.utilization), lutsim_overlapped=FoldCycles(ours.cycles, ours.utilization),
        source="SCALE-Sim 3.0.0 fold formulas (docs/references.md#peer-tools), reported beside our overlapped model")
    if args.json:
        print_json(res.to_dict())
    else:
        print(f"SCALE-Sim 3.0.0: {peer.cycles:,} cycles (utilization {100 * peer.utilization:.2f} %); "
              f"lutsim overlapped folds: {ours.cycles:,} cycles (utilization {100 * ours.utilization:.2f} %)")
    return 0


ACTIONS = {"bitmod": (_bitmod_arguments, _bitmod_run, "BitMoD's analytical tile model (HPCA'25)"),
           "scalesim": (_scalesim_arguments, _scalesim_run, "SCALE-Sim 3.0.0 systolic fold formulas")}


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    sub.required = True
    for name, (add, run_action, help_) in ACTIONS.items():
        sp = sub.add_parser(name, help=help_, description=help_)
        add(sp)
        sp.set_defaults(_action=run_action)


def run(args) -> int:
    return args._action(args)
