"""Memory systems (``sim.arch.memory``): the off-chip DRAM, on-chip buffer sizes, clock and node that a
comparison holds fixed across designs (``lutsim compare --memory``).

A memory system is a YAML file (the presets here, each with its sources, or a user file)::

    name: hbm2e
    clock_mhz: 1000
    node_nm: 28
    dram: {gb_per_s: 460.8, latency_ns: 100, pj_per_bit: 3.97, pj_source: "..."}  # + pj_per_bit_write, static_mw
    buffers: {wbuf: 512KiB, abuf: 512KiB, obuf: 128KiB}

:func:`apply` puts one onto an :class:`sim.arch.Arch`: clock, node, DRAM (bandwidth in bits/cycle at the
clock, latency in cycles) and the capacity of each named buffer the arch has (8 KiB banks, 512-bit words);
buffers it does not name (the LUT Tensor Core's table buffer) stay as the design has them. DRAM figures
outside the physical ranges of ``sim/cost/data/dram.yaml`` are refused.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import yaml

from ...errors import InputError
from ...userfile import read_packaged_file, read_user_file
from ..spec import DRAM, Arch, _get, _int, _num, _size, _unknown_keys

PRESET_DIR = Path(__file__).parent
RANGES = Path(__file__).parents[2] / "cost" / "data" / "dram.yaml"
BANK_BYTES = 8 * 1024  # one CACTI bank point (docs/references.md#energy-and-area-constants)


@dataclass(frozen=True)
class MemorySystem:
    """DRAM (GB/s, ns, pJ/bit, mW), buffer capacities (bytes, by buffer name), clock (MHz) and node (nm)."""

    name: str
    clock_mhz: float
    node_nm: int
    gb_per_s: float
    latency_ns: float
    pj_per_bit: float
    buffers: dict[str, int]
    pj_per_bit_write: float | None = None
    static_mw: float = 0.0
    pj_source: str = ""
    description: str = ""
    sources: tuple[str, ...] = ()

    def bandwidth_bits_per_cycle(self) -> int:
        """DRAM bandwidth at the clock, rounded to whole bits per cycle (at least 1)."""
        return max(1, round(self.gb_per_s * 8e9 / (self.clock_mhz * 1e6)))

    def latency_cycles(self) -> int:
        return round(self.latency_ns * self.clock_mhz * 1e-3)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["sources"] = list(self.sources)
        return d


def ranges() -> dict:
    """The physical ranges of DRAM constants (``sim/cost/data/dram.yaml``, each with its source)."""
    return read_packaged_file(RANGES)


def check_range(field: str, key: str, value: float) -> None:
    """An InputError when ``value`` (of ``ranges()[key]``) lies outside its cited physical range."""
    r = ranges()[key]
    if not r["min"] <= value <= r["max"]:
        raise InputError(field, f"{value:g} is outside the physical range of DRAM {key}",
                         f"{r['min']:g} to {r['max']:g} (sim/cost/data/dram.yaml)")


def names() -> list[str]:
    """The shipped memory presets."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def _number(d: dict, key: str, path: str, default=..., strict: bool = True) -> float:
    """A number field of a memory file (the arch spec's reader: missing, type and range errors name the field)."""
    return _num(_get(d, key, path, default), f"{path}.{key}", 0.0, strict)


