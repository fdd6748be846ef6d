"""Output-stationary R×C integer PE array whose PEs compute products from operand *slices*.

Shared by the ANT, OliVe and BitFusion models, which differ only in how a weight × activation product is split
into sub-products and how many sub-products a PE does per cycle (``lanes``). Rows ↔ N, columns ↔ M natively, as in
BitMoD's array model (docs/references.md#bitmod); the mapper may also choose the transposed grid or N over the
whole grid (:attr:`SlicedOSArray.mapping_source`). Each group's exact integer sum is scaled in float64 at its end,
as :func:`sim.reference.mpgemm` does. Units: cycles; events are counts; utilization is a fraction.
The machine, the fold timing, the events and the utilization: docs/systolic_arrays.md,
"Sliced output-stationary array".
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import dataclass

import numpy as np

from .. import formats, reference
from ..errors import InputError
from ..formats.olive import OUTLIER_MAGNITUDES
from ..jit import njit
from . import checks
from .base import ACTIVE_EVENT, GemmProblem, GemmResult, PEConfig, PEModel, kernel_array

ACT_BITS = checks.INT_ACT_BITS  # activation widths (bits) of the int formats these arrays take
ACC_BITS = 32  # the PEs' integer group accumulator (int32)


@njit(cache=True)
def _os_array(w_parts, w_shift, a_parts, lane_used, step_group, group_end, scales, rows, cols, flat):
    """Step the array cycle by cycle. ``flat`` (mapping nn): PE (i, j) holds output n0 + i·cols + j of one row of
    A and takes its own weights (fed i + j cycles late, as a weight arriving through row i would be); otherwise
    rows hold N and columns M. Returns (out, cycles, multiplies, pe_steps)."""
    n_tot, steps, lanes = w_parts.shape
    m_tot = a_parts.shape[0]
    out = np.zeros((m_tot, n_tot))
    w_reg = np.zeros((rows, cols, lanes), dtype=np.int64)
    sh_reg = np.zeros((rows, cols, lanes), dtype=np.int64)
    a_reg = np.zeros((rows, cols, lanes), dtype=np.int64)
    w_step = np.full((rows, cols), -1, dtype=np.int64)
    a_step = np.full((rows, cols), -1, dtype=np.int64)
    acc = np.zeros((rows, cols), dtype=np.int64)
    cycles = 0
    multiplies = 0
    pe_steps = 0
    n_step, m_step = (rows * cols, 1) if flat else (rows, cols)
    for n0 in range(0, n_tot, n_step):
        used = min(n_step, n_tot - n0)
        r = -(-used // cols) if flat else used
        for m0 in range(0, m_tot, m_step):
            c = min(cols, used) if flat else min(cols, m_tot - m0)
            w_step[:, :] = -1
            a_step[:, :] = -1
            acc[:, :] = 0
            t = 0
            last_active = -1
            while True:
                if flat:  # every PE takes its own weight, i + j cycles late
                    for i in range(r):
                        for j in range(c):
                            s = t - i - j
                            n = n0 + i * cols + j
                            if 0 <= s < steps and n < n_tot:
                                w_step[i, j] = s
                                w_reg[i, j, :] = w_parts[n, s, :]
                                sh_reg[i, j, :] = w_shift[n, s, :]
                            else:
                                w_step[i, j] = -1
                else:  # weights move one PE right; row i is fed i cycles late
                    for i in range(r):
                        for j in range(c - 1, 0, -1):
                            w_step[i, j] = w_step[i, j - 1]
                            w_reg[i, j, :] = w_reg[i, j - 1, :]
                            sh_reg[i, j, :] = sh_reg[i, j - 1, :]
                        s = t - i
                        if 0 <= s < steps:
                            w_step[i, 0] = s
                            w_reg[i, 0, :] = w_parts[n0 + i, s, :]
                            sh_reg[i, 0, :] = w_shift[n0 + i, s, :]
                        else:
                            w_step[i, 0] = -1
                # activations move one PE down; column j is fed j cycles late (flat: the same row of A everywhere)
                for j in range(c):
                    for i in range(r - 1, 0, -1):
                        a_step[i, j] = a_step[i - 1, j]
                        a_reg[i, j, :] = a_reg[i - 1, j, :]
                    s = t - j
                    if 0 <= s < steps:
                        a_step[0, j] = s
                        a_reg[0, j, :] = a_parts[m0 if flat else m0 + j, s, :]
                    else:
                        a_step[0, j] = -1
                active = False
                for i in range(r):
                    for j in range(c):
                        s = w_step[i, j]
                        if s < 0:
                            continue
                        if a_step[i, j] != s:
                            raise RuntimeError("systolic skew broken: operands of different steps met")
                        active = True
                        total = 0
                        for lane in range(lanes):
                            total += (w_reg[i, j, lane] * a_reg[i, j, lane]) << sh_reg[i, j, lane]
                        acc[i, j] += total
                        multiplies += lane_used[s]
                        pe_steps += 1
                        if group_end[s]:
                            m, n = (m0, n0 + i * cols + j) if flat else (m0 + j, n0 + i)
                            out[m, n] += float(acc[i, j]) * scales[n, step_group[s]]
                            acc[i, j] = 0
                if active:
                    last_active = t
                elif t >= steps + max(r, c):  # every feed is exhausted and the array is empty
                    break
                t += 1
            cycles += last_active + 1
    return out, cycles, multiplies, pe_steps


def _farthest(used: int, cols: int) -> int:
    """Largest i + j of ``used`` PEs laid row-major over rows of ``cols`` (mapping nn): the fold's skew (cycles)."""
    r = -(-used // cols)
    last = (r - 1) + (used - (r - 1) * cols - 1)
    return max(last, r - 2 + cols - 1) if r >= 2 else last


def slices(v: np.ndarray, width: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Split two's-complement integers into ``count`` slices of ``width`` bits, low first.

    Returns (parts with a trailing axis of ``count``, shifts (count,)); the top slice is signed,
    the others unsigned, and ``Σ parts << shifts == v``.
    """
    v = np.asarray(v, dtype=np.int64)
    shifts = np.arange(count, dtype=np.int64) * width
    parts = (v[..., None] >> shifts) & ((1 << width) - 1)
    parts[..., -1] = v >> shifts[-1]
    return parts, shifts


def mantissa_shift(v: np.ndarray, mant_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Decoder output for exponent-like weights: ``v = mant << shift`` with ``|mant| ≤ mant_max``.

    Values that fit the multiplier pass unchanged; larger ones (FLINT4's 8 and 16, OliVe's
    outliers, all of the form m·2^e with m ∈ {1, 3}) become their odd part and its shift.
    """
    v = np.asarray(v, dtype=np.int64)
    mag = np.abs(v)
    tz = np.zeros_like(v)
    big = mag > mant_max
    low_bit = mag & -mag  # lowest set bit
    tz[big] = np.log2(low_bit[big]).astype(np.int64)
    mant = v >> tz
    if (np.abs(mant) > mant_max).any():
        raise InputError("--weights", "a decoded weight does not fit the multiplier as mantissa << shift")
    return mant, tz


@dataclass(frozen=True)
class Decomposition:
    """How one product is sliced: activation slices × weight slices sub-products, ``lanes`` per step."""

    a_slices: int
    w_slices: int
    lanes: int

    @property
    def per_product(self) -> int:
        return self.a_slices * self.w_slices

    def steps_per_group(self, g: int) -> int:
        return math.ceil(g * self.per_product / self.lanes)


class SlicedOSArray(PEModel):
    """Base of output-stationary integer arrays with sliced operands (see the module docstring)."""

    modes = ("per-cycle", "tile")
    opcode = "MMA"
    dataflows = ("os",)
    dataflow_source = ("BitMoD's array model (github.com/yc2367/BitMoD-HPCA-25 bitmod_sim): output stationary, rows "
                       "over N and columns over M")
    mappings = ("nm", "mn", "nn")
    mapping_source = (
        "nm: BitMoD's array model (github.com/yc2367/BitMoD-HPCA-25 bitmod_sim, compute = ceil(cout/rows) * "
        "ceil(tokens/cols) folds): weights enter each row, activations each column. mn: the transposed product "
        "O^T = W A^T on the transposed grid (weights enter the columns); our assumption [I]: both edges take either "
        "operand. nn (GEMV): PE (r, c) holds output n0 + r*cols + c of one row of A; the activation enters every "
        "column and moves down as in nm (skew r + c) and each PE takes its own weight every step from a per-row "
        "weight bus of cols weights per cycle; our assumption [I]")
    weight_formats: tuple[str, ...] = ()
    act_formats: tuple[str, ...] = ()
    decoded_formats: tuple[str, ...] = ()  # weight formats that pass through a decoder
    default_array: tuple[int, int] = (1, 1)

    # --- what each PE defines -------------------------------------------------------------
    @abstractmethod
    def decomposition(self, weights: str, acts: str) -> Decomposition:
        """Slice counts and lanes for a format pair (already checked)."""

    @abstractmethod
    def weight_parts(self, w: np.ndarray, weights: str) -> tuple[np.ndarray, np.ndarray]:
        """Weight levels (N, K) int64 → (parts (N, K, w_slices), shifts broadcastable to it)."""

    @abstractmethod
    def act_parts(self, a: np.ndarray, acts: str) -> tuple[np.ndarray, np.ndarray]:
        """Activations (M, K) int64 → (parts (M, K, a_slices), shifts (a_slices,))."""

    # --- shared ---------------------------------------------------------------------------
    def default_config(self) -> PEConfig:
        return PEConfig(array=self.default_array, dataflow="os", acc="int32")

    def weight_max(self, weights: str) -> int:
        """Largest |decoded weight| of a format (for the accumulator-width check)."""
        if weights.startswith("int"):
            return 1 << (int(weights[3:]) - 1)
        values = formats.get(weights).values
        if values is not None:
            return int(np.abs(values).max())
        return int(OUTLIER_MAGNITUDES.max())

    def group_size(self, problem: GemmProblem) -> int:
        """Elements per quantization group (the problem's, else the format default, else K)."""
        return checks.group_size(problem)

    def check(self, problem: GemmProblem, config: PEConfig) -> None:
        config = self.resolve(config)
        g = checks.check_problem(problem, config, self.name, weights=self.weight_formats, acts=self.act_formats,
                                 accs=("int32",), dataflows=self.dataflows, mappings=self.mappings)
        if problem.weights == "olive4" and g % 2:
            raise InputError("--group-size", f"olive4 pairs elements, so the group must be even, got {g}")
        bound = g * self.weight_max(problem.weights) * (1 << (ACT_BITS[problem.acts] - 1))
        if bound >= 1 << (ACC_BITS - 1):
            raise InputError("--group-size", f"a group of {g} can overflow the int32 accumulator")

    def expected(self, problem: GemmProblem, config: PEConfig, a: np.ndarray, qw) -> np.ndarray:
        """Exact integer group sums × group scales, in group order: :func:`sim.reference.mpgemm`."""
        self._check_operands(problem, a, qw)
        return reference.mpgemm(np.asarray(a, dtype=np.int64), qw)

    def _check_operands(self, problem: GemmProblem, a, qw) -> np.ndarray:
        """Operands as int64 activations (values reported under field ``a``)."""
        checks.check_operands(problem, a, qw, self.group_size(problem))
        return checks.check_act_values(a, problem.acts, field="a").astype(np.int64)

    def _grid(self, config: PEConfig) -> tuple[int, int]:
        """(rows over N, columns over M) the machine steps for ``config``'s array and mapping."""
        return kernel_array(config.array, self.mapping_of(config), "n")

    def _cycles(self, problem: GemmProblem, config: PEConfig) -> dict:
        """Closed-form fold count, cycles and events of the machine described above."""
        rows, cols = self._grid(config)
        g = self.group_size(problem)
        d = self.decomposition(problem.weights, problem.acts)
        groups = problem.k // g
        steps = groups * d.steps_per_group(g)
        fn, fm = math.ceil(problem.n / rows), math.ceil(problem.m / cols)
        folds = fn * fm
        if self.mapping_of(config) == "nn":  # a fold ends when its farthest PE (largest i + j) takes its last step
            pr, pc = config.array
            full, rest = divmod(problem.n, pr * pc)
            cycles = problem.m * (full * (steps + _farthest(pr * pc, pc)) + (rest and steps + _farthest(rest, pc)))
        else:
            cycles = folds * (steps - 2) + problem.n * fm + problem.m * fn
        mnk = problem.m * problem.n * problem.k
        return {"cycles": cycles, "folds": folds, "steps": steps, "decomposition": d,
                "multiplies": mnk * d.per_product, "pe_steps": problem.m * problem.n * steps}

    def _result(self, problem, config, mode, cycles, multiplies, pe_steps, info, out=None) -> GemmResult:
        rows, cols = self._grid(config)
        d = info["decomposition"]
        g = self.group_size(problem)
        groups = problem.k // g
        fn, fm = math.ceil(problem.n / rows), math.ceil(problem.m / cols)
        outputs_groups = problem.m * problem.n * groups
        w_elems = problem.n * problem.k * fm  # weights re-streamed once per column fold
        events = {
            "multiplies": multiplies,
            "adds": multiplies,
            "reg_reads": 2 * pe_steps,
            ACTIVE_EVENT: pe_steps,  # one step of a PE per cycle
            "scale_multiplies": outputs_groups,
            "fp_adds": outputs_groups,
            "decodes": w_elems if problem.weights in self.decoded_formats else 0,
            "sram_reads": w_elems + problem.m * problem.k * fn + problem.n * groups * fm,
        }
        util = multiplies / (rows * cols * d.lanes * cycles)
        return GemmResult(cycles=int(cycles), utilization=float(util), events=events, mode=mode, out=out,
                          extra={"folds": info["folds"], "steps_per_fold": info["steps"], "lanes": d.lanes,
                                 "sub_products_per_mac": d.per_product, "group_size": g,
                                 "array": "{}x{}".format(*config.array), "mapping": self.mapping_of(config)})

    def pack(self, problem: GemmProblem, a: np.ndarray, qw) -> tuple:
        """Slice and pack operands into per-step lanes: the arrays the array kernel streams."""
        d = self.decomposition(problem.weights, problem.acts)
        g = qw.group_size
        groups = problem.k // g
        w = reference.weight_levels(qw)
        wi = np.rint(w).astype(np.int64)
        wp, wsh = self.weight_parts(wi, problem.weights)           # (N, K, uw)
        wsh = np.broadcast_to(wsh, wp.shape)
        ap, ash = self.act_parts(a, problem.acts)                   # (M, K, ua), (ua,)
        u = d.per_product
        # sub-product order within a k: activation slice (outer), weight slice (inner)
        w_sub = np.broadcast_to(wp[:, :, None, :], wp.shape[:2] + (d.a_slices, d.w_slices)).reshape(
            problem.n, problem.k * u)
        sh_sub = (wsh[:, :, None, :] + ash[None, None, :, None]).reshape(problem.n, problem.k * u)
        a_sub = np.broadcast_to(ap[:, :, :, None], ap.shape[:2] + (d.a_slices, d.w_slices)).reshape(
            problem.m, problem.k * u)
        spg = d.steps_per_group(g)
        width = spg * d.lanes

        def lanes_of(x):
            x = x.reshape(x.shape[0], groups, g * u)
            x = np.concatenate([x, np.zeros(x.shape[:2] + (width - g * u,), dtype=np.int64)], axis=2)
            return np.ascontiguousarray(x.reshape(x.shape[0], groups * spg, d.lanes))

        used = np.minimum(d.lanes, g * u - np.arange(spg) * d.lanes)
        lane_used = np.tile(used, groups).astype(np.int64)
        step_group = np.repeat(np.arange(groups), spg).astype(np.int64)
        group_end = np.tile(np.arange(spg) == spg - 1, groups)
        scales = np.ascontiguousarray(reference.group_scales(qw), dtype=np.float64)
        return lanes_of(w_sub), lanes_of(sh_sub), lanes_of(a_sub), lane_used, step_group, group_end, scales

    def run(self, problem: GemmProblem, config: PEConfig, mode: str, a=None, qw=None) -> GemmResult:
        config = self.resolve(config)
        self.check(problem, config)
        checks.check_mode(mode, self.modes, self.name)
        info = self._cycles(problem, config)
        if mode == "tile":
            return self._result(problem, config, mode, info["cycles"], info["multiplies"], info["pe_steps"], info)
        a = self._check_operands(problem, a, qw)
        flat = self.mapping_of(config) == "nn"
        rows, cols = config.array if flat else self._grid(config)
        out, cycles, multiplies, pe_steps = _os_array(*self.pack(problem, a, qw), rows, cols, flat)
        return self._result(problem, config, mode, cycles, multiplies, pe_steps, info, out=out)
