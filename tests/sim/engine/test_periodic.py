"""The kernel's periodic extrapolation (a repeated block whose state recurs, moved on by one block, is filled in
instead of scheduled) gives exactly the schedule of scheduling every instruction: random programs with a
repeated block, compiled GEMMs; and it does skip blocks where the schedule settles."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import gemm
from compiler.gemm import Tile
from compiler.specs import GemmSpec
from sim import arch as arch_registry
from sim import engine
from sim.engine import periodic
from sim.isa.columns import ColumnProgram
from tests.sim.helpers import lut_arch


def _op(draw, cp: ColumnProgram) -> tuple[int, int]:
    """A random instruction template and whether it is a LOAD (which allocates)."""
    op = draw(st.sampled_from(["LOAD", "LMMA", "VEC", "PRECOMPUTE", "STORE", "SYNC"]))
    if op == "LOAD":
        return cp.template("LOAD", buf="wbuf", bytes=draw(st.integers(1, 1500))), True
    if op == "STORE":
        return cp.template("STORE", buf="obuf", bytes=draw(st.integers(1, 3000))), False
    if op == "LMMA":
        return cp.template("LMMA", m=draw(st.integers(1, 9)), n=draw(st.integers(1, 200)),
                           k=draw(st.integers(1, 40)), weights="int2", acts="int8"), False
    if op == "VEC":
        return cp.template("VEC", op="softmax", elems=draw(st.integers(1, 5000))), False
    if op == "PRECOMPUTE":
        return cp.template("PRECOMPUTE", m=2, k=draw(st.integers(1, 64)), acts="int8"), False
    return cp.template("SYNC"), False


@st.composite
def periodic_programs(draw, copies=None):
    """A prologue, a block emitted twice (the second depending on the first as on its previous copy), copies of
    the second (:meth:`ColumnProgram.repeat`), an epilogue. Each LOAD's space is freed later in its block."""
    cp = ColumnProgram()
    prologue = [cp.add(_op(draw, cp)[0], deps=[i - 1] if i and draw(st.booleans()) else [])
                for i in range(draw(st.integers(0, 4)))]
    shape = [(_op(draw, cp), draw(st.lists(st.integers(0, 30), max_size=3)), draw(st.integers(0, 9)))
             for _ in range(draw(st.integers(1, 7)))]
    length = len(shape)
    starts = []
    for b in range(2):
        starts.append(cp.mark())
        first, loads = len(cp), []
        for pos, ((tpl, is_load), picks, where) in enumerate(shape):
            deps = set()
            for k in picks:
                if k % 3 == 0 and pos:  # an earlier instruction of this block
                    deps.add(first + k % pos)
                elif k % 3 == 1 and b:  # an instruction of the previous block
                    deps.add(first - length + k % length)
                elif k % 3 == 2 and prologue:  # the prologue: the same for every block
                    deps.add(prologue[k % len(prologue)])
            free = 0
            if loads and where % 2:  # frees the oldest open load of the block
                j, nbytes = loads.pop(0)
                deps.add(j)
                free = cp.space([("wbuf", nbytes)])
            alloc = cp.space([("wbuf", cp.templates[tpl]["bytes"])]) if is_load else 0
            i = cp.add(tpl, sorted(deps), alloc=alloc, free=free)
            if is_load:
                loads.append((i, cp.templates[tpl]["bytes"]))
        for j, nbytes in loads:  # the rest: freed by the block's last SYNC
            cp.add(cp.template("SYNC"), [j], free=cp.space([("wbuf", nbytes)]))
    length = starts[1][0] - starts[0][0]
    cp.repeat(starts[1], cp.mark(), draw(copies or st.integers(5, 40)), starts[0][0])
    for _ in range(draw(st.integers(0, 3))):  # each after a recent instruction, maybe after any other too
        deps = {len(cp) - 1 - draw(st.integers(0, 2 * length - 1)), draw(st.integers(0, len(cp) - 1))}
        cp.add(_op(draw, cp)[0], deps=sorted(deps) if draw(st.booleans()) else [max(deps)])
    return cp.freeze()


