"""Component-level area (µm²) and energy (pJ/cycle; = mW at 1 GHz) of an M×N×K LUT Tensor Core unit and of a
MAC tensor-core unit of equal throughput, at the LUT Tensor Core's 28 nm (docs/references.md#lut-tensor-core).

Constants live in ``data/lut_components.yaml`` (cell areas, energy per gate equivalent, Horowitz units, each
with its source) and ``data/constants.yaml`` (Horowitz energies, node scaling). The components of each unit
(table and weight registers, muxes, sign, shift, accumulators, precompute; table adds from
:func:`sim.pe.table_precompute.table_adds_per_table`) and how each is counted: docs/lut_cost_model.md,
"Component model".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import InputError
from ..pe.table_precompute import table_adds_per_table
from ..userfile import read_packaged_file
from .constants import scale
from .constants import table as cost_table

DATA = Path(__file__).parent / "data" / "lut_components.yaml"
INT_ACTS = {"int4": 4, "int8": 8, "int16": 16}  # activation bits
FP_ACTS = ("fp16", "bf16")  # FP datapaths: tables, precompute adders and accumulators in the format's arithmetic
#: accumulators each datapath takes, the default first (lut-tc model defaults, sim/pe/lut_tensor_core.py
#: default_acc: BF16 accumulates in FP32, a BF16 accumulator would round every add to 8 significant bits)
ACCS = {"int": ("int32",), "fp16": ("fp16", "fp32"), "bf16": ("fp32",)}
TABLE_K = (2, 4, 8)  # K-group sizes of the pairwise precompute tree (sim/pe/table_precompute.py)


def components_table() -> dict:
    """The parsed ``data/lut_components.yaml`` (read once)."""
    return read_packaged_file(DATA)


# --- primitive costs at the model's node ---------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One kind of component: ``count`` instances, each ``um2`` (µm²) and ``pj`` (pJ per activation),
    activated ``activity`` times per cycle."""

    count: float
    um2: float
    pj: float
    activity: float = 1.0

    @property
    def area_um2(self) -> float:
        """Area of all instances, µm²."""
        return self.count * self.um2

    @property
    def pj_per_cycle(self) -> float:
        """Energy of all instances per cycle, pJ (= mW at 1 GHz)."""
        return self.count * self.pj * self.activity


def _node() -> int:
    """The model's technology node (nm)."""
    return components_table()["node_nm"]


def _ge(name: str) -> float:
    """Gate equivalents of standard cell ``name`` (its area over the NAND2's)."""
    cells = components_table()["cells"]
    return cells["um2"][name] / cells["um2"][cells["reference_cell"]]


def um2_per_ge() -> float:
    """µm² of one gate equivalent (a NAND2_X1) at the model's node — the figure to pass as ``um2_per_ge`` to
    :func:`sim.cost.area` with :attr:`UnitCost.gate_equivalents`."""
    cells = components_table()["cells"]
    return scale(cells["um2"][cells["reference_cell"]], cells["node_nm"], _node(), "area")


def pj_per_ge() -> float:
    """pJ per gate equivalent per active cycle at the model's node (Horowitz's 32-bit add over its FA cells)."""
    e = components_table()["energy_per_ge"]
    return scale(e["adder_pj"] / (e["adder_bits"] * _ge("FA_X1")), e["node_nm"], _node(), "energy")


def cell(name: str, count: float, activity: float = 1.0) -> Part:
    """``count`` standard cells ``name`` (e.g. ``"FA_X1"``) at the model's node: µm² and pJ per activation
    from the cell's gate equivalents."""
    ge = _ge(name)
    return Part(count, ge * um2_per_ge(), ge * pj_per_ge(), activity)


def unit(name: str, count: float, activity: float = 1.0) -> Part:
    """``count`` Horowitz arithmetic units ``name`` (``fp16_add``, ``int8_mult``, ...) at the model's node:
    µm² from the data file, pJ per operation from ``data/constants.yaml`` ``events``."""
    areas = components_table()["units_um2"]
    ev = cost_table()["events"][name]
    return Part(count, scale(areas[name], areas["node_nm"], _node(), "area"),
                scale(ev["pj"], ev["node_nm"], _node(), "energy"), activity)


