"""The shared systolic array model and the int8-systolic PE: bit-exactness, timing, golden numbers."""

import dataclasses
import importlib.util

import ml_dtypes
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sim import formats, pe, reference
from sim.errors import InputError
from sim.pe import systolic_array as sa
from sim.pe.base import GemmProblem, PEConfig

INT8 = pe.get("int8-systolic")
DATAFLOWS = ("os", "ws", "is")


# --- the kernel's rounding -------------------------------------------------------------------

def test_kernel_rounding_matches_ieee_casts():
    rng = np.random.default_rng(1)
    x = rng.normal(size=5000) * 10.0 ** rng.integers(-9, 7, 5000)
    edges = [65504.0, 65519.99, 65520.0, -65520.0, 2.0**-24, 1.5 * 2**-24, 2.5 * 2**-24, 2.0**-26, -0.0, 1e-10]
    x = np.concatenate([x, edges])
    for mode, dt in ((1, np.float16), (3, np.float32)):
        with np.errstate(over="ignore"):
            want = x.astype(dt).astype(np.float64)
        got = np.array([sa._round(v, mode) for v in x])
        np.testing.assert_array_equal(got, want)
    # ml_dtypes casts float64 → bfloat16 through float32 (double rounding), so compare on
    # float32 inputs, where its cast is exact RNE.
    x32 = x.astype(np.float32).astype(np.float64)
    got = np.array([sa._round(v, 2) for v in x32])
    np.testing.assert_array_equal(got, x32.astype(ml_dtypes.bfloat16).astype(np.float64))


# --- the array: exact sums, per-cycle vs closed-form timing -----------------------------------

def _random_shape(rng):
    m, n = int(rng.integers(1, 13)), int(rng.integers(1, 13))
    seg = int(rng.integers(1, 14))
    k = seg * int(rng.integers(1, 4))
    return m, n, k, seg, int(rng.integers(1, 7)), int(rng.integers(1, 7))


