import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import formats
from sim.errors import InputError
from sim.formats import QuantizedTensor
from sim.pe import GemmProblem, PEConfig, get
from sim.reference import mpgemm

PE = get("mixpe")
WEIGHTS = ["int2", "int3", "int4", "int8", "int2_asym", "int3_asym", "int4_asym", "int8_asym"]
FP16_MAX = 65504.0


def _acts(rng, acts, m, k, kind):
    if kind == "zero":
        return np.zeros((m, k))
    if acts == "int8":
        pool = np.array([-128, 127, 0, 1, -1]) if kind == "extreme" else np.arange(-128, 128)
        return rng.choice(pool, size=(m, k)).astype(np.float64)
    if kind == "extreme":   # largest FP16, subnormals, zero
        pool = np.array([FP16_MAX, -FP16_MAX, 2.0 ** -24, -(2.0 ** -24), 2.0 ** -14 - 2.0 ** -24, 0.0, -1.5])
        return rng.choice(pool, size=(m, k))
    return (rng.standard_normal((m, k)) * rng.choice([1e-3, 1.0, 300.0])).astype(np.float16).astype(np.float64)


def _weights(rng, name, n, k, group, kind):
    w = rng.standard_normal((n, k)) * np.exp(rng.normal(0, 1, size=(n, 1)))
    if kind == "zero_groups":
        w[:, :group] = 0.0
    q = formats.get(name).quantize(w, group_size=group)
    if kind == "most_negative":   # code 0: the most negative level (sym) / the lowest code (asym)
        q = QuantizedTensor(name, np.zeros_like(q.codes), q.scales, q.zeros, q.group_size, q.axis)
    return q


