"""The compiler (``compiler``): lowers each trace op to an ISA program for one arch, and runs it.

API::

    from compiler import for_arch, fusion_plan
    c = for_arch(arch)                            # one compiler (and its caches) per arch spec
    plan = fusion_plan(trace.ops, arch, recipe)   # norm → GEMM table-precompute fusion (LUT archs) and fused
                                                  # attention (QK, softmax, SV; attention="unfused" keeps them apart)
    res = c.lower(op, recipe, i in plan)          # a Lowered: program, unit, stats, energy, tile, search log
    c.hits, c.misses                              # cache counters

Where each op runs, the LUT table-precompute fusion and the caches (keyed by op spec and arch, bounded by
instruction count): docs/compiler.md, "Placement and caches".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import lru_cache

from sim import cost, engine
from sim import pe as pe_registry
from sim.arch import Arch, from_dict
from sim.errors import InputError
from sim.isa.columns import ColumnProgram

from . import attention, choose, float_gemm, gemm, programs, search, vector
from .cache import ProgramCache
from .gemm import Tile
from .specs import (
    ATTENTION_KINDS,
    FLOAT_WEIGHTS,
    GEMM_KINDS,
    GemmSpec,
    VectorSpec,
    attention_spec,
    gemm_spec,
    vector_spec,
)


@dataclass
class Lowered:
    """One op on one arch: where it runs, its program, the engine's stats of it, and (GEMMs) the tile
    and the tile-search log."""

    spec: GemmSpec | VectorSpec
    unit: str
    program: ColumnProgram
    stats: engine.Stats
    energy: cost.EnergyReport | None = None
    tile: Tile | None = None
    search_log: list | None = None
    note: str = ""
    schedule: str = ""  # fused attention: its schedule (blocks, engine); its softmax and SV: where they went


def arch_key(arch: Arch) -> str:
    """A canonical text of the whole arch spec (equal specs, equal keys)."""
    return json.dumps(arch.to_dict(), sort_keys=True, default=str)


class Compiler:
    """Lowers ops for one arch; caches by op spec."""

    def __init__(self, arch: Arch):
        self.arch = arch
        self._cache = ProgramCache()
        self.hits = 0
        self.misses = 0
        self._timed_cache: ProgramCache | None = None

    def spec_of(self, op, recipe, fused: bool = False) -> tuple[str, GemmSpec | VectorSpec, str]:
        """(unit, spec, note) of a trace op; ``fused``: part of a norm → GEMM table fusion (see
        :func:`fusion_plan`)."""
        if op.kind in GEMM_KINDS:
            fmt = recipe.lm_head if op.kind == "lm_head" else recipe.weights
            spec = gemm_spec(op, fmt, tables_resident=fused)
            try:
                gemm.check(spec, self.arch)
            except InputError as exc:
                if op.kind == "lm_head" and spec.weights in FLOAT_WEIGHTS and spec.acts in FLOAT_WEIGHTS:
                    why = f"{spec.weights} lm_head: PE {self.arch.pe.type!r} cannot take it ({exc.problem})"
                    vs = VectorSpec(ops=(), in_bytes=round(op.bytes_act_in + op.bytes_weight),
                                    out_bytes=round(op.bytes_act_out), macs=op.M * op.N * op.K * op.count)
                    if self.arch.matrix_unit is not None and spec.weights == "fp16" and spec.acts == "fp16":
                        fs = float_gemm.FloatGemmSpec(op.M * op.count, op.N, op.K, spec.w_bytes, spec.out_bytes, vs)
                        return "matrix", fs, why
                    return "vector", vs, f"{why}; FP16 multiply-accumulates on the vector unit"
                raise InputError(f"{op.name} on {self.arch.name}: {exc.field}", exc.problem, exc.allowed) from None
            return "array", spec, "tables built by the preceding norm (resident in tbuf)" if fused else ""
        if fused and (op.kind in ATTENTION_KINDS or op.kind == "softmax"):
            where = attention.engine_of(self.arch)
            if op.kind == "attn_qk":
                kv = recipe.kv_cache
                kv_heads = round(op.bytes_kv_read * 8 / kv.bits / (op.N * op.K))  # K of every KV head, read once
                spec = attention.spec_of(op, kv.format, kv.bits, recipe.activations.format, recipe.activations.bits,
                                         kv_heads, kv.group_size)
                return where, spec, ""
            return where, attention.FusedPart(op.kind), "computed in attn_qk's fused attention"
        if op.kind in ATTENTION_KINDS:
            return "vector", attention_spec(op, recipe.kv_cache), ""
        return "vector", vector_spec(op, tables=fused), "builds the lookup tables of the next GEMMs" if fused else ""

    def lower(self, op, recipe, fused: bool = False) -> Lowered:
        """Program and stats of ``op`` (cached by spec)."""
        unit, spec, note = self.spec_of(op, recipe, fused)
        hit = self._cache.get(spec)
        if hit is not None:
            self.hits += 1
            return hit
        self.misses += 1
        same = self._timed().get(spec)
        if same is not None:  # an arch that differs only in clock/node/energy constants lowered it already
            stats = replace(same.stats, clock_mhz=self.arch.clock_mhz, assumptions=engine.assumptions(self.arch))
            res = Lowered(same.spec, same.unit, same.program, stats, cost.energy(stats, self.arch), same.tile,
                          same.search_log, same.note, same.schedule)  # the searched spec (a fused attention's blocks)
            self._cache.put(spec, res, len(res.program))
            return res
        if isinstance(spec, attention.AttentionSpec):
            best, log, other = attention.search(spec, self.arch, unit)
            program = attention.emit(best, self.arch, unit)
            stats = programs.run(program, self.arch)
            one = next(e["cycles_one_group"] for e in log if e.get("chosen"))
            res = Lowered(best, unit, program, stats, cost.energy(stats, self.arch), search_log=log,
                          note=attention.note(best, self.arch, one, other), schedule=attention.schedule(best, unit))
        elif isinstance(spec, attention.FusedPart):
            program = ColumnProgram(arch=self.arch.name).freeze()
            stats = programs.run(program, self.arch)
            res = Lowered(spec, unit, program, stats, cost.energy(stats, self.arch), note=note,
                          schedule="in attn_qk (fused)")
        elif isinstance(spec, float_gemm.FloatGemmSpec):  # the matrix unit, or the vector lanes when faster
            res = self._float_gemm(spec, unit, note)
        elif unit == "array":
            found = search.search(spec, self.arch)
            res = Lowered(spec, unit, found.program, found.stats, cost.energy(found.stats, self.arch), found.tile,
                          found.log, note)
        else:
            program = programs.vector_program(spec, self.arch)
            stats = programs.run(program, self.arch)
            res = Lowered(spec, unit, program, stats, cost.energy(stats, self.arch), note=note)
        self._cache.put(spec, res, len(res.program))
        self._timed().put(spec, res, len(res.program))
        return res

    def _float_gemm(self, spec: float_gemm.FloatGemmSpec, unit: str, note: str) -> Lowered:
        """An FP16 GEMM on the matrix unit or as FP16 multiply-accumulates on the vector lanes, whichever takes
        fewer simulated cycles (:func:`compiler.choose.choose`; the matrix unit on a tie, a GEMV on a small grid
        uses one row of it and can lose); the note gives the runner-up."""
        def simulated(program: ColumnProgram) -> choose.Run:
            stats = programs.run(program, self.arch)
            return choose.Run(stats.cycles, (program, stats))

        def lanes() -> choose.Run:
            return simulated(programs.vector_program(spec.vector, self.arch))

        options = [choose.Option(unit, lambda: simulated(float_gemm.emit(spec, self.arch)),
                                 float_gemm.matrix_cycles(spec, self.arch), group=unit),  # its busy time alone
                   choose.Option("vector", lanes, group="vector")]
        found = choose.choose(options)
        other = choose.versus(found, lambda o: "the matrix unit" if o.key == unit else "the vector unit")
        (program, stats), where = found.best.run.result, found.best.option.key
        if where == "vector":
            return Lowered(spec, "vector", program, stats, cost.energy(stats, self.arch), note=f"{note}; FP16 "
                           f"multiply-accumulates on the vector unit ({stats.cycles:,} cycles; {other})")
        return Lowered(spec, unit, program, stats, cost.energy(stats, self.arch),
                       note=f"{note}; on the matrix unit ({stats.cycles:,} cycles; {other})",
                       schedule="FP16 GEMM on the matrix unit")

    def _timed(self) -> ProgramCache:
        """Lowered ops shared by every arch of this arch's :func:`timing_key` (in this process)."""
        if self._timed_cache is None:
            self._timed_cache = _timed_ops(timing_key(self.arch))
        return self._timed_cache


