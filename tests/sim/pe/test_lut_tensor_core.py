import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import formats, pe, reference
from sim.errors import InputError
from sim.pe.base import GemmProblem, PEConfig
from sim.pe.lut_tensor_core import (
    INT32_MAX,
    INT32_MIN,
    LUT_OUTPUT_LATENCY,
    AccumulatorOverflow,
    _lut_unit,
    as_bits,
    fp_order_emulation,
    invert_index,
    lut_mpgemm,
    supported_weight_formats,
    tile_io,
)
from sim.pe.table_precompute import PRECOMPUTE_LATENCY

MODEL = pe.get("lut-tc")
WEIGHTS = ["int1", "int2", "int4", "int8", "int3_asym", "int4_asym", "int8_asym", "binary", "ternary"]
INT_RANGE = {"int4": (-8, 7), "int8": (-128, 127), "int16": (-32768, 32767)}
FP_DTYPES = {"fp16": np.float16, "fp8_e4m3": ml_dtypes.float8_e4m3fn, "fp8_e5m2": ml_dtypes.float8_e5m2}


def _acts(acts, m, k, rng):
    if acts in INT_RANGE:
        lo, hi = INT_RANGE[acts]
        a = rng.integers(lo, hi + 1, size=(m, k)).astype(np.float64)
        a.flat[0] = lo
        return a
    return rng.normal(size=(m, k)).astype(FP_DTYPES[acts]).astype(np.float64)


@st.composite
def gemms(draw, acts_choices):
    m = draw(st.integers(1, 6))
    n = draw(st.integers(1, 140))
    g = draw(st.sampled_from([None, 1, 3, 4, 6, 32]))
    groups = draw(st.integers(1, 4)) if g else 1
    k = groups * g if g else draw(st.integers(1, 70))
    tile = draw(st.sampled_from([None, (2, 64, 4), (3, 16, 4), (1, 7, 2), (2, 5, 8)]))
    return (m, n, k, g, draw(st.sampled_from(WEIGHTS)), draw(st.sampled_from(acts_choices)), tile,
            draw(st.integers(0, 2**32 - 1)))


def _run(m, n, k, g, w, acts, tile, seed, options=None):
    rng = np.random.default_rng(seed)
    qw = formats.get(w).quantize(rng.normal(size=(n, k)), g)
    a = _acts(acts, m, k, rng)
    prob = GemmProblem(m, n, k, w, acts, g)
    cfg = PEConfig(tile=tile, options=options or {})
    return prob, cfg, a, qw, MODEL.run(prob, cfg, "per-cycle", a, qw)


@settings(max_examples=60, deadline=None)
@given(case=gemms(["int8", "int4", "int16"]))
def test_int_activations_bit_exact_against_reference(case):
    prob, cfg, a, qw, res = _run(*case)
    np.testing.assert_array_equal(res.extra["partial_sums"], reference.group_partial_sums(a, qw))
    assert np.array_equal(res.out, reference.mpgemm(a, qw))  # float64 output identical, bit for bit
    assert np.array_equal(res.out, MODEL.expected(prob, cfg, a, qw))


@settings(max_examples=40, deadline=None)
@given(case=gemms(["fp16", "fp8_e4m3", "fp8_e5m2"]), table_quant=st.booleans())
def test_fp_activations_bit_exact_against_fp16_order_emulation(case, table_quant):
    prob, cfg, a, qw, res = _run(*case, options={"table_quant": table_quant})
    assert np.array_equal(res.out, MODEL.expected(prob, cfg, a, qw), equal_nan=True)
    exact = reference.mpgemm(a, qw)
    bound = np.abs(a).sum(axis=1)[:, None] * np.abs(formats.get(qw.fmt).dequantize(qw)).max() + 1e-3
    assert (np.abs(res.out - exact) <= bound * (0.2 if table_quant else 0.02)).all()  # sane, not garbage
    assert res.extra["max_abs_error_vs_exact"] == np.abs(res.out - exact).max()


