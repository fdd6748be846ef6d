"""Results of one GEMM on one processing element (``lutsim gemm``) and of the peer tools' models
(``lutsim compat scalesim``, ``lutsim compat bitmod``)."""

from __future__ import annotations

from dataclasses import dataclass

from .base import Result, omitted_when


@dataclass
class GemmConfig(Result):
    """The PE configuration after defaults: ``array`` rows × cols of PEs or ``tile`` M×N×K of a LUT unit (the
    other None), dataflow (os, ws, is), accumulator format, PE-specific options."""

    array: list[int] | None
    tile: list[int] | None
    dataflow: str | None
    acc: str | None
    options: dict


@dataclass
class GemmResult(Result):
    """``lutsim gemm --json``: an ``m``×``n``×``k`` GEMM (elements) of ``weights`` × ``acts`` on ``pe``.

    group_size: weights per scale group; cycles; utilization: busy PE-cycles / (PEs × cycles); events: action
    counts per event name. With ``--check`` only: exact (per-cycle output equal to the PE's expected output
    bit for bit), max_abs_error (against it), max_abs_error_vs_exact (lossy datapaths: against the float64
    mpGEMM), per_cycle_cycles (cycles of the per-cycle run), cycles_agree (per-cycle and this mode agree;
    always true for ``scalesim``).
    """

    pe: str
    mode: str
    m: int
    n: int
    k: int
    weights: str
    acts: str
    group_size: int | None
    config: GemmConfig
    cycles: int
    utilization: float
    events: dict[str, int]
    exact: bool | None = omitted_when(None)
    max_abs_error: float | None = omitted_when(None)
    max_abs_error_vs_exact: float | None = omitted_when(None)
    per_cycle_cycles: int | None = omitted_when(None)
    cycles_agree: bool | None = omitted_when(None)


@dataclass
class FoldCycles(Result):
    """Cycles of a systolic GEMM and utilization (busy PE-cycles / (PEs × cycles))."""

    cycles: int
    utilization: float


@dataclass
class ScalesimResult(Result):
    """``lutsim compat scalesim --json``: an ``m``×``n``×``k`` int8 GEMM on an ``array`` (rows, cols) systolic
    array, SCALE-Sim's fold formulas beside lutsim's overlapped folds; source: where the formulas come from."""

    m: int
    n: int
    k: int
    array: list[int]
    dataflow: str
    scalesim: FoldCycles
    lutsim_overlapped: FoldCycles
    source: str


@dataclass
class BitmodLayer(Result):
    """One occurrence of a layer in BitMoD's tile model (totals multiply by ``repeat``): compute and DRAM
    cycles, cycles (the larger), weight / input / output bytes and the DRAM bytes fetched in all."""

    name: str
    repeat: int
    compute_cycles: int
    dram_cycles: int
    cycles: int
    weight_bytes: int
    input_bytes: int
    output_bytes: int
    dram_bytes: int


@dataclass
class BitmodComparison(Result):
    """Every design's cycles per phase (``prefill``, ``decode``, ``prefill+N``: prefill and N decode tokens),
    BitMoD's speedups over the baselines (cycle ratios per phase and their headline mean), designs without a
    published precision for the model (with the reason), and the paper's headline figures."""

    cycles: dict[str, dict[str, int]]
    speedups: dict[str, dict[str, float]]
    unavailable: dict[str, str]
    published_headline: dict[str, float]


@dataclass
class BitmodOursRow(Result):
    """One design and phase in both models: their cycles (None without a published precision), ours, the
    ratio (4 digits), our energy (µJ, 1 digit) and the DRAM share of it (4 digits)."""

    design: str
    phase: str
    their_cycles: int | None
    our_cycles: int
    ours_over_theirs: float | None
    our_energy_uj: float
    our_dram_share: float


@dataclass
class BitmodOurs(Result):
    """``--ours``: every design in both models, BitMoD-lossy's speedups over the baselines in each (``theirs``,
    ``ours``: mean of prefill and prefill+N), and where our numbers come from."""

    designs: list[BitmodOursRow]
    speedups: dict[str, dict[str, float]]
    source: str


@dataclass
class BitmodResult(Result):
    """``lutsim compat bitmod --json``: one design and phase of a model in BitMoD's tile model.

    array: (rows, cols) of PEs; dp: dot-product width; bit_serial; w_prec: weight bits; latency_per_weight:
    cycles per weight; layers: per-layer rows; total_cycles and total_dram_bytes: summed over layers × repeat;
    comparison: all designs of the model; source: the model's origin; ours: with ``--ours`` only.
    """

    design: str
    phase: str
    model: str
    array: list[int]
    dp: int
    bit_serial: bool
    w_prec: float
    latency_per_weight: int
    layers: list[BitmodLayer]
    total_cycles: int
    total_dram_bytes: int
    comparison: BitmodComparison
    source: str
    ours: BitmodOurs | None = omitted_when(None)