#: how attention is lowered: ``auto`` the fused program where it takes fewer cycles than the ops one by one,
#: ``fused`` wherever the arch has a matrix engine for it, ``unfused`` op by op
ATTENTION_MODES = ("auto", "fused", "unfused")


def fusion_plan(ops, arch: Arch, recipe, attention_mode: str = "auto",
                notes: dict[int, str] | None = None) -> set[int]:
    """Indices of trace ops lowered as part of a fusion; ``notes``, when given, gets the index of each ``attn_qk``
    that ``auto`` chose for → the choice and its runner-up in words (:func:`compiler.choose.versus`).

    * Attention (on an arch whose PE array takes FP16 x FP16 or that has a matrix unit,
      :func:`compiler.attention.engine_of`): an ``attn_qk``, ``softmax``, ``attn_sv`` run is one fused
      flash-attention program, lowered with the ``attn_qk`` op, when ``attention_mode`` is "fused", or "auto"
      and the fused program takes fewer simulated cycles than the three ops one by one (a decode GEMV on a small
      matrix unit can be slower than the vector unit's lanes).
    * Norm → GEMM table fusion: on an arch with a table unit and a LUT array, a norm whose following GEMMs
      (same rows, K = the norm's width, taken by the PE) all read its output builds their lookup tables
      itself — once per row, over the whole K — when those tables fit half of ``tbuf``; the GEMMs then load
      no activations and run no precompute (LUT Tensor Core fuses the table precompute into the preceding
      operator, docs/references.md#lut-tensor-core)."""
    if attention_mode not in ATTENTION_MODES:
        raise InputError("attention", f"unknown attention lowering {attention_mode!r}", ", ".join(ATTENTION_MODES))
    plan: set[int] = set()
    if attention_mode != "unfused" and attention.engine_of(arch) is not None:
        comp = for_arch(arch)  # lowered here once, served from its cache when the pass is lowered
        for i in range(len(ops) - 2):
            if [o.kind for o in ops[i:i + 3]] != ["attn_qk", "softmax", "attn_sv"]:
                continue
            if attention_mode == "auto":
                found = _attention_choice(comp, ops[i:i + 3], recipe, arch)
                if notes is not None:
                    notes[i] = (f"--attention auto: {found.best.option.key} ({found.best.cycles:,} cycles for QK, "
                                f"softmax and SV; {choose.versus(found, lambda o: o.key)})")
                if found.best.option.key != "fused":
                    continue
            plan.update((i, i + 1, i + 2))
    if not gemm.uses_tables(arch):
        return plan
    tbuf = gemm.buffer_of(arch, "tbuf").capacity
    comp = Compiler(arch)
    for i, op in enumerate(ops):
        if op.kind != "norm" or gemm.table_bytes(arch, op.M, op.N) > tbuf // 2:
            continue
        consumers = []
        for j in range(i + 1, len(ops)):
            nxt = ops[j]
            if nxt.kind not in GEMM_KINDS or nxt.M != op.M or nxt.K != op.N:
                break
            try:
                if comp.spec_of(nxt, recipe)[0] == "array":
                    consumers.append(j)
            except InputError:
                break
        if consumers:
            plan.update([i, *consumers])
    return plan