@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_per_cycle_equals_tile_timing_on_random_shapes(dataflow):
    rng = np.random.default_rng({"os": 11, "ws": 12, "is": 13}[dataflow])
    for _ in range(200):
        m, n, k, seg, r, c = _random_shape(rng)
        a = rng.integers(-128, 128, size=(m, k)).astype(np.float64)
        w = rng.integers(-128, 128, size=(n, k)).astype(np.float64)
        out, cycles, events, hazards = sa.per_cycle(dataflow, a, w, seg, r, c)
        want_cycles, want_events = sa.tile_timing(dataflow, m, n, k, seg, r, c)
        shape = (dataflow, m, n, k, seg, r, c)
        assert hazards == 0, shape
        assert cycles == want_cycles, shape
        assert events == want_events, shape
        ref = np.einsum("mgk,ngk->mng", a.reshape(m, k // seg, seg), w.reshape(n, k // seg, seg))
        np.testing.assert_array_equal(out, ref)
        assert 0 < sa.utilization(m, n, k, r, c, cycles) <= 1


@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_one_cycle_shorter_period_is_a_structural_hazard(dataflow):
    # the overlapped period max(stream, R) is the shortest legal one
    rng = np.random.default_rng(5)
    for m, n, k, seg, r, c in [(6, 5, 8, 4, 3, 2), (2, 3, 12, 12, 5, 2), (9, 9, 2, 1, 4, 4)]:
        plan = sa.plan(dataflow, m, n, k, seg, r, c)
        assert plan.folds > 1 and plan.period > 1
        a = rng.integers(-8, 8, size=(m, k)).astype(np.float64)
        w = rng.integers(-8, 8, size=(n, k)).astype(np.float64)
        assert sa.per_cycle(dataflow, a, w, seg, r, c, period=plan.period - 1)[3] > 0


def test_one_fold_fill_and_drain():
    # one fold, R=C=4, stream 5: OS = 5 + 2·4 + 4 − 1; WS = 1 + (4 − 1) + (4 − 1) + (5 − 1) + 1 + 1
    assert sa.tile_timing("os", 4, 4, 5, 5, 4, 4)[0] == 16
    assert sa.tile_timing("ws", 5, 4, 4, 4, 4, 4)[0] == 13
    assert sa.tile_timing("is", 4, 5, 4, 4, 4, 4)[0] == 13


def test_fp_accumulation_follows_the_dataflow_order():
    # K = 4 on R = 2 rows: OS adds sequentially, WS adds two k-tiles of two in the output buffer
    a = np.array([[2048.0, 1.0, 1.0, 1.0]])
    w = np.ones((1, 4))
    os_out = sa.per_cycle("os", a, w, 4, 2, 2, prod="fp16", acc="fp16")[0]
    ws_out = sa.per_cycle("ws", a, w, 4, 2, 2, prod="fp16", acc="fp16")[0]
    assert os_out[0, 0, 0] == 2048.0  # ((2048 + 1) + 1) + 1 loses every 1
    assert ws_out[0, 0, 0] == 2050.0  # (2048 + 1) + (1 + 1) keeps the pair


# --- SCALE-Sim compatibility mode ---------------------------------------------------------------

# Source: docs/references.md#peer-tools — SCALE-Sim 3.0.0 (pip `scalesim`), measured by running it; M, N, K of a
# GEMM M×K · K×N on an R×C array.
SCALESIM_GOLDEN = [
    ((32, 32), (64, 64, 64), "os", 503),
    ((32, 32), (64, 64, 64), "ws", 631),
    ((32, 32), (64, 64, 64), "is", 631),
    ((8, 8), (20, 12, 30), "os", 263),
    ((8, 8), (20, 12, 30), "ws", 335),
    ((8, 8), (20, 12, 30), "is", 407),
    ((16, 8), (100, 24, 40), "os", 1301),
    ((16, 8), (100, 24, 40), "ws", 1241),
    ((16, 8), (100, 24, 40), "is", 2417),
    ((32, 32), (512, 512, 512), "os", 146_943),
    ((32, 32), (512, 512, 512), "ws", 155_135),
]


@pytest.mark.parametrize("array,mnk,dataflow,cycles", SCALESIM_GOLDEN)
def test_scalesim_mode_reproduces_measured_cycles(array, mnk, dataflow, cycles):
    m, n, k = mnk
    res = INT8.run(GemmProblem(m, n, k, "int8", "int8"), PEConfig(array=array, dataflow=dataflow), "scalesim")
    assert res.cycles == cycles
    assert res.utilization == pytest.approx(m * n * k / (array[0] * array[1] * cycles))
    assert 0 < res.utilization <= 1
    assert res.out is None


def _peer_total_cycles(sim, run_dir):
    """Total cycles of the single layer: the simulator object's field, else COMPUTE_REPORT.csv."""
    layer = sim.runner.single_layer_sim_object_list[0]
    if hasattr(layer, "total_cycles"):
        return int(layer.total_cycles)
    with open(run_dir / "COMPUTE_REPORT.csv") as f:
        header, row = ([c.strip() for c in line.split(",")] for line in f.readlines()[:2])
    return int(float(row[next(i for i, c in enumerate(header) if c.startswith("Total Cycles"))]))


@pytest.mark.peer
@pytest.mark.skipif(importlib.util.find_spec("scalesim") is None, reason="scalesim (SCALE-Sim 3.0.0) not importable")
@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_scalesim_formulas_match_the_peer_tool(dataflow, tmp_path):
    from scalesim.scale_sim import scalesim

    rng = np.random.default_rng(3)
    for case in range(3):
        r, c = int(rng.integers(2, 9)), int(rng.integers(2, 9))
        m, n, k = (int(v) for v in rng.integers(1, 40, size=3))
        run = f"lutsim_{dataflow}_{case}"
        cfg = tmp_path / f"{run}.cfg"
        cfg.write_text(
            f"[general]\nrun_name = {run}\n\n[architecture_presets]\nArrayHeight: {r}\nArrayWidth: {c}\n"
            "IfmapSramSzkB: 1024\nFilterSramSzkB: 1024\nOfmapSramSzkB: 1024\nIfmapOffset: 0\n"
            "FilterOffset: 10000000\nOfmapOffset: 20000000\nBandwidth: 10\n"
            f"Dataflow: {dataflow}\nMemoryBanks: 1\nReadRequestBuffer: 32\nWriteRequestBuffer: 32\n\n"
            "[layout]\nIfmapCustomLayout: False\nIfmapSRAMBankBandwidth: 10\nIfmapSRAMBankNum: 10\n"
            "IfmapSRAMBankPort: 2\nFilterCustomLayout: False\nFilterSRAMBankBandwidth: 10\n"
            "FilterSRAMBankNum: 10\nFilterSRAMBankPort: 2\n\n"
            "[sparsity]\nSparsitySupport: false\nSparseRep: ellpack_block\nOptimizedMapping: false\n"
            "BlockSize: 8\nRandomNumberGeneratorSeed: 40\n\n"
            "[run_presets]\nInterfaceBandwidth: CALC\nUseRamulatorTrace: False\n")
        topo = tmp_path / f"{run}.csv"
        topo.write_text(f"Layer, M, N, K,\ngemm, {m}, {n}, {k},\n")
        layout = tmp_path / "layout.csv"  # SCALE-Sim 3.0.0 reads a layout file even with layouts off
        layout.write_text("Layer name,\n")
        sim = scalesim(save_disk_space=True, verbose=False, config=str(cfg), topology=str(topo),
                       layout=str(layout), input_type_gemm=True)
        sim.run_scale(top_path=str(tmp_path))
        peer = _peer_total_cycles(sim, tmp_path / run)
        assert sa.scalesim_cycles(dataflow, m, n, k, r, c) == peer, (dataflow, r, c, m, n, k)


# --- int8-systolic: bit-exact per-cycle runs ------------------------------------------------------

def _int8_case(rng, m, n, groups, g, name, extreme):
    k = groups * g
    a = rng.integers(-128, 128, size=(m, k))
    w = rng.normal(size=(n, k))
    if extreme == "zero-group":
        w[:, :g] = 0.0  # an all-zero group: zero scale, codes at the zero point
    qw = formats.get(name).quantize(w, group_size=g)
    if extreme == "extreme-codes":  # −128 activations against the most negative and largest codes
        a[:] = -128
        top = 2 if name == "ternary" else (1 << formats.get(name).code_bits) - 1
        codes = rng.choice(np.array([0, top], dtype=qw.codes.dtype), size=qw.codes.shape)
        codes.flat[0] = 0
        qw = dataclasses.replace(qw, codes=codes)
    return k, a, qw


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 9), n=st.integers(1, 11), groups=st.integers(1, 3), g=st.sampled_from([1, 3, 8, 13]),
       rows=st.integers(1, 5), cols=st.integers(1, 5), dataflow=st.sampled_from(DATAFLOWS),
       name=st.sampled_from(["int2", "int3", "int4", "int8", "ternary", "binary"]),
       extreme=st.sampled_from(["random", "extreme-codes", "zero-group"]), seed=st.integers(0, 2**32 - 1))
