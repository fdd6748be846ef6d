"""fp16-mac: the per-cycle array output equals the rounding emulation bit for bit."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sim import formats, pe, reference
from sim.errors import InputError
from sim.pe.base import GemmProblem, PEConfig

FP16 = pe.get("fp16-mac")
DATAFLOWS = ("os", "ws", "is")
INT_FORMATS = ["int2", "int4", "int8", "int3_asym", "int8_asym", "ternary", "binary"]
# float / block formats registered by other modules (present once merged); K below is a multiple of 32
FLOAT_FORMATS = [n for n in formats.names() if n.startswith(("fp", "mx", "nvfp", "bf"))]
FP16_MAX = 65504.0


def _acts(rng, m, k, kind, acts):
    dt = reference.acc_dtype(acts)
    if kind == "extreme":  # largest finite, smallest subnormal, zeros, negatives
        pool = np.array([FP16_MAX, -FP16_MAX, 2.0**-24, -(2.0**-24), 0.0, -0.0, 1.0, -2.0])
        return reference.round_to(rng.choice(pool, size=(m, k)), dt)
    return reference.round_to(rng.normal(size=(m, k)) * 2.0 ** rng.integers(-6, 6, size=(m, k)), dt)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 8), n=st.integers(1, 10), k=st.sampled_from([1, 5, 13, 32, 64]),
       rows=st.integers(1, 6), cols=st.integers(1, 6), dataflow=st.sampled_from(DATAFLOWS),
       name=st.sampled_from(INT_FORMATS + FLOAT_FORMATS), acts=st.sampled_from(["fp16", "bf16"]),
       acc=st.sampled_from(["fp16", "fp32"]), kind=st.sampled_from(["random", "extreme", "zero-weights"]),
       seed=st.integers(0, 2**32 - 1))
@example(m=1, n=7, k=13, rows=4, cols=3, dataflow="ws", name="int4", acts="fp16", acc="fp16", kind="random", seed=0)
@example(m=1, n=5, k=5, rows=2, cols=2, dataflow="os", name="int8", acts="fp16", acc="fp16", kind="extreme", seed=1)
@example(m=3, n=6, k=13, rows=4, cols=4, dataflow="is", name="ternary", acts="bf16", acc="fp32", kind="zero-weights",
         seed=2)
def test_per_cycle_is_bit_exact(m, n, k, rows, cols, dataflow, name, acts, acc, kind, seed):
    if name in FLOAT_FORMATS and k % 32:
        k = 32
    rng = np.random.default_rng(seed)
    a = _acts(rng, m, k, kind, acts)
    w = np.zeros((n, k)) if kind == "zero-weights" else rng.normal(size=(n, k))
    qw = formats.get(name).quantize(w)
    problem = GemmProblem(m, n, k, name, acts)
    config = PEConfig(array=(rows, cols), dataflow=dataflow, acc=acc)
    res = FP16.run(problem, config, "per-cycle", a, qw)
    want = FP16.expected(problem, config, a, qw)
    same = (res.out == want) | (np.isnan(res.out) & np.isnan(want))  # inf − inf is NaN in both
    assert same.all()
    tile = FP16.run(problem, config, "tile")
    assert (res.cycles, res.events) == (tile.cycles, tile.events)
    assert 0 < res.utilization <= 1


def test_acceptance_shape_is_exact_in_every_dataflow():
    rng = np.random.default_rng(0)
    a = reference.round_to(rng.normal(size=(7, 260)), np.float16)
    qw = formats.get("int4").quantize(rng.normal(size=(130, 260)))
    problem = GemmProblem(7, 130, 260, "int4", "fp16")
    for dataflow in DATAFLOWS:
        config = PEConfig(dataflow=dataflow)
        res = FP16.run(problem, config, "per-cycle", a, qw)
        assert np.array_equal(res.out, FP16.expected(problem, config, a, qw))
        assert np.allclose(res.out, reference.mpgemm(a, qw), rtol=0.05, atol=1.0)  # FP16 sums stay close


def test_expected_rounds_in_the_array_order():
    # K = 4, R = 2: OS loses each +1 against 2048 in FP16, WS adds the two k-tiles (2049 → 2048, 2)
    a = np.array([[2048.0, 1.0, 1.0, 1.0]])
    qw = formats.get("int8").quantize(np.ones((1, 4)))  # weight 1.0 exactly (127 · 1/127 in FP16)
    problem = GemmProblem(1, 1, 4, "int8", "fp16")
    w16 = FP16.weights_in_array(qw, "fp16")
    assert w16[0, 0] == 1.0
    outs = {}
    for dataflow in ("os", "ws"):
        config = PEConfig(array=(2, 2), dataflow=dataflow)
        outs[dataflow] = FP16.run(problem, config, "per-cycle", a, qw).out[0, 0]
        assert outs[dataflow] == FP16.expected(problem, config, a, qw)[0, 0]
    assert (outs["os"], outs["ws"]) == (2048.0, 2050.0)


def test_fp16_accumulator_overflows_to_inf_like_ieee():
    a = np.full((1, 4), FP16_MAX)
    qw = formats.get("int8").quantize(np.ones((1, 4)))
    problem = GemmProblem(1, 1, 4, "int8", "fp16")
    config = PEConfig(array=(2, 2))
    out = FP16.run(problem, config, "per-cycle", a, qw).out
    assert np.isinf(out[0, 0]) and out[0, 0] == FP16.expected(problem, config, a, qw)[0, 0]
    wide = PEConfig(array=(2, 2), acc="fp32")
    assert FP16.run(problem, wide, "per-cycle", a, qw).out[0, 0] == 4 * FP16_MAX


def test_dequant_events_follow_weight_traffic():
    problem = GemmProblem(70, 48, 16, "int4", "fp16")
    os_ = FP16.run(problem, PEConfig(dataflow="os"), "tile").events
    ws = FP16.run(problem, PEConfig(dataflow="ws"), "tile").events
    assert os_["dequant_ops"] == 48 * 16 * 3  # OS re-reads the weights for each of ⌈70/32⌉ m-tiles
    assert ws["dequant_ops"] == 48 * 16  # WS loads each weight once
    assert os_["multiplies"] == ws["multiplies"] == 70 * 48 * 16


def test_default_array_is_bitmod_fp16_prefill():
    assert FP16.default_config().array == (32, 24)  # docs/references.md#bitmod


@pytest.mark.parametrize("problem,config,field", [
    (GemmProblem(2, 2, 4, "int4", "int8"), PEConfig(), "--acts"),
    (GemmProblem(2, 2, 4, "int4", "fp16"), PEConfig(acc="int32"), "--acc"),
    (GemmProblem(2, 2, 4, "nope", "fp16"), PEConfig(), "--weights"),
    (GemmProblem(2, 2, 4, "int4", "fp16"), PEConfig(dataflow="xs"), "--dataflow"),
])
def test_rejects_bad_input_naming_the_field(problem, config, field):
    with pytest.raises(InputError) as err:
        FP16.run(problem, config, "tile")
    assert err.value.field == field


def test_rejects_activations_not_in_fp16():
    qw = formats.get("int4").quantize(np.ones((2, 4)))
    with pytest.raises(InputError, match="activations"):
        FP16.run(GemmProblem(1, 2, 4, "int4", "fp16"), PEConfig(), "per-cycle", np.full((1, 4), 0.1), qw)
