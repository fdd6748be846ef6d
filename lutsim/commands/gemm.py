"""``lutsim gemm``: one GEMM on one processing element — cycles, utilization, events, optional check.

Generic over the PE registry (:func:`sim.pe.names`): weights are random normals quantized with the
chosen format, activations random values representable in the chosen activation format (integer
formats include both extremes). ``--check`` runs the per-cycle model and compares its output with
the PE's ``expected()`` bit for bit. A data-free run (``--mode tile`` or ``scalesim``) imports neither numpy nor
:mod:`sim.formats` (weight format names from :mod:`sim.format_index`): its start-up is the interpreter's and the
PE's closed form.
"""

from __future__ import annotations

import re

from lutsim.output import fmt, print_json, print_table
from lutsim.results import GemmConfig, GemmResult, to_dict
from sim import format_index, pe
from sim.errors import InputError
from sim.pe.base import ACTIVATION_FORMATS, DATAFLOWS, MODES, GemmProblem, PEConfig

NAME = "gemm"
HELP = "simulate one GEMM on one processing element (cycles, utilization, events; --check for exactness)"
BLAS_THREADS = 1  # no linear algebra worth threads (lutsim.cli)

# float activation formats → ml_dtypes / numpy type names (ml_dtypes is imported only when one is asked for: its
# import takes about 0.45 s, most of a tile- or scalesim-mode command's start-up)
_FLOAT_ACTS = {"fp16": "float16", "bf16": "bfloat16", "fp8_e4m3": "float8_e4m3fn", "fp8_e5m2": "float8_e5m2"}


def _float_type(acts: str):
    """The numpy scalar type of float activation format ``acts``."""
    import numpy as np

    if acts == "fp16":
        return np.float16
    import ml_dtypes

    return getattr(ml_dtypes, _FLOAT_ACTS[acts])
_INT_ACT_BITS = {"int4": 4, "int8": 8, "int16": 16}


