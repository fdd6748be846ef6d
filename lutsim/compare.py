"""Design comparisons that are fair by construction (``lutsim compare``).

Every design (an arch preset or YAML, optionally with its own recipe: ``ARCH@RECIPE``) is put on **one memory
system** (:mod:`sim.arch.memory`: DRAM bandwidth, latency and pJ/bit, buffer sizes, clock, node) unless the
memory is ``native`` (each design as its preset has it); the result lists the memory-system fields that
still differ between the designs. ``normalize``:

* ``none``: each design's own array count;
* ``iso-area``: each design's array count scaled so its compute area (PE arrays + table unit, mm²) is the
  baseline's, rounded to whole arrays (at least one); the achieved ratio is in the row;
* ``iso-peak``: the same for peak ops/s (the PE tile model's rate for the design's format pair).

Per design: latency, tokens/s, energy per token, area, achieved TOPS/mm² and TOPS/W (ops of the pass over its
time, area and energy), % of the DRAM roofline (the pass's bytes at the DRAM bandwidth over its time) and of
peak, spatial utilization of the PE arrays (useful MACs over the MACs the busy arrays could have done at the
PE's peak rate), bits per weight and the weight SQNR of the format's quantizer on :data:`SQNR_SHAPE`
synthetic weights (:func:`workloads.synthetic.synthetic_weights`, Student-t rows, docs/accuracy.md), and
ratios to the baseline. A design whose PE cannot run the recipe is kept as a ``skipped`` row with the
PE's reason (the comparison of the others goes on). A row under :data:`ROOFLINE_TARGET_PCT` % of the DRAM
roofline carries a ``why`` note naming the op that loses the most time over its DRAM time, its bound
unit and the arrays' spatial utilization.
"""

from __future__ import annotations

import dataclasses
import functools
import math

from compiler import gemm
from compiler.specs import GemmSpec
from sim import cost
from sim.arch import Arch
from sim.arch import memory as memsys
from sim.errors import InputError
from workloads.recipes import Recipe

from .pipeline import PEAK_SHAPE, peak_macs_per_cycle, resolve_arch, resolve_model, resolve_recipe, simulate
from .results import CompareResult, CompareRow

NORMALIZE = ("none", "iso-area", "iso-peak")
#: the memory system a comparison uses unless told otherwise: BitMoD's (1 GHz, 32 GB/s, 18.75 pJ/bit)
DEFAULT_MEMORY = "bitmod"
NATIVE = "native"
#: decode should sit on the DRAM roof: rows under this share (%) say why
ROOFLINE_TARGET_PCT = 90.0
#: (out_features, in_features) of the synthetic weights behind the SQNR column (Llama-2-7B's hidden size)
SQNR_SHAPE = (256, 4096)
#: breakdown keys of the compute area that iso-area equalizes
COMPUTE_AREA = ("array", "table")


@dataclasses.dataclass(frozen=True)
class Design:
    """One design as given: its label (what ``--designs`` said), arch and recipe."""

    label: str
    arch: Arch
    recipe: Recipe


def parse_designs(text: str, quant: str | None) -> list[Design]:
    """``A,B@RECIPE,...`` -> designs; a design without ``@RECIPE`` takes ``quant``."""
    items = [s.strip() for s in (text or "").split(",") if s.strip()]
    if len(items) < 1:
        raise InputError("designs", "give at least one design", "comma-separated arch presets or YAML files, "
                         "each optionally ARCH@RECIPE")
    if len(set(items)) != len(items):
        raise InputError("designs", "a design is listed twice")
    out = []
    for item in items:
        arch, _, rec = item.partition("@")
        if not rec and quant is None:
            raise InputError("quant", f"design {item!r} has no recipe", "--quant RECIPE, or ARCH@RECIPE")
        out.append(Design(item, resolve_arch(arch), resolve_recipe(rec or quant)))
    return out


def memory_of(spec: str | None):
    """The memory system named by ``--memory`` (None = each design's own: ``native``)."""
    if spec == NATIVE:
        return None
    return memsys.load(DEFAULT_MEMORY if spec is None else spec)


def runnable(arch: Arch, recipe: Recipe) -> str:
    """'' when the arch's PE can run the recipe's linear layers, else the PE's reason."""
    m, n, k = PEAK_SHAPE
    spec = GemmSpec(m, n, k, recipe.weights.format, recipe.activations.format, recipe.weights.group_size,
                    0, 0, 0, False)
    try:
        gemm.check(spec, arch)
    except InputError as exc:
        return str(exc)
    return ""


