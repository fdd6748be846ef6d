"""LUT Tensor Core with floating-point activations: FP16 and BF16 tables (FP8 runs on the FP16 datapath).

The per-cycle model must equal, bit for bit, :func:`sim.pe.lut_tensor_core.fp_order_emulation` — built from the
``sim.reference`` rounding primitives, independent of the kernels: full 2^K tables by a pairwise ``tree_sum`` in
the table format (one rounding per adder), terms ``round(T[p]·2^i)`` accumulated by ``sequential_sum`` in the
accumulator format (K-groups in order, planes LSB first), then the float64 epilogue — on random shapes (K not a
multiple of the K-group, ragged quantization groups) with edge values: FP16/BF16 overflow, subnormals, the smallest
normal, all-zero activation groups and the most negative weight code.
"""

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import formats, pe, reference
from sim.errors import InputError
from sim.pe.base import GemmProblem, PEConfig
from sim.pe.lut_tensor_core import default_acc, lut_mpgemm, table_format, tile_io

MODEL = pe.get("lut-tc")
DTYPES = {"fp16": np.float16, "bf16": ml_dtypes.bfloat16}
WEIGHTS = ["int1", "int2", "int4", "int8", "int4_asym", "ternary"]
KINDS = ("normal", "huge", "subnormal", "min_normal", "zero")


def _edge_values(acts: str, kinds: np.ndarray, rng) -> np.ndarray:
    """Activation values of ``acts`` by kind: N(0, 1); ±(¼..1)·max (four of them overflow a table entry);
    ±j·smallest subnormal; ±j·smallest normal (j small); 0. float64, exact in the format."""
    dt = DTYPES[acts]
    fi = ml_dtypes.finfo(dt)
    sign = rng.choice([-1.0, 1.0], size=kinds.shape)
    small = rng.integers(1, 8, size=kinds.shape)
    v = np.select([kinds == 0, kinds == 1, kinds == 2, kinds == 3],
                  [rng.normal(size=kinds.shape), sign * float(fi.max) * rng.uniform(0.25, 1.0, kinds.shape),
                   sign * small * float(fi.smallest_subnormal), sign * small * float(fi.smallest_normal)], 0.0)
    return v.astype(dt).astype(np.float64)


@st.composite
def fp_cases(draw):
    acts = draw(st.sampled_from(["fp16", "bf16"]))
    m = draw(st.integers(1, 5))
    n = draw(st.integers(1, 70))
    g = draw(st.sampled_from([None, 3, 5, 6, 8, 32]))  # 3, 5, 6: groups that do not fill whole K-groups
    groups = draw(st.integers(1, 3)) if g else 1
    k = groups * g if g else draw(st.integers(1, 41))
    tile = draw(st.sampled_from([None, (2, 64, 4), (3, 16, 4), (1, 7, 2), (2, 5, 8)]))
    weights = draw(st.sampled_from(WEIGHTS))
    mix = draw(st.lists(st.integers(0, 4), min_size=1, max_size=5))  # the value kinds present
    acc = draw(st.sampled_from([None, "fp32"] if acts == "fp16" else [None]))
    flags = draw(st.tuples(st.booleans(), st.booleans()))  # an all-zero activation group; most negative codes
    return acts, m, n, k, g, tile, weights, mix, acc, flags, draw(st.integers(0, 2**32 - 1))


def _case(acts, m, n, k, g, tile, weights, mix, acc, flags, seed):
    rng = np.random.default_rng(seed)
    a = _edge_values(acts, rng.choice(np.array(mix), size=(m, k)), rng)
    zero_group, min_codes = flags
    gs = g or k
    if zero_group:
        j = int(rng.integers(0, k // gs))
        a[int(rng.integers(0, m)), j * gs:(j + 1) * gs] = 0.0
    qw = formats.get(weights).quantize(rng.normal(size=(n, k)), g)
    if min_codes:  # code 0: q' = −(2^b − 1), every plane bit −1 (the index-inversion path of every lookup)
        codes = np.array(qw.codes)
        codes[rng.integers(0, n)] = 0
        qw = type(qw)(qw.fmt, codes, qw.scales, qw.zeros, qw.group_size, qw.axis)
    return GemmProblem(m, n, k, weights, acts, g), PEConfig(tile=tile, acc=acc), a, qw


@settings(max_examples=60, deadline=None)
@given(case=fp_cases())
def test_fp_activations_bit_exact_against_the_rounding_order_emulation(case):
    prob, cfg, a, qw = _case(*case)
    res = MODEL.run(prob, cfg, "per-cycle", a, qw)
    want = MODEL.expected(prob, cfg, a, qw)
    assert np.array_equal(res.out, want, equal_nan=True)
    assert res.extra["acc"] == (cfg.acc or default_acc(prob.acts))
    k_tile = (cfg.tile or (2, 64, 4))[2]
    out, p = lut_mpgemm(a, qw, prob.acts, cfg.acc, k_tile)  # one tile over the whole problem: the same numbers
    assert np.array_equal(out, res.out, equal_nan=True)
    np.testing.assert_array_equal(p, res.extra["partial_sums"])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), acts=st.sampled_from(["fp16", "bf16"]), k=st.sampled_from([2, 4, 8]))