@settings(max_examples=30, deadline=None)
@given(case=gemms(["int8", "int16", "fp16"]))
def test_functional_kernel_equals_per_cycle_for_any_tiling(case):
    prob, cfg, a, qw, res = _run(*case)
    k_tile = (cfg.tile or (2, 64, 4))[2]
    out, p = lut_mpgemm(a, qw, prob.acts, k_tile=k_tile)
    assert np.array_equal(out, res.out, equal_nan=True)
    np.testing.assert_array_equal(p, res.extra["partial_sums"])


def test_fp32_accumulator_is_at_least_as_accurate_here():
    rng = np.random.default_rng(1)
    m, n, k = 3, 20, 512
    qw = formats.get("int4").quantize(rng.normal(size=(n, k)), None)
    a = rng.normal(size=(m, k)).astype(np.float16).astype(np.float64)
    prob = GemmProblem(m, n, k, "int4", "fp16")
    r16 = MODEL.run(prob, PEConfig(acc="fp16"), "per-cycle", a, qw)
    r32 = MODEL.run(prob, PEConfig(acc="fp32"), "per-cycle", a, qw)
    assert np.array_equal(r32.out, fp_order_emulation(a, qw, 4, "fp32"))
    assert r32.extra["max_abs_error_vs_exact"] < r16.extra["max_abs_error_vs_exact"]


@pytest.mark.parametrize("w", ["int1", "int2", "int4", "int8", "int4_asym", "ternary", "binary"])
@pytest.mark.parametrize("acts", ["int8", "int4", "int16"])
def test_extreme_values(w, acts):
    """Most negative activations, most negative / most positive codes, all-zero groups."""
    rng = np.random.default_rng(7)
    m, n, g, groups = 3, 9, 8, 3
    k = g * groups
    x = rng.normal(size=(n, k))
    x[1] = 0.0  # an all-zero weight row (every group: scale 0)
    x[2, :g] = -5.0  # a group at the most negative level
    qw = formats.get(w).quantize(x, g)
    lo, hi = INT_RANGE[acts]
    a = np.full((m, k), float(lo))
    a[1] = hi
    a[2, g:2 * g] = 0.0  # an all-zero activation group
    prob = GemmProblem(m, n, k, w, acts, g)
    res = MODEL.run(prob, PEConfig(), "per-cycle", a, qw)
    np.testing.assert_array_equal(res.extra["partial_sums"], reference.group_partial_sums(a, qw))
    assert np.array_equal(res.out, reference.mpgemm(a, qw))
    codes = np.zeros((n, k), dtype=np.uint8)  # code 0 everywhere: q' = −(2^b − 1), the most negative
    q0 = type(qw)(qw.fmt, codes, qw.scales, qw.zeros, qw.group_size, qw.axis)
    res0 = MODEL.run(prob, PEConfig(), "per-cycle", a, q0)
    np.testing.assert_array_equal(res0.extra["partial_sums"], reference.group_partial_sums(a, q0))


@pytest.mark.parametrize("w", ["int1", "int2_asym", "int2", "int4", "int4_asym", "binary"])
def test_low_bit_weights_times_int8_equal_integer_matmul_of_levels(w):
    rng = np.random.default_rng(11)
    m, n, k = 5, 70, 37
    qw = formats.get(w).quantize(rng.normal(size=(n, k)), None)  # per channel: one group
    a = rng.integers(-128, 128, size=(m, k))
    res = MODEL.run(GemmProblem(m, n, k, w, "int8"), PEConfig(), "per-cycle", a, qw)
    levels = np.rint(formats.get(w).decode(qw.codes) - qw.expand(qw.zeros)).astype(np.int64)
    np.testing.assert_array_equal(res.extra["partial_sums"][:, :, 0], a.astype(np.int64) @ levels.T)


