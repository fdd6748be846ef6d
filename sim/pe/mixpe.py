"""MixPE: per-group low-bit mpGEMM by shift-and-add, then one dequantization per group sum.

Source: MixPE, arXiv 2411.16158, simulator github.com/yuzhang712/mixpe_simulator (docs/references.md#mixpe).
An output-stationary systolic grid (rows over M, cols over N; 64 × 64 for W4A8, 32 × 32 for W4A16) that
accumulates raw weight codes with shifted adds (INT activations) or exponent adds (FP16) and applies scale and
zero point once per group partial sum. Units: cycles; events are counts per active PE.
The per-PE arithmetic, the fold timing and the events: docs/mixpe_pe.md, "Model".
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..formats import get as get_format
from ..jit import njit
from ..reference import round_to, sequential_sum
from . import checks
from .base import ACTIVE_EVENT, GemmProblem, GemmResult, PEConfig, PEModel, kernel_array
from .systolic_array import output_folds

NIBBLE = 4                 # shifted-adder inputs per cycle [I: MixPE is built for W4, docs/references.md#mixpe]
ARRAYS = {"int8": (64, 64), "fp16": (32, 32)}    # W4A8 / W4A16 arrays (docs/references.md#mixpe)
ACT_BITS = {"int8": 8, "fp16": 16}
WEIGHTS = tuple(f"int{b}" for b in (2, 3, 4, 8)) + tuple(f"int{b}_asym" for b in (2, 3, 4, 8))
ACCS = {"fp32": np.float32, "fp64": np.float64}
EVENT_NAMES = ("shift_adds", "adds", "dequant_muls", "dequant_adds", "reg_reads", "sram_read_bits",
               ACTIVE_EVENT)


@njit(cache=True)
def _mixpe_array(a, codes, zeros, scales, group, c, round_pa, acc32, rows, cols, meta_bits, a_bits, w_bits, flat):
    """Step the systolic grid cycle by cycle. a (M, K) float64 (exact INT8/FP16 values), codes
    (N, K) int64, zeros/scales (N, G) float64. ``flat`` (mapping nn): PE (i, j) holds output
    n0 + i·cols + j of one row of A per fold. Returns (out (M, N), cycles, events)."""
    m_all, k = a.shape
    n_all = codes.shape[0]
    n_groups = k // group
    out = np.zeros((m_all, n_all))
    ev = np.zeros(len(EVENT_NAMES), dtype=np.int64)
    fold = k * c + rows + cols - 1
    span = group * c
    cycles = 0
    m_step, n_step = (1, rows * cols) if flat else (rows, cols)
    for m0 in range(0, m_all, m_step):
        mr = rows if flat else min(rows, m_all - m0)
        for n0 in range(0, n_all, n_step):
            nc = cols if flat else min(cols, n_all - n0)
            used_m, used_n = (1, min(n_step, n_all - n0)) if flat else (mr, nc)
            ev[5] += used_m * k * a_bits + used_n * (k * w_bits + n_groups * meta_bits)
            p = np.zeros((mr, nc))
            s_a = np.zeros((mr, nc))
            o = np.zeros((mr, nc))
            for t in range(fold):
                for i in range(mr):
                    for j in range(nc):
                        n = n0 + i * cols + j if flat else n0 + j
                        mi = m0 if flat else m0 + i
                        if n >= n_all:
                            continue
                        local = t - i - j
                        if 0 <= local <= k * c:  # the PE's MAC stage (local < k·c) or its last dequant works
                            ev[6] += 1
                        if local >= span and local % span == 0 and local <= k * c:   # dequant stage
                            gi = local // span - 1
                            za = zeros[n, gi] * s_a[i, j]
                            if round_pa:
                                za = float(np.float32(za))
                            d = p[i, j] - za
                            if round_pa:
                                d = float(np.float32(d))
                            v = d * scales[n, gi]
                            if acc32:
                                v = float(np.float32(v))
                            o[i, j] = o[i, j] + v
                            if acc32:
                                o[i, j] = float(np.float32(o[i, j]))
                            p[i, j] = 0.0
                            s_a[i, j] = 0.0
                            ev[2] += 2
                            ev[3] += 2
                        if 0 <= local < k * c:                                          # MAC stage
                            kk = local // c
                            nib = local % c
                            x = a[mi, kk]
                            q = (codes[n, kk] >> (NIBBLE * nib)) & ((1 << NIBBLE) - 1)
                            p[i, j] = p[i, j] + x * float(q << (NIBBLE * nib))
                            if round_pa:
                                p[i, j] = float(np.float32(p[i, j]))
                            ev[0] += 1
                            ev[1] += 1
                            ev[4] += 2
                            if nib == 0:
                                s_a[i, j] = s_a[i, j] + x
                                if round_pa:
                                    s_a[i, j] = float(np.float32(s_a[i, j]))
                                ev[1] += 1
                cycles += 1
            for i in range(mr):
                for j in range(nc):
                    n = n0 + i * cols + j if flat else n0 + j
                    if n < n_all:
                        out[m0 if flat else m0 + i, n] = o[i, j]
    return out, cycles, ev


def _cycles_per_weight(weights: str) -> int:
    return -(-get_format(weights).code_bits // NIBBLE)


class MixPE(PEModel):
    name = "mixpe"
    description = "MixPE: shift-and-add group mpGEMM, one dequantization per group (W4A8 / W4A16)"
    modes = ("per-cycle", "tile")
    opcode = "MMA"
    dataflows = ("os",)
    dataflow_source = ("MixPE, arXiv 2411.16158 and github.com/yuzhang712/mixpe_simulator: an output-stationary "
                       "systolic grid (the SCALE-Sim OS mapping)")
    mappings = ("mn", "nm", "nn")
    mapping_source = (
        "mn: MixPE's grid (mixpe_simulator, the SCALE-Sim OS mapping): rows over M, columns over N. nm: the "
        "transposed product O^T = W A^T on the transposed grid; our assumption [I]: both edges take either operand. "
        "nn (GEMV): PE (i, j) holds output n0 + i*cols + j of one row of A; the activation enters every column "
        "and moves down as in the native grid (skew i + j) and each PE takes its own weight codes from a per-row "
        "weight bus of cols codes per cycle; our assumption [I]")
    weight_formats = WEIGHTS
    act_formats = tuple(ARRAYS)

    def default_config(self) -> PEConfig:
        return PEConfig(array=None, dataflow="os", acc="fp32")   # array: 64×64 W4A8, 32×32 W4A16

    def resolve_for(self, problem: GemmProblem, config: PEConfig | None) -> PEConfig:
        c = self.resolve(config)
        if c.array is None and problem.acts in ARRAYS:
            c = replace(c, array=ARRAYS[problem.acts])
        return c

    def cost_scale(self, arch, kind: str, acts: str | None = None) -> tuple[float, dict | None]:
        """FP16 activations (W4A16) run an FP datapath: the ``pe.mixpe`` figure (an INT8 PE) × the ratio of the
        FP16-activation PE figure ``pe_float_acts.mixpe.fp16`` to it, both at the arch's node
        (sim/cost/data/constants.yaml); integer activations: the figure as published."""
        from ..cost.constants import scale, table  # circular: sim.cost imports sim.pe

        fp = table().get("pe_float_acts", {}).get(self.name, {}).get(acts)
        if fp is None:
            return 1.0, None
        base, key = table()["pe"][self.name], "area_um2" if kind == "area" else "pj_per_cycle"
        ratio = scale(fp[key], fp["node_nm"], arch.node_nm, kind) / scale(base[key], base["node_nm"], arch.node_nm,
                                                                           kind)
        return ratio, {"ratio": ratio, "activation_format": acts, "fp_activation_pe": fp}

    def _grid(self, config: PEConfig) -> tuple[int, int]:
        """(rows over M, columns over N) the machine steps for ``config``'s (resolved) array and mapping."""
        return kernel_array(config.array, self.mapping_of(config), "m")

    def check(self, problem: GemmProblem, config: PEConfig) -> None:
        config = self.resolve_for(problem, config)
        checks.check_problem(problem, config, "MixPE", weights=self.weight_formats, acts=self.act_formats, accs=ACCS,
                             dataflows=self.dataflows, mappings=self.mappings, fallback_to_per_channel=True)

    def _timing(self, problem: GemmProblem, config: PEConfig) -> tuple[int, dict, dict]:
        rows, cols = self._grid(config)   # folds and operand reads: the grid as the mapping lays out M and N
        m, n, k = problem.m, problem.n, problem.k
        c = _cycles_per_weight(problem.weights)
        g = checks.group_size(problem, fallback_to_per_channel=True)
        n_groups = k // g
        fmt = get_format(problem.weights)
        fold = k * c + sum(config.array) - 1   # the skew of the physical grid, whatever the mapping
        nf = output_folds(m, n, rows, cols, rows_over_n=False)
        ev = {
            "shift_adds": m * n * k * c,
            "adds": m * n * k * (c + 1),
            "dequant_muls": 2 * m * n * n_groups,
            "dequant_adds": 2 * m * n * n_groups,
            "reg_reads": 2 * m * n * k * c,
            ACTIVE_EVENT: m * n * (k * c + 1),  # per output: k·c MAC cycles, then the last group's dequant
            "sram_read_bits": -(-n // cols) * m * k * ACT_BITS[problem.acts]
            + -(-m // rows) * n * (k * fmt.code_bits + n_groups * fmt.metadata_bits_per_group()),
        }
        extra = {"array": tuple(config.array), "mapping": self.mapping_of(config), "cycles_per_weight": c,
                 "group_size": g, "fold_cycles": fold,
                 "folds": nf, "mode": "W4A8" if problem.acts == "int8" else "W4A16", "acc": config.acc}
        return nf * fold, ev, extra

    def run(self, problem, config, mode, a=None, qw=None) -> GemmResult:
        config = self.resolve_for(problem, config)
        self.check(problem, config)
        checks.check_mode(mode, self.modes, "MixPE")
        cycles, ev, extra = self._timing(problem, config)
        rows, cols = self._grid(config)
        util = problem.m * problem.n * problem.k * extra["cycles_per_weight"] / (rows * cols * cycles)
        if mode == "tile":
            return GemmResult(cycles, util, ev, mode, None, extra)
        checks.check_operands(problem, a, qw, extra["group_size"])
        a = checks.check_act_values(a, problem.acts)
        checks.check_no_tensor_scale(qw, "MixPE")
        fmt = get_format(qw.fmt)
        flat = self.mapping_of(config) == "nn"
        kernel = tuple(config.array) if flat else (rows, cols)
        out, cyc, evs = _mixpe_array(
            a, qw.codes.astype(np.int64), np.asarray(qw.zeros, dtype=np.float64),
            np.asarray(qw.scales, dtype=np.float64), qw.group_size, extra["cycles_per_weight"],
            problem.acts == "fp16", config.acc == "fp32", *kernel, fmt.metadata_bits_per_group(),
            ACT_BITS[problem.acts], fmt.code_bits, flat)
        events = {name: int(v) for name, v in zip(EVENT_NAMES, evs)}
        return GemmResult(int(cyc), util, events, mode, out, extra)

    def expected(self, problem, config, a, qw) -> np.ndarray:
        """The arithmetic of the module docstring, from sim.reference's rounding emulators:
        exact integer group sums for INT8 activations; FP32 sequential sums for FP16 ones."""
        config = self.resolve_for(problem, config)
        acc = ACCS[config.acc]
        a = np.asarray(a, dtype=np.float64)
        m, k = a.shape
        g = qw.group_size
        codes = qw.codes.astype(np.int64)
        c = _cycles_per_weight(qw.fmt)
        if problem.acts == "int8":
            ai = np.rint(a).astype(np.int64).reshape(m, -1, g)
            p = np.einsum("mgk,ngk->mng", ai, codes.reshape(codes.shape[0], -1, g)).astype(np.float64)
            s_a = ai.sum(axis=-1).astype(np.float64)[:, None, :]
            d = p - qw.zeros[None] * s_a                                     # exact integers
        else:
            # one term per cycle: a · (nibble_j · 16^j), low nibble first, in increasing k
            nib = np.stack([((codes >> (NIBBLE * j)) & 15) << (NIBBLE * j) for j in range(c)], axis=-1)
            terms = a[:, None, :, None] * nib[None].astype(np.float64)     # (M, N, K, c), exact
            terms = terms.reshape(m, codes.shape[0], -1, g * c)
            p = sequential_sum(terms, np.float32)                             # (M, N, G)
            s_a = sequential_sum(a.reshape(m, -1, g), np.float32)[:, None, :]
            d = round_to(p - round_to(qw.zeros[None] * s_a, np.float32), np.float32)
        v = round_to(d * qw.scales[None], acc)
        return sequential_sum(v, acc)


PE = MixPE
