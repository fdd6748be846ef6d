"""Input checks shared by the PE models: each raises :class:`sim.errors.InputError` naming the field
(the CLI flag where there is one) and the allowed values.

A PE's ``check()`` calls :func:`check_problem` (formats, shape, array, dataflow and group size, in
one order for every PE) with its own allowed sets, then adds what only it restricts (accumulator
overflow bounds, tile, options), which stays in that PE's module. ``run()`` adds :func:`check_mode`
and, in per-cycle mode, :func:`check_operands` and :func:`check_act_values`. The checks of a data-free run import
neither numpy nor :mod:`sim.formats` (:mod:`sim.format_index`); those of operands do.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .. import format_index
from ..errors import InputError
from .base import DATAFLOWS, GemmProblem, PEConfig

if TYPE_CHECKING:
    import numpy as np

INT_ACT_BITS = {"int4": 4, "int8": 8, "int16": 16}  # two's-complement activation widths (bits)
#: float activation format -> name of its numpy / ml_dtypes scalar type (:func:`sim.formats.elements.scalar_type`)
FLOAT_ACT_DTYPES = {"fp16": "float16", "bf16": "bfloat16", "fp8_e4m3": "float8_e4m3fn", "fp8_e5m2": "float8_e5m2"}


def _is_positive_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1  # int, numpy integers


def _sequence(v) -> bool:
    """A tuple, a list or a numpy array (there is none unless numpy is imported)."""
    np_ = sys.modules.get("numpy")
    return isinstance(v, tuple | list) or (np_ is not None and isinstance(v, np_.ndarray))


def require_choice(field: str, value, allowed: Iterable, what: str) -> None:
    """``value`` is one of ``allowed``; else InputError(field, "<what> does not take <value>", allowed)."""
    allowed = list(allowed)
    if value not in allowed:
        raise InputError(field, f"{what} does not take {value!r}", ", ".join(map(str, allowed)))


def check_shape(problem: GemmProblem) -> None:
    """M, N, K are positive integers (fields ``--m``, ``--n``, ``--k``)."""
    for name in ("m", "n", "k"):
        v = getattr(problem, name)
        if not _is_positive_int(v):
            raise InputError(f"--{name}", f"must be a positive integer, got {v!r}", "integers >= 1")


def check_array(config: PEConfig) -> tuple[int, int]:
    """``config.array`` is two positive integers (field ``--array``); returns (rows, cols)."""
    a = config.array
    if not _sequence(a) or len(a) != 2 or not all(_is_positive_int(v) for v in a):
        raise InputError("--array", f"must be two positive integers (rows, cols), got {a!r}", "RxC, e.g. 32x32")
    return int(a[0]), int(a[1])


def check_tile(config: PEConfig, k_allowed: Iterable[int]) -> tuple[int, int, int]:
    """``config.tile`` is M, N, K positive integers with K in ``k_allowed`` (field ``--tile``)."""
    t, k_allowed = config.tile, tuple(k_allowed)
    if (not _sequence(t) or len(t) != 3 or not all(_is_positive_int(v) for v in t)
            or t[2] not in k_allowed):
        raise InputError("--tile", f"bad tile {t!r}", f"MxNxK with M, N >= 1 and K in {k_allowed}")
    return int(t[0]), int(t[1]), int(t[2])


def check_dataflow(config: PEConfig, what: str, allowed: Iterable[str] = DATAFLOWS) -> str:
    """``config.dataflow`` is one of ``allowed`` (field ``--dataflow``); returns it."""
    require_choice("--dataflow", config.dataflow, allowed, what)
    return config.dataflow


def check_mode(mode: str, modes: Iterable[str], what: str) -> None:
    """``mode`` is one of the PE's ``modes`` (field ``--mode``)."""
    require_choice("--mode", mode, modes, what)


def group_size(problem: GemmProblem, *, fallback_to_per_channel: bool = False) -> int:
    """The quantization group (K segment) size, in elements (field ``--group-size``).

    The problem's group if set; else the weight format's default group; else K (per channel).
    With ``fallback_to_per_channel`` a default group that does not divide K gives K instead (the
    rule the :mod:`sim.formats` quantizers follow for ``group_size=None``); without it such a
    default is an error. The result must be a positive divisor of K.
    """
    g = problem.group_size
    if g is None:
        g = format_index.default_group_size(problem.weights)
        if g is None or (fallback_to_per_channel and problem.k % g):
            g = problem.k
    if not _is_positive_int(g) or problem.k % g:
        raise InputError("--group-size", f"{g!r} does not divide K={problem.k}",
                         "a positive divisor of K, or none for the format's default")
    return int(g)


