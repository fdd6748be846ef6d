"""``lutsim arch list`` / ``lutsim arch show NAME|FILE``: the shipped accelerator presets."""

from __future__ import annotations

NAME = "arch"
HELP = "list the accelerator presets, or show one (or validate a YAML file) fully resolved"


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="arch_command", metavar="ACTION")
    sub.required = True
    ls = sub.add_parser("list", help="list the presets")
    ls.add_argument("--json", action="store_true", help="print JSON")
    show = sub.add_parser("show", help="print a preset, or validate a YAML file and print it resolved")
    show.add_argument("target", metavar="NAME|FILE")
    show.add_argument("--json", action="store_true", help="print JSON instead of YAML")


def _summary(a) -> dict:
    shape = "x".join(map(str, a.pe.tile or a.pe.array))
    return {"name": a.name, "pe": a.pe.type, "shape": shape, "arrays": a.arrays, "clock_mhz": a.clock_mhz,
            "node_nm": a.node_nm, "sram_kib": sum(b.capacity for b in a.buffers) // 1024,
            "dram_bits_per_cycle": a.dram.bandwidth, "description": a.description}


def run(args) -> int:
    from lutsim.output import print_json
    from sim import arch

    if args.arch_command == "list":
        rows = [_summary(arch.load(n)) for n in arch.names()]
        if args.json:
            print_json(rows)
        else:
            width = max(len(r["name"]) for r in rows)
            print(f"{'preset':<{width}}  {'pe':<13} {'shape':<9} {'arrays':>6} {'MHz':>6} {'nm':>3} {'SRAM KiB':>8}")
            for r in rows:
                print(f"{r['name']:<{width}}  {r['pe']:<13} {r['shape']:<9} {r['arrays']:>6} {r['clock_mhz']:>6g} "
                      f"{r['node_nm']:>3} {r['sram_kib']:>8}")
        return 0
    a = arch.load(args.target)
    if args.json:
        print_json(a.to_dict())
    else:
        import yaml

        print(yaml.safe_dump(a.to_dict(), sort_keys=False, allow_unicode=True), end="")
    return 0