def from_dict(d, path: str = "memory") -> MemorySystem:
    """A validated :class:`MemorySystem` from plain data (a parsed YAML document)."""
    if not isinstance(d, dict):
        raise InputError(path, "expected a mapping")
    _unknown_keys(d, {"name", "description", "sources", "clock_mhz", "node_nm", "dram", "buffers"}, path)
    dram = d.get("dram")
    if not isinstance(dram, dict):
        raise InputError(f"{path}.dram", "expected a mapping with gb_per_s, latency_ns, pj_per_bit")
    _unknown_keys(dram, {"gb_per_s", "latency_ns", "pj_per_bit", "pj_per_bit_write", "static_mw", "pj_source"},
                  f"{path}.dram")
    bufs = d.get("buffers", {})
    if not isinstance(bufs, dict):
        raise InputError(f"{path}.buffers", "expected a mapping buffer name -> capacity")
    capacities = {}
    for name, cap in bufs.items():
        capacities[str(name)] = _size(cap, f"{path}.buffers.{name}")
        if capacities[str(name)] % BANK_BYTES:
            raise InputError(f"{path}.buffers.{name}", "must be a multiple of 8 KiB (one bank)")
    node = _int(_get(d, "node_nm", path), f"{path}.node_nm")
    write = dram.get("pj_per_bit_write")
    m = MemorySystem(
        name=str(d.get("name") or path), clock_mhz=_number(d, "clock_mhz", path), node_nm=node,
        gb_per_s=_number(dram, "gb_per_s", f"{path}.dram"), latency_ns=_number(dram, "latency_ns", f"{path}.dram",
                                                                          strict=False),
        pj_per_bit=_number(dram, "pj_per_bit", f"{path}.dram"), buffers=capacities,
        pj_per_bit_write=None if write is None else _number(dram, "pj_per_bit_write", f"{path}.dram"),
        static_mw=_number(dram, "static_mw", f"{path}.dram", 0.0, strict=False),
        pj_source=str(dram.get("pj_source", "")), description=str(d.get("description", "")),
        sources=tuple(str(s) for s in d.get("sources", [])))
    check_range(f"{path}.dram.pj_per_bit", "pj_per_bit", m.pj_per_bit)
    if m.pj_per_bit_write is not None:
        check_range(f"{path}.dram.pj_per_bit_write", "pj_per_bit", m.pj_per_bit_write)
    check_range(f"{path}.dram.gb_per_s", "gb_per_s", m.gb_per_s)
    return m


def load(name_or_path: str | Path) -> MemorySystem:
    """A memory preset by name, or a YAML file by path (``--memory``)."""
    s = str(name_or_path)
    if s in names():
        return from_dict(yaml.safe_load((PRESET_DIR / f"{s}.yaml").read_text(encoding="utf-8")), s)
    p = Path(s)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return from_dict(read_user_file(p, s, "yaml"), s)
    raise InputError("--memory", f"no memory preset or file {s!r}", ", ".join(names()))


def apply(arch: Arch, mem: MemorySystem) -> Arch:
    """``arch`` on memory system ``mem`` (see the module docstring)."""
    bufs = tuple(dataclasses.replace(b, capacity=mem.buffers[b.name], banks=mem.buffers[b.name] // BANK_BYTES,
                                     width=512) if b.name in mem.buffers else b for b in arch.buffers)
    dram = DRAM(bandwidth=mem.bandwidth_bits_per_cycle(), latency=mem.latency_cycles(), pj_per_bit=mem.pj_per_bit,
                static_mw=mem.static_mw, pj_source=mem.pj_source, pj_per_bit_write=mem.pj_per_bit_write)
    return dataclasses.replace(arch, clock_mhz=mem.clock_mhz, node_nm=mem.node_nm, dram=dram, buffers=bufs)


def system_of(arch: Arch) -> dict:
    """The memory-system fields of ``arch`` as a comparison lists them (GB/s, cycles, pJ/bit, bytes, MHz, nm)."""
    return {"clock_mhz": arch.clock_mhz, "node_nm": arch.node_nm,
            "dram_gb_per_s": arch.dram.bandwidth * arch.clock_mhz * 1e6 / 8e9,
            "dram_latency_cycles": arch.dram.latency, "dram_pj_per_bit": arch.dram.pj_per_bit,
            "dram_pj_per_bit_write": arch.dram.write_pj_per_bit, "dram_static_mw": arch.dram.static_mw,
            **{f"{b.name}_bytes": b.capacity for b in arch.buffers}}