def compute_area_mm2(arch: Arch) -> float:
    """PE arrays + table unit (mm²)."""
    bd = cost.area(arch).breakdown
    return sum(bd.get(k, 0.0) for k in COMPUTE_AREA)


def peak_ops_per_s(arch: Arch, recipe: Recipe) -> float:
    peak = peak_macs_per_cycle(arch, recipe.weights.format, recipe.activations.format, recipe.weights.group_size)
    return 2 * (peak or 0.0) * arch.clock_mhz * 1e6


def measure(normalize: str, arch: Arch, recipe: Recipe) -> float:
    """The quantity ``normalize`` equalizes (mm² or ops/s)."""
    return compute_area_mm2(arch) if normalize == "iso-area" else peak_ops_per_s(arch, recipe)


def normalized(arch: Arch, recipe: Recipe, normalize: str, target: float) -> Arch:
    """``arch`` with its array count scaled so :func:`measure` meets ``target`` (whole arrays, at least 1)."""
    if normalize == "none":
        return arch
    per_array = measure(normalize, arch, recipe) / arch.arrays
    return dataclasses.replace(arch, arrays=max(1, round(target / per_array)))


@functools.cache
def weight_sqnr_db(fmt: str, group: int | None) -> float:
    """SQNR (dB) of format ``fmt`` (group ``group``) on the :data:`SQNR_SHAPE` synthetic weights."""
    from sim.quant_error import dequantized, sqnr_db
    from workloads.synthetic import synthetic_weights

    w = synthetic_weights("compare.sqnr", *SQNR_SHAPE)
    return sqnr_db(w, dequantized(fmt, w, group))


def _busy_pct(stats) -> float:
    """% of the pass's cycles the PE arrays are busy (averaged over arrays)."""
    busy = sum(r.utilization * r.cycles * r.repeat for r in stats.ops if r.unit == "array")
    return 100 * busy / stats.totals.cycles if stats.totals.cycles else 0.0


def _why(stats, arch: Arch, recipe: Recipe) -> str:
    """The op that loses the most cycles over its own DRAM time: its bound, busy share and spatial utilization."""
    worst, lost = None, 0.0
    for r in stats.ops:
        extra = (r.cycles - r.bytes * 8 / arch.dram.bandwidth) * r.repeat
        if extra > lost:
            worst, lost = r, extra
    if worst is None:
        return ""
    spatial = worst.spatial_utilization
    where = f", {100 * spatial:.1f} % spatial utilization" if spatial is not None else ""
    return (f"{worst.name} ({worst.unit}, {worst.bound}-bound, {100 * worst.utilization:.0f} % busy{where}) "
            f"spends {100 * lost / stats.totals.cycles:.0f} % of the pass's cycles beyond its DRAM time")


def _row(design: Design, arch: Arch, model, phase: str, workload: dict, scale: float | None) -> CompareRow:
    rec = design.recipe
    bits = rec.weights.bits
    sqnr = weight_sqnr_db(rec.weights.format, rec.weights.group_size)
    base = dict(design=design.label, arch=arch.name, quant=rec.name, weights=rec.weights.format,
                activations=rec.activations.format, bits_per_weight=bits,
                weight_sqnr_db=sqnr if math.isfinite(sqnr) else None, arrays=arch.arrays, normalize_ratio=scale)
    reason = runnable(arch, rec)
    if reason:
        return CompareRow(**base, status="skipped", note=f"PE {arch.pe.type!r} cannot run {rec.name}: {reason}")
    st = simulate(arch, model, rec, phase, **workload)
    t = st.totals
    seconds = t.latency_ms * 1e-3
    ops_per_s = t.ops / seconds
    roof = 100 * t.bytes / t.dram_bytes_per_s / seconds
    row = CompareRow(
        **base, status="ok", latency_ms=t.latency_ms, tokens_per_s=t.tokens_per_s,
        energy_per_token_mj=t.energy_per_token_mj, area_mm2=t.area_mm2, compute_area_mm2=compute_area_mm2(arch),
        power_w=t.power_w, peak_tops=(t.peak_ops_per_s or 0.0) / 1e12, tops_per_mm2=ops_per_s / 1e12 / t.area_mm2,
        tops_per_w=t.ops / t.energy_pj if t.energy_pj else 0.0, dram_roofline_pct=roof,
        peak_pct=100 * ops_per_s / t.peak_ops_per_s if t.peak_ops_per_s else 0.0,
        spatial_utilization=st.totals.spatial_utilization, array_busy_pct=_busy_pct(st),
        energy_breakdown_pj=st.energy_breakdown_pj)
    if roof < ROOFLINE_TARGET_PCT:
        row.note = f"{roof:.0f} % of the DRAM roofline: " + _why(st, arch, rec)
    return row


