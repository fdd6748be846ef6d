"""Every tile the search may pick gives a program that runs to the end: no buffer wait that never ends, for
random GEMM shapes, buffer sizes, array counts and loop orders. (The engine once left the table unit waiting
for tbuf forever when the DMA retried first at the moment tbuf was freed: the @example below.)"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from compiler import gemm, search
from compiler.specs import GemmSpec
from lutsim.api import apply_params
from sim import arch, engine

PRESETS = {"lut-tc-28nm": ("int4_asym", "fp16", 128, 4.15625 / 8, 2.0),
           "fp16-mac-28nm": ("int4", "fp16", None, 0.5, 2.0),
           "int8-systolic-28nm": ("int8", "int8", None, 1.0, 1.0)}
KIB = 1024
CANDIDATES = 6  # the best-ranked tiles tried per example (those of at most MAX_INSTRUCTIONS)
MAX_INSTRUCTIONS = 3000


@settings(max_examples=40, deadline=None)
@given(preset=st.sampled_from(sorted(PRESETS)), m=st.integers(1, 300), n=st.sampled_from([256, 1000, 2048]),
       k=st.sampled_from([512, 1024, 2048]), arrays=st.integers(1, 6),
       abuf=st.sampled_from([16, 32, 64, 128, 512]), wbuf=st.sampled_from([64, 128, 256, 512]),
       obuf=st.sampled_from([32, 64, 128]), tbuf=st.sampled_from([4, 8, 16, 32]), bias=st.booleans())
@example(preset="lut-tc-28nm", m=57, n=256, k=512, arrays=3, abuf=64, wbuf=128, obuf=64, tbuf=4, bias=False)
def test_the_best_candidate_tiles_run_to_the_end(preset, m, n, k, arrays, abuf, wbuf, obuf, tbuf, bias):
    weights, acts, group, w_bytes, a_bytes = PRESETS[preset]
    params = {"arrays": arrays, "buffers.abuf.capacity": abuf * KIB, "buffers.wbuf.capacity": wbuf * KIB,
              "buffers.obuf.capacity": obuf * KIB}
    if preset.startswith("lut-tc"):
        params["buffers.tbuf.capacity"] = tbuf * KIB
    hw = arch.from_dict(apply_params(arch.load(preset).to_dict(), params))
    spec = GemmSpec(m=m, n=n, k=k, weights=weights, acts=acts, group=group, w_bytes=w_bytes, a_bytes=a_bytes,
                    out_bytes=2.0, quantize_out=False, bias_bytes=2 * n if bias else 0)
    try:
        ranked = search.candidates(spec, hw)
    except ValueError:  # no tile fits these buffers: an input error, reported as such
        return
    for e in [e for e in ranked if e.instructions <= MAX_INSTRUCTIONS][:CANDIDATES]:
        assert engine.run(gemm.emit(spec, hw, e.tile), hw).cycles > 0