@example(m=1, n=7, groups=2, g=13, rows=4, cols=3, dataflow="os", name="int8", extreme="extreme-codes", seed=0)
@example(m=1, n=5, groups=3, g=8, rows=3, cols=2, dataflow="ws", name="int4", extreme="zero-group", seed=1)
@example(m=1, n=9, groups=1, g=13, rows=5, cols=4, dataflow="is", name="int2", extreme="extreme-codes", seed=2)
def test_int8_per_cycle_is_bit_exact(m, n, groups, g, rows, cols, dataflow, name, extreme, seed):
    rng = np.random.default_rng(seed)
    k, a, qw = _int8_case(rng, m, n, groups, g, name, extreme)
    problem = GemmProblem(m, n, k, name, "int8", g)
    config = PEConfig(array=(rows, cols), dataflow=dataflow)
    res = INT8.run(problem, config, "per-cycle", a, qw)
    if extreme == "extreme-codes":
        most_negative = -1 if name in ("ternary", "binary") else -(1 << (int(name[3:]) - 1))
        assert reference.weight_levels(qw).min() == most_negative
    np.testing.assert_array_equal(res.extra["group_partial_sums"], reference.group_partial_sums(a, qw))
    assert np.array_equal(res.out, INT8.expected(problem, config, a, qw))
    tile = INT8.run(problem, config, "tile")
    assert res.cycles == tile.cycles
    assert res.events == tile.events
    assert 0 < res.utilization <= 1