def test_per_cycle_and_tile_mode_agree_on_200_random_shapes():
    rng = np.random.default_rng(2024)
    for _ in range(200):
        m, n = int(rng.integers(1, 9)), int(rng.integers(1, 200))
        g = int(rng.choice([1, 2, 5, 16, 0]))
        k = g * int(rng.integers(1, 5)) if g else int(rng.integers(1, 60))
        tile = (int(rng.integers(1, 5)), int(rng.integers(1, 70)), int(rng.choice([2, 4, 8])))
        w = str(rng.choice(WEIGHTS))
        acts = str(rng.choice(["int8", "fp16"]))
        prob, cfg, a, qw, res = _run(m, n, k, g or None, w, acts, tile, int(rng.integers(2**31)))
        t = MODEL.run(prob, cfg, "tile")
        assert (res.cycles, res.events, res.utilization) == (t.cycles, t.events, t.utilization), (prob, tile)
        assert res.extra["precompute_cycles"] == t.extra["precompute_cycles"]


def test_cycle_formula_matches_the_contract():
    # one tile, b = 4: b cycles + LUT_OUTPUT_LATENCY + the exposed precompute latency
    r = MODEL.run(GemmProblem(2, 64, 4, "int4", "int8"), PEConfig(), "tile")
    assert r.cycles == 4 + LUT_OUTPUT_LATENCY + PRECOMPUTE_LATENCY == 7
    assert r.utilization == 4 * 2 * 64 * 4 / (512 * 7)
    # T tiles back to back: T·b + 1 (+ precompute): ceil(7/2)·ceil(130/64)·ceil(260/4)·b
    r = MODEL.run(GemmProblem(7, 130, 260, "int2", "int8"), PEConfig(), "tile")
    assert r.cycles == 4 * 3 * 65 * 2 + 1 + 2
    assert r.events["table_writes"] == 7 * 65 * 8  # built once per (row, K-group), reused across n-blocks
    assert r.events["table_reads"] == 7 * 3 * 65 * 8
    assert r.events["weight_bits_read"] == 4 * 130 * 65 * 4 * 2


def test_tile_io_gives_the_rtl_its_exact_planes_and_output():
    rng = np.random.default_rng(5)
    m, n, k, b = 2, 64, 4, 4
    a = rng.integers(-128, 128, size=(m, k))
    a[0] = -128
    codes = rng.integers(0, 1 << b, size=(n, k))
    codes[0] = 0
    psum = rng.integers(-1000, 1000, size=(m, n))
    t = tile_io(a, codes, b, psum)
    assert t.cycles == b + 1 and t.idx.shape == (b, n) and t.neg.shape == (b, n) and t.tables.shape == (m, 8)
    qprime = 2 * codes - (2**b - 1)
    np.testing.assert_array_equal(t.out, psum + a @ qprime.T)  # acc = psum_in + Σ_k a_k q'_k
    # the planes reproduce it with ±S[idx] << i, LSB plane first
    rebuilt = psum.astype(np.float64).copy()
    for i in range(b):
        v = t.tables[:, t.idx[i]]
        rebuilt += np.where(t.neg[i] == 1, -v, v) * 2**i
    np.testing.assert_array_equal(t.out, rebuilt)
    pattern = sum(((codes[:, j] >> 0) & 1) << j for j in range(k))
    idx, neg = invert_index(pattern, k)
    np.testing.assert_array_equal((t.idx[0], t.neg[0]), (idx, neg))


def test_tile_io_fp16_matches_sequential_rounding():
    rng = np.random.default_rng(6)
    a = rng.normal(size=(2, 4)).astype(np.float16).astype(np.float64) * 128  # exact in fp16
    codes = rng.integers(0, 256, size=(8, 4))
    t = tile_io(a, codes, 8, acts="fp16")
    full = []
    for i in range(8):
        v = t.tables[:, t.idx[i]]
        full.append(reference.round_to(np.where(t.neg[i] == 1, -v, v) * 2**i, np.float16))
    np.testing.assert_array_equal(t.out, reference.sequential_sum(np.stack(full, -1), np.float16))


