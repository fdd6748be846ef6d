import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import formats
from sim.errors import InputError
from sim.formats import QuantizedTensor
from sim.pe import GemmProblem, PEConfig, get
from sim.pe.bitmod_pe import _term, _terms_booth, _terms_lod
from sim.reference import mpgemm, weight_levels

PE = get("bitmod")
WEIGHTS = ["bitmod_fp3", "bitmod_fp4", "int4", "int6", "int8"]
FP16_MAX = 65504.0


def _acts(rng, m, k, kind="normal"):
    if kind == "normal":
        a = rng.standard_normal((m, k)) * rng.choice([1e-3, 1.0, 100.0])
    elif kind == "extreme":   # largest FP16, subnormals, zeros, signed
        pool = np.array([FP16_MAX, -FP16_MAX, 2.0 ** -24, -(2.0 ** -24), 2.0 ** -14 - 2.0 ** -24, 0.0, 1.0, -3.0])
        a = rng.choice(pool, size=(m, k))
    else:
        a = np.zeros((m, k))
    return a.astype(np.float16).astype(np.float64)


def _weights(rng, name, n, k, group, kind="normal"):
    w = rng.standard_normal((n, k)) * np.exp(rng.normal(0, 1, size=(n, 1)))
    if kind == "zero_groups":
        w[:, :group] = 0.0
    q = formats.get(name).quantize(w, group_size=group)
    if kind == "most_negative":   # the most negative code / special value everywhere
        f = formats.get(name)
        if name.startswith("bitmod"):
            tags = (q.tags & 0xFC) | 3                    # EA-: the special value is the most negative
            codes = np.full_like(q.codes, f.neg_zero_code)
            q = QuantizedTensor(name, codes, q.scales, None, q.group_size, q.axis, tags.astype(np.uint8))
        else:
            q = QuantizedTensor(name, np.zeros_like(q.codes), q.scales, q.zeros, q.group_size, q.axis)
    return q


def _problem(m, n, k, name, group):
    return GemmProblem(m=m, n=n, k=k, weights=name, acts="fp16", group_size=group)


def _tolerance(a, qw, pe_extra):
    """Bound on |BitMoD PE − exact mpGEMM| from the datapath of sim.pe.bitmod_pe, per cycle:
    at most 3 lanes truncated below 2^(X−3) ≤ 2^−13 · (largest lane product) for normal
    activations, or below 2^(−24 + 7 − 3) for subnormal ones (terms ≤ 2^7); the accumulator
    truncates its two addends and may drop one bit on normalising, each below
    max(2^−13 · largest product so far, 2^−21 · |R|) ≤ 2^−13 · pmax + 2^−21 · L1. Per group:
    the 21-bit dequant cut, 2^−19 of |D|; the FP32 output adds: 2^−23 of each partial."""
    lv = np.abs(weight_levels(qw))
    n_terms = pe_extra["terms_per_weight"]
    g = qw.group_size
    cyc = pe_extra["group_cycles"]
    s = np.asarray(qw.scales, dtype=np.float64) * qw.tensor_scale
    m, k = a.shape
    prod = np.abs(a)[:, None, :] * (2 * lv + 1)[None, :, :]          # ≥ every lane product |a · term|
    pmax = prod.reshape(m, lv.shape[0], -1, g).max(axis=-1)          # (M, N, G)
    l1 = prod.reshape(m, lv.shape[0], -1, g).sum(axis=-1)
    per_group = s[None] * (cyc * (6 * 2.0 ** -13 * pmax + 3 * 2.0 ** -21 * l1 + 3 * 2.0 ** -20)
                           + 2.0 ** -19 * l1)
    total = per_group.sum(axis=-1)
    assert n_terms >= 1
    return total * (1 + 2.0 ** -10) + 2.0 ** -22 * (s[None] * l1).sum(axis=-1) * qw.n_groups


