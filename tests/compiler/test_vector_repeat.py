"""The vector emitter's repeated chunks (ColumnProgram.repeat with each copy's templates, lists and addresses)
give exactly the program of the plain path (every chunk emitted instruction by instruction), and the same
schedule, on random vector ops and archs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import vector
from compiler.specs import VectorSpec
from sim import arch, engine
from sim.errors import InputError

ARCHS = ["lut-tc-28nm", "lut-tc-rtl-small", "fp16-mac-28nm"]
KINDS = ["norm", "softmax", "act", "rope", "residual", "quantize"]


def _plain(spec, hw):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(vector, "REPEAT_FROM", 1 << 40)  # every chunk through ColumnProgram.add
        return vector.emit(spec, hw)


@settings(max_examples=60, deadline=None)
@given(preset=st.sampled_from(ARCHS), kinds=st.lists(st.sampled_from(KINDS), max_size=2, unique=True),
       elems=st.integers(1, 300_000), in_b=st.integers(1, 400_000), out_b=st.integers(1, 400_000),
       weight=st.sampled_from([0, 100, 3000, 600_000]), macs=st.sampled_from([0, 1, 77_777, 10**6]),
       rows=st.integers(0, 40), k=st.sampled_from([64, 128, 4096]))
def test_repeated_chunks_equal_the_plain_path(preset, kinds, elems, in_b, out_b, weight, macs, rows, k):
    hw = arch.load(preset)
    tables = (rows, k, "int8") if rows and hw.table_unit is not None else (0, 0, "")
    spec = VectorSpec(ops=tuple((kind, elems + j) for j, kind in enumerate(kinds)), in_bytes=in_b, out_bytes=out_b,
                      weight_bytes=weight, macs=macs, tables=tables)
    fast, plain = vector.emit(spec, hw), _plain(spec, hw)
    assert fast.instrs == plain.instrs
    try:
        want = engine.run(plain, hw)
    except InputError:  # tables larger than tbuf: no schedule, the same error both ways
        with pytest.raises(InputError):
            engine.run(fast, hw)
        return
    got = engine.run(fast, hw)
    assert got.cycles == want.cycles and got.events == want.events and got.peak_bytes == want.peak_bytes
    assert np.array_equal(got.end, want.end)


def test_a_long_op_is_mostly_copies(monkeypatch):
    hw = arch.load("lut-tc-rtl-small")
    spec = VectorSpec(ops=(("norm", 2048 * 4096),), in_bytes=2 * 2048 * 4096, out_bytes=2048 * 4096,
                      weight_bytes=2 * 4096)
    calls = []
    real = vector.ColumnProgram.repeat
    monkeypatch.setattr(vector.ColumnProgram, "repeat", lambda self, *a, **kw: calls.append(a[2]) or real(self, *a,
                                                                                                          **kw))
    fast = vector.emit(spec, hw)
    assert calls == [vector.chunks(spec, hw) - vector.REPEAT_FROM]
    assert fast.instrs == _plain(spec, hw).instrs