def _attention_choice(comp: Compiler, ops, recipe, arch: Arch) -> choose.Choice:
    """``fused`` where the fused program of an ``attn_qk, softmax, attn_sv`` run takes fewer cycles than the three
    ops one by one, else ``unfused`` (:func:`compiler.choose.choose`; unfused on a tie; the fused one is not
    emitted at all when its bound cannot win)."""
    where, spec, _ = comp.spec_of(ops[0], recipe, True)
    def unfused() -> choose.Run:
        return choose.Run(sum(comp.lower(o, recipe, False).stats.cycles for o in ops))

    options = [choose.Option("unfused", unfused),
               choose.Option("fused", lambda: choose.Run(comp.lower(ops[0], recipe, True).stats.cycles),
                             attention.lower_bound(spec, arch, where), group="fused")]
    return choose.choose(options)


#: arch fields that change no program and no cycle count, only seconds, energy and area (the engine and the
#: PE tile models never read them): archs equal in all else share lowered programs and engine stats
UNTIMED_FIELDS = ("name", "description", "sources", "clock_mhz", "node_nm", "pnr_factor", "idle_pes")
UNTIMED_DRAM_FIELDS = ("pj_per_bit", "pj_per_bit_write", "static_mw", "pj_source")


def timing_key(arch: Arch) -> str:
    """Canonical text of the arch fields that decide programs and cycles (all but :data:`UNTIMED_FIELDS`)."""
    d = {k: v for k, v in arch.to_dict().items() if k not in UNTIMED_FIELDS}
    d["dram"] = {k: v for k, v in d["dram"].items() if k not in UNTIMED_DRAM_FIELDS}
    return json.dumps(d, sort_keys=True, default=str)


@lru_cache(maxsize=4)  # like _compiler: the programs of a few timing configurations
def _timed_ops(key: str) -> ProgramCache:
    return ProgramCache()


@lru_cache(maxsize=4)  # a few archs: a compiler holds its programs (a prefill: ~300k instructions)
def _compiler(key: str) -> Compiler:
    return Compiler(from_dict(json.loads(key)))


def clear_caches() -> None:
    """Forget every compiled program and engine result of this process (tests: a cold start)."""
    _compiler.cache_clear()
    _timed_ops.cache_clear()
    programs.clear()


def for_arch(arch: Arch) -> Compiler:
    """The compiler of ``arch`` (shared by every call with an equal arch spec, so caches persist)."""
    pe_registry.get(arch.pe.type)  # an unregistered PE is an input error before anything compiles
    return _compiler(arch_key(arch))


__all__ = ["ATTENTION_MODES", "Compiler", "Lowered", "Tile", "arch_key", "attention", "choose", "clear_caches",
           "float_gemm", "for_arch", "fusion_plan", "gemm", "programs", "search", "timing_key", "vector"]
