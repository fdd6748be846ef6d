"""Operand checks and array folding shared by the bit-serial PE models (BitMoD, MixPE)."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..formats import QuantizedTensor
from ..formats import get as get_format
from .base import GemmProblem, PEConfig


def check_shape_and_array(problem: GemmProblem, config: PEConfig) -> tuple[int, int]:
    """Positive M, N, K and array; returns (rows, cols)."""
    for name in ("m", "n", "k"):
        v = getattr(problem, name)
        if not isinstance(v, (int, np.integer)) or v <= 0:
            raise InputError(f"--{name}", f"must be a positive integer, got {v!r}")
    if problem.group_size is not None and (problem.group_size <= 0 or problem.k % problem.group_size):
        raise InputError("--group-size", f"{problem.group_size} does not divide K={problem.k}",
                         "a positive divisor of K")
    if config.array is None or len(config.array) != 2 or min(config.array) <= 0:
        raise InputError("--array", f"must be two positive integers (rows, cols), got {config.array!r}")
    return int(config.array[0]), int(config.array[1])


def check_operands(problem: GemmProblem, a, qw: QuantizedTensor, act_dtype) -> np.ndarray:
    """Activations (M, K) representable in ``act_dtype`` and weights (N, K) in ``problem.weights``
    quantized along K; returns the activations as float64."""
    if a is None or qw is None:
        raise InputError("mode", "per-cycle needs activations and quantized weights")
    a = np.asarray(a, dtype=np.float64)
    if a.shape != (problem.m, problem.k):
        raise InputError("activations", f"shape {a.shape} is not (M, K) = ({problem.m}, {problem.k})")
    if qw.fmt != problem.weights:
        raise InputError("--weights", f"weights are in {qw.fmt!r}, the problem says {problem.weights!r}")
    if qw.codes.shape != (problem.n, problem.k) or qw.axis != 1:
        raise InputError("weights", f"need an (N, K) = ({problem.n}, {problem.k}) tensor quantized along K, "
                         f"got shape {qw.codes.shape}, axis {qw.axis}")
    if not np.isfinite(a).all():
        raise InputError("activations", "contain NaN or inf")
    with np.errstate(over="ignore"):
        if not (a.astype(act_dtype).astype(np.float64) == a).all():
            raise InputError("--acts", f"activations are not all representable in {np.dtype(act_dtype).name}")
    return a


def folds(m: int, n: int, rows: int, cols: int, rows_over_n: bool) -> int:
    """Number of array folds: outputs are tiled rows × cols at a time."""
    if rows_over_n:
        return -(-n // rows) * -(-m // cols)
    return -(-m // rows) * -(-n // cols)


def effective_group(problem: GemmProblem) -> int:
    """Group size along K: the problem's, else the format default when it divides K, else K
    (the rule :mod:`sim.formats` quantizers follow for ``group_size=None``)."""
    if problem.group_size is not None:
        return int(problem.group_size)
    d = get_format(problem.weights).default_group_size
    return d if d is not None and problem.k % d == 0 else problem.k
