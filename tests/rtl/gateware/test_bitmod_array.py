"""The RTL BitMoD array (rtl/gateware/bitmod_array.py) in amaranth.sim running the compiler's programs for preset
bitmod-rtl-small unchanged (LOAD / BSMMA / DEQUANT with the channel scale / STORE of FP16 / SYNC): stored outputs
equal the BitMoD PE model (sim.pe.bitmod_pe on the preset's 2 × 2 array, channel scale included) rounded to
FP16, bit for bit, and its cycle count equals sim.engine.run(program, arch).cycles (printed)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtl.gateware.bitmod_array import PRESET, BitModArray
from rtl.gateware.bitmod_params import from_arch
from rtl.gateware.lut_array import LutArraySystem
from rtl.tools.bitmod_program import assemble
from sim import arch as arch_registry
from sim import isa
from sim.errors import InputError
from tests.rtl import system_sim
from tests.rtl.bitmod_array_case import NARROW, gemm_case


def run_system(case, through_port: bool = False):
    """(cycles register, edges from the start edge to ``done``, stored port words). ``through_port``: the
    instruction memories start empty and the program is written through the load port."""
    p = case.params
    dut = LutArraySystem(p, None, case.image, array=BitModArray(p, None if through_port else case.asm))
    words = case.asm.words(p, dut._array._ctrl.layouts) if through_port else None
    return system_sim.run_system(dut, case, words)


def check(case, through_port: bool = False):
    cycles, edges, words = run_system(case, through_port)
    print(f"RTL {cycles} cycles, engine {case.engine_cycles}")
    bad = case.mismatches(words)
    assert len(bad) == 0, f"{len(bad)} outputs differ from sim.pe.bitmod_pe, first at {bad[:4].tolist()}"
    assert edges == cycles + 1
    assert cycles == case.engine_cycles, f"RTL {cycles} cycles, engine {case.engine_cycles}"


def test_one_bsmma_matches_model_and_engine():
    """One output tile, one BSMMA: the channel scales' LOAD, LOAD, LOAD, BSMMA, SYNC (frees), DEQUANT, STORE,
    SYNC (frees the channel scales)."""
    case = gemm_case(m=4, n=4, k=32, weights="bitmod_fp4", group=8, seed=1)
    assert [ins.op for ins in case.program.instrs] == ["LOAD", "LOAD", "LOAD", "BSMMA", "SYNC", "DEQUANT", "STORE",
                                                       "SYNC"]
    check(case)


@pytest.mark.parametrize("shape", [dict(m=2, n=4, k=96, kt=32, weights="bitmod_fp4", group=8),
                                   dict(m=3, n=6, k=48, kt=16, nt=4, weights="int8", group=8),
                                   dict(m=2, n=5, k=48, kt=16, weights="int4", group=8),
                                   dict(m=3, n=4, k=160, kt=96, nt=2, weights="bitmod_fp4", group=8),
                                   dict(m=4, n=4, k=64, kt=32, mt=2, nt=2, weights="int4", group=8)],
                         ids=lambda s: f"M{s['m']}N{s['n']}K{s['k']}kt{s['kt']}-{s['weights']}")
def test_k_tiles_accumulate(shape):
    """k-tiles accumulating onto obuf (the channel scale applied once, by DEQUANT), partial folds (M3 on the 2 × 2
    grid), several output tiles with double-buffered loads; K160 in groups of 8 has 20 groups, more than the 16
    that the engine's m·n·groups DEQUANT count would let DEQUANT's obuf reads hide (the compiler emits groups=1)."""
    case = gemm_case(seed=5, **shape)
    mmas = [ins for ins in case.program.instrs if ins.op == "BSMMA"]
    assert len(mmas) >= shape["k"] // shape["kt"] and any(b == "obuf" for m in mmas for b, _, _ in m.rd)
    check(case)


def test_waits_for_buffer_space():
    """wbuf shrunk to 64 words (256 B): int8 weight tiles of 40 words (160 B), one at a time, so each weight LOAD
    waits for the SYNC that frees the one before, the regions wrap around the ring's end, and the engine's run is
    longer than with the preset's wbuf; the RTL waits the same cycles (a LOAD that did not wait would overwrite
    weights in use). int8: no resident channel scales at the ring's start (a BitMoD format's stay there, so its
    weight regions never cross the end)."""
    shape = dict(m=2, n=4, k=96, kt=32, weights="int8", group=8, seed=3)
    roomy, case = gemm_case(**shape), gemm_case(**shape, capacity={"wbuf": 256})
    assert case.params.wbuf_words == 64 and case.engine_cycles > roomy.engine_cycles
    assert any(w["wbase"] + 4 * w["wstride"] > 64 for w in case.asm.array)   # a region that wraps
    check(case)


def test_program_loaded_through_the_port():
    check(gemm_case(m=2, n=2, k=64, kt=32, seed=7), through_port=True)


# (weights, group, whole-word k-steps): a k-tile row's codes and metadata are whole 32-bit words at multiples of
# the step (bitmod_fp4, groups of 8: 32 codes = 4 words, 4 group bytes = 1 word; INT, groups of 8: 16 codes and
# 2 FP16 scales; INT, groups of 16: 32 codes and 2 scales — 16 codes would leave one 2-byte scale)
FORMATS = [("bitmod_fp4", 8, 32), ("int4", 8, 16), ("int4", 16, 32), ("int8", 8, 16), ("int8", 16, 32)]
# lane steps that straddle two wbuf words: bitmod_fp3 (12-bit steps; 32 codes = 3 words, 4 group bytes = 1 word),
# int6 (24-bit steps; 16 codes = 3 words, 2 FP16 scales = 1 word)
STRADDLING = [("bitmod_fp3", 8, 32), ("int6", 8, 16)]
KT = 32   # a multiple of every step above
MAX_INSTRS = 80   # the most instructions a drawn program has (M4 N6, tiles of 2 × 2 × 32, 3 k-tiles: 67)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=st.integers(1, 4), n=st.sampled_from([2, 4, 6]), fmt=st.sampled_from(FORMATS + STRADDLING),
       tiles=st.integers(1, 3), short=st.booleans(), mt=st.sampled_from([None, 2]), nt=st.sampled_from([None, 2]),
       a_shift=st.sampled_from([NARROW, 0]), seed=st.integers(0, 2**16))
def test_random_k_tiled_gemms(m, n, fmt, tiles, short, mt, nt, a_shift, seed):
    """Random shapes, formats, group sizes, output tiles and k-tilings (``tiles`` k-tiles of 32, the last one
    ``short`` by one step where the step allows: K not a multiple of the tile), activations of FP16 outputs in
    range or of the whole FP16 range (outputs overflowing to ±inf): bit-exact FP16 outputs and the engine's cycle
    count. n even: the FP16 output rows of every tile (and the N channel scales) are whole 32-bit port words
    (an odd n: test_k_tiles_accumulate)."""
    weights, group, step = fmt
    k = KT * tiles - (step if short and step < KT else 0)
    case = gemm_case(m=m, n=n, k=k, kt=KT, mt=mt and min(mt, m), nt=nt and min(nt, n), weights=weights,
                     group=group, seed=seed, a_shift=a_shift, max_instrs=MAX_INSTRS)
    check(case)


@pytest.mark.parametrize("fmt", STRADDLING, ids=lambda f: f[0])
def test_steps_straddling_wbuf_words(fmt):
    """bitmod_fp3 and int6: a lane step's codes (12 / 24 bits) may start anywhere in a 32-bit wbuf word and run
    into the next; k-tiles accumulating, a partial fold (M3)."""
    weights, group, step = fmt
    check(gemm_case(m=3, n=4, k=3 * step, kt=step, weights=weights, group=group, seed=13))


def test_whole_fp16_range():
    """Activations over the whole FP16 range (±65504, subnormals): outputs overflowing to ±inf and rounding near
    the top of FP16, as numpy's float32 → float16 cast."""
    check(gemm_case(m=2, n=4, k=64, kt=32, weights="bitmod_fp4", group=8, seed=11, a_shift=0))