def add_arguments(p) -> None:
    p.add_argument("--pe", required=True, help="processing element (see the error message for the list)")
    p.add_argument("--m", type=int, required=True, help="rows of the activations (tokens)")
    p.add_argument("--n", type=int, required=True, help="output features (rows of W)")
    p.add_argument("--k", type=int, required=True, help="reduction length")
    p.add_argument("--weights", default="int4", help="weight format (sim.formats name; default int4)")
    p.add_argument("--acts", default="int8", help="activation format (default int8)")
    p.add_argument("--group-size", type=int, default=None, help="weights per scale group (default: format's)")
    shape = p.add_mutually_exclusive_group()
    shape.add_argument("--array", default=None, help="PE array RxC, e.g. 32x32")
    shape.add_argument("--tile", default=None, help="LUT unit MxNxK, e.g. 2x64x4")
    p.add_argument("--dataflow", default=None, help="os, ws or is (systolic arrays)")
    p.add_argument("--acc", default=None, help="accumulator format (int32, fp16, fp32; PE default)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="PE-specific switch, repeatable (e.g. table_quant=true)")
    p.add_argument("--mode", default="tile", help="per-cycle, tile or scalesim (default tile)")
    p.add_argument("--seed", type=int, default=0, help="random seed for weights and activations (default 0)")
    p.add_argument("--check", action="store_true", help="run per-cycle and compare with the exact expected output")
    p.add_argument("--json", action="store_true", help="print JSON")


def parse_dims(text: str | None, flag: str, count: int) -> tuple[int, ...] | None:
    """'32x32' → (32, 32); None stays None. InputError naming ``flag`` otherwise."""
    if text is None:
        return None
    form = "x".join(["N"] * count)
    if not re.fullmatch(r"\d+" + r"[xX]\d+" * (count - 1), text.strip()):
        raise InputError(flag, f"bad value {text!r}", f"{form} with positive integers")
    dims = tuple(int(v) for v in re.split(r"[xX]", text.strip()))
    if min(dims) < 1:
        raise InputError(flag, f"bad value {text!r}", f"{form} with positive integers")
    return dims


def parse_options(items: list[str]) -> dict:
    """['table_quant=true', 'x=3'] → {'table_quant': True, 'x': 3}."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError("--option", f"bad value {item!r}", "KEY=VALUE")
        low = value.lower()
        if low in ("true", "false"):
            out[key] = low == "true"
        elif re.fullmatch(r"-?\d+", value):
            out[key] = int(value)
        else:
            out[key] = value
    return out


def random_activations(acts: str, m: int, k: int, rng):
    """(M, K) float64 values exactly representable in ``acts`` (``rng`` a numpy Generator); integer formats hit
    both extremes."""
    import numpy as np

    if acts in _INT_ACT_BITS:
        lo, hi = -(1 << (_INT_ACT_BITS[acts] - 1)), (1 << (_INT_ACT_BITS[acts] - 1)) - 1
        a = rng.integers(lo, hi + 1, size=(m, k))
        a.flat[0] = lo
        a.flat[-1] = hi if a.size > 1 else lo
        return a.astype(np.float64)
    if acts in _FLOAT_ACTS:
        return rng.normal(size=(m, k)).astype(_float_type(acts)).astype(np.float64)
    raise InputError("--acts", f"unknown activation format {acts!r}", ", ".join(ACTIVATION_FORMATS))


def _positive(value: int, flag: str) -> int:
    if value < 1:
        raise InputError(flag, f"must be a positive integer, got {value}", "integers >= 1")
    return value


def _shape(dims) -> list[int] | None:
    return None if dims is None else list(dims)


def simulate(args) -> GemmResult:
    """Run the GEMM the arguments describe."""
    for flag in ("m", "n", "k"):
        _positive(getattr(args, flag), f"--{flag}")
    if args.group_size is not None:
        _positive(args.group_size, "--group-size")
    model = pe.get(args.pe)
    if args.mode not in MODES or args.mode not in model.modes:
        raise InputError("--mode", f"{args.pe} has no mode {args.mode!r}", ", ".join(model.modes))
    if args.dataflow is not None and args.dataflow not in DATAFLOWS:
        raise InputError("--dataflow", f"unknown dataflow {args.dataflow!r}", ", ".join(DATAFLOWS))
    if args.weights.lower() not in format_index.names():
        raise InputError("--weights", f"unknown format {args.weights!r}", ", ".join(format_index.names()))
    if args.acts not in ACTIVATION_FORMATS:
        raise InputError("--acts", f"unknown activation format {args.acts!r}", ", ".join(ACTIVATION_FORMATS))
    problem = GemmProblem(args.m, args.n, args.k, args.weights, args.acts, args.group_size)
    config = model.resolve(PEConfig(array=parse_dims(args.array, "--array", 2),
                                    tile=parse_dims(args.tile, "--tile", 3), dataflow=args.dataflow,
                                    acc=args.acc, options=parse_options(args.option)))
    model.check(problem, config)

    a = qw = None
    if args.mode == "per-cycle" or args.check:
        import numpy as np

        from sim import formats

        rng = np.random.default_rng(args.seed)
        qw = formats.get(args.weights).quantize(rng.normal(size=(args.n, args.k)), args.group_size)
        a = random_activations(args.acts, args.m, args.k, rng)
    res = model.run(problem, config, args.mode, a, qw)
    report = GemmResult(
        pe=args.pe, mode=res.mode, m=args.m, n=args.n, k=args.k, weights=args.weights, acts=args.acts,
        group_size=qw.group_size if qw else res.extra.get("group_size", args.group_size),
        config=GemmConfig(array=_shape(config.array), tile=_shape(config.tile), dataflow=config.dataflow,
                          acc=config.acc or res.extra.get("acc"), options=config.options),
        cycles=int(res.cycles), utilization=float(res.utilization),
        events={k: int(v) for k, v in res.events.items()})
    if args.check:
        import numpy as np

        checked = res if res.mode == "per-cycle" else model.run(problem, config, "per-cycle", a, qw)
        want = model.expected(problem, config, a, qw)
        diff = np.abs(checked.out - want)
        report.exact = bool(np.array_equal(checked.out, want, equal_nan=True))
        report.max_abs_error = 0.0 if report.exact else float(np.nanmax(diff))
        if "max_abs_error_vs_exact" in checked.extra:  # lossy datapaths: distance to the float64 mpGEMM
            report.max_abs_error_vs_exact = float(checked.extra["max_abs_error_vs_exact"])
        report.per_cycle_cycles = int(checked.cycles)
        report.cycles_agree = res.mode == "scalesim" or int(checked.cycles) == int(res.cycles)
    return report


def run(args) -> int:
    report = simulate(args)
    shown = to_dict(report)
    if args.json:
        print_json(shown)
    else:
        shown["utilization (%)"] = 100 * report.utilization
        rows = [{"quantity": k, "value": fmt(shown[k])}
                for k in ("pe", "mode", "cycles", "utilization (%)", "exact", "max_abs_error",
                          "max_abs_error_vs_exact", "cycles_agree")
                if k in shown]
        title = f"{args.pe}: {args.m}x{args.n}x{args.k} GEMM, {args.weights} weights x {args.acts} activations"
        print_table(title, rows)
        print_table("events", [{"event": k, "count": v} for k, v in report.events.items()])
    return 0 if report.exact is not False and report.cycles_agree is not False else 1
