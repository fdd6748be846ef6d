"""The scheduling kernel gives the same schedule run as plain Python (on lists) and compiled by Numba, and the
simulator's packages import neither Numba nor ml_dtypes until a kernel or a small float type is used."""

import subprocess
import sys

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import gemm, search
from compiler.specs import GemmSpec
from sim import arch as arch_registry
from sim import engine, isa
from tests.sim.engine.test_engine import random_programs
from tests.sim.helpers import lut_arch


def assert_same(dec):
    py, jit = engine.run_decoded(dec, python=True), engine.run_decoded(dec, python=False)
    for a, b in zip(py[:5], jit[:5]):
        assert a.dtype == b.dtype == np.int64
        np.testing.assert_array_equal(a, b)
    assert py[5] == jit[5]
    return jit


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(p=random_programs(), arrays=st.integers(1, 3), cap=st.sampled_from([3000, 4096, 20000]))
def test_python_and_numba_kernels_agree_on_random_programs(p, arrays, cap, unit_pe):
    a = lut_arch(arrays=arrays, buffers=[{"name": "wbuf", "capacity": cap}, {"name": "obuf", "capacity": 4096}])
    try:
        dec = engine.decode(p, a)
    except Exception:  # an allocation larger than the buffer: nothing to schedule
        return
    assert_same(dec)


def test_python_and_numba_kernels_agree_on_a_buffer_wait_that_never_ends(unit_pe):
    p = isa.parse("LOAD buf=wbuf addr=0 bytes=3000 alloc=wbuf:3000\nLOAD buf=wbuf addr=0 bytes=3000 alloc=wbuf:3000")
    dec = engine.decode(p, lut_arch(arrays=1, buffers=[{"name": "wbuf", "capacity": 4096},
                                                       {"name": "obuf", "capacity": 4096}]))
    assert assert_same(dec)[5] == 1


def test_python_and_numba_kernels_agree_on_a_compiled_gemm():
    a = arch_registry.load("lut-tc-rtl-small")
    spec = GemmSpec(m=16, n=512, k=512, weights="int4", acts="int8", group=None, w_bytes=0.5, a_bytes=1.0,
                    out_bytes=2.0, quantize_out=False)
    program = gemm.emit(spec, a, search.search(spec, a).tile)
    dec = engine.decode(program, a)
    assert dec.occ.shape[0] > 100
    start, end = assert_same(dec)[:2]
    assert int(end.max()) > 0 and start.min() == 0


def test_packages_import_neither_numba_nor_ml_dtypes():
    code = ("import sys, sim.formats, sim.pe, sim.engine, sim.reference, compiler, lutsim.pipeline; sim.pe.names(); "
            "print(sorted(m for m in ('numba', 'ml_dtypes') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_small_simulation_needs_no_numba_and_a_small_float_type_loads_ml_dtypes():
    code = ("import sys; from lutsim import pipeline; from sim import formats; "
            "r = pipeline.simulate(arch='lut-tc-28nm', model='opt-125m', quant='w4a16-g128', phase='decode', "
            "kv_len=16); "
            "before = 'numba' in sys.modules; formats.get('mxfp4').quantize(__import__('numpy').ones((4, 32)), 32)"
            "; print(before, 'ml_dtypes' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split() == ["False", "True"]