def check_operands(problem: GemmProblem, a, qw, group: int) -> np.ndarray:
    """Per-cycle operands: ``a`` (M, K) and ``qw`` a QuantizedTensor of ``problem.weights`` (N, K),
    quantized along K (axis 1) in groups of ``group``. Fields ``--mode`` (missing operands),
    ``activations``, ``weights``, ``--group-size``. Returns ``a`` as an array (values unchecked:
    see :func:`check_act_values`)."""
    import numpy as np

    from .. import formats

    if a is None or qw is None:
        raise InputError("--mode", "per-cycle needs activations and quantized weights", "tile for data-free runs")
    a = np.asarray(a)
    if a.shape != (problem.m, problem.k):
        raise InputError("activations", f"shape {a.shape} is not (M, K) = {(problem.m, problem.k)}")
    if (formats.get(qw.fmt).name != formats.get(problem.weights).name
            or qw.codes.shape != (problem.n, problem.k) or qw.axis != 1):
        raise InputError("weights", f"need a {problem.weights} tensor of shape (N, K) = {(problem.n, problem.k)} "
                         f"quantized along K, got {qw.fmt} {qw.codes.shape} axis {qw.axis}")
    if qw.group_size != group:
        raise InputError("--group-size", f"weights use groups of {qw.group_size}, the problem says {group}")
    return a


def check_act_values(a, acts: str, field: str = "--acts") -> np.ndarray:
    """Every activation is finite and a value of format ``acts`` (integers in range for int4/8/16,
    exactly representable for the float formats); reported under ``field``. Returns float64."""
    import numpy as np

    from ..formats.elements import scalar_type

    af = np.asarray(a).astype(np.float64)
    if not np.isfinite(af).all():
        raise InputError(field, "activations contain NaN or inf", "finite values")
    if acts in INT_ACT_BITS:
        lo, hi = -(1 << (INT_ACT_BITS[acts] - 1)), (1 << (INT_ACT_BITS[acts] - 1)) - 1
        if not np.array_equal(af, np.rint(af)) or af.min(initial=0) < lo or af.max(initial=0) > hi:
            raise InputError(field, f"activations are not all {acts} values", f"integers in [{lo}, {hi}]")
        return af
    require_choice("--acts", acts, list(INT_ACT_BITS) + list(FLOAT_ACT_DTYPES), "the activation check")
    with np.errstate(over="ignore"):
        if not np.array_equal(af.astype(scalar_type(FLOAT_ACT_DTYPES[acts])).astype(np.float64), af):
            raise InputError(field, f"activations are not all representable in {acts}", f"{acts} values")
    return af


def check_no_tensor_scale(qw, what: str) -> None:
    """``qw`` carries no per-tensor scale (field ``--weights``): for PEs whose datapath has none."""
    if qw.tensor_scale != 1.0:
        raise InputError("--weights", f"{what} has no per-tensor scale", "formats without a tensor scale")


def check_problem(problem: GemmProblem, config: PEConfig, what: str, *, weights: Iterable[str], acts: Iterable[str],
                  accs: Iterable[str], acc: str | None = None, array: bool = True,
                  dataflows: Iterable[str] | None = DATAFLOWS, mappings: Iterable[str] = (),
                  fallback_to_per_channel: bool = False) -> int:
    """The checks every PE shares, in this order: ``--weights`` in ``weights``, ``--acts`` in ``acts``,
    ``--acc`` (``acc``, default ``config.acc``) in ``accs``, ``--m/--n/--k`` (:func:`check_shape`),
    ``--array`` (:func:`check_array`, when ``array``), ``--dataflow`` in ``dataflows`` (skipped when
    None), ``--mapping`` in ``mappings`` (when ``config.mapping`` is set), ``--group-size`` (:func:`group_size`).
    ``what`` names the PE in messages. Returns the group size (elements)."""
    require_choice("--weights", problem.weights, weights, what)
    require_choice("--acts", problem.acts, acts, what)
    require_choice("--acc", config.acc if acc is None else acc, accs, f"{what}'s accumulator")
    check_shape(problem)
    if array:
        check_array(config)
    if dataflows is not None:
        check_dataflow(config, what, dataflows)
    if config.mapping is not None and config.mapping not in mappings:
        raise InputError("--mapping", f"{what} does not take mapping {config.mapping!r}",
                         ", ".join(mappings) or "(none: its mapping is fixed)")
    return group_size(problem, fallback_to_per_channel=fallback_to_per_channel)