def _same(dec, python: bool) -> int:
    full = engine.run_decoded(dec, python=python, periodic=False)
    fast = engine.run_decoded(dec, python=python)
    for a, b in zip(full[:5], fast[:5]):
        np.testing.assert_array_equal(a, b)
    assert full[5] == fast[5]
    return dec.skipped_blocks


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cp=periodic_programs(), arrays=st.integers(1, 3), cap=st.sampled_from([3000, 4096, 20000]))
def test_extrapolation_equals_the_full_schedule_on_random_programs(cp, arrays, cap, unit_pe):
    a = lut_arch(arrays=arrays, buffers=[{"name": "wbuf", "capacity": cap}, {"name": "obuf", "capacity": 4096}])
    dec = engine.decode(cp, a)  # (a block with a full-barrier SYNC is no region: the barrier's waits differ)
    _same(dec, python=True)
    _same(dec, python=False)


def test_extrapolation_skips_most_blocks_of_a_gemm_with_both_kernels():
    a = arch_registry.load("lut-tc-rtl-small")
    spec = GemmSpec(m=1, n=4096, k=1024, weights="int4_asym", acts="int8", group=128, w_bytes=4.15625 / 8,
                    a_bytes=1.0, out_bytes=1.0, quantize_out=True)
    dec = engine.decode(gemm.emit(spec, a, Tile(1, 32, 128, 1, 2)), a)
    copies = int(dec.region[2])
    assert copies > 50
    for python in (True, False):
        assert _same(dec, python) > copies // 2


def test_extrapolation_of_m_blocks_equals_the_full_schedule():
    a = arch_registry.load("lut-tc-rtl-small")
    spec = GemmSpec(m=96, n=256, k=512, weights="int4_asym", acts="int8", group=128, w_bytes=4.15625 / 8,
                    a_bytes=1.0, out_bytes=1.0, quantize_out=True)
    for stationary in (False, True):
        dec = engine.decode(gemm.emit(spec, a, Tile(2, 32, 128, 1, 2, a_stationary=stationary)), a)
        assert _same(dec, python=False) > 0


def _full_run(cp, a):
    """engine.run's figures of ``cp`` scheduled instruction by instruction (no extrapolation, no shortening)."""
    dec = engine.decode(cp, a)
    start, end, unit, ustats, peak, status = engine.run_decoded(dec, python=False, periodic=False)
    return dec, start, end, unit, ustats, peak, status


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cp=periodic_programs(copies=st.integers(periodic.KEEP, 90)), arrays=st.integers(1, 3),
       cap=st.sampled_from([3000, 4096, 20000]))
def test_a_shortened_program_gives_the_full_schedule(cp, arrays, cap, unit_pe):
    a = lut_arch(arrays=arrays, buffers=[{"name": "wbuf", "capacity": cap}, {"name": "obuf", "capacity": 4096}])
    dec, start, end, unit, ustats, peak, status = _full_run(cp, a)
    if status >= 0:  # a wait that never ends: the short way is not taken, engine.run raises
        assert periodic.run(cp, a, engine.decode, engine.run_decoded) is None
        return
    s = engine.run(cp, a)
    np.testing.assert_array_equal(s.start, start)
    np.testing.assert_array_equal(s.end, end)
    np.testing.assert_array_equal(s.unit, unit)
    assert s.events == dec.events and list(s.peak_bytes.values()) == peak.tolist()
    got = np.array([[s.units[name][k] for k in ("busy", "stall_dep", "stall_space", "instructions")]
                    for name in dec.unit_names if name in s.units])
    np.testing.assert_array_equal(got, ustats[[i for i, name in enumerate(dec.unit_names) if name in s.units]])
    assert list(s.ops) == cp.ops()


def test_a_long_gemm_is_simulated_from_a_short_program():
    a = arch_registry.load("lut-tc-rtl-small")
    spec = GemmSpec(m=200, n=256, k=512, weights="int4_asym", acts="int8", group=128, w_bytes=4.15625 / 8,
                    a_bytes=1.0, out_bytes=1.0, quantize_out=True)
    cp = gemm.emit(spec, a, Tile(2, 32, 128, 1, 2, a_stationary=True))
    assert periodic.run(cp, a, engine.decode, engine.run_decoded) is not None
    dec, start, end, *_ = _full_run(cp, a)
    s = engine.run(cp, a)
    assert s.cycles == int(end.max()) and np.array_equal(s.start, start) and s.events == dec.events