def test_int32_overflow_is_an_error_not_a_wrap():
    m, n, k = 1, 2, 1024
    a = np.full((m, k), -32768.0)
    qw = formats.get("int8").quantize(np.ones((n, k)), None)
    qw = type(qw)(qw.fmt, np.zeros((n, k), dtype=np.uint8), qw.scales, qw.zeros, k, 1)  # q' = −255
    with pytest.raises(AccumulatorOverflow, match="INT32 accumulator overflowed"):
        MODEL.run(GemmProblem(m, n, k, "int8", "int16"), PEConfig(), "per-cycle", a, qw)
    with pytest.raises(AccumulatorOverflow):
        tile_io(np.full((1, 4), -32768), np.zeros((1, 4), dtype=int), 8, np.full((1, 1), 2.0**31 - 1), acts="int16")


@pytest.mark.parametrize("prob,cfg,field", [
    (GemmProblem(2, 2, 8, "fp16", "int8"), PEConfig(), "--weights"),
    (GemmProblem(2, 2, 8, "int4", "fp32"), PEConfig(), "--acts"),  # bf16 is taken (BF16 tables)
    (GemmProblem(2, 2, 8, "int4", "int8"), PEConfig(acc="fp16"), "--acc"),
    (GemmProblem(2, 2, 8, "int4", "fp16"), PEConfig(acc="int32"), "--acc"),
    (GemmProblem(2, 2, 8, "int4", "int8"), PEConfig(tile=(2, 64, 3)), "--tile"),
    (GemmProblem(2, 2, 8, "int4", "int8"), PEConfig(array=(32, 32)), "--array"),
    (GemmProblem(2, 2, 8, "int4", "int8"), PEConfig(dataflow="ws"), "--dataflow"),
    (GemmProblem(2, 2, 8, "int4", "int8", 3), PEConfig(), "--group-size"),
    (GemmProblem(0, 2, 8, "int4", "int8"), PEConfig(), "--m"),
    (GemmProblem(2, 2, 8, "int4", "int8"), PEConfig(options={"table_quant": True}), "--option"),
])
def test_bad_input_names_the_field(prob, cfg, field):
    with pytest.raises(InputError) as err:
        MODEL.run(prob, cfg, "tile")
    assert err.value.field == field and err.value.allowed


def test_weight_error_lists_every_integer_affine_format():
    with pytest.raises(InputError) as err:
        MODEL.check(GemmProblem(2, 2, 8, "nope", "int8"), PEConfig())
    assert set(supported_weight_formats()) >= {"int1", "int2", "int4", "int8", "int4_asym", "binary", "ternary"}
    assert all(name in err.value.allowed for name in supported_weight_formats())


def test_activations_outside_the_format_are_rejected():
    qw = formats.get("int4").quantize(np.ones((2, 8)), None)
    with pytest.raises(InputError, match="int8"):
        MODEL.run(GemmProblem(1, 2, 8, "int4", "int8"), PEConfig(), "per-cycle", np.full((1, 8), 128), qw)
    with pytest.raises(InputError, match="fp16"):
        MODEL.run(GemmProblem(1, 2, 8, "int4", "fp16"), PEConfig(), "per-cycle", np.full((1, 8), 0.1), qw)


def test_as_bits_encodings_for_the_rtl():
    np.testing.assert_array_equal(as_bits([1.0, -2.0], "fp16"), [0x3C00, 0xC000])
    np.testing.assert_array_equal(as_bits([1.0], "fp32"), [0x3F800000])
    np.testing.assert_array_equal(as_bits([-1, 5], "int", 10), [0x3FF, 5])


@pytest.mark.parametrize("acts", ["int4", "int8", "int16"])
@pytest.mark.parametrize("k", [2, 4, 8])
def test_table_entry_bits_is_the_tightest_width_of_the_stored_entries(acts, k):
    """Every activation at an end of its range (the extremes of a linear sum): the tables the precompute unit
    builds fit table_entry_bits signed bits, and one bit fewer does not."""
    import itertools

    from sim.pe._rounding import EXACT_INT
    from sim.pe.lut_tensor_core import table_entry_bits
    from sim.pe.table_precompute import precompute

    lo, hi = INT_RANGE[acts]
    corners = np.array(list(itertools.product((lo, hi), repeat=k)), dtype=np.float64)[:, None, :]
    tables = precompute(corners, 1, EXACT_INT).tables
    w = table_entry_bits(acts, k)
    assert -(1 << (w - 1)) <= tables.min() and tables.max() <= (1 << (w - 1)) - 1
    assert tables.min() < -(1 << (w - 2)) or tables.max() > (1 << (w - 2)) - 1


