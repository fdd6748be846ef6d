"""Programs in columns (sim.isa.columns): the same instructions and the same engine results as the equivalent
Program, for compiled GEMM / vector programs and for hand-written ones with barriers, labels and errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import gemm, vector
from compiler.gemm import Tile
from compiler.specs import GemmSpec, VectorSpec
from lutsim.api import apply_params
from sim import arch, engine, isa
from sim.errors import InputError
from sim.isa.columns import ColumnProgram


def _same_run(a, b, hw) -> None:
    """Two programs give identical engine results on ``hw``."""
    sa, sb = engine.run(a, hw), engine.run(b, hw)
    assert sa.cycles == sb.cycles
    assert sa.units == sb.units and sa.events == sb.events and sa.peak_bytes == sb.peak_bytes
    assert np.array_equal(sa.start, sb.start) and np.array_equal(sa.end, sb.end)
    assert np.array_equal(sa.unit, sb.unit) and sa.ops == sb.ops


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 9), n=st.integers(1, 300), k=st.integers(1, 700), mt=st.integers(1, 9),
       nt=st.sampled_from([64, 100, 128]), kt=st.sampled_from([4, 64, 128]), arrays=st.integers(1, 4),
       stationary=st.booleans(), bias=st.booleans(), banks=st.booleans())
def test_compiled_gemm_runs_the_same_as_its_instruction_list(m, n, k, mt, nt, kt, arrays, stationary, bias, banks):
    d = apply_params(arch.load("lut-tc-28nm").to_dict(), {"arrays": arrays})
    if banks:  # the DRAM row model reads every DMA address
        d["dram"]["banks"] = {"banks": 4, "row_bytes": 1024, "row_miss_cycles": 7}
    hw = arch.from_dict(d)
    spec = GemmSpec(m=m, n=n, k=k, weights="int2", acts="int8", group=None, w_bytes=0.25, a_bytes=1.0,
                    out_bytes=2.0, quantize_out=bias, bias_bytes=2 * n if bias else 0)
    t = Tile(min(mt, m), min(nt, n), min(kt, k), 1, min(arrays, nt), a_stationary=stationary and nt < n)
    cp = gemm.emit(spec, hw, t)
    p = cp.to_program()
    assert len(p) == len(cp)
    assert ColumnProgram.from_program(p).instrs == cp.instrs  # the round trip keeps every field
    assert isa.parse(isa.format(cp)).instrs == p.instrs  # valid ISA through the checked text path
    _same_run(cp, p, hw)


@pytest.mark.parametrize("spec", [
    VectorSpec(ops=(("norm", 40_000), ("quantize", 40_000)), in_bytes=3_000_000, out_bytes=80_000,
               weight_bytes=900_000, macs=70_000),  # chunked, parameters streamed
    VectorSpec(ops=(("norm", 8192),), in_bytes=16384, out_bytes=16384, weight_bytes=8192, tables=(2, 4096, "fp16")),
])
def test_compiled_vector_op_runs_the_same_as_its_instruction_list(spec):
    hw = arch.load("lut-tc-28nm")
    cp = vector.emit(spec, hw)
    _same_run(cp, cp.to_program(), hw)


BARRIERS = """
a: LOAD buf=abuf addr=0 bytes=64 alloc=abuf:64
   LOAD buf=wbuf addr=4096 bytes=128 alloc=wbuf:128
   SYNC
   VEC op=norm elems=32 free=abuf:64
w: LOAD buf=wbuf addr=8192 bytes=128 alloc=wbuf:128 free=wbuf:128
   SYNC
   STORE buf=obuf addr=0 bytes=16 after=a free=wbuf:128
"""


def test_full_barriers_and_labels_survive_the_conversion():
    p = isa.parse(BARRIERS)
    cp = ColumnProgram.from_program(p)
    assert cp.instrs == p.instrs and cp.labels == {0: "a", 4: "w"}
    hw = arch.load("lut-tc-28nm")
    _same_run(cp, p, hw)
    s = engine.run(cp, hw)
    assert s.start[3] >= s.end[:2].max()  # after the first barrier
    assert s.start[6] >= s.end[:6].max()  # after the second


def test_errors_name_the_first_bad_instruction():
    cp = ColumnProgram()
    ok = cp.template("LOAD", buf="wbuf", bytes=64)
    bad = cp.template("LOAD", buf="nobuf", bytes=64)
    cp.add(ok, alloc=cp.space([("wbuf", 64)]))
    cp.add(ok, alloc=cp.space([("wbuf", 1 << 40)]))  # never fits: instr[1].alloc
    cp.add(bad)  # unknown buffer: instr[2].buf
    with pytest.raises(InputError) as exc:
        engine.run(cp, arch.load("lut-tc-28nm"))
    assert exc.value.field == "instr[1].alloc"
    cp2 = ColumnProgram()
    cp2.add(cp2.template("SYNC"), deps=(0,))
    with pytest.raises(InputError) as exc:
        engine.run(cp2, arch.load("lut-tc-28nm"))
    assert exc.value.field == "instr[0].after"


def test_columns_follow_appends():
    cp = ColumnProgram()
    t = cp.template("SYNC")
    cp.add(t)
    assert len(cp.columns["tmpl"]) == 1 and len(cp.instrs) == 1
    cp.add(t, deps=(0,))
    assert len(cp.columns["tmpl"]) == 2 and cp.instrs[1].deps == (0,)


def test_a_frozen_program_keeps_its_instructions_and_refuses_more():
    cp = ColumnProgram()
    t = cp.template("LOAD", buf="wbuf", bytes=64)
    cp.add(t, alloc=cp.space([("wbuf", 64)]), addr=128)
    cp.add(cp.template("SYNC"), deps=(0,), free=cp.space([("wbuf", 64)]))
    before = list(cp.instrs)
    assert cp.freeze() is cp and cp.instrs == before and len(cp) == 2
    assert cp.columns["addr"].tolist() == [128, 0]
    with pytest.raises(RuntimeError, match="freeze"):
        cp.add(t)
