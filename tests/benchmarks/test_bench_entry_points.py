"""The benchmarks' measuring functions still run against the current code (a benchmark is not a test, but one
that crashes measures nothing: bench_rtl failed for a session on a constant the LUT model had dropped).
Tiny sizes: this checks that they run and agree with the model, not speed."""

from benchmarks import bench_rtl


def test_bench_rtl_times_the_per_cycle_lut_model_on_the_rtl_unit():
    kernel, whole, cycles = bench_rtl.numba_rates(cycles=400, bits=4, runs=1)
    assert cycles > 400 // 4 and kernel.median > 0 and whole.median > 0


def test_bench_rtl_times_lutsim_on_the_arrays_compiled_programs():
    cases = bench_rtl.array_cases()
    assert {name for name, _ in cases} >= {"q_proj", "fc1", "fc2"}
    eng, both = bench_rtl.lutsim_program_rates(cases, runs=1)
    assert 0 < eng.median < both.median