def register(bits: float, activity: float = 1.0) -> Part:
    """``bits`` flip-flops (µm², pJ per write)."""
    return cell("DFF_X1", bits, activity)


def int_adders(count: float, bits: int, activity: float = 1.0) -> Part:
    """``count`` ripple-carry adders of ``bits`` bits (one FA cell per bit)."""
    return cell("FA_X1", count * bits, activity)


def muxes(count: float, ways: int, bits: int) -> Part:
    """``count`` ways:1 multiplexers of ``bits`` bits (ways − 1 MUX2 cells per bit)."""
    return cell("MUX2_X1", count * (ways - 1) * bits)


def float_bits(fmt: str) -> int:
    """Width (bits) of floating-point format ``fmt``."""
    return components_table()["float_formats"][fmt]["bits"]


def signed_bits(lo: int, hi: int) -> int:
    """Fewest two's-complement bits that hold every integer in [lo, hi]."""
    w = 1
    while not (-(1 << (w - 1)) <= lo and hi <= (1 << (w - 1)) - 1):
        w += 1
    return w


# --- configurations ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LutUnitConfig:
    """An M×N×K LUT unit for ``acts`` activations and ``w_bits``-bit weights, with the Table 2 switches.
    ``acc`` None = the lut-tc default (int32 for integer activations, fp16 for FP). ``lut_bits`` None = LUT_BIT
    from :func:`lut_entry_bits`; an integer sets the entry width of the tables, multiplexers, sign, shift and
    precompute adders (an arch's ``table_unit.entry_bits``)."""

    m: int = 2
    n: int = 64
    k: int = 4
    acts: str = "int8"
    w_bits: int = 2
    acc: str | None = None
    reinterpret: bool = True
    negation_circuit: bool = False
    precompute_in_unit: bool = False
    lut_bits: int | None = None


# Table 2 of LUT Tensor Core (docs/references.md#lut-tensor-core): each step adds one optimisation to the previous one.
ABLATION = {
    "conventional": {"reinterpret": False, "negation_circuit": False, "precompute_in_unit": True},
    "+weight reinterpretation": {"reinterpret": True, "negation_circuit": True, "precompute_in_unit": True},
    "-negation circuit": {"reinterpret": True, "negation_circuit": False, "precompute_in_unit": True},
    "+precompute fused": {"reinterpret": True, "negation_circuit": False, "precompute_in_unit": False},
}


def ablation_step(step: str, base: LutUnitConfig | None = None) -> LutUnitConfig:
    """``base`` (default: the paper's M2N64K4 W2×INT8 unit) with the switches of Table 2 step ``step``."""
    if step not in ABLATION:
        raise InputError("step", f"unknown ablation step {step!r}", ", ".join(ABLATION))
    return replace(base or LutUnitConfig(), **ABLATION[step])


@dataclass(frozen=True)
class MacUnitConfig:
    """An M×N×K MAC tensor-core unit (M·N·K multipliers per cycle) for ``acts`` × ``acts`` operands."""

    m: int = 2
    n: int = 64
    k: int = 4
    acts: str = "int8"
    acc: str | None = None


def _kind(acts: str) -> str:
    """``"int"`` or ``"fp"`` for activation format ``acts``."""
    if acts in INT_ACTS:
        return "int"
    if acts in FP_ACTS:
        return "fp"
    raise InputError("acts", f"unsupported activation format {acts!r}", ", ".join([*INT_ACTS, *FP_ACTS]))


def _check_shape(m: int, n: int, k: int) -> None:
    for name, v in (("m", m), ("n", n)):
        if not isinstance(v, int) or v < 1:
            raise InputError(name, f"must be a positive integer, got {v!r}")
    if k not in TABLE_K:
        raise InputError("k", f"unsupported K-group size {k!r}", ", ".join(map(str, TABLE_K)))


def _acc(acts: str, acc: str | None) -> str:
    allowed = ACCS["int" if _kind(acts) == "int" else acts]
    acc = acc or allowed[0]
    if acc not in allowed:
        raise InputError("acc", f"accumulator {acc!r} does not fit {acts} activations", ", ".join(allowed))
    return acc


def _acc_bits(acc: str) -> int:
    """Width (bits) of accumulator format ``acc``."""
    t = components_table()
    return t["int_accumulators"][acc]["bits"] if acc in t["int_accumulators"] else float_bits(acc)


