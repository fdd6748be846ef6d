"""``lutsim run PROGRAM --arch NAME|FILE``: execute a program (text ``.s`` or binary) on an arch and
report cycles, per-unit utilization, energy (pJ) and area (mm²) with breakdowns and assumptions."""

from __future__ import annotations

NAME = "run"
HELP = "run a program (text or binary ISA) on an accelerator; report cycles, utilization, energy, area"
BLAS_THREADS = 1  # no linear algebra worth threads (lutsim.cli)


def add_arguments(p) -> None:
    p.add_argument("program", metavar="PROGRAM", help="program file (.s text form, or binary)")
    p.add_argument("--arch", required=True, metavar="NAME|FILE", help="preset name or arch YAML file")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--trace", metavar="FILE", help="write a Chrome/Perfetto trace JSON of every instruction")
    p.add_argument("--per-instruction", action="store_true", help="include per-instruction start/end (JSON)")
    p.add_argument("--pe-ge", type=float, metavar="GE", help="PE area from a yosys gate-equivalent count "
                   "(with --um2-per-ge) instead of the synthesis figure")
    p.add_argument("--um2-per-ge", type=float, metavar="UM2", help="µm² per gate equivalent at the arch's node")


def run(args) -> int:
    import json

    from lutsim.output import print_json, print_table, si
    from lutsim.pipeline import run_program
    from sim import arch, isa

    a = arch.load(args.arch)
    program = isa.load(args.program)
    isa.check_fits(program, a)
    if program.arch and program.arch != a.name:
        import sys

        print(f"note: program was written for {program.arch!r}, running on {a.name!r}", file=sys.stderr)
    res, stats = run_program(program, a, args.per_instruction, args.pe_ge, args.um2_per_ge)
    report = res.to_dict()
    if args.trace:
        with open(args.trace, "w") as f:
            json.dump(stats.chrome_trace(), f)
    if args.json:
        print_json(report)
        return 0
    print(f"{a.name}: {len(program)} instructions, {stats.cycles:,} cycles ({si(stats.seconds, 's')}), "
          f"{si(report['energy_pj'] * 1e-12, 'J')}, {report['area_mm2']:.4g} mm²")
    print_table("units (busy, stalls and idle in cycles)", [
        {"unit": k, **{f: v[f] for f in v if f != "utilization"}, "utilization (%)": 100 * v["utilization"]}
        for k, v in stats.units.items()])
    print_table("energy by component", [{"component": k, "energy (pJ)": v}
                                        for k, v in report["energy_breakdown_pj"].items()])
    print_table("area by component", [{"component": k, "area (mm²)": v}
                                      for k, v in report["area_breakdown_mm2"].items()])
    return 0
