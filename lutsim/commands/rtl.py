"""``lutsim rtl``: generate Verilog for an RTL design, synthesize it with yosys, or run the ECP5 FPGA flow.

  lutsim rtl designs
  lutsim rtl verilog --design lut-tc [--m 2 --n 64 --k 4 ...] [--param NAME=VALUE] --out DIR
  lutsim rtl synth --design lut-tc --target {generic,ice40,ecp5,xilinx} [--json]
  lutsim rtl fpga --design lut-tc --n 8 --part LFE5U-85F [--package CABGA381] [--json]
"""

from __future__ import annotations

import sys

from lutsim.output import print_json, print_table
from lutsim.results import FpgaResult, RtlDesign, SynthResult, VerilogResult, to_dict
from sim.errors import InputError

NAME = "rtl"
HELP = ("generate Verilog for an RTL design, synthesize it with yosys (gate equivalents, FPGA resources), or "
        "place and route it on an ECP5 (utilization, Fmax, throughput)")

# Convenience flags for the parameters the built-in designs share; anything else: --param NAME=VALUE.
_PARAM_FLAGS = ("m", "n", "k", "act_width", "acc_width", "max_bits", "w_width")


def _add_design_args(p) -> None:
    p.add_argument("--design", required=True, help="design name (see `lutsim rtl designs`)")
    for name in _PARAM_FLAGS:
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=int, default=None,
                       help=f"override parameter {name}")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override any integer parameter of the design (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON")


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="rtl_action", metavar="ACTION", parser_class=type(p))
    sub.required = True
    sub.add_parser("designs", help="list the designs and their parameters").add_argument(
        "--json", action="store_true", help="print JSON")
    v = sub.add_parser("verilog", help="write <top>.v for a design")
    _add_design_args(v)
    v.add_argument("--out", required=True, help="output directory")
    s = sub.add_parser("synth", help="synthesize a design with yosys and print its resources")
    _add_design_args(s)
    s.add_argument("--target", required=True, help="generic (gate equivalents), ice40, ecp5 or xilinx")
    f = sub.add_parser("fpga", help="synthesize (yosys synth_ecp5), place and route (nextpnr-ecp5) a design: "
                                    "LUT4/FF/DSP/EBR utilization, Fmax, throughput at Fmax")
    _add_design_args(f)
    f.add_argument("--part", default="LFE5U-85F", help="ECP5 part (default LFE5U-85F; e.g. LFE5U-25F, LFE5UM5G-85F)")
    f.add_argument("--package", default="CABGA381", help="package (default CABGA381)")
    f.add_argument("--speed", type=int, default=6, help="speed grade 6, 7 or 8 (default 6)")
    f.add_argument("--weight-bits", type=int, default=1,
                   help="weight bits for a LUT unit's throughput (one plane per cycle; default 1)")
    f.add_argument("--no-dsp", action="store_true",
                   help="map multipliers to LUTs instead of MULT18X18D DSP blocks (synth_ecp5 -nodsp)")
    f.add_argument("--no-cache", action="store_true", help="place and route again even if a cached result exists")
    f.add_argument("--timeout", type=float, default=None,
                   help="seconds allowed for synthesis and place and route together (default 1800; the LUT array "
                        "6000)")


def _overrides(args) -> dict[str, int]:
    out = {n: getattr(args, n) for n in _PARAM_FLAGS if getattr(args, n) is not None}
    for item in args.param:
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip().replace("-", "_")] = int(value)
        except ValueError:
            raise InputError("param", f"expected NAME=INTEGER, got {item!r}") from None
    return out


def run(args) -> int:
    from rtl.tools import synth, verilog  # amaranth: heavy, imported when an rtl action runs

    if args.rtl_action == "designs":
        rows = to_dict([RtlDesign(design=n, top=d.top, parameters=d.parameters(), description=d.description)
                        for n, d in verilog.DESIGNS.items()])
        if args.json:
            print_json(rows)
        else:
            print_table("RTL designs", [{**r, "parameters": ", ".join(f"{k}={v}" for k, v in r["parameters"].items())}
                                        for r in rows])
        return 0

    overrides = _overrides(args)
    if args.rtl_action == "verilog":
        path = verilog.write(args.design, args.out, **overrides)
        params = {**verilog.design(args.design).parameters(), **overrides}
        if args.json:
            print_json(VerilogResult(design=args.design, path=str(path), params=params).to_dict())
        else:
            print(path)
        return 0

    if args.rtl_action == "fpga":
        from rtl.tools import fpga

        # a failing or missing tool: one ``error:`` line and exit status 2
        return _tool_result(args, lambda: FpgaResult(**fpga.run_flow(
            args.design, part=args.part, package=args.package, speed=args.speed, weight_bits=args.weight_bits,
            timeout_s=args.timeout, cache=not args.no_cache, nodsp=args.no_dsp, **overrides)).to_dict(),
            lambda r: f"{args.design} on {r['part']} {r['package']}", ("params", "available", "cached"), 2)
    synth.check_target(args.target)
    return _tool_result(args, lambda: SynthResult(**synth.synthesize(args.design, args.target, **overrides)).to_dict(),
                        lambda r: f"{args.design} on {args.target}", ("cells", "params"), 1)


def _tool_result(args, compute, title, hidden: tuple[str, ...], failure_status: int) -> int:
    """Print ``compute()`` (a result dict) as JSON or as a one-row table without the ``hidden`` fields; a
    ToolError (a missing or failing tool) is one ``error:`` line and ``failure_status``."""
    from rtl.tools.synth import ToolError

    try:
        result = compute()
    except ToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return failure_status
    if args.json:
        print_json(result)
    else:
        print_table(title(result), [{k: v for k, v in result.items() if k not in hidden}])
    return 0