#: the ratio columns: (row field, ratio field); higher is better for all but latency, energy and area
RATIOS = (("tokens_per_s", "tokens_per_s_ratio"), ("energy_per_token_mj", "energy_per_token_ratio"),
          ("area_mm2", "area_ratio"), ("tops_per_mm2", "tops_per_mm2_ratio"), ("tops_per_w", "tops_per_w_ratio"))


def differing_fields(archs: list[Arch]) -> list[str]:
    """The memory-system fields (:func:`sim.arch.memory.system_of`) whose values differ between ``archs``, and
    ``matrix_unit`` when their FP16 matrix units differ (attention and an FP16 lm_head run there)."""
    systems = [memsys.system_of(a) for a in archs]
    keys = dict.fromkeys(k for s in systems for k in s)
    out = [k for k in keys if len({s.get(k) for s in systems}) > 1]
    if len({None if a.matrix_unit is None else (a.matrix_unit.type, a.matrix_unit.array) for a in archs}) > 1:
        out.append("matrix_unit")
    return out


def compare(designs: list[Design], model, phase: str, memory=None, normalize: str = "none",
            baseline: str | None = None, seq_len: int = 1024, kv_len: int | None = None, batch: int = 1,
            lm_head_all_tokens: bool = False, attention: str = "auto") -> CompareResult:
    """Run every design on ``memory`` (a :class:`sim.arch.memory.MemorySystem`, None = native) and compare
    (module docstring). ``baseline`` is a design label (default: the first); ``attention``: how each design
    lowers attention (:func:`lutsim.pipeline.lower_trace`)."""
    if normalize not in NORMALIZE:
        raise InputError("normalize", f"unknown mode {normalize!r}", ", ".join(NORMALIZE))
    labels = [d.label for d in designs]
    base_label = labels[0] if baseline is None else baseline
    if base_label not in labels:
        raise InputError("baseline", f"{base_label!r} is not one of the designs", ", ".join(labels))
    archs = [d.arch if memory is None else memsys.apply(d.arch, memory) for d in designs]
    base_i = labels.index(base_label)
    scales: list[float | None] = [None] * len(designs)
    if normalize != "none":
        if runnable(archs[base_i], designs[base_i].recipe):
            raise InputError("baseline", f"{base_label!r} cannot run its recipe, so it cannot set the {normalize} "
                             "target", "another --baseline")
        target = measure(normalize, archs[base_i], designs[base_i].recipe)
        for i, d in enumerate(designs):
            if not runnable(archs[i], d.recipe):
                archs[i] = normalized(archs[i], d.recipe, normalize, target)
                scales[i] = measure(normalize, archs[i], d.recipe) / target
    workload = dict(seq_len=seq_len, kv_len=kv_len, batch=batch, lm_head_all_tokens=lm_head_all_tokens,
                    attention=attention)
    rows = [_row(d, a, model, phase, workload, s) for d, a, s in zip(designs, archs, scales, strict=True)]
    ref = rows[base_i]
    for r in rows:
        if r.status == "ok" and ref.status == "ok":
            for field, ratio in RATIOS:
                b = getattr(ref, field)
                setattr(r, ratio, getattr(r, field) / b if b else None)
    return CompareResult(
        model=resolve_model(model).name, phase=phase, seq_len=seq_len,
        kv_len=seq_len if kv_len is None and phase == "decode" else kv_len, batch=batch,
        memory="native" if memory is None else memory.name,
        memory_system=None if memory is None else memory.to_dict(), normalize=normalize, baseline=base_label,
        differing_fields=differing_fields(archs), roofline_target_pct=ROOFLINE_TARGET_PCT,
        sqnr_weights=f"workloads.synthetic.synthetic_weights('compare.sqnr', {SQNR_SHAPE[0]}, {SQNR_SHAPE[1]}): "
                     "Student-t (4 dof) entries, log-normal row scales, 0.15 % outlier input channels x4",
        rows=rows)
