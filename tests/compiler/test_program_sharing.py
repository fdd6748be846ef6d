"""Programs shared across archs (compiler.programs): a cached program equals a fresh emit for the arch that asks,
whatever arch filled the cache, so emit_key holds every field the emitters read."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import gemm, programs, search, vector
from compiler.specs import GemmSpec, VectorSpec
from lutsim.api import apply_params
from sim import arch

VARIANTS = {  # arch fields and values to mix: some the emitters read, some they do not
    "arrays": [4, 16], "dram.bandwidth": [256, 1024], "clock_mhz": [800, 1000], "vector.lanes": [32, 64],
    "table_unit.entry_bits": [16, 24], "table_unit.tables_per_cycle": [1, 2], "pe.acc": ["fp16", "fp32"],
    "buffers.wbuf.capacity": ["256KiB", "512KiB"], "buffers.abuf.capacity": ["64KiB", "512KiB"],
    "buffers.obuf.capacity": ["64KiB", "128KiB"],
}
GEMM = GemmSpec(m=3, n=2048, k=1024, weights="int4_asym", acts="fp16", group=128, w_bytes=4.15625 / 8, a_bytes=2.0,
                out_bytes=2.0, quantize_out=False, bias_bytes=4096)
VEC = VectorSpec(ops=(("norm", 300_000),), in_bytes=600_000, out_bytes=600_000, weight_bytes=8192,
                 tables=(3, 4096, "fp16"))


def _variant(choice: dict):
    return arch.from_dict(apply_params(arch.load("lut-tc-28nm").to_dict(), choice))


variant = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in VARIANTS.items()})


@pytest.mark.parametrize("field", sorted(VARIANTS))
@settings(max_examples=4, deadline=None)
@given(first=variant)
def test_a_shared_program_is_the_program_of_the_arch_that_asks(field, first):
    """Two archs one field apart: the second gets its own program, shared only when the emit keys agree."""
    programs.clear()
    values = VARIANTS[field]
    second = {**first, field: values[1 - values.index(first[field])]}
    a, b = _variant(first), _variant(second)
    tile = search.candidates(GEMM, b)[0].tile
    programs.gemm_program(GEMM, a, tile)  # fills the cache for a's key
    programs.vector_program(VEC, a)
    assert programs.gemm_program(GEMM, b, tile).instrs == gemm.emit(GEMM, b, tile).instrs
    assert programs.vector_program(VEC, b).instrs == vector.emit(VEC, b).instrs
    assert (programs.emit_key(a) == programs.emit_key(b)) == (programs.gemm_program(GEMM, a, tile) is
                                                              programs.gemm_program(GEMM, b, tile))


def test_a_compiled_program_the_engine_rejects_is_an_internal_error_not_bad_input():
    """A sweep records ValueErrors as invalid design points: a compiled program that deadlocks must not pass as one."""
    from sim.errors import InputError
    from sim.isa.columns import ColumnProgram

    hw = arch.load("lut-tc-28nm")
    cp = ColumnProgram()
    full = cp.space([("abuf", gemm.buffer_of(hw, "abuf").capacity)])
    load = cp.template("LOAD", buf="abuf", bytes=64)
    cp.add(load, alloc=full)
    cp.add(load, alloc=full)  # never fits: nothing frees the first
    with pytest.raises(RuntimeError, match="internal error") as exc:
        programs.run(cp, hw)
    assert not isinstance(exc.value, ValueError) and isinstance(exc.value.__cause__, InputError)
