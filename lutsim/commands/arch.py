"""``lutsim arch list`` / ``lutsim arch show NAME|FILE``: the shipped accelerator presets."""

from __future__ import annotations

import re

import yaml

from lutsim.output import print_json, si
from lutsim.results import ArchSummary, to_dict
from sim import arch

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


def _summary(a) -> ArchSummary:
    return ArchSummary(name=a.name, pe=a.pe.type, shape="x".join(map(str, a.pe.tile or a.pe.array)), arrays=a.arrays,
                       clock_mhz=a.clock_mhz, node_nm=a.node_nm, sram_kib=sum(b.capacity for b in a.buffers) // 1024,
                       dram_bits_per_cycle=a.dram.bandwidth, description=a.description)


#: units of the arch fields, by (top-level section, key); ``None`` section = a top-level key (sim/arch/spec.py)
UNITS = {(None, "clock_mhz"): "MHz", (None, "node_nm"): "nm", (None, "arrays"): "PE arrays",
         (None, "pnr_factor"): "x area (place and route)", ("pe", "array"): "rows x cols of PEs",
         ("pe", "tile"): "M x N x K of the LUT unit", ("vector", "lanes"): "lanes",
         ("vector", "latency"): "cycles", ("vector", "ops_per_cycle"): "elements per lane per cycle",
         ("buffers", "capacity"): "bytes", ("buffers", "banks"): "banks", ("buffers", "ports"): "ports per bank",
         ("buffers", "width"): "bits per bank word", ("dram", "bandwidth"): "bits/cycle",
         ("dram", "latency"): "cycles", ("dram", "pj_per_bit"): "pJ/bit (reads)",
         ("dram", "pj_per_bit_write"): "pJ/bit (writes; null = reads' value)", ("dram", "static_mw"): "mW",
         ("table_unit", "tables_per_cycle"): "tables/cycle", ("table_unit", "group"): "activations per table",
         ("table_unit", "entry_bits"): "bits per entry", ("table_unit", "latency"): "cycles"}


def with_units(text: str, a) -> str:
    """The YAML of an arch with each number's unit as a comment (``capacity: 524288  # bytes (512 KiB)``);
    it still loads as the same arch."""
    out, section, parent = [], None, None
    for line in text.splitlines():
        m = re.match(r"^(\s*)(- )?(\w+):( .*)?$", line)
        if not m:
            out.append(line)
            continue
        indent, key, value = len(m.group(1)), m.group(3), (m.group(4) or "").strip()
        if indent == 0 and not m.group(2):
            section, parent = key, None
        elif not value:
            parent = key
        unit = UNITS.get((None, key)) if indent == 0 else UNITS.get((section, parent if indent >= 4 else key))
        if unit and (value or key in ("array", "tile")):
            if unit == "bytes" and value.isdigit():
                unit += f" ({si(int(value), 'B', 4).replace(' kB', ' KB')})" if int(value) % 1024 else \
                    f" ({int(value) // 1024:,} KiB)"
            elif section == "dram" and key == "bandwidth" and value.isdigit():
                unit += f" ({si(int(value) / 8 * a.clock_mhz * 1e6, 'B/s')} at {a.clock_mhz:g} MHz)"
            line = f"{line}  # {unit}"
        out.append(line)
    return "\n".join(out) + "\n"


def run(args) -> int:
    if args.arch_command == "list":
        rows = to_dict([_summary(arch.load(n)) for n in arch.names()])
        if args.json:
            print_json(rows)
        else:
            width = max(len(r["name"]) for r in rows)
            print(f"{'preset':<{width}}  {'pe':<13} {'shape':<9} {'arrays':>6} {'clock (MHz)':>11} {'node (nm)':>9} "
                  f"{'SRAM (KiB)':>10}")
            for r in rows:
                print(f"{r['name']:<{width}}  {r['pe']:<13} {r['shape']:<9} {r['arrays']:>6} {r['clock_mhz']:>11g} "
                      f"{r['node_nm']:>9} {r['sram_kib']:>10}")
        return 0
    a = arch.load(args.target)
    if args.json:
        print_json(to_dict(a))  # the spec itself is the result (lutsim.schema.COMMAND_RESULTS)
    else:
        print(with_units(yaml.safe_dump(a.to_dict(), sort_keys=False, allow_unicode=True), a), end="")
    return 0
