"""BitMoD bit-serial PE array: FP16 activations × BitMoD FP3/FP4 or symmetric INT4/6/8 weights.

Source: BitMoD, arXiv 2411.11745 (HPCA'25), RTL github.com/yc2367/BitMoD ``hardware/pe/``
(docs/references.md#bitmod). A ``rows × cols`` array (default 32 × 32) of 4-lane PEs that decode each weight
into signed power-of-two terms, one per cycle, align and add them, and dequantize once per group; ``expected``
emulates the same rounding independently. Units: cycles; widths in bits; events are counts per active PE.
The datapath step by step, the fold timing and the events: docs/bitmod_pe.md, "Model".
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from ..formats import get as get_format
from ..jit import njit
from ..reference import round_to, sequential_sum, weight_levels
from . import checks
from .base import ACTIVE_EVENT, GemmProblem, GemmResult, PEConfig, PEModel, kernel_array
from .systolic_array import output_folds

LANES = 4                 # FP16 activation lanes per PE (docs/references.md#bitmod)
GUARD_BITS = 3            # [I] 17 = 11 + 3 guard + 2 carry + sign (docs/references.md#bitmod 17-bit adder tree)
ACC_BITS = 23             # group accumulator width (docs/references.md#bitmod)
DEQUANT_BITS = 21         # dequant output width (docs/references.md#bitmod)
DEFAULT_ARRAY = (32, 32)  # BitMoD prefill array rows × cols (docs/references.md#bitmod, bitmod_sim pe_array.py)
FP16_BIAS_LSB = 25        # FP16 value = M · 2^(max(f,1) − 25): bias 15 + 10 fraction bits (IEEE 754)
ACT_BITS = 16             # FP16 activations (IEEE 754 binary16)
CHANNEL_SCALE_BITS = 16   # FP16 per-channel scale of BitMoD formats (sim.formats.bitmod)

# weights: (terms per weight T, Booth?) — docs/references.md#bitmod cycles per weight ceil(floor(bits)/2)
WEIGHTS = {"bitmod_fp3": (2, False), "bitmod_fp4": (2, False),
           "int4": (2, True), "int6": (3, True), "int8": (4, True)}
BITMOD_SCALE_BITS = 6     # sim.formats.bitmod: 6-bit integer group scale
FP16_SIG_BITS = 11        # FP16 significand incl. hidden bit (IEEE 754)

EVENT_NAMES = ("terms", "shifts", "adds", "decodes", "dequant_steps", "fp32_adds", "fp32_muls",
               "reg_reads", "sram_read_bits", ACTIVE_EVENT)
_NONE = -(1 << 40)        # exponent of an empty accumulator / a cycle with no live lane


# ---------------------------------------------------------------------------------------------
# the machine, cycle by cycle (numba)

@njit(cache=True)
def _shr_trunc(v, d):
    """v / 2^d truncated toward zero (d >= 0)."""
    if d >= 62:
        return 0
    if v >= 0:
        return v >> d
    return -((-v) >> d)


@njit(cache=True)
def _term(w, idx, booth, n_terms):
    """The idx-th term (most significant first) of level w: (sign -1/0/+1, exponent)."""
    if booth:
        i = n_terms - 1 - idx
        win = ((w << 1) & 7) if i == 0 else ((w >> (2 * i - 1)) & 7)   # bits 2i+1, 2i, 2i-1
        d = -2 * (win >> 2) + ((win >> 1) & 1) + (win & 1)
        if d == 0:
            return 0, 0
        e = 2 * i + (1 if abs(d) == 2 else 0)
        return (1 if d > 0 else -1), e
    rest = abs(w)
    for n in range(idx + 1):          # strip leading ones until the idx-th
        if rest == 0:
            return 0, 0
        top = 0
        while (rest >> (top + 1)) != 0:
            top += 1
        if n == idx:
            return (1 if w > 0 else -1), top
        rest -= 1 << top
    return 0, 0


@njit(cache=True)
def _bitmod_array(act_bits, levels, booth, n_terms, gsp, n_groups, sc_sig, sc_exp, sc_bits, chan,
                  rows, cols, k_real, w_bits, row_meta_bits, has_chan):
    """Step the array cycle by cycle. act_bits (M, G*gsp) FP16 patterns, levels (N, G*gsp) weight
    levels (zero padded per group). Returns (out (M, N), cycles, events)."""
    m_all, n_all = act_bits.shape[0], levels.shape[0]
    out = np.zeros((m_all, n_all))
    ev = np.zeros(len(EVENT_NAMES), dtype=np.int64)
    steps = gsp // LANES
    cycles = 0
    sg = np.zeros(LANES, dtype=np.int64)
    mant = np.zeros(LANES, dtype=np.int64)
    xs = np.zeros(LANES, dtype=np.int64)
    for n0 in range(0, n_all, rows):
        nr = min(rows, n_all - n0)
        for m0 in range(0, m_all, cols):
            mc = min(cols, m_all - m0)
            pes = nr * mc
            ev[8] += nr * (k_real * w_bits + row_meta_bits) + mc * k_real * ACT_BITS
            acc_r = np.zeros((nr, mc), dtype=np.int64)
            acc_y = np.full((nr, mc), _NONE, dtype=np.int64)
            dq_r = np.zeros((nr, mc), dtype=np.int64)
            dq_y = np.zeros((nr, mc), dtype=np.int64)
            dq_d = np.zeros((nr, mc), dtype=np.int64)
            o32 = np.zeros((nr, mc), dtype=np.float32)
            g_acc, step, tix, acc_done = 0, 0, 0, False
            dq_group, dq_bit = -1, 0
            while g_acc < n_groups or dq_group >= 0:
                # accumulation stage: one term per lane for every PE
                if g_acc < n_groups and not acc_done:
                    k0 = g_acc * gsp + step * LANES
                    for r in range(nr):
                        for c in range(mc):
                            x_max = _NONE
                            for j in range(LANES):
                                sg[j] = 0
                                s_w, e_w = _term(levels[n0 + r, k0 + j], tix, booth, n_terms)
                                bits = act_bits[m0 + c, k0 + j]
                                f = (bits >> 10) & 31
                                mm = (bits & 1023) + (1024 if f > 0 else 0)
                                if s_w == 0 or mm == 0:
                                    continue
                                sg[j] = -s_w if (bits >> 15) & 1 else s_w
                                mant[j] = mm
                                xs[j] = max(f, 1) - FP16_BIAS_LSB + e_w
                                x_max = max(x_max, xs[j])
                            if x_max == _NONE:
                                continue
                            s = 0
                            for j in range(LANES):
                                if sg[j] != 0:
                                    s += sg[j] * _shr_trunc(mant[j] << GUARD_BITS, x_max - xs[j])
                            xs_sum = x_max - GUARD_BITS
                            y = acc_y[r, c]
                            z = max(y, xs_sum)
                            rr = _shr_trunc(acc_r[r, c], z - y) + _shr_trunc(s, z - xs_sum)
                            if rr == 0:
                                acc_r[r, c] = 0
                                acc_y[r, c] = _NONE
                                continue
                            b = 0
                            while (abs(rr) >> b) != 0:
                                b += 1
                            if b > ACC_BITS - 1:
                                rr = _shr_trunc(rr, b - (ACC_BITS - 1))
                            else:
                                rr = rr << (ACC_BITS - 1 - b)
                            acc_r[r, c] = rr
                            acc_y[r, c] = z - (ACC_BITS - 1 - b)
                    ev[0] += pes * LANES
                    ev[1] += pes * LANES
                    ev[2] += pes * LANES
                    ev[7] += pes * 2 * LANES
                    if tix == 0:
                        ev[3] += pes * LANES
                    tix += 1
                    if tix == n_terms:
                        tix = 0
                        step += 1
                        if step == steps:
                            step = 0
                            acc_done = True
                # dequant stage: one scale bit per cycle, LSB first
                if dq_group >= 0:
                    for r in range(nr):
                        q = sc_sig[n0 + r, dq_group]
                        if (q >> dq_bit) & 1:
                            for c in range(mc):
                                dq_d[r, c] += dq_r[r, c] << dq_bit
                    ev[4] += pes
                    dq_bit += 1
                    if dq_bit == sc_bits:
                        for r in range(nr):
                            for c in range(mc):
                                d = dq_d[r, c]
                                sh = 0
                                mag = abs(d)
                                while (mag >> (DEQUANT_BITS - 1 + sh)) != 0:
                                    sh += 1
                                d = _shr_trunc(d, sh)
                                if d != 0:
                                    v = math.ldexp(float(d), dq_y[r, c] + sc_exp[n0 + r, dq_group] + sh)
                                    o32[r, c] = np.float32(np.float64(o32[r, c]) + v)
                        ev[5] += pes
                        dq_group = -1
                # hand-off at the end of the cycle: the group's sum moves to the dequant unit
                if acc_done and dq_group < 0:
                    dq_group = g_acc
                    dq_bit = 0
                    for r in range(nr):
                        for c in range(mc):
                            dq_r[r, c] = acc_r[r, c]
                            dq_y[r, c] = acc_y[r, c]
                            dq_d[r, c] = 0
                            acc_r[r, c] = 0
                            acc_y[r, c] = _NONE
                    g_acc += 1
                    acc_done = False
                ev[9] += pes  # every PE of the fold works this cycle: a term, or a dequant step while it waits
                cycles += 1
            for r in range(nr):
                for c in range(mc):
                    out[m0 + c, n0 + r] = np.float32(np.float64(o32[r, c]) * chan[n0 + r])
            ev[6] += pes * has_chan
    return out, cycles, ev


# ---------------------------------------------------------------------------------------------
# operands → machine inputs

def _fp16_fields(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(significand incl. hidden bit, LSB exponent) of FP16 values: x = sig · 2^exp."""
    b = np.asarray(x, dtype=np.float64).astype(np.float16).view(np.uint16).astype(np.int64)
    f = (b >> 10) & 31
    return (b & 1023) + np.where(f > 0, 1024, 0), np.maximum(f, 1) - FP16_BIAS_LSB