@st.composite
def cases(draw):
    name = draw(st.sampled_from(WEIGHTS))
    group = draw(st.sampled_from([3, 4, 5, 7, 8, 20, 128]))
    groups = draw(st.integers(1, 3))
    m = draw(st.integers(1, 6))
    n = draw(st.integers(1, 12))
    rows, cols = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    kind_a = draw(st.sampled_from(["normal", "normal", "extreme", "zero"]))
    kind_w = draw(st.sampled_from(["normal", "normal", "zero_groups", "most_negative"]))
    seed = draw(st.integers(0, 2 ** 31))
    return name, group, groups * group, m, n, (rows, cols), kind_a, kind_w, seed


@settings(max_examples=60, deadline=None)
@given(case=cases())
def test_per_cycle_is_bit_exact_to_expected_and_close_to_mpgemm(case):
    name, group, k, m, n, array, kind_a, kind_w, seed = case
    rng = np.random.default_rng(seed)
    a = _acts(rng, m, k, kind_a)
    qw = _weights(rng, name, n, k, group, kind_w)
    p, cfg = _problem(m, n, k, name, group), PEConfig(array=array)
    r = PE.run(p, cfg, "per-cycle", a, qw)
    e = PE.expected(p, cfg, a, qw)
    np.testing.assert_array_equal(r.out, e)
    t = PE.run(p, cfg, "tile")
    assert (t.cycles, t.events) == (r.cycles, r.events)
    ref = mpgemm(a, qw)
    tol = _tolerance(a, qw, r.extra)
    assert (np.abs(r.out - ref) <= tol).all(), np.max(np.abs(r.out - ref) - tol)


def test_acceptance_shape_with_default_group_falls_back_to_per_channel():
    rng = np.random.default_rng(7)
    p = GemmProblem(m=7, n=130, k=260, weights="bitmod_fp4", acts="fp16")
    a = _acts(rng, 7, 260)
    qw = formats.get("bitmod_fp4").quantize(rng.standard_normal((130, 260)))
    assert qw.group_size == 260
    r = PE.run(p, PEConfig(), "per-cycle", a, qw)
    np.testing.assert_array_equal(r.out, PE.expected(p, PEConfig(), a, qw))
    # 32×32 array: ceil(130/32) · ceil(7/32) = 5 folds; group 260: 65 steps × 2 terms + 6 dequant bits
    assert r.cycles == 5 * (65 * 2 + 6)


def test_fold_cycles_hand_counted():
    # int8, groups of 4: a = 1 step × 4 terms = 4 cycles < L = 11 FP16 significand bits, so the
    # dequant unit paces the groups: 4 + 31 · 11 + 11 = 356 cycles for K = 128 (one fold)
    assert PE.run(GemmProblem(1, 1, 128, "int8", "fp16", 4), PEConfig(), "tile").cycles == 356
    # BitMoD FP4, group 128: 32 steps × 2 terms = 64 per group, 6-bit scale hidden: 64·2 + 6
    r = PE.run(GemmProblem(33, 65, 256, "bitmod_fp4", "fp16", 128), PEConfig(), "tile")
    assert r.cycles == 3 * 2 * (64 * 2 + 6)    # ceil(65/32) row folds × ceil(33/32) column folds


def test_truncating_exp_match_hand_example():
    # lanes: 1.0 and 3·2^-14 (FP16 significand 1536 at LSB 2^-24·2 = 2^-23) times weight level 1,
    # INT8 scale 1.0: aligned to X = -10 with 3 guard bits, 1536 · 2^(-23+10+3) = 1.5 → 1.
    a = np.array([[1.0, 3 * 2.0 ** -14, 0.0, 0.0]])
    qw = QuantizedTensor("int8", np.array([[129, 129, 128, 128]], np.uint8), np.array([[1.0]]),
                         np.array([[128.0]]), 4, 1)
    p = GemmProblem(1, 1, 4, "int8", "fp16", 4)
    out = PE.run(p, PEConfig(), "per-cycle", a, qw).out
    assert out[0, 0] == 1 + 2.0 ** -13 == PE.expected(p, PEConfig(), a, qw)[0, 0]
    assert mpgemm(a, qw)[0, 0] == 1 + 1.5 * 2.0 ** -13