def test_table_entry_bits_agrees_with_the_rtl_and_the_fp_datapaths():
    from rtl.gateware.params import entry_width
    from sim.pe.lut_tensor_core import table_entry_bits

    assert [table_entry_bits("int8", k) for k in (2, 4, 8)] == [entry_width(8, k) for k in (2, 4, 8)] == [9, 10, 11]
    assert table_entry_bits("fp16", 4) == table_entry_bits("fp8_e4m3", 4) == 16
    assert table_entry_bits("fp16", 4, table_quant=True) == 8


@pytest.mark.parametrize("bits,acts,k,quant,need", [(8, "fp16", 4, False, 16), (9, "int8", 4, False, 10),
                                                    (10, "int8", 8, False, 11), (16, "int16", 4, False, 18),
                                                    (7, "fp16", 4, True, 8)])
def test_too_narrow_entries_name_the_field_and_the_width_needed(bits, acts, k, quant, need):
    from sim.pe.lut_tensor_core import check_entry_bits

    with pytest.raises(InputError) as exc:
        check_entry_bits(bits, acts, k, quant)
    assert exc.value.field == "arch.table_unit.entry_bits" and exc.value.allowed.startswith(f"{need} or more")
    assert str(need) in exc.value.problem
    check_entry_bits(need, acts, k, quant)  # the width itself, and anything wider, is accepted
    check_entry_bits(need + 8, acts, k, quant)


def _unit_reference(tables, packed, shifts, kpg, psum_in):
    """The exact INT32 unit stepped one accumulation at a time: (sums at each group's end, overflowed sums)."""
    m_total, kgroups, _ = tables.shape
    _, n_planes, n_total = packed.shape
    out, overflows = np.empty((m_total, n_total, kgroups // kpg)), 0
    for m in range(m_total):
        for n in range(n_total):
            s = 0.0
            for kg in range(kgroups):
                if kg % kpg == 0:
                    s = psum_in[m, n]
                for i in range(n_planes):
                    w = int(packed[kg, i, n])
                    s += tables[m, kg, w & 0x7F] * (-1.0 if w >> 7 else 1.0) * shifts[i]
                    overflows += not INT32_MIN <= s <= INT32_MAX
                if kg % kpg == kpg - 1:
                    out[m, n, kg // kpg] = s
    return out, overflows


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([1, 2, 3, 8]), st.sampled_from([2**20, 2**26, 2**29]))
def test_exact_unit_counts_every_overflow_the_stepped_sums_have(seed, kpg, scale):
    """The exact INT32 path skips the per-sum overflow test only while a bound rules overflow out: its sums and its
    count of overflowed sums equal those of the sums stepped one by one, with entries small (never overflows),
    near the limit (the bound passes INT32 with or without real overflows) and large."""
    rng = np.random.default_rng(seed)
    m, kgroups, n, planes = 2, 2 * kpg, 5, 3
    tables = rng.integers(-scale, scale + 1, size=(m, kgroups, 4)).astype(np.float64)
    packed = rng.integers(0, 4, size=(kgroups, planes, n)).astype(np.uint8) | (
        rng.integers(0, 2, size=(kgroups, planes, n)).astype(np.uint8) << 7)
    shifts = np.ldexp(1.0, np.arange(planes))
    psum_in = rng.integers(-scale, scale + 1, size=(m, n)).astype(np.float64)
    out = np.empty((m, n, kgroups // kpg))
    overflows = _lut_unit(tables, packed, shifts, kpg, -1, 0, 0, psum_in, out)
    want, want_overflows = _unit_reference(tables, packed, shifts, kpg, psum_in)
    np.testing.assert_array_equal(out, want)
    assert overflows == want_overflows