def _pad_groups(x: np.ndarray, g: int, gsp: int) -> np.ndarray:
    """(rows, G·g) → (rows, G·gsp): each group zero-padded to the lane multiple."""
    rows = x.shape[0]
    xg = x.reshape(rows, -1, g)
    return np.concatenate([xg, np.zeros((rows, xg.shape[1], gsp - g), dtype=x.dtype)], axis=2).reshape(rows, -1)


def _group_scales(qw) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, int]:
    """(integer scale, its exponent, its bits L, per-channel scale, has channel scale) per (n, g)."""
    fmt = get_format(qw.fmt)
    if qw.fmt.startswith("bitmod"):
        q = fmt.group_scale_of(qw.tags)
        chan = fmt.channel_scales(qw)[:, 0]
        return q, np.zeros_like(q), BITMOD_SCALE_BITS, chan.astype(np.float64), 1
    sig, exp = _fp16_fields(qw.scales)
    return sig, exp, FP16_SIG_BITS, np.ones(qw.codes.shape[0]), 0


def _pe_channel_scale(weights: str, config: PEConfig) -> bool:
    """The PEs multiply by the channel scale (counted as ``fp32_muls``): BitMoD formats, unless
    ``options.channel_scales`` leaves it to DEQUANT (the output is the same product either way)."""
    return weights.startswith("bitmod") and not config.options.get("channel_scales")