def test_outside_the_subset_is_rejected():
    """A DEQUANT needs the PEs' group scales applied (groups=1); the PEs are built for one format; a LUT arch has
    no BitMoD array, nor an arch whose DEQUANT does not take the channel scale; a group that is not whole 4-lane
    steps does not fit abuf words; FP16 output rows of an n-tile must be whole port words (odd nt < N)."""
    case = gemm_case(m=2, n=2, k=32)
    arch = arch_registry.load(PRESET)
    text = isa.format(case.program).replace("groups=1", "groups=4")
    with pytest.raises(InputError, match="groups=1"):
        assemble(isa.parse(text), arch, case.params)
    with pytest.raises(InputError, match="built for int8"):
        assemble(case.program, arch, from_arch(arch, weights="int8", max_instrs=32, dram_words=2048))
    with pytest.raises(InputError, match="arch.pe.type"):
        from_arch(arch_registry.load("lut-tc-rtl-small"))
    d = arch.to_dict()
    d["pe"] = {**d["pe"], "options": {}}
    with pytest.raises(InputError, match="channel_scales"):
        from_arch(arch_registry.from_dict(d))
    d = arch.to_dict()
    d["buffers"] = [{**b, "width": 16} if b["name"] == "wbuf" else b for b in d["buffers"]]
    with pytest.raises(InputError, match="must hold a lane step"):
        from_arch(arch_registry.from_dict(d), weights="int8")
    with pytest.raises(InputError, match="lane steps"):
        gemm_case(m=2, n=2, k=48, kt=48, weights="int8", group=6)
    with pytest.raises(InputError, match="port word"):
        gemm_case(m=2, n=6, nt=3, k=32, weights="int8", group=8)