def _tolerance(a, qw, acts, acc):
    """|MixPE − exact mpGEMM| bound. Each rounding to FP32 errs by ≤ u = 2^−24 relative; a
    sequential sum of n terms errs by ≤ n·u·Σ|terms| (to first order, Higham 2002 §4.2). FP16
    activations: P has g·c terms, A has g, then z·A, P − zA, D·s: ≤ (g·c + 3)·u·Σ|a|(q + z) per
    group times s; INT8: D exact. The output sums G values: ≤ G·u·Σ|V|. Doubled for the
    second-order terms; fp64 output: u = 2^−53."""
    u32 = 2.0 ** -24
    u_acc = u32 if acc == "fp32" else 2.0 ** -53
    g, n_groups = qw.group_size, qw.n_groups
    c = -(-formats.get(qw.fmt).code_bits // 4)
    m, k = a.shape
    mag = np.abs(qw.codes.astype(np.float64)) + np.repeat(np.abs(qw.zeros), g, axis=1)   # (N, K)
    l1 = (np.abs(a)[:, None, :] * mag[None]).reshape(m, -1, n_groups, g).sum(axis=-1) * qw.scales[None]
    inner = (g * c + 3) * u32 if acts == "fp16" else 0.0
    return 2 * ((inner + u_acc * (n_groups + 1)) * l1).sum(axis=-1)


@st.composite
def cases(draw):
    acts = draw(st.sampled_from(["int8", "fp16"]))
    name = draw(st.sampled_from(WEIGHTS))
    group = draw(st.sampled_from([1, 3, 4, 7, 16, 32]))
    k = group * draw(st.integers(1, 3))
    m, n = draw(st.integers(1, 7)), draw(st.integers(1, 9))
    array = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    kind_a = draw(st.sampled_from(["normal", "normal", "extreme", "zero"]))
    kind_w = draw(st.sampled_from(["normal", "normal", "zero_groups", "most_negative"]))
    acc = draw(st.sampled_from(["fp32", "fp64"]))
    return acts, name, group, k, m, n, array, kind_a, kind_w, acc, draw(st.integers(0, 2 ** 31))


@settings(max_examples=80, deadline=None)
@given(case=cases())
def test_per_cycle_is_bit_exact_to_expected_and_close_to_mpgemm(case):
    acts, name, group, k, m, n, array, kind_a, kind_w, acc, seed = case
    rng = np.random.default_rng(seed)
    a = _acts(rng, acts, m, k, kind_a)
    qw = _weights(rng, name, n, k, group, kind_w)
    p, cfg = GemmProblem(m, n, k, name, acts, group), PEConfig(array=array, acc=acc)
    r = PE.run(p, cfg, "per-cycle", a, qw)
    np.testing.assert_array_equal(r.out, PE.expected(p, cfg, a, qw))
    t = PE.run(p, cfg, "tile")
    assert (t.cycles, t.events) == (r.cycles, r.events)
    ref = mpgemm(a, qw)
    if acts == "int8" and acc == "fp64":
        np.testing.assert_array_equal(r.out, ref)   # exact integer group sums, the oracle's epilogue
    else:
        assert (np.abs(r.out - ref) <= _tolerance(a, qw, acts, acc)).all()


@pytest.mark.parametrize("acts,expect", [("int8", 3 * (260 + 64 + 64 - 1)), ("fp16", 5 * (260 + 32 + 32 - 1))])
def test_acceptance_shape_default_arrays_and_hand_counted_cycles(acts, expect):
    # docs/references.md#mixpe: 64×64 array for W4A8, 32×32 for W4A16. M=7, N=130: W4A8 1·3 folds, W4A16 1·5
    rng = np.random.default_rng(1)
    p = GemmProblem(m=7, n=130, k=260, weights="int4", acts=acts)
    a = _acts(rng, acts, 7, 260, "normal")
    qw = formats.get("int4").quantize(rng.standard_normal((130, 260)))
    r = PE.run(p, PEConfig(), "per-cycle", a, qw)
    assert r.cycles == expect
    np.testing.assert_array_equal(r.out, PE.expected(p, PEConfig(), a, qw))


def test_int8_weights_take_two_passes():
    r = PE.run(GemmProblem(4, 4, 64, "int8", "int8", 16), PEConfig(array=(4, 4)), "tile")
    assert r.cycles == 64 * 2 + 4 + 4 - 1


def test_w4a16_rounds_the_group_sum_to_fp32():
    # 257 · 65504 = 16,834,528 ≥ 2^24, where FP32 steps by 2: each following + 1 is a tie and
    # rounds to even (back down), so the FP32 group register ends at 16,834,528; exact: + 2.
    # Weights: int2_asym code 1, zero 0, scale 1 (one group of K = 259).
    a = np.array([[65504.0] * 257 + [1.0, 1.0]])
    qw = QuantizedTensor("int2_asym", np.ones((1, 259), np.uint8), np.array([[1.0]]), np.array([[0.0]]), 259, 1)
    p, cfg = GemmProblem(1, 1, 259, "int2_asym", "fp16", 259), PEConfig(array=(1, 1))
    out = PE.run(p, cfg, "per-cycle", a, qw).out[0, 0]
    assert out == 16_834_528 == PE.expected(p, cfg, a, qw)[0, 0]
    assert mpgemm(a, qw)[0, 0] == 16_834_530


def test_per_cycle_and_tile_cycles_agree_on_200_random_shapes():
    rng = np.random.default_rng(11)
    for _ in range(200):
        acts = ["int8", "fp16"][rng.integers(2)]
        name = WEIGHTS[rng.integers(len(WEIGHTS))]
        group = int(rng.choice([1, 2, 5, 8, 13]))
        k = group * int(rng.integers(1, 4))
        m, n = int(rng.integers(1, 12)), int(rng.integers(1, 12))
        cfg = PEConfig(array=(int(rng.integers(1, 7)), int(rng.integers(1, 7))))
        p = GemmProblem(m, n, k, name, acts, group)
        r = PE.run(p, cfg, "per-cycle", _acts(rng, acts, m, k, "normal"), _weights(rng, name, n, k, group, "normal"))
        t = PE.run(p, cfg, "tile")
        assert (r.cycles, r.events) == (t.cycles, t.events)
        assert 0 < t.utilization <= 1


@pytest.mark.parametrize("field,problem,config", [
    ("--acts", GemmProblem(2, 2, 8, "int4", "fp8_e4m3"), PEConfig()),
    ("--weights", GemmProblem(2, 2, 8, "bitmod_fp4", "int8"), PEConfig()),
    ("--acc", GemmProblem(2, 2, 8, "int4", "int8"), PEConfig(acc="bf16")),
    ("--dataflow", GemmProblem(2, 2, 8, "int4", "int8"), PEConfig(dataflow="ws")),
    ("--array", GemmProblem(2, 2, 8, "int4", "int8"), PEConfig(array=(0, 4))),
])
def test_bad_input_names_the_field(field, problem, config):
    with pytest.raises(InputError) as e:
        PE.check(problem, config)
    assert e.value.field == field
    if field == "--weights":
        assert "int4_asym" in str(e.value)


def test_int8_activations_must_be_int8_values():
    p = GemmProblem(1, 1, 4, "int4", "int8", 4)
    qw = formats.get("int4").quantize(np.ones((1, 4)), group_size=4)
    for bad in (np.full((1, 4), 0.5), np.full((1, 4), 200.0)):
        with pytest.raises(InputError, match="--acts"):
            PE.run(p, PEConfig(), "per-cycle", bad, qw)