def _fold_cycles(group: int, n_groups: int, n_terms: int, scale_bits: int) -> int:
    a = -(-group // LANES) * n_terms
    return a + (n_groups - 1) * max(a, scale_bits) + scale_bits


def _row_metadata_bits(weights: str, n_groups: int) -> int:
    """Scale/tag bits read per weight row: group metadata, plus the FP16 channel scale of BitMoD."""
    fmt = get_format(weights)
    return n_groups * fmt.metadata_bits_per_group() + (CHANNEL_SCALE_BITS if weights.startswith("bitmod") else 0)


def _scale_bits(weights: str) -> int:
    return BITMOD_SCALE_BITS if weights.startswith("bitmod") else FP16_SIG_BITS


class BitModPE(PEModel):
    name = "bitmod"
    description = "BitMoD bit-serial PE array: 4 FP16 lanes, one power-of-two weight term per cycle (HPCA'25)"
    modes = ("per-cycle", "tile")
    opcode = "BSMMA"
    dataflows = ("os",)
    dataflow_source = ("BitMoD, arXiv 2411.11745 and github.com/yc2367/BitMoD-HPCA-25 bitmod_sim: PE (r, c) holds "
                       "output (n, m) of a fold (its one dataflow, so PEConfig.dataflow is not read)")
    mappings = ("nm", "mn", "nn")
    mapping_source = (
        "nm: BitMoD's array (arXiv 2411.11745; bitmod_sim compute = ceil(cout/rows) * ceil(tokens/cols) folds): PE "
        "(r, c) holds output (n, m). mn: the transposed product O^T = W A^T on the transposed grid; our assumption "
        "[I]: both edges take either operand. nn (GEMV): N over rows x columns for one row of A, each PE taking its "
        "own weights from a per-row weight bus and the activation lanes broadcast; our assumption [I], timed as a "
        "(rows*cols) x 1 grid")
    weight_formats = tuple(WEIGHTS)
    act_formats = ("fp16",)
    known_options = {"channel_scales": "the PEs apply the group scales and leave the FP16 per-channel scale of BitMoD "
                                       "formats (and the FP16 output rounding) to DEQUANT: the compiler loads the N "
                                       "channel scales into wbuf once and emits DEQUANT with groups = 1 (one rescale "
                                       "per output; the RTL array, rtl/gateware/bitmod_array.py); the PE events "
                                       "then count no fp32_muls (the vector unit's dequant elements do)"}

    def default_config(self) -> PEConfig:
        return PEConfig(array=DEFAULT_ARRAY, acc="fp32")

    def check(self, problem: GemmProblem, config: PEConfig) -> None:
        config = self.resolve(config)
        checks.check_problem(problem, config, "the BitMoD PE", weights=self.weight_formats, acts=self.act_formats,
                             accs=("fp32",), dataflows=None, mappings=self.mappings, fallback_to_per_channel=True)

    def _grid(self, config: PEConfig) -> tuple[int, int]:
        """(rows over N, columns over M) the machine steps for ``config``'s array and mapping."""
        return kernel_array(config.array, self.mapping_of(config), "n")

    def _timing(self, problem: GemmProblem, config: PEConfig) -> tuple[int, dict, dict]:
        rows, cols = self._grid(config)
        m, n, k = problem.m, problem.n, problem.k
        n_terms, _ = WEIGHTS[problem.weights]
        g = checks.group_size(problem, fallback_to_per_channel=True)
        n_groups = k // g
        scale_bits = _scale_bits(problem.weights)
        a = -(-g // LANES) * n_terms
        fold = _fold_cycles(g, n_groups, n_terms, scale_bits)
        nf = output_folds(m, n, rows, cols, rows_over_n=True)
        pe_cycles = m * n * n_groups * a
        fmt = get_format(problem.weights)
        w_bits = fmt.code_bits
        row_meta = _row_metadata_bits(problem.weights, n_groups)
        ev = {
            ACTIVE_EVENT: m * n * fold,  # a PE works every cycle of its fold (terms, then the last dequant)
            "terms": LANES * pe_cycles,
            "shifts": LANES * pe_cycles,
            "adds": LANES * pe_cycles,
            "decodes": m * n * n_groups * -(-g // LANES) * LANES,
            "dequant_steps": m * n * n_groups * scale_bits,
            "fp32_adds": m * n * n_groups,
            "fp32_muls": m * n if _pe_channel_scale(problem.weights, config) else 0,
            "reg_reads": 2 * LANES * pe_cycles,
            "sram_read_bits": -(-m // cols) * n * (k * w_bits + row_meta) + -(-n // rows) * m * k * ACT_BITS,
        }
        extra = {"array": tuple(config.array), "mapping": self.mapping_of(config), "terms_per_weight": n_terms,
                 "group_size": g, "group_cycles": a,
                 "dequant_cycles": scale_bits, "fold_cycles": fold, "folds": nf}
        return nf * fold, ev, extra

    def _utilization(self, problem: GemmProblem, config: PEConfig, cycles: int) -> float:
        rows, cols = config.array
        n_terms, _ = WEIGHTS[problem.weights]
        slots = rows * cols * LANES / n_terms   # weight-activation products per cycle at full use
        return problem.m * problem.n * problem.k / (slots * cycles)

    def run(self, problem, config, mode, a=None, qw=None) -> GemmResult:
        config = self.resolve(config)
        self.check(problem, config)
        checks.check_mode(mode, self.modes, "the BitMoD PE")
        cycles, ev, extra = self._timing(problem, config)
        if mode == "tile":
            return GemmResult(cycles, self._utilization(problem, config, cycles), ev, mode, None, extra)
        checks.check_operands(problem, a, qw, extra["group_size"])
        a = checks.check_act_values(a, problem.acts)
        checks.check_no_tensor_scale(qw, "the BitMoD PE")
        fmt = get_format(qw.fmt)
        n_terms, booth = WEIGHTS[qw.fmt]
        g = qw.group_size
        gsp = -(-g // LANES) * LANES
        tags = None if qw.tags is None else qw.expand(qw.tags).astype(np.int64)
        levels = np.rint(fmt.decode(qw.codes, tags) - (0 if qw.zeros is None else qw.expand(qw.zeros)))
        act_bits = a.astype(np.float16).view(np.uint16).astype(np.int64)
        sig, exp, scale_bits, chan, has_chan = _group_scales(qw)
        out, cyc, evs = _bitmod_array(
            _pad_groups(act_bits, g, gsp), _pad_groups(levels.astype(np.int64), g, gsp), booth, n_terms,
            gsp, qw.n_groups, np.ascontiguousarray(sig, dtype=np.int64), np.ascontiguousarray(exp, dtype=np.int64),
            scale_bits, chan, *self._grid(config), problem.k, fmt.code_bits,
            _row_metadata_bits(qw.fmt, qw.n_groups), has_chan and _pe_channel_scale(qw.fmt, config))
        events = {name: int(v) for name, v in zip(EVENT_NAMES, evs)}
        return GemmResult(int(cyc), self._utilization(problem, config, int(cyc)), events, mode, out, extra)

    # -----------------------------------------------------------------------------------------
    def expected(self, problem, config, a, qw) -> np.ndarray:
        """The datapath of the module docstring, emulated with numpy on float64 (every
        intermediate is an integer times a power of two, exact in float64) and the FP32 output
        rounding of :mod:`sim.reference`; independent of the numba kernel."""
        a = np.asarray(a, dtype=np.float64)
        n_terms, booth = WEIGHTS[qw.fmt]
        levels = weight_levels(qw)                       # (N, K)
        terms = _terms_booth(levels, n_terms) if booth else _terms_lod(levels, n_terms)
        a_lsb = _lsb_exponent(a)                         # (M, K)
        g, n_groups = qw.group_size, qw.n_groups
        fmt = get_format(qw.fmt)
        if qw.fmt.startswith("bitmod"):
            q_int = fmt.group_scale_of(qw.tags).astype(np.float64)
            q_exp = np.zeros_like(q_int)
            chan = fmt.channel_scales(qw)[:, 0]
        else:
            q_exp = _lsb_exponent(qw.scales)
            q_int = np.ldexp(qw.scales, (-q_exp).astype(np.int64))
            chan = None
        per_group = []
        for gi in range(n_groups):
            r = np.zeros((a.shape[0], levels.shape[0]))
            y = np.full(r.shape, -np.inf)
            for k0 in range(gi * g, (gi + 1) * g, LANES):
                ks = slice(k0, min(k0 + LANES, (gi + 1) * g))
                for t in range(n_terms):
                    r, y = _accumulate(r, y, a[:, ks], a_lsb[:, ks], terms[t][:, ks])
            d = r * q_int[None, :, gi]
            with np.errstate(divide="ignore"):
                bitlen = np.frexp(np.abs(d))[1]
            sh = np.maximum(0, bitlen - (DEQUANT_BITS - 1))
            d21 = np.trunc(np.ldexp(d, -sh))
            with np.errstate(invalid="ignore"):
                v = np.where(d21 != 0, d21 * np.exp2(y + q_exp[None, :, gi] + sh), 0.0)
            per_group.append(v)
        o = sequential_sum(np.stack(per_group, axis=-1), np.float32)
        return o if chan is None else round_to(o * chan[None, :], np.float32)


def _lsb_exponent(x: np.ndarray) -> np.ndarray:
    """Weight of the significand LSB of FP16 values: 2^(floor(log2|x|) − 10), at least 2^−24."""
    return np.maximum(np.frexp(np.asarray(x, dtype=np.float64))[1] - 11, -24).astype(np.float64)


def _terms_lod(levels: np.ndarray, n_terms: int) -> np.ndarray:
    """Leading-one terms, most significant first: (T, N, K) signed powers of two (or 0)."""
    rest = np.abs(levels)
    out = []
    for _ in range(n_terms):
        top = np.where(rest > 0, np.exp2(np.frexp(rest)[1] - 1), 0.0)
        out.append(np.sign(levels) * top)
        rest = rest - top
    if (rest != 0).any():
        raise InputError("--weights", f"a weight level needs more than {n_terms} power-of-two terms")
    return np.stack(out)


def _terms_booth(levels: np.ndarray, n_terms: int) -> np.ndarray:
    """Radix-4 Booth digits d_i · 4^i of the two's complement levels, most significant first."""
    v = np.rint(levels).astype(np.int64)

    def bit(i):
        return (v >> i) & 1 if i >= 0 else np.zeros_like(v)

    digits = [(-2 * bit(2 * i + 1) + bit(2 * i) + bit(2 * i - 1)) * 4.0 ** i for i in range(n_terms)]
    return np.stack(digits[::-1]).astype(np.float64)


def _accumulate(r, y, a, a_lsb, t):
    """One cycle of lanes → exp-match → adder tree → group accumulator, for all (m, n)."""
    p = a[:, None, :] * t[None, :, :]                             # exact products (M, N, lanes)
    live = p != 0
    with np.errstate(divide="ignore"):
        x = a_lsb[:, None, :] + np.log2(np.where(t != 0, np.abs(t), 1.0))[None, :, :]
    x_max = np.max(np.where(live, x, -np.inf), axis=-1)           # (M, N)
    any_live = live.any(axis=-1)
    xm = np.where(any_live, x_max, 0.0)
    aligned = np.trunc(p * np.exp2(GUARD_BITS - xm)[..., None])   # ±floor(M · 2^(x − X + G))
    s = aligned.sum(axis=-1)
    xs = xm - GUARD_BITS
    z = np.maximum(y, xs)
    r_new = np.trunc(r * np.exp2(y - z)) + np.trunc(s * np.exp2(xs - z))
    left = (ACC_BITS - 1) - np.frexp(np.abs(r_new))[1]            # normalise: 2^21 <= |R| < 2^22
    r_new = np.trunc(np.ldexp(r_new, left))
    y_new = np.where(r_new != 0, z - left, -np.inf)
    return np.where(any_live, r_new, r), np.where(any_live, y_new, y)


PE = BitModPE
