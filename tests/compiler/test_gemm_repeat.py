"""The GEMM emitter's repeated output tiles (ColumnProgram.repeat) and m-blocks (ColumnProgram.repeat_periodic)
give exactly the program of the plain path (every output tile emitted instruction by instruction): the same
columns, templates and alloc/free lists, on random GEMMs, tiles and archs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import gemm
from compiler.gemm import Tile
from compiler.specs import GemmSpec
from lutsim.api import apply_params
from sim import arch, engine
from sim.isa.columns import ColumnProgram

ARCHS = ["lut-tc-28nm", "lut-tc-rtl-small", "int8-systolic-28nm", "fp16-mac-28nm"]
FORMATS = [  # (weights, acts, group, w_bytes, a_bytes, out_bytes)
    ("int4_asym", "fp16", 128, 4.15625 / 8, 2.0, 2.0),
    ("int2", "int8", None, 0.25, 1.0, 2.0),
    ("int4", "int8", None, 0.5, 1.0, 0.5),
]


def _plain(spec, hw, tile) -> ColumnProgram:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gemm, "REPEAT_FROM", 1 << 40)  # no tile repeated: every instruction through ColumnProgram.add
        mp.setattr(gemm, "M_REPEAT_FROM", 1 << 40)  # nor any m-block
        return gemm.emit(spec, hw, tile)


def _same_program(a: ColumnProgram, b: ColumnProgram) -> None:
    assert len(a) == len(b)
    assert a.templates == b.templates and a.lists == b.lists
    for name, col in a.columns.items():
        assert np.array_equal(col, b.columns[name]), name


@settings(max_examples=40, deadline=None)
@given(preset=st.sampled_from(ARCHS), fmt=st.sampled_from(FORMATS), m=st.integers(1, 40), n=st.integers(1, 1500),
       k=st.sampled_from([128, 256, 384, 1000]), mt=st.integers(1, 6), nt=st.sampled_from([16, 32, 48, 64, 100]),
       kt=st.sampled_from([4, 64, 128]), arrays=st.integers(1, 4), stationary=st.booleans(), bias=st.booleans(),
       quantize=st.booleans(), resident=st.booleans())
def test_repeated_tiles_equal_the_plain_path(preset, fmt, m, n, k, mt, nt, kt, arrays, stationary, bias,
                                             quantize, resident):
    weights, acts, group, w_bytes, a_bytes, out_bytes = fmt
    if group and k % group:
        group = None
    hw = arch.from_dict(apply_params(arch.load(preset).to_dict(), {"arrays": arrays}))
    spec = GemmSpec(m=m, n=n, k=k, weights=weights, acts=acts, group=group, w_bytes=w_bytes, a_bytes=a_bytes,
                    out_bytes=out_bytes, quantize_out=quantize, bias_bytes=2 * n if bias else 0,
                    tables_resident=resident and gemm.uses_tables(hw))
    nt = min(nt, n)
    tile = Tile(min(mt, m), nt, min(kt, k), 1, min(arrays, nt), a_stationary=stationary and nt < n and not resident)
    fast = gemm.emit(spec, hw, tile)
    _same_program(fast, _plain(spec, hw, tile))


def test_a_long_gemm_repeats_most_tiles_and_runs_the_same(monkeypatch):
    hw = arch.load("lut-tc-28nm")
    spec = GemmSpec(m=3, n=4096, k=512, weights="int4_asym", acts="fp16", group=128, w_bytes=4.15625 / 8,
                    a_bytes=2.0, out_bytes=2.0, quantize_out=False, bias_bytes=2 * 4096)
    tile = Tile(2, 64, 128, 1, 4)
    calls = []
    with monkeypatch.context() as mp:
        real = ColumnProgram.repeat
        mp.setattr(ColumnProgram, "repeat", lambda self, *a, **kw: calls.append(a[2]) or real(self, *a, **kw))
        fast = gemm.emit(spec, hw, tile)
    assert calls and sum(calls) == 2 * (4096 // 64 - 1 - gemm.REPEAT_FROM - 1)  # two m-blocks, all middle tiles
    plain = _plain(spec, hw, tile)
    _same_program(fast, plain)
    a, b = engine.run(fast, hw), engine.run(plain, hw)
    assert a.cycles == b.cycles and np.array_equal(a.end, b.end)


def test_repeat_shifts_only_dependencies_inside_the_window():
    cp = ColumnProgram()
    t = cp.template("SYNC")
    cp.add(t)  # 0: outside the window
    start = cp.mark()
    cp.add(t, deps=(0,))  # 1
    cp.add(t, deps=(1, 0))  # 2
    cp.repeat(start, cp.mark(), 2, shift_from=1)
    assert [i.deps for i in cp.instrs] == [(), (0,), (1, 0), (0,), (3, 0), (0,), (5, 0)]
    with pytest.raises(ValueError, match="current mark"):
        cp.repeat(start, (3, 3), 1, 1)


@pytest.mark.parametrize("stationary", [False, True])
def test_a_tall_gemm_repeats_its_middle_m_blocks_and_runs_the_same(monkeypatch, stationary):
    hw = arch.load("lut-tc-rtl-small")
    spec = GemmSpec(m=64, n=256, k=512, weights="int4_asym", acts="int8", group=128, w_bytes=4.15625 / 8,
                    a_bytes=1.0, out_bytes=1.0, quantize_out=True)
    tile = Tile(2, 32, 128, 1, 2, a_stationary=stationary)
    lengths = []
    with monkeypatch.context() as mp:
        real = ColumnProgram.repeat_periodic
        mp.setattr(ColumnProgram, "repeat_periodic", lambda self, *a: lengths.append(real(self, *a)) or lengths[-1])
        fast = gemm.emit(spec, hw, tile)
    assert len(lengths) == 1 and lengths[0] > 0  # m-blocks 4 .. 29 of 32 are copies
    plain = _plain(spec, hw, tile)
    _same_program(fast, plain)
    a, b = engine.run(fast, hw), engine.run(plain, hw)
    assert a.cycles == b.cycles and np.array_equal(a.end, b.end) and a.events == b.events


def test_repeat_periodic_copies_only_a_block_that_continues_the_previous_one():
    cp = ColumnProgram()
    t, u = cp.template("SYNC"), cp.template("VEC", op="act", elems=4)
    cp.add(t)  # 0: before the pattern
    marks = []
    for _ in range(3):  # blocks of two: (t after the previous block's last, 0), (u after the first)
        marks.append(cp.mark())
        first = cp.add(t, deps=(len(cp) - 1, 0), addr=0)
        cp.add(u, deps=(first,))
    assert cp.repeat_periodic(marks[0][0], marks[1], marks[2], 2) == 2
    deps = [i.deps for i in cp.instrs]
    assert deps[7:] == [(6, 0), (7,), (8, 0), (9,)] and len(cp) == 11
    other = ColumnProgram()
    other.add(other.template("SYNC"))
    m = [other.mark()]
    other.add(t)
    m.append(other.mark())
    other.add(other.template("VEC", op="act", elems=4))  # another template: no copy
    assert other.repeat_periodic(0, m[0], m[1], 3) == 0 and len(other) == 3
