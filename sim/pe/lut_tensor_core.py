"""LUT Tensor Core ("lut-tc"): table lookups instead of multiplies for low-bit integer-affine weights.

Follows docs/lut_tensor_core_contract.md (docs/references.md#lut-tensor-core, arXiv 2408.06003) — the Amaranth RTL
implements the same text, so this module's per-tile helper :func:`tile_io` gives the RTL tests their exact data.
Weights are reinterpreted as ±1 bit planes (:func:`invert_index`), each plane looks up a precomputed activation
table, and a per-group epilogue applies zero point and scale (equal to :func:`sim.reference.mpgemm` for integer
activations; an INT32 accumulator overflow raises :class:`AccumulatorOverflow`). Units: cycles; widths in bits.
The algebra, the readings of the contract where it is silent, timing and events:
docs/lut_tensor_core_model.md, "Model".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import formats, reference
from ..errors import InputError
from ..jit import njit
from . import checks
from ._rounding import VALUE_FORMATS, round_float
from .base import ACTIVE_EVENT, GemmProblem, GemmResult, PEConfig, PEModel
from .table_precompute import (
    DEFAULT_TILE,
    INT8_TABLE_LEVELS,
    TABLE_K,
    TABLE_QUANT_BITS,
    precompute,
    precompute_latency,
    stored_entries,
    table_adds_per_table,
    table_entry_bits,
    table_format,
)

LUT_OUTPUT_LATENCY = 1  # the RTL registers the tile result (docs/lut_tensor_core_contract.md "Timing")
MAX_WEIGHT_BITS = 8  # b max of the unit (docs/lut_tensor_core_contract.md "RTL ports"; weights W1..W8)
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1  # two's-complement INT32 accumulator range
KG_CHUNK = 128  # K-groups per pass of the per-cycle kernels (a chunk's weights, KG_CHUNK·b·N bytes, stay in cache)

INT_ACTS = ("int4", "int8", "int16")  # activation formats the unit takes (values: sim.pe.checks)
FP_ACTS = ("fp16", "bf16", "fp8_e4m3", "fp8_e5m2")
ACTS = INT_ACTS + FP_ACTS
INT_ACCS = ("int32",)
FP_ACCS = ("fp16", "fp32")
#: accumulators of the FP activation formats, the default first: BF16 accumulates in FP32 (a BF16 or FP16
#: accumulator would round every add to 8 significant bits or overflow BF16's range)
ACCS_OF = {"bf16": ("fp32",)}
OPTIONS = {"table_quant": "INT8 tables with one FP16 scale per table (FP16 tables only; lossy)",
           "whole_units": "every array instruction is whole M×N×K unit tiles (no padded partial tile; the compiler's "
                          "tile search keeps to them: an RTL unit, rtl/gateware/lut_array.py, runs no partial tile)",
           "group_sums": "obuf keeps one partial sum per quantization group of every output until DEQUANT (the "
                         "compiler allocates m·n·groups sums: the RTL array's units write each group's term)"}


class AccumulatorOverflow(InputError):
    """The INT32 accumulator would wrap: the hardware result is wrong, so the model refuses."""


# ------------------------------------------------------------------------------------------------
# Weights: reinterpretation and offline index inversion.

def invert_index(patterns: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Offline index inversion of K-bit plane patterns → (idx, neg), int64 arrays of the same shape:
    top bit set → (p & low, 0); else → (~p & low, 1). Hardware then computes ``neg ? −S[idx] : S[idx]``.

    Computed once for all 2^K patterns, then gathered (the weights are large, the pattern set is not)."""
    every = np.arange(1 << k, dtype=np.int64)
    low = (1 << (k - 1)) - 1
    top = (every >> (k - 1)) & 1
    idx_of = np.where(top == 1, every & low, ~every & low)
    p = np.asarray(patterns, dtype=np.intp)
    return idx_of[p], (1 - top)[p]