def test_int8_acceptance_shape_is_exact_in_every_dataflow():
    # the shape of the acceptance command: K and N not multiples of the 32×32 array
    rng = np.random.default_rng(0)
    a = rng.integers(-128, 128, size=(7, 260))
    qw = formats.get("int4").quantize(rng.normal(size=(130, 260)))
    problem = GemmProblem(7, 130, 260, "int4", "int8")
    for dataflow in DATAFLOWS:
        config = PEConfig(dataflow=dataflow)
        res = INT8.run(problem, config, "per-cycle", a, qw)
        assert np.array_equal(res.out, reference.mpgemm(a, qw))
        assert res.events["multiplies"] == 7 * 130 * 260
        assert res.events["dequant_ops"] == 7 * 130


def test_int8_events_count_group_rescales_and_operands():
    res = INT8.run(GemmProblem(4, 8, 64, "int4", "int8", 16), PEConfig(array=(4, 4), dataflow="ws"), "tile")
    ev = res.events
    assert ev["dequant_ops"] == 4 * 8 * 4
    assert ev["weight_sram_reads"] == 8 * 64  # weight stationary: every weight enters once
    assert ev["act_sram_reads"] == 4 * 64 * 2  # activations re-streamed for each of the 2 n-tiles
    assert ev["sram_reads"] == ev["weight_sram_reads"] + ev["act_sram_reads"]


@pytest.mark.parametrize("problem,config,field", [
    (GemmProblem(4, 4, 8, "int4_asym", "int8"), PEConfig(), "--weights"),
    (GemmProblem(4, 4, 8, "int4", "fp16"), PEConfig(), "--acts"),
    (GemmProblem(4, 4, 8, "int4", "int8"), PEConfig(dataflow="rs"), "--dataflow"),
    (GemmProblem(4, 4, 8, "int4", "int8"), PEConfig(array=(0, 4)), "--array"),
    (GemmProblem(4, 4, 8, "int4", "int8"), PEConfig(acc="fp16"), "--acc"),
    (GemmProblem(4, 4, 8, "int4", "int8", 3), PEConfig(), "--group-size"),
    (GemmProblem(4, 4, 2**18, "int4", "int8"), PEConfig(), "--group-size"),
    (GemmProblem(0, 4, 8, "int4", "int8"), PEConfig(), "--m"),
])
def test_int8_rejects_bad_input_naming_the_field(problem, config, field):
    with pytest.raises(InputError) as err:
        INT8.run(problem, config, "tile")
    assert err.value.field == field


def test_int8_rejects_activations_outside_int8():
    a = np.full((2, 4), 128)
    qw = formats.get("int4").quantize(np.ones((3, 4)))
    with pytest.raises(InputError, match="activations"):
        INT8.run(GemmProblem(2, 3, 4, "int4", "int8"), PEConfig(), "per-cycle", a, qw)