def test_term_decoders_reconstruct_every_level():
    ints = np.arange(-128, 128, dtype=np.float64)[None]
    for bits, t in [(4, 2), (6, 3), (8, 4)]:
        lv = ints[:, (ints[0] >= -(1 << (bits - 1))) & (ints[0] < (1 << (bits - 1)))]
        terms = _terms_booth(lv, t)
        np.testing.assert_array_equal(terms.sum(axis=0), lv)
        for w in lv[0].astype(int):
            got = sum(s * 2.0 ** e for s, e in (_term(int(w), i, True, t) for i in range(t)))
            assert got == w
    for name in ("bitmod_fp3", "bitmod_fp4"):
        vals = np.unique(formats.get(name).tables)[None]
        np.testing.assert_array_equal(_terms_lod(vals, 2).sum(axis=0), vals)
        for w in vals[0].astype(int):
            assert sum(s * 2.0 ** e for s, e in (_term(int(w), i, False, 2) for i in range(2))) == w


def test_per_cycle_and_tile_cycles_agree_on_200_random_shapes():
    rng = np.random.default_rng(2026)
    for _ in range(200):
        name = WEIGHTS[rng.integers(len(WEIGHTS))]
        group = int(rng.choice([1, 2, 3, 4, 6, 9, 16, 33]))
        k = group * int(rng.integers(1, 4))
        m, n = int(rng.integers(1, 10)), int(rng.integers(1, 20))
        cfg = PEConfig(array=(int(rng.integers(1, 9)), int(rng.integers(1, 9))))
        p = _problem(m, n, k, name, group)
        r = PE.run(p, cfg, "per-cycle", _acts(rng, m, k), _weights(rng, name, n, k, group))
        t = PE.run(p, cfg, "tile")
        assert (r.cycles, r.events) == (t.cycles, t.events)
        assert 0 < t.utilization <= 1


@pytest.mark.parametrize("field,problem", [
    ("--acts", GemmProblem(2, 2, 8, "bitmod_fp4", "int8")),
    ("--weights", GemmProblem(2, 2, 8, "int3", "fp16")),
    ("--weights", GemmProblem(2, 2, 8, "int4_asym", "fp16")),
    ("--m", GemmProblem(0, 2, 8, "int4", "fp16")),
    ("--group-size", GemmProblem(2, 2, 8, "int4", "fp16", 3)),
])
def test_bad_input_names_the_field(field, problem):
    with pytest.raises(InputError) as e:
        PE.check(problem, PEConfig())
    assert e.value.field == field
    if field == "--weights":
        assert "bitmod_fp3" in str(e.value) and "int8" in str(e.value)


def test_activations_must_be_fp16_values():
    p = GemmProblem(1, 1, 4, "int4", "fp16", 4)
    qw = formats.get("int4").quantize(np.ones((1, 4)), group_size=4)
    with pytest.raises(InputError, match="--acts"):
        PE.run(p, PEConfig(), "per-cycle", np.full((1, 4), 0.1), qw)


@pytest.mark.parametrize("weights,w_prec", [("bitmod_fp4", 4.0625), ("bitmod_fp3", 3.0625), ("int6", 6.0625)])
@pytest.mark.parametrize("m,n,k", [(256, 4096, 4096), (1, 11008, 4096), (37, 100, 384)])
def test_tile_cycles_are_bitmods_compute_rule_plus_the_exposed_dequant(weights, w_prec, m, n, k):
    # docs/references.md#bitmod (bitmod_sim accelerator.py): compute = ceil(cin/dp)·ceil(cout/rows)·ceil(T/cols)·lat,
    # dp = 4, lat = ceil(floor(w_prec)/2), 32×32 prefill array. Our fold adds the last group's
    # dequant (6 cycles for the BitMoD group scale, 11 for an FP16 scale's significand).
    lat = -(-int(w_prec) // 2)
    folds = -(-n // 32) * -(-m // 32)
    theirs = -(-k // 4) * -(-n // 32) * -(-m // 32) * lat
    dequant = 6 if weights.startswith("bitmod") else 11
    r = PE.run(GemmProblem(m, n, k, weights, "fp16", 128), PEConfig(), "tile")
    assert r.cycles == theirs + folds * dequant