def _accumulators(count: int, acc: str) -> dict[str, Part]:
    """``count`` accumulators: an adder in the accumulator format and its register."""
    add = int_adders(count, _acc_bits(acc)) if acc in components_table()["int_accumulators"] else \
        unit(f"{acc}_add", count)
    return {"acc_adders": add, "acc_regs": register(count * _acc_bits(acc))}


# --- the LUT unit -----------------------------------------------------------------------------------------


def lut_entry_bits(acts: str, k: int, reinterpret: bool) -> int:
    """LUT_BIT: bits of one table entry. Integers: exact range of a sum of K activations with weights in
    {0, 1} (conventional) or {−1, +1} (reinterpreted; INT8 × K=4 → [−512, 512], 11 bits). FP: the format."""
    if _kind(acts) == "fp":
        return float_bits(acts)
    lo, hi = -(1 << (INT_ACTS[acts] - 1)), (1 << (INT_ACTS[acts] - 1)) - 1
    return signed_bits(k * lo, -k * lo if reinterpret else k * hi)


def precompute_adds(k: int, reinterpret: bool) -> int:
    """Adders that build one table: 2^K − 1 − K (conventional, one per subset of ≥ 2) or the symmetric
    tree of :func:`sim.pe.table_precompute.table_adds_per_table`."""
    return table_adds_per_table(k) if reinterpret else (1 << k) - 1 - k


def _check_lut(c: LutUnitConfig) -> str:
    _check_shape(c.m, c.n, c.k)
    acc = _acc(c.acts, c.acc)
    if not isinstance(c.w_bits, int) or not 1 <= c.w_bits <= 8:
        raise InputError("w_bits", f"must be an integer in 1..8, got {c.w_bits!r}", "1..8")
    if c.negation_circuit and not c.reinterpret:
        raise InputError("negation_circuit", "needs reinterpret=True (only the symmetric table negates)")
    if c.lut_bits is not None and (isinstance(c.lut_bits, bool) or not isinstance(c.lut_bits, int) or c.lut_bits < 1):
        raise InputError("lut_bits", f"must be a positive integer, got {c.lut_bits!r}", "integers ≥ 1")
    return acc


def lut_parts(c: LutUnitConfig) -> dict[str, Part]:
    """The components of LUT unit ``c`` by name (see the module docstring)."""
    acc = _check_lut(c)
    fp = _kind(c.acts) == "fp"
    bits = c.lut_bits or lut_entry_bits(c.acts, c.k, c.reinterpret)
    entries = 1 << (c.k - 1 if c.reinterpret else c.k)
    slots = c.m * c.n
    per_group = 1.0 / c.w_bits  # tables and weight planes change once per K-group
    parts = {"table_regs": register(c.m * entries * bits, per_group),
             "weight_regs": register(c.k * c.n * c.w_bits, per_group),
             "muxes": muxes(slots, entries, bits)}
    if c.reinterpret:
        parts["sign"] = cell("XOR2_X1", slots * (1 if fp else bits))
    if c.negation_circuit:
        parts["index_inverters"] = cell("XOR2_X1", c.n * (c.k - 1))
        if not fp:
            parts["negate_incrementers"] = cell("HA_X1", slots * bits)
    if c.w_bits > 1:
        if fp:
            parts["shift"] = int_adders(slots, components_table()["float_formats"][c.acts]["exponent_bits"])
        else:
            stages = math.ceil(math.log2(c.w_bits))
            parts["shift"] = cell("MUX2_X1", slots * stages * (bits + c.w_bits - 1))
    parts.update(_accumulators(slots, acc))
    if c.precompute_in_unit:
        adds = c.m * precompute_adds(c.k, c.reinterpret)
        parts["precompute"] = unit(f"{c.acts}_add", adds, per_group) if fp else int_adders(adds, bits, per_group)
    return parts


# --- the MAC unit -----------------------------------------------------------------------------------------


