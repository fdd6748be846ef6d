import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import formats, pe, reference
from sim.errors import InputError
from sim.pe import GemmProblem, PEConfig

COMBOS = {
    "ant": [("flint4", "int8"), ("int4", "int8"), ("int8", "int8"), ("flint4", "int4"), ("int4", "int16")],
    "olive": [("olive4", "int8"), ("olive4", "int4"), ("olive4", "int16")],
    "bitfusion": [("int2", "int8"), ("int4", "int8"), ("int8", "int8"), ("int4", "int4"), ("int8", "int16")],
}
ALL = [(name, w, a) for name, combos in COMBOS.items() for w, a in combos]
ACT_BITS = {"int4": 4, "int8": 8, "int16": 16}
MOST_NEGATIVE = {"flint4": 0b1111, "int2": 0, "int4": 0, "int8": 0}  # -16 (x4 units), -2^(b-1)


def make_operands(rng, m, n, k, g, weights, acts, extremes=True):
    """Random activations and weights, with extreme activations, the most negative weight code,
    an OliVe -96 outlier pair and an all-zero weight group mixed in."""
    bits = ACT_BITS[acts]
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    a = rng.integers(lo, hi + 1, size=(m, k))
    x = rng.standard_t(3, size=(n, k))
    if extremes:
        a[rng.random(a.shape) < 0.2] = lo
        a[rng.random(a.shape) < 0.1] = hi
        x[rng.integers(n), :g] = 0.0  # an all-zero group (scale 0)
    qw = formats.get(weights).quantize(x, group_size=g)
    if extremes:
        row, col = rng.integers(n), rng.integers(k // 2) * 2
        if weights == "olive4":
            qw.codes[row, col], qw.codes[row, col + 1] = 0b1111, 0b1000  # outlier -96, victim
        else:
            qw.codes[row, col] = MOST_NEGATIVE[weights]
    return a, qw


@st.composite
def problems(draw):
    name, weights, acts = draw(st.sampled_from(ALL))
    m = draw(st.integers(1, 5))
    n = draw(st.integers(1, 9))
    g = draw(st.sampled_from([2, 4, 6, 16]))
    k = g * draw(st.integers(1, 3))
    rows, cols = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    return name, GemmProblem(m, n, k, weights, acts, g), PEConfig(array=(rows, cols)), seed


@settings(max_examples=120, deadline=None)
@given(case=problems())
def test_per_cycle_output_is_bit_exact(case):
    name, problem, config, seed = case
    model = pe.get(name)
    a, qw = make_operands(np.random.default_rng(seed), problem.m, problem.n, problem.k, problem.group_size,
                          problem.weights, problem.acts)
    res = model.run(problem, config, "per-cycle", a, qw)
    np.testing.assert_array_equal(res.out, model.expected(problem, config, a, qw))
    np.testing.assert_array_equal(res.out, reference.mpgemm(a, qw))
    np.testing.assert_allclose(res.out, reference.dequant_matmul(a, qw), rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("name", sorted(COMBOS))
def test_per_cycle_and_tile_agree_on_200_random_shapes(name):
    model = pe.get(name)
    rng = np.random.default_rng(sum(map(ord, name)))
    for _ in range(200):
        weights, acts = COMBOS[name][rng.integers(len(COMBOS[name]))]
        g = int(rng.choice([2, 4, 6, 8, 16]))
        problem = GemmProblem(int(rng.integers(1, 7)), int(rng.integers(1, 11)), g * int(rng.integers(1, 4)),
                              weights, acts, g)
        config = PEConfig(array=(int(rng.integers(1, 6)), int(rng.integers(1, 6))))
        a, qw = make_operands(rng, problem.m, problem.n, problem.k, g, weights, acts, extremes=False)
        cyc = model.run(problem, config, "per-cycle", a, qw)
        tile = model.run(problem, config, "tile")
        assert (cyc.cycles, cyc.events) == (tile.cycles, tile.events), (problem, config)
        assert tile.out is None and 0 < tile.utilization <= 1
        np.testing.assert_array_equal(cyc.out, reference.mpgemm(a, qw))


@pytest.mark.parametrize("name,weights,acts", [(n, *c[0]) for n, c in COMBOS.items()])
def test_decode_shape_m1_on_the_default_array(name, weights, acts):
    # M = 1, N and K not multiples of the array, per-channel groups (the formats' default)
    model = pe.get(name)
    g = 202
    problem = GemmProblem(1, 45, g, weights, acts, None)
    a, qw = make_operands(np.random.default_rng(7), 1, 45, g, g, weights, acts)
    res = model.run(problem, PEConfig(), "per-cycle", a, qw)
    np.testing.assert_array_equal(res.out, reference.mpgemm(a, qw))
    assert res.cycles == model.run(problem, PEConfig(), "tile").cycles


def test_default_arrays():
    # docs/references.md#bitmod: BitMoD's iso-area prefill arrays for ANT (32x32) and OliVe (36x32)
    assert pe.get("ant").default_config().array == (32, 32)
    assert pe.get("olive").default_config().array == (36, 32)
    assert pe.get("bitfusion").default_config().array == (16, 16)


@pytest.mark.parametrize("r,c,m,n,k,scalesim", [(32, 32, 64, 64, 64, 503), (8, 8, 16, 24, 30, None)])
def test_full_folds_match_scalesim_output_stationary(r, c, m, n, k, scalesim):
    # docs/references.md#peer-tools: SCALE-Sim OS = folds * (R + C + K - 2) - 1 (0-based); 32x32, 64^3 -> 503.
    # Our count is 1-based and equals it + 1 when every fold fills the array (int8 x int8: 1 step per k).
    res = pe.get("ant").run(GemmProblem(m, n, k, "int4", "int8", None), PEConfig(array=(r, c)), "tile")
    folds = math.ceil(m / c) * math.ceil(n / r)
    assert res.cycles == folds * (r + c + k - 2)
    if scalesim is not None:
        assert res.cycles == scalesim + 1


@pytest.mark.parametrize("weights,acts,cycles", [
    ("int8", "int8", 10),    # 16 bricks per product: 1 product per cycle
    ("int4", "int8", 5),     # 8 bricks: 2 products per cycle
    ("int4", "int4", 3),     # 4 bricks: 4 per cycle -> ceil(10 / 4)
    ("int2", "int4", 2),     # 2 bricks: 8 per cycle -> ceil(10 / 8)
    ("int8", "int16", 20),   # 32 bricks: 2 cycles per product
])
def test_bitfusion_brick_decomposition_on_one_unit(weights, acts, cycles):
    # one Fusion Unit (1x1 array), one output, K = 10 in one group: the fold is exactly its steps
    model = pe.get("bitfusion")
    problem = GemmProblem(1, 1, 10, weights, acts, None)
    assert model.run(problem, PEConfig(array=(1, 1)), "tile").cycles == cycles
    a, qw = make_operands(np.random.default_rng(0), 1, 1, 10, 10, weights, acts, extremes=False)
    res = model.run(problem, PEConfig(array=(1, 1)), "per-cycle", a, qw)
    assert res.cycles == cycles
    assert res.events["multiplies"] == 10 * (int(weights[3:]) // 2) * (ACT_BITS[acts] // 2)


def test_ant_int8_weights_take_two_passes():
    model = pe.get("ant")
    cfg = PEConfig(array=(1, 1))
    four = model.run(GemmProblem(1, 1, 12, "int4", "int8", None), cfg, "tile").cycles
    eight = model.run(GemmProblem(1, 1, 12, "int8", "int8", None), cfg, "tile").cycles
    sixteen = model.run(GemmProblem(1, 1, 12, "int8", "int16", None), cfg, "tile").cycles
    assert (four, eight, sixteen) == (12, 24, 48)


@pytest.mark.parametrize("name,problem,field", [
    ("ant", GemmProblem(2, 2, 8, "nf4", "int8"), "--weights"),
    ("ant", GemmProblem(2, 2, 8, "flint4", "fp16"), "--acts"),
    ("olive", GemmProblem(2, 2, 8, "int4", "int8"), "--weights"),
    ("olive", GemmProblem(2, 2, 6, "olive4", "int8", 3), "--group-size"),
    ("bitfusion", GemmProblem(2, 2, 8, "int3", "int8"), "--weights"),
    ("bitfusion", GemmProblem(2, 2, 8, "int4", "int4", 3), "--group-size"),
])
def test_unsupported_inputs_name_the_field_and_allowed_values(name, problem, field):
    with pytest.raises(InputError, match=f"^{field}: .*allowed|^{field}: ") as err:
        pe.get(name).run(problem, PEConfig(), "tile")
    assert err.value.field == field


def test_unsupported_weights_list_the_allowed_formats():
    with pytest.raises(InputError, match=r"allowed: flint4, int4, int8"):
        pe.get("ant").check(GemmProblem(2, 2, 8, "any4", "int8"), PEConfig())


def test_out_of_range_activations_are_rejected():
    model = pe.get("ant")
    problem = GemmProblem(1, 2, 8, "int4", "int4")
    a, qw = make_operands(np.random.default_rng(0), 1, 2, 8, 8, "int4", "int4", extremes=False)
    a[0, 0] = 8  # int4 holds -8..7
    with pytest.raises(InputError, match="^a: "):
        model.run(problem, PEConfig(), "per-cycle", a, qw)