def test_tables_are_the_pairwise_tree_in_the_table_format(seed, acts, k):
    rng = np.random.default_rng(seed)
    a = _edge_values(acts, rng.integers(0, 5, size=(2, k)), rng)
    t = tile_io(a, rng.integers(0, 4, size=(3, k)), 2, acts=acts)
    entries = np.arange(1 << (k - 1)) | (1 << (k - 1))  # stored half: top bit set
    signs = 2.0 * ((entries[:, None] >> np.arange(k)) & 1) - 1.0
    want = reference.tree_sum(a[:, None, :] * signs[None], DTYPES[acts])
    np.testing.assert_array_equal(t.tables, want)
    finite = t.tables[np.isfinite(t.tables)]
    assert np.array_equal(finite.astype(DTYPES[acts]).astype(np.float64), finite)  # values of the format


def test_fp16_overflows_where_bf16_does_not_and_subnormals_are_kept():
    big = np.array([[65504.0, 65504.0, 0.0, 0.0]])  # FP16 max: the all-plus entry overflows FP16, not BF16
    codes = np.full((1, 4), 1)
    t16, tb = tile_io(big, codes, 1, acts="fp16"), tile_io(big.astype(ml_dtypes.bfloat16).astype(float), codes, 1,
                                                            acts="bf16")
    assert np.isinf(t16.tables[0, -1]) and np.isfinite(tb.tables[0, -1])
    tiny = np.full((1, 4), 2.0**-24)  # FP16's smallest subnormal: S[7] = 4·2^-24, exact, not flushed
    assert tile_io(tiny, codes, 1, acts="fp16").tables[0, -1] == 4 * 2.0**-24
    bf_tiny = np.full((1, 4), 2.0**-133)  # BF16's smallest subnormal (2^-126 · 2^-7)
    assert tile_io(bf_tiny, codes, 1, acts="bf16").tables[0, -1] == 4 * 2.0**-133


def test_bf16_uses_bf16_tables_and_an_fp32_accumulator():
    assert table_format("bf16") == "bf16" and default_acc("bf16") == "fp32"
    assert table_format("fp16") == table_format("fp8_e4m3") == "fp16" and table_format("int8") == "int32"
    rng = np.random.default_rng(3)
    a = rng.normal(size=(2, 64)).astype(ml_dtypes.bfloat16).astype(np.float64)
    qw = formats.get("int4").quantize(rng.normal(size=(8, 64)), 32)
    res = MODEL.run(GemmProblem(2, 8, 64, "int4", "bf16", 32), PEConfig(), "per-cycle", a, qw)
    assert res.extra["acc"] == "fp32"
    exact = reference.mpgemm(a, qw)
    assert 0 < np.abs(res.out - exact).max() < 0.05 * np.abs(exact).max()  # rounded, not garbage


@pytest.mark.parametrize("prob,cfg,field", [
    (GemmProblem(2, 4, 8, "int4", "bf16"), PEConfig(acc="fp16"), "--acc"),    # BF16 accumulates in FP32 only
    (GemmProblem(2, 4, 8, "int4", "bf16"), PEConfig(acc="int32"), "--acc"),
    (GemmProblem(2, 4, 8, "int4", "bf16"), PEConfig(options={"table_quant": True}), "--option"),
])
def test_bf16_errors_name_the_field(prob, cfg, field):
    with pytest.raises(InputError) as exc:
        MODEL.check(prob, cfg)
    assert exc.value.field == field


def test_bf16_values_outside_the_format_are_rejected():
    qw = formats.get("int4").quantize(np.ones((2, 8)), None)
    with pytest.raises(InputError, match="bf16") as exc:
        MODEL.run(GemmProblem(1, 2, 8, "int4", "bf16"), PEConfig(), "per-cycle", np.full((1, 8), 1.0 + 2.0**-10), qw)
    assert exc.value.field == "--acts"