def mac_parts(c: MacUnitConfig) -> dict[str, Part]:
    """The components of MAC unit ``c``: multipliers, adder trees, accumulators, operand registers."""
    _check_shape(c.m, c.n, c.k)
    acc = _acc(c.acts, c.acc)
    outputs, macs = c.m * c.n, c.m * c.n * c.k
    if _kind(c.acts) == "fp":
        if c.acts != "fp16":
            raise InputError("acts", f"no cited multiplier figure for {c.acts!r}", "int8, fp16")
        parts = {"multipliers": unit(f"{c.acts}_mult", macs), "adder_trees": unit(f"{acc}_add", outputs * (c.k - 1))}
        op_bits = float_bits(c.acts)
    else:
        op_bits = INT_ACTS[c.acts]
        if c.acts != "int8":
            raise InputError("acts", f"no cited multiplier figure for {c.acts!r}", "int8, fp16")
        # a pairwise tree: level l adds K / 2^l pairs of (2·bits + l − 1)-bit values [I]
        tree_bits = sum((c.k >> lvl) * (2 * op_bits + lvl - 1) for lvl in range(1, int(math.log2(c.k)) + 1))
        parts = {"multipliers": unit("int8_mult", macs), "adder_trees": cell("FA_X1", outputs * tree_bits)}
    parts["operand_regs"] = register((c.m * c.k + c.k * c.n) * op_bits)
    parts.update(_accumulators(outputs, acc))
    return parts


# --- reports ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitCost:
    """Area (µm²) and energy (pJ/cycle) of a unit, by component, and its throughput (ops/cycle; a MAC = 2)."""

    parts: dict[str, Part]
    ops_per_cycle: float
    breakdown_um2: dict[str, float] = field(init=False)
    breakdown_pj: dict[str, float] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "breakdown_um2", {k: p.area_um2 for k, p in self.parts.items()})
        object.__setattr__(self, "breakdown_pj", {k: p.pj_per_cycle for k, p in self.parts.items()})

    @property
    def area_um2(self) -> float:
        """Total area, µm²."""
        return float(sum(self.breakdown_um2.values()))

    @property
    def pj_per_cycle(self) -> float:
        """Total energy per cycle, pJ (= mW at 1 GHz)."""
        return float(sum(self.breakdown_pj.values()))

    @property
    def gate_equivalents(self) -> float:
        """Area in NAND2 gate equivalents (µm² / :func:`um2_per_ge`): the ``ge_count`` of :func:`sim.cost.area`'s
        calibration hook (Horowitz units are converted by their area)."""
        return self.area_um2 / um2_per_ge()

    def power_mw(self, clock_ghz: float | None = None) -> float:
        """mW at ``clock_ghz`` (default: the paper's 1 GHz): pJ/cycle × GHz."""
        return self.pj_per_cycle * (clock_ghz or components_table()["clock_ghz"])

    def density_tops_mm2(self, clock_ghz: float | None = None) -> float:
        """Compute density, TOPs/mm² (TFLOPs/mm² for FP activations)."""
        f = clock_ghz or components_table()["clock_ghz"]
        return self.ops_per_cycle * f * 1e9 / 1e12 / (self.area_um2 / 1e6)

    def tops_per_w(self) -> float:
        """Energy efficiency, TOPs/W = ops per pJ (independent of the clock)."""
        return self.ops_per_cycle / self.pj_per_cycle

    def to_dict(self) -> dict:
        """Totals and breakdowns (µm², pJ/cycle) as plain data."""
        return {"area_um2": self.area_um2, "pj_per_cycle": self.pj_per_cycle, "ops_per_cycle": self.ops_per_cycle,
                "gate_equivalents": self.gate_equivalents,
                "breakdown_um2": self.breakdown_um2, "breakdown_pj_per_cycle": self.breakdown_pj}


def lut_unit(c: LutUnitConfig | None = None) -> UnitCost:
    """Cost of LUT unit ``c`` (default M2N64K4 W2×INT8, all Table 2 optimisations on)."""
    c = c or LutUnitConfig()
    return UnitCost(lut_parts(c), 2 * c.m * c.n * c.k / c.w_bits)


def mac_unit(c: MacUnitConfig | None = None) -> UnitCost:
    """Cost of MAC unit ``c`` (default M2N64K4 INT8, the LUT unit's throughput at W1)."""
    c = c or MacUnitConfig()
    return UnitCost(mac_parts(c), 2 * c.m * c.n * c.k)