def _group_layout(x: np.ndarray, group_size: int, k_tile: int) -> np.ndarray:
    """(R, K) → (R, G·kpg, k_tile): each quantization group zero-padded to whole K-groups."""
    r, k = x.shape
    n_groups = k // group_size
    kpg = -(-group_size // k_tile)
    pad = kpg * k_tile - group_size
    g = x.reshape(r, n_groups, group_size)
    if pad:
        g = np.concatenate([g, np.zeros((r, n_groups, pad), dtype=g.dtype)], axis=-1)
    return g.reshape(r, n_groups * kpg, k_tile)


def plane_patterns(codes: np.ndarray, code_bits: int, k_tile: int) -> np.ndarray:
    """Per-plane K-bit patterns of (N, KG, K) codes → (b, N, KG) int64; bit t ↔ activation t."""
    c = np.asarray(codes, dtype=np.int64)
    out = np.zeros((code_bits,) + c.shape[:-1], dtype=np.int64)
    for t in range(k_tile):
        for i in range(code_bits):
            out[i] |= ((c[..., t] >> i) & 1) << t
    return out


@dataclass
class LutWeights:
    """Weights as the unit stores them. packed: (KG, b, N) uint8, ``idx | neg << 7`` (:func:`pack_planes`);
    zprime: (N, G) int64."""

    packed: np.ndarray
    zprime: np.ndarray
    alpha: int
    code_bits: int
    kgroups_per_group: int
    n_groups: int


def _affine_integers(fmt) -> tuple[int, int]:
    alpha, beta = fmt.affine
    if alpha != int(alpha) or alpha <= 0 or beta != int(beta):
        raise InputError("--weights", f"format {fmt.name!r} has non-integer affine levels {fmt.affine}",
                         ", ".join(supported_weight_formats()))
    return int(alpha), int(beta)


def reinterpret(qw, k_tile: int) -> LutWeights:
    """Reinterpret an (N, K) integer-affine QuantizedTensor for a unit with K-groups of ``k_tile``."""
    fmt = formats.get(qw.fmt)
    alpha, beta = _affine_integers(fmt)
    b = fmt.code_bits
    n, k = qw.codes.shape
    codes = np.asarray(qw.codes)
    if codes.dtype.kind not in "ui":
        codes = codes.astype(np.int64)
    packed = _stored_planes(np.ascontiguousarray(_group_layout(codes, qw.group_size, k_tile)), b, k_tile)
    z = np.zeros((n, qw.n_groups)) if qw.zeros is None else np.asarray(qw.zeros, dtype=np.float64)
    if not np.array_equal(z, np.rint(z)):
        raise InputError("--weights", "the LUT datapath needs integer zero points", "integer-affine formats")
    zprime = 2 * (np.rint(z).astype(np.int64) - beta) - alpha * ((1 << b) - 1)
    return LutWeights(packed, zprime, alpha, b, -(-qw.group_size // k_tile), qw.n_groups)


@njit(cache=True)
def _stored_planes(codes, code_bits, k_tile):
    """(N, KG, K) codes → (KG, b, N) uint8 ``idx | neg << 7``: the weights as the unit stores them.

    The same mapping as ``pack_planes(*invert_index(plane_patterns(codes)))``, in one pass (offline
    weight preparation is not the simulated hardware's time, but it dominated a large per-cycle run).
    """
    n, kgroups, _ = codes.shape
    packed = np.empty((kgroups, code_bits, n), np.uint8)
    low = (1 << (k_tile - 1)) - 1
    pattern_mask = (1 << k_tile) - 1
    spread = np.zeros(1 << code_bits, np.int64)  # code c → bit i of c moved to bit i·K (b·K ≤ 64 bits)
    for c in range(1 << code_bits):
        for i in range(code_bits):
            spread[c] |= ((c >> i) & 1) << (i * k_tile)
    stored = np.empty(1 << k_tile, np.uint8)  # plane pattern p → idx | neg << 7 (the offline index inversion)
    for p in range(1 << k_tile):
        stored[p] = p & low if (p >> (k_tile - 1)) & 1 else (~p & low) | 0x80
    for c0 in range(0, kgroups, KG_CHUNK):  # a chunk of K-groups: reads along codes' rows, writes stay in cache
        for col in range(n):
            for kg in range(c0, min(c0 + KG_CHUNK, kgroups)):
                planes = 0  # bit i·K + t = bit i of code t: plane i's pattern in bits i·K .. i·K + K − 1
                for t in range(k_tile):
                    planes |= spread[codes[col, kg, t]] << t
                for i in range(code_bits):
                    packed[kg, i, col] = stored[(planes >> (i * k_tile)) & pattern_mask]
    return packed


def pack_planes(idx: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """(b, KG, N) idx and neg → the unit's packed (KG, b, N) uint8 ``idx | neg << 7``."""
    return np.ascontiguousarray((np.asarray(idx, np.uint8) | (np.asarray(neg, np.uint8) << 7)).transpose(1, 0, 2))


# ------------------------------------------------------------------------------------------------
# The unit, stepped one plane per cycle.



@njit(cache=True)
def _lut_unit(tables, packed, shifts, kpg, man_bits, emin, emax, psum_in, out):
    """The unit's arithmetic: every (m, n) accumulates its K-groups in order, planes LSB first, each step
    ``acc = r(acc + r(±S[idx] · 2^i))`` with r the value format's rounding — the order the unit applies to that
    output in any loop nest. The outputs are independent, so the loops run in the fast order: chunks of
    :data:`KG_CHUNK` K-groups outer (their weights stay in cache across the rows), then row m, K-group, plane,
    and column n innermost (independent accumulators); time is linear in K.

    tables (M, KG, E) f8; packed (KG, b, N) u1 (idx | neg << 7; idx < 2^(K−1) ≤ 128 for K ≤ 8); shifts
    (b,) f8 = 2^i (the product ``(±v)·2^i`` is exact, whichever side the sign is on); psum_in (M, N) f8 — the
    accumulator's value at the start of every quantization group (kpg K-groups); out (M, N, G) f8 — the
    accumulator at each group's end. Value format (man_bits, emin, emax), man_bits < 0 = exact INT32.
    Returns the number of INT32 overflows (accumulations whose sum leaves the INT32 range). In exact INT32 a row
    keeps a bound on its sums' magnitude (its group's start value plus, per plane, the largest |product| it
    adds); while that bound is within INT32 no sum can overflow, and the plane is added without the per-sum test.
    """
    m_total, kgroups, n_entries = tables.shape
    _, n_planes, n_total = packed.shape
    acc = np.zeros((m_total, n_total))
    signed = np.zeros(256)  # stored weight w: ±table[w & 0x7F] (− for neg = w >> 7); its product is that · 2^i
    bound = np.zeros(m_total)  # exact INT32: an upper bound on |every sum| of row m since its group began
    overflows = 0
    for c0 in range(0, kgroups, KG_CHUNK):
        for m in range(m_total):
            row = acc[m]
            for kg in range(c0, min(c0 + KG_CHUNK, kgroups)):
                if kg % kpg == 0:
                    row[:] = psum_in[m]
                    bound[m] = np.abs(psum_in[m]).max()
                table = tables[m, kg]
                top = 0.0  # the largest |entry|
                for e in range(n_entries):
                    top = max(top, abs(table[e]))
                    signed[e] = table[e]
                    signed[0x80 | e] = -table[e]
                for i in range(n_planes):  # product ±S[idx]·2^i: exact (a sign and a power of two)
                    plane = packed[kg, i]
                    shift = shifts[i]
                    if man_bits >= 0:  # a float accumulator: every product and sum rounded
                        for n in range(n_total):
                            v = round_float(signed[plane[n]] * shift, man_bits, emin, emax)
                            row[n] = round_float(row[n] + v, man_bits, emin, emax)
                        continue
                    bound[m] += top * shift
                    if bound[m] <= INT32_MAX:  # no sum of this plane can overflow
                        for n in range(n_total):
                            row[n] += signed[plane[n]] * shift
                    else:
                        for n in range(n_total):
                            s = row[n] + signed[plane[n]] * shift
                            overflows += (s > INT32_MAX) | (s < INT32_MIN)  # branch-free
                            row[n] = s
                if kg % kpg == kpg - 1:
                    out[m, :, kg // kpg] = row
    return overflows


def _run_unit(tables, packed, kpg, mu, nu, k_tile, acc_format, psum_in) -> tuple[np.ndarray, dict, int]:
    """The Mu×Nu×K unit over the loop nest m-block, n-block, K-group, plane (one plane of one K-group for all
    (m, n) of the blocks per cycle). tables (M, KG, E); packed (KG, b, N) (:func:`pack_planes`); psum_in (M, N).
    Raises on INT32 overflow. Returns (accumulator at each group's end (M, N, G), event counts, cycles)."""
    m, kgroups, n_entries = tables.shape
    _, n_planes, n = packed.shape
    out = np.empty((m, n, kgroups // kpg))
    man_bits, emin, emax = (int(v) for v in acc_format)
    shifts = np.ldexp(1.0, np.arange(n_planes))
    overflows = _lut_unit(np.ascontiguousarray(tables, dtype=np.float64), np.ascontiguousarray(packed, np.uint8),
                          shifts, int(kpg), man_bits, emin, emax, np.ascontiguousarray(psum_in, dtype=np.float64), out)
    if overflows:
        raise AccumulatorOverflow("--acts", f"the INT32 accumulator overflowed on {overflows} accumulation(s)",
                                  "narrower activations, a smaller group size, or smaller values")
    m_blocks, n_blocks = -(-m // mu), -(-n // nu)
    steps = kgroups * n_planes  # cycles per (m-block, n-block)
    counts = {"lookups": m * n * steps, ACTIVE_EVENT: m * n * steps, "shift_adds": m * n * steps,
              "table_reads": m * n_blocks * kgroups * n_entries,
              "weight_bits_read": m_blocks * n * k_tile * steps}
    return out, counts, m_blocks * n_blocks * steps


# ------------------------------------------------------------------------------------------------
# Epilogue (per-group dequantization) shared by the model and the FP16-order emulation.

def partial_sums(acc: np.ndarray, act_sums: np.ndarray, zprime: np.ndarray, alpha: int, exact: bool) -> np.ndarray:
    """``P = (alpha·acc − z'·Σa)/2``: acc (M, N, G), act_sums (M, G), zprime (N, G). int64 when exact."""
    if exact:
        num = alpha * np.rint(acc).astype(np.int64) - zprime[None] * np.rint(act_sums).astype(np.int64)[:, None]
        if np.any(num % 2):
            raise AssertionError("odd numerator: the reinterpretation algebra is broken")
        return num // 2
    with np.errstate(invalid="ignore"):
        return (alpha * acc - zprime[None] * act_sums[:, None]) / 2


def rescale(p: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """``Σ_g s[n,g]·P[m,n,g]`` in float64, groups in increasing order (the reference's order)."""
    p = p.astype(np.float64)
    out = np.zeros(p.shape[:2])
    with np.errstate(invalid="ignore"):  # FP16 overflow: inf − inf = NaN, as the hardware gives
        for g in range(p.shape[2]):
            out += p[:, :, g] * scales[None, :, g]
    return out


# ------------------------------------------------------------------------------------------------
# Operand checks.

def supported_weight_formats() -> list[str]:
    """Registered formats with integer affine levels (alpha > 0, beta integers) of at most MAX_WEIGHT_BITS bits."""
    out = []
    for name in formats.names():
        f = formats.get(name)
        if f.affine is None or f.code_bits > MAX_WEIGHT_BITS:
            continue
        alpha, beta = f.affine
        if alpha > 0 and alpha == int(alpha) and beta == int(beta):
            out.append(name)
    return out


def check_entry_bits(entry_bits: int, acts: str, k: int, table_quant: bool = False,
                     field: str = "arch.table_unit.entry_bits") -> None:
    """InputError naming ``field`` when ``entry_bits``-bit table entries cannot hold the tables of ``acts``."""
    need = table_entry_bits(acts, k, table_quant)
    if entry_bits < need:
        what = (f"{acts} activations in K-groups of {k} build {need}-bit table entries" if acts in INT_ACTS else
                f"{acts} activations use {'INT8-quantized' if table_quant else 'FP16'} tables of {need}-bit entries")
        quant = acts not in INT_ACTS and not table_quant and entry_bits >= TABLE_QUANT_BITS
        raise InputError(field, f"{entry_bits}-bit entries are too narrow: {what}", f"{need} or more" + (
            f"; {TABLE_QUANT_BITS} or more with the PE option table_quant" if quant else ""))


def accumulators(acts: str) -> tuple[str, ...]:
    """The accumulator formats the unit takes with ``acts`` activations, the default first."""
    return INT_ACCS if acts in INT_ACTS else ACCS_OF.get(acts, FP_ACCS)


def default_acc(acts: str) -> str:
    """The accumulator when none is configured: INT32 for integer activations, FP16 for FP ones
    (docs/lut_tensor_core_contract.md "Datapath widths"), FP32 for BF16."""
    return accumulators(acts)[0]


def _acc_name(problem: GemmProblem, config: PEConfig) -> str:
    return config.acc or default_acc(problem.acts)


def _shape_counts(problem: GemmProblem, tile: tuple[int, int, int]) -> dict[str, int]:
    mu, nu, ku = tile
    g = checks.group_size(problem)
    n_groups = problem.k // g
    kpg = -(-g // ku)
    return {"mb": -(-problem.m // mu), "nb": -(-problem.n // nu), "kg": n_groups * kpg, "groups": n_groups,
            "b": formats.get(problem.weights).code_bits}


# ------------------------------------------------------------------------------------------------
# The model.

class LutTensorCoreModel(PEModel):
    """LUT Tensor Core unit (M×N×K lookup slots), bit-serial over weight planes."""

    name = "lut-tc"
    description = "LUT Tensor Core (ISCA'25): table lookup mpGEMM, one weight bit plane per cycle"
    modes = ("per-cycle", "tile")
    opcode = "LMMA"
    dataflows = ("os",)
    dataflow_source = ("LUT Tensor Core, arXiv 2408.06003: one M×N×K unit keeps its outputs while K-groups and "
                       "weight planes stream (docs/lut_tensor_core_contract.md \"Timing\")")
    act_formats = ACTS
    known_options = OPTIONS

    @property
    def weight_formats(self) -> tuple[str, ...]:
        return tuple(supported_weight_formats())

    def default_config(self) -> PEConfig:
        return PEConfig(tile=DEFAULT_TILE, dataflow="os", options={"table_quant": False})

    def partial_sum_format(self, acts: str) -> str:
        return default_acc(acts)

    def check_arch(self, arch, problem: GemmProblem, config: PEConfig) -> None:
        """A table unit feeding the unit (``arch.table_unit`` with the LMMA opcode) holds the tables'
        entries (``arch.table_unit.entry_bits``, :func:`check_entry_bits`)."""
        if arch.table_unit is not None and arch.pe.opcode == self.opcode:
            config = self.resolve(config)
            check_entry_bits(arch.table_unit.entry_bits, problem.acts, config.tile[2],
                             bool(config.options.get("table_quant")))

    def cost_scale(self, arch, kind: str, acts: str | None = None) -> tuple[float, dict | None]:
        """The published Table 2 unit scaled to ``arch``'s unit, built for ``acts`` activations (FP ones: FP
        tables, FP accumulators), by the component model (:func:`sim.cost.lut_unit_scale.array_ratio`)."""
        from ..cost import lut_unit_scale  # circular: sim.cost imports sim.pe, which imports this module

        return lut_unit_scale.array_ratio(arch, kind, acts)

    def check(self, problem: GemmProblem, config: PEConfig) -> None:
        config = self.resolve(config)
        checks.check_problem(problem, config, self.name, weights=self.weight_formats, acts=self.act_formats,
                             accs=accumulators(problem.acts), acc=_acc_name(problem, config), array=False,
                             dataflows=self.dataflows)
        _affine_integers(formats.get(problem.weights))
        checks.check_tile(config, TABLE_K)
        if config.array is not None:
            raise InputError("--array", f"{self.name} is a single M×N×K unit", "use --tile MxNxK")
        unknown = set(config.options) - set(OPTIONS)
        if unknown:
            raise InputError("--option", f"unknown option(s) {sorted(unknown)}", ", ".join(OPTIONS))
        if config.options.get("table_quant") and table_format(problem.acts) != "fp16":
            raise InputError("--option", f"table_quant applies to FP16 tables only, not {problem.acts} ones",
                             "table_quant with fp16 or fp8 activations")

    def run(self, problem: GemmProblem, config: PEConfig, mode: str, a: np.ndarray | None = None,
            qw=None) -> GemmResult:
        config = self.resolve(config)
        self.check(problem, config)
        checks.check_mode(mode, self.modes, self.name)
        if mode == "tile":
            return self._tile(problem, config)
        return self._per_cycle(problem, config, a, qw)

    # -- tile mode: closed form ------------------------------------------------------------------
    def _tile(self, problem: GemmProblem, config: PEConfig) -> GemmResult:
        mu, nu, ku = config.tile
        c = _shape_counts(problem, config.tile)
        m, n, kg, b = problem.m, problem.n, c["kg"], c["b"]
        e = stored_entries(ku)
        cycles = c["mb"] * c["nb"] * kg * b + LUT_OUTPUT_LATENCY + precompute_latency(ku)
        events = {
            "lookups": m * n * kg * b,
            ACTIVE_EVENT: m * n * kg * b,  # lane-cycles: one lookup of one (m, n) lane per cycle
            "shift_adds": m * n * kg * b,
            "table_reads": m * c["nb"] * kg * e,
            "weight_bits_read": c["mb"] * n * kg * ku * b,
            "table_adds": m * kg * table_adds_per_table(ku),
            "table_writes": m * kg * e,
            "dequant_mults": m * n * c["groups"],
        }
        return GemmResult(cycles, self._utilization(problem, config, cycles), events, "tile",
                          extra=self._extra(problem, config, c["mb"] * kg + precompute_latency(ku)))

    def active_lanes(self, config: PEConfig) -> int:
        """The unit's Mu×Nu lookup lanes (each looks up one table entry per cycle)."""
        mu, nu, _ = self.resolve(config).tile
        return mu * nu

    def _utilization(self, problem, config, cycles) -> float:
        mu, nu, ku = config.tile
        b = formats.get(problem.weights).code_bits
        return problem.m * problem.n * problem.k * b / (mu * nu * ku * cycles)

    def _extra(self, problem, config, precompute_cycles) -> dict:
        return {"tile": list(config.tile), "acc": _acc_name(problem, config), "group_size": checks.group_size(problem),
                "precompute_cycles": int(precompute_cycles),
                "table_quant": bool(config.options.get("table_quant"))}

    # -- per-cycle mode: data through the unit -----------------------------------------------------
    def _per_cycle(self, problem: GemmProblem, config: PEConfig, a, qw) -> GemmResult:
        af = self._operands(problem, a, qw)
        run = _simulate(af, qw, problem.acts, _acc_name(problem, config), config.tile,
                        bool(config.options.get("table_quant")))
        out, p = run["out"], run["partial_sums"]
        cycles = run["cycles"] + LUT_OUTPUT_LATENCY + precompute_latency(config.tile[2])
        events = {**run["events"], "dequant_mults": p.size}
        extra = self._extra(problem, config, run["precompute_cycles"])
        extra["partial_sums"] = p
        if problem.acts not in INT_ACTS:
            extra["max_abs_error_vs_exact"] = float(np.nanmax(np.abs(out - reference.mpgemm(af, qw))))
        return GemmResult(cycles, self._utilization(problem, config, cycles), events, "per-cycle", out, extra)

    def _operands(self, problem: GemmProblem, a, qw) -> np.ndarray:
        checks.check_operands(problem, a, qw, checks.group_size(problem))
        if qw.tags is not None:
            raise InputError("--weights", "per-group type tags are not supported",
                             ", ".join(supported_weight_formats()))
        return checks.check_act_values(a, problem.acts)

    # -- the exact output the hardware must produce -------------------------------------------------
    def expected(self, problem: GemmProblem, config: PEConfig, a: np.ndarray, qw) -> np.ndarray:
        config = self.resolve(config)
        self.check(problem, config)
        af = self._operands(problem, a, qw)
        if problem.acts in INT_ACTS:
            return reference.mpgemm(af, qw)
        return fp_order_emulation(af, qw, config.tile[2], _acc_name(problem, config),
                                  bool(config.options.get("table_quant")), table_format(problem.acts))


def _simulate(af: np.ndarray, qw, acts: str, acc: str, tile, table_quant: bool) -> dict:
    """Precompute, the unit over the loop nest, epilogue: output, partial sums, compute cycles, events."""
    mu, nu, ku = tile
    exact = acts in INT_ACTS
    lw = reinterpret(qw, ku)
    pre = precompute(_group_layout(af, qw.group_size, ku), mu, VALUE_FORMATS[table_format(acts)], table_quant)
    acc_fmt = VALUE_FORMATS[acc]
    zeros = np.zeros((af.shape[0], qw.codes.shape[0]))
    acc_v, counts, cycles = _run_unit(pre.tables, lw.packed, lw.kgroups_per_group, mu, nu, ku, acc_fmt, zeros)
    act_sums = _group_act_sums(pre.tables, lw.kgroups_per_group, acc_fmt)
    p = partial_sums(acc_v, act_sums, lw.zprime, lw.alpha, exact)
    return {"out": rescale(p, reference.group_scales(qw)), "partial_sums": p, "cycles": cycles,
            "events": {**counts, **pre.events}, "precompute_cycles": pre.cycles}


def lut_mpgemm(a: np.ndarray, qw, acts: str = "int8", acc: str | None = None, k_tile: int = DEFAULT_TILE[2],
               table_quant: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Functional kernel: the unit's exact output (M, N) and group partial sums (M, N, G), no timing.

    The same datapath as the per-cycle model with one tile covering the whole problem (the numbers do
    not depend on the M/N tiling: each (m, n) accumulates K-groups in order, planes LSB first).
    """
    m, n = np.asarray(a).shape[0], qw.codes.shape[0]
    problem = GemmProblem(m, n, qw.codes.shape[1], formats.get(qw.fmt).name, acts, qw.group_size)
    model = LutTensorCoreModel()
    config = model.resolve(PEConfig(tile=(m, n, k_tile), acc=acc, options={"table_quant": table_quant}))
    model.check(problem, config)
    af = model._operands(problem, a, qw)
    run = _simulate(af, qw, acts, _acc_name(problem, config), config.tile, table_quant)
    return run["out"], run["partial_sums"]


def _group_act_sums(tables: np.ndarray, kpg: int, acc_format) -> np.ndarray:
    """Σa per (row, group): the all-ones lookup S[low_mask], accumulated like a column of +1 weights."""
    m, kgroups, e = tables.shape
    idx = np.full((1, kgroups, 1), e - 1, dtype=np.int64)
    sums, _, _ = _run_unit(tables, pack_planes(idx, np.zeros_like(idx)), kpg, m, 1, 1, acc_format, np.zeros((m, 1)))
    return sums[:, 0, :]


# ------------------------------------------------------------------------------------------------
# FP16-order emulation (independent of the kernels: sim.reference rounding primitives, full tables).

def fp_order_emulation(a: np.ndarray, qw, k_tile: int, acc: str, table_quant: bool = False,
                       table: str = "fp16") -> np.ndarray:
    """The FP-activation output in the hardware's order, built from ``sim.reference`` primitives.

    Full 2^K tables by ``tree_sum`` in the ``table`` format (FP16 or BF16; no odd-symmetry shortcut), optional
    INT8 table quantization, terms ``round(T[p]·2^i)`` summed by ``sequential_sum`` (K-groups in order, planes
    LSB first), Σa likewise, then the float64 epilogue.
    """
    fmt = formats.get(qw.fmt)
    alpha, beta = _affine_integers(fmt)
    b = fmt.code_bits
    dt = reference.acc_dtype(acc)
    acts = _group_layout(np.asarray(a, dtype=np.float64), qw.group_size, k_tile)  # (M, KG, K)
    m, kgroups, _ = acts.shape
    pats = np.arange(1 << k_tile)
    signs = 2.0 * ((pats[:, None] >> np.arange(k_tile)[None, :]) & 1) - 1.0  # (2^K, K)
    table = reference.tree_sum(acts[:, :, None, :] * signs[None, None], reference.acc_dtype(table))  # (M, KG, 2^K)
    if table_quant:
        scale = reference.round_to(np.abs(table).max(axis=-1) / INT8_TABLE_LEVELS, np.float16)[..., None]
        q = np.clip(np.rint(table / np.where(scale > 0, scale, 1.0)), -INT8_TABLE_LEVELS, INT8_TABLE_LEVELS)
        table = reference.round_to(np.where(scale > 0, q, 0.0) * scale, np.float16)
    codes = _group_layout(np.asarray(qw.codes, dtype=np.int64), qw.group_size, k_tile)
    p = plane_patterns(codes, b, k_tile)  # (b, N, KG)
    n = p.shape[1]
    looked = table[:, np.arange(kgroups)[:, None], p.transpose(1, 2, 0)]  # (M, N, KG, b)
    terms = reference.round_to(looked * np.exp2(np.arange(b)), dt)
    kpg = kgroups // qw.n_groups
    acc_v = reference.sequential_sum(terms.reshape(m, n, qw.n_groups, kpg * b), dt)
    sums = reference.sequential_sum(table[:, :, -1].reshape(m, qw.n_groups, kpg), dt)
    z = np.zeros((n, qw.n_groups)) if qw.zeros is None else np.asarray(qw.zeros, dtype=np.float64)
    zprime = 2 * (z - beta) - alpha * ((1 << b) - 1)
    return rescale((alpha * acc_v - zprime[None] * sums[:, None]) / 2, reference.group_scales(qw))


# ------------------------------------------------------------------------------------------------
# One tile, for the RTL tests.

@dataclass
class TileIO:
    """Everything the RTL sees for one tile (one M-block × N-block × one K-group).

    tables: (M, 2^(K−1)) stored entries (exact ints or FP16 values, float64); idx, neg: (b, N) int64,
    the per-plane inputs, plane 0 (LSB) first; psum_in, out: (M, N) float64; cycles: b + 1, the edge
    count from sampling ``start`` to ``valid``.
    """

    tables: np.ndarray
    idx: np.ndarray
    neg: np.ndarray
    psum_in: np.ndarray
    out: np.ndarray
    cycles: int


def tile_io(a: np.ndarray, codes: np.ndarray, code_bits: int, psum_in: np.ndarray | None = None,
            acts: str = "int8", acc: str | None = None, table_quant: bool = False) -> TileIO:
    """The exact per-plane inputs and the output of one tile.

    a: (M, K) activation values of the ``acts`` format; codes: (N, K) unsigned weight codes < 2^b;
    psum_in: (M, N) accumulator start (zeros when None); acc: "int32" (INT acts), "fp16"/"fp32".
    """
    a = np.asarray(a)
    m, k = a.shape
    codes = np.asarray(codes, dtype=np.int64)
    if k not in TABLE_K or codes.ndim != 2 or codes.shape[1] != k:
        raise InputError("tile", f"a {a.shape} and codes {codes.shape} must share K in {TABLE_K}")
    if not 1 <= code_bits <= MAX_WEIGHT_BITS or codes.min() < 0 or codes.max() >= (1 << code_bits):
        raise InputError("code_bits", f"codes must be unsigned {code_bits}-bit", f"1..{MAX_WEIGHT_BITS} bits")
    checks.require_choice("--acts", acts, ACTS, "the LUT tile")
    af = checks.check_act_values(a, acts)
    acc = acc or default_acc(acts)
    if acc not in accumulators(acts):
        raise InputError("--acc", f"{acc!r} with {acts} activations", ", ".join(accumulators(acts)))
    if table_quant and table_format(acts) != "fp16":
        raise InputError("table_quant", "applies to FP16 tables only")
    pre = precompute(af[:, None, :], m, VALUE_FORMATS[table_format(acts)], table_quant)
    idx, neg = invert_index(plane_patterns(codes[:, None, :], code_bits, k)[:, :, 0], k)  # (b, N)
    psum = np.zeros((m, codes.shape[0])) if psum_in is None else np.asarray(psum_in, dtype=np.float64)
    out, _, cycles = _run_unit(pre.tables, pack_planes(idx[:, None, :], neg[:, None, :]), 1, m, codes.shape[0], k,
                               VALUE_FORMATS[acc], psum)
    return TileIO(pre.tables[:, 0, :], idx, neg, psum, out[:, :, 0], cycles + LUT_OUTPUT_LATENCY)


def as_bits(values: np.ndarray, fmt: str, width: int = 32) -> np.ndarray:
    """Raw bit patterns (uint64) of tile values for driving / reading RTL ports: "fp16" and "fp32" give
    the IEEE encodings; any other ``fmt`` gives ``width``-bit two's complement of the integer values."""
    v = np.asarray(values, dtype=np.float64)
    if fmt == "fp16":
        return v.astype(np.float16).view(np.uint16).astype(np.uint64)
    if fmt == "fp32":
        return v.astype(np.float32).view(np.uint32).astype(np.uint64)
    return (np.rint(v).astype(np.int64) & ((1 << width) - 1)).astype(np.uint64)


PE = LutTensorCoreModel
