"""``lutsim run PROGRAM --arch NAME|FILE``: execute a program (text ``.s`` or binary) on an arch and
report cycles, per-unit utilization, energy (pJ) and area (mm²) with breakdowns and assumptions."""

from __future__ import annotations

NAME = "run"
HELP = "run a program (text or binary ISA) on an accelerator; report cycles, utilization, energy, area"


def add_arguments(p) -> None:
    p.add_argument("program", metavar="PROGRAM", help="program file (.s text form, or binary)")
    p.add_argument("--arch", required=True, metavar="NAME|FILE", help="preset name or arch YAML file")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--trace", metavar="FILE", help="write a Chrome/Perfetto trace JSON of every instruction")
    p.add_argument("--per-instruction", action="store_true", help="include per-instruction start/end (JSON)")
    p.add_argument("--pe-ge", type=float, metavar="GE", help="PE area from a yosys gate-equivalent count "
                   "(with --um2-per-ge) instead of the synthesis figure")
    p.add_argument("--um2-per-ge", type=float, metavar="UM2", help="µm² per gate equivalent at the arch's node")


def result(program, a, per_instruction: bool = False, ge_count: float | None = None,
           um2_per_ge: float | None = None) -> tuple[dict, object]:
    """The report dict of one run (what ``--json`` prints) and the engine stats."""
    from sim import cost, engine

    stats = engine.run(program, a)
    e = cost.energy(stats, a)
    ar = cost.area(a, ge_count=ge_count, um2_per_ge=um2_per_ge)
    report = {
        "arch": a.name, "instructions": len(program), "cycles": stats.cycles, "seconds": stats.seconds,
        "utilization": {name: u["utilization"] for name, u in stats.units.items()},
        "units": stats.units, "events": stats.events, "peak_bytes": stats.peak_bytes,
        "energy_pj": e.total_pj, "energy_breakdown_pj": e.breakdown,
        "area_mm2": ar.total_mm2, "area_breakdown_mm2": ar.breakdown,
        "assumptions": {"engine": stats.assumptions, "energy": e.assumptions, "area": ar.assumptions},
    }
    if per_instruction:
        report["per_instruction"] = stats.to_dict(per_instruction=True)["instructions"]
    return report, stats


def run(args) -> int:
    import json

    from lutsim.output import print_json, print_table
    from sim import arch, isa

    a = arch.load(args.arch)
    program = isa.load(args.program)
    isa.check_fits(program, a)
    if program.arch and program.arch != a.name:
        import sys

        print(f"note: program was written for {program.arch!r}, running on {a.name!r}", file=sys.stderr)
    report, stats = result(program, a, args.per_instruction, args.pe_ge, args.um2_per_ge)
    if args.trace:
        with open(args.trace, "w") as f:
            json.dump(stats.chrome_trace(), f)
    if args.json:
        print_json(report)
        return 0
    print(f"{a.name}: {len(program)} instructions, {stats.cycles} cycles ({stats.seconds * 1e6:.3f} us), "
          f"{report['energy_pj']:.6g} pJ, {report['area_mm2']:.6g} mm2")
    print_table("units", [{"unit": k, **v} for k, v in stats.units.items()])
    print_table("energy (pJ)", [{"component": k, "pJ": v} for k, v in report["energy_breakdown_pj"].items()])
    print_table("area (mm2)", [{"component": k, "mm2": v} for k, v in report["area_breakdown_mm2"].items()])
    return 0
