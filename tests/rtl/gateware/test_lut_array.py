"""The RTL LUT array (rtl/gateware/lut_array.py) in amaranth.sim running the compiler's program for preset
lut-tc-rtl-small unchanged (LOAD, PRECOMPUTE, LMMA, DEQUANT, VEC bias add and KV quantize, STORE): stored FP16
outputs equal sim.reference.mpgemm_rounded bit for bit (a KV-quantized output: sim.formats int4_asym of them), and
its cycle count equals sim.engine.run(program, arch).cycles."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from compiler import gemm
from compiler.specs import GemmSpec
from rtl.gateware.lut_array import FPGA_PRESET, PRESET, LutArraySystem
from rtl.tools.array_program import assemble, kv_stream_bits
from sim import arch as arch_registry
from sim import formats, isa
from sim.errors import InputError
from tests.rtl import system_sim
from tests.rtl.array_case import (
    CHUNK_OBUF,
    FPGA_CASES,
    K_CHUNKED,
    K_CHUNKED_PRESET,
    K_TILED,
    gemm_case,
    searched_case,
)


def run_system(case, through_port: bool = False, max_cycles: int = system_sim.MAX_CYCLES):
    """(cycles register, edges from the start edge to ``done``, stored port words). ``through_port``:
    the instruction memories start empty and the program is written through the load port."""
    dut = LutArraySystem(case.params, None if through_port else case.asm, case.image)
    return system_sim.run_system(dut, case, case.asm.words(case.params) if through_port else None, max_cycles)


def check(case, cycles, words) -> None:
    """FP16 outputs bit-exact with sim.reference.mpgemm_rounded, cycles the engine's."""
    bad = case.mismatches(words)
    assert len(bad) == 0, f"{len(bad)} outputs differ from mpgemm_rounded, first at {bad[:4].tolist()}"
    assert cycles == case.engine_cycles, f"RTL {cycles} cycles, engine {case.engine_cycles}"


@pytest.mark.parametrize("weights,n,seed,mt,nt,group", [("int2", 64, 1, None, None, None),
                                                         ("int4", 32, 2, None, None, 16),
                                                         ("int2", 128, 3, 4, 64, 32), ("int3", 64, 4, 2, 32, 16),
                                                         ("int4_asym", 64, 5, None, 32, 8)])
def test_array_matches_reference_and_engine(weights, n, seed, mt, nt, group):
    """One output tile, and several (double-buffered loads of the next tile during this one's LMMAs); per-channel
    and grouped scales, symmetric and zero-point formats."""
    case = gemm_case(m=4, n=n, k=64, weights=weights, seed=seed, mt=mt, nt=nt, group=group, dram_words=2048)
    cycles, edges, words = run_system(case)
    check(case, cycles, words)
    assert edges == cycles + 1


@pytest.mark.parametrize("shape", K_TILED, ids=lambda s: f"M{s['m']}N{s['n']}K{s['k']}kt{s['kt']}")
def test_k_tiles_dequantize(shape):
    """K not a multiple of the k-tile: each k-tile's LMMAs write their groups' terms, one DEQUANT per tile."""
    case = gemm_case(seed=11, dram_words=2048, **shape)
    assert sum(ins.op == "PRECOMPUTE" for ins in case.program.instrs) > 1
    cycles, _, words = run_system(case)
    check(case, cycles, words)


@pytest.mark.parametrize("shape,capacity", [(s, CHUNK_OBUF) for s in K_CHUNKED] + [(s, None) for s in K_CHUNKED_PRESET],
                         ids=[f"K{s['k']}kt{s['kt']}c{s['chunk']}-obuf{c['obuf'] if c else 'preset'}" for s, c in
                              [(s, CHUNK_OBUF) for s in K_CHUNKED] + [(s, None) for s in K_CHUNKED_PRESET]])
def test_k_chunks_accumulate_in_fp32(shape, capacity):
    """obuf too small for the terms of all K (issue 14): the compiler's chunk (compiler.gemm.chunked) splits the
    DEQUANT over K-chunks that restore and keep the FP32 accumulator in obuf; outputs bit-exact, cycles the
    engine's (its DEQUANT reads one more word per block for the accumulator)."""
    case = gemm_case(seed=13, dram_words=2048, capacity=capacity, max_instrs=96, **shape)
    t = case.tile
    deqs = [i for i in case.program.instrs if i.op == "DEQUANT"]
    assert len(deqs) >= 2 and deqs[0]["acc_out"] and deqs[-1]["acc_in"] and not deqs[-1]["acc_out"]
    assert gemm.chunked(case.spec, case.arch, gemm.Tile(t.mt, t.nt, t.kt)).chunk == t.chunk
    cycles, _, words = run_system(case)
    check(case, cycles, words)


def test_waits_for_buffer_space():
    """wbuf shrunk to one weight tile (256 B): each weight LOAD waits for the SYNC that frees the previous one,
    the engine's run is longer than with the preset's wbuf, and the RTL waits the same cycles (a LOAD that
    did not wait would overwrite weights in use: the outputs would be wrong)."""
    shape = dict(m=8, n=64, k=40, weights="int2", kt=16, group=8, mt=4, nt=32, max_instrs=96, seed=3, dram_words=2048)
    roomy = gemm_case(**shape)
    case = gemm_case(**shape, capacity={"wbuf": 256})
    assert case.engine_cycles > roomy.engine_cycles
    cycles, _, words = run_system(case)
    check(case, cycles, words)


def test_tables_wait_for_tbuf_space():
    """tbuf of 8 words, one k-tile's tables (4 rows × 4 K-groups / Mu): the compiler allocates the tables of the
    whole k-tile (``table_unit.streamed: false``, as the RTL holds them), so each PRECOMPUTE waits for the SYNC
    that frees the previous tile's tables, in the engine and the RTL alike. With the streamed window (80 B) the
    engine ran three PRECOMPUTEs ahead and the assembler refused the overlap of their tables."""
    case = gemm_case(m=4, n=64, k=40, weights="int2", kt=16, group=8, dram_words=2048, capacity={"tbuf": 160})
    pre = [i for i in case.program.instrs if i.op == "PRECOMPUTE"]
    assert len(pre) == 3 and all(i.alloc == ((("tbuf", i.wr[0][1]),)) for i in pre)
    cycles, _, words = run_system(case)
    check(case, cycles, words)


def test_program_is_the_compilers():
    """The program the RTL runs is the compiler's for the preset, DEQUANT included, in the ISA text form."""
    case = gemm_case()
    text = isa.format(case.program)
    assert isa.parse(text).instrs == case.program.instrs
    ops = [i.op for i in case.program.instrs]
    assert ops.count("LMMA") == 2 and ops.count("DEQUANT") == 1 and ops[-1] == "STORE"


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=st.sampled_from([2, 4, 6]), n=st.sampled_from([32, 64]), k=st.sampled_from([16, 32, 64]),
       weights=st.sampled_from(["int2", "int3", "int4", "int4_asym"]), group=st.sampled_from([None, 8, 16]),
       seed=st.integers(0, 2**16), nt=st.sampled_from([None, 32]), units=st.sampled_from([1, 2, 4]),
       latency=st.sampled_from([1, 4, 9]))
def test_array_random_shapes(m, n, k, weights, group, seed, nt, units, latency):
    """Random shapes, codes, group sizes, tiles, unit counts and DRAM latencies: bit-exact FP16 outputs and the
    engine's cycle count."""
    try:
        case = gemm_case(m=m, n=n, k=k, weights=weights, group=group, seed=seed, dram_words=2048, nt=nt,
                         units=units, latency=latency)
    except InputError as exc:  # split finer than a unit, ring regions overlapping, metadata slower than planes,
        # rows of fractional bytes (all tested), a whole-GEMM tile whose group terms exceed obuf (gemm_case takes
        # the tile as given; the compiler's search would chunk it: test_chunked_random_shapes)
        assert any(s in exc.problem for s in ("whole Mu×Nu blocks", "live", "metadata", "multiples of the",
                                              "never fit buffer 'obuf'"))
        reject()
    cycles, _, words = run_system(case)
    check(case, cycles, words)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(m=st.sampled_from([2, 4]), nt=st.sampled_from([32, 64]), groups=st.integers(3, 7), gk=st.sampled_from([1, 2]),
       tail=st.booleans(), weights=st.sampled_from(["int2", "int3"]), seed=st.integers(0, 2**16),
       units=st.sampled_from([1, 2]))
def test_chunked_random_shapes(m, nt, groups, gk, tail, weights, seed, units):
    """Random shapes, k-tiles of 1 or 2 groups (K not a multiple of the k-tile with ``tail``) and unit counts on
    the 4 KiB-obuf test arch, the chunk the compiler picks (compiler.gemm.chunked; drawn again when all K fits):
    bit-exact FP16 outputs and the engine's cycle count."""
    group = 8 if weights == "int2" else 16           # 4-bit weight rows with their metadata: whole port words
    k = (groups * gk + (1 if tail and gk == 2 else 0)) * group
    try:
        case = gemm_case(m=m, n=nt, k=k, weights=weights, group=group, kt=gk * group, capacity=CHUNK_OBUF,
                         units=units, dram_words=4096, max_instrs=128, seed=seed, chunk=None)
    except InputError as exc:
        assert "no DEQUANT chunk fits" in exc.problem
        reject()
    if not case.tile.chunk:
        reject()
    cycles, _, words = run_system(case)
    check(case, cycles, words)


def test_metadata_read_port():
    """M2 N32 K16 int2, groups of 8, one unit, L = 1: the compiler's LMMA reads 128 B of code planes and 64 B of
    FP16 scales from wbuf; the unit reads them on its two ports while it runs T·b + 3 cycles, as the engine times
    it (wbuf ports: 2). Groups of 4 would need 4 metadata words in 2 plane cycles: refused."""
    case = gemm_case(m=2, n=32, k=16, weights="int2", group=8, seed=0, units=1, latency=1, dram_words=2048)
    (lmma,) = [ins for ins in case.program.instrs if ins.op == "LMMA"]
    assert [nbytes for name, nbytes, _ in lmma.rd if name == "wbuf"] == [32 * 16 * (2 + 16 / 8) // 8]
    cycles, _, words = run_system(case)
    check(case, cycles, words)
    with pytest.raises(InputError, match="metadata"):
        gemm_case(m=2, n=32, k=16, weights="int2", group=4, units=1, dram_words=2048)


def test_bias_add():
    """The compiler's bias epilogue (VEC residual after each DEQUANT, biases resident in wbuf) on two n-tiles of a
    zero-point format: fp16(mpgemm_rounded + bias) bit for bit, the engine's cycles."""
    case = gemm_case(m=4, n=64, k=32, weights="int4_asym", group=8, nt=32, seed=3, bias=True, dram_words=2048)
    assert [i["op"] for i in case.program.instrs if i.op == "VEC"] == ["residual"] * 2
    cycles, _, words = run_system(case)
    check(case, cycles, words)


def test_program_loaded_through_the_port():
    """Empty instruction memories, the program written through the load port: same results and cycles."""
    case = gemm_case(m=4, n=64, k=64, weights="int2", seed=7, nt=32)
    cycles, _, words = run_system(case, through_port=True)
    check(case, cycles, words)


def test_sub_unit_split_is_rejected():
    """Four units on a 2×32 tile: whole_units (the preset's pe.options) keeps the compiler's split to whole
    2×16 pieces; a 1×4 split (2×8 pieces, narrower than a unit, Nu = 16) is refused by the assembler."""
    case = gemm_case(m=2, n=32, k=16, units=4)
    assert 2 // case.tile.am % 2 == 0 and 32 // case.tile.an % 16 == 0, case.tile
    w_bytes = (2 + formats.get("int2").metadata_bits_per_group() / 16) / 8     # as gemm_case's
    spec = GemmSpec(m=2, n=32, k=16, weights="int2", acts="int8", group=16, a_bytes=1, out_bytes=2, w_bytes=w_bytes,
                    quantize_out=False)
    d = arch_registry.load(PRESET).to_dict()
    d["arrays"] = 4
    d["buffers"] = [{**b, "banks": 4} if b["name"] != "abuf" else b for b in d["buffers"]]
    arch = arch_registry.from_dict(d)
    program = gemm.emit(spec, arch, gemm.Tile(2, 32, 16, 1, 4)).to_program()
    with pytest.raises(InputError, match="whole Mu×Nu blocks"):
        assemble(program, arch, case.params)


def test_abuf_reused():
    """Six 64-byte activation rows reloaded for each of two n-tiles: 768 B > abuf's 512 B, so the second
    n-tile's activations reuse the first one's freed words (ring layout)."""
    case = gemm_case(m=6, n=64, k=64, nt=32, units=1, dram_words=2048)
    cycles, _, words = run_system(case)
    check(case, cycles, words)


@pytest.mark.parametrize("n,bias,seed", [(32, True, 3), (64, False, 4)])
def test_kv_quantize(n, bias, seed):
    """The compiler's KV-cache epilogue (VEC quantize after the DEQUANT or bias add, an output tile of whole rows):
    the stored packed stream (4-bit codes, per row its FP16 scale and zero code) equals sim.formats int4_asym's
    quantization of fp16(mpgemm_rounded [+ bias]) bit for bit, in the engine's cycles."""
    case = gemm_case(m=8, n=n, k=16, weights="int4_asym", group=8, seed=seed, bias=bias, kv=True, dram_words=2048)
    assert [i["op"] for i in case.program.instrs if i.op == "VEC"] == ["residual"] * bias + ["quantize"]
    cycles, _, words = run_system(case)
    check(case, cycles, words)


def test_kv_quantize_of_part_rows_is_rejected():
    """A KV quantize of an output tile narrower than the row (the group, here N = 64, would span two tiles): the
    assembler refuses it (its STORE's bytes are not one group per tile row)."""
    case = gemm_case(m=8, n=64, k=16, weights="int4_asym", group=8, kv=True, dram_words=2048)
    tile = gemm.Tile(8, 32, 16, 1, 2)
    spec = GemmSpec(m=8, n=64, k=16, weights="int4_asym", acts="int8", group=8, a_bytes=1,
                    w_bytes=(4 + formats.get("int4_asym").metadata_bits_per_group() / 8) / 8,
                    out_bytes=kv_stream_bits(1, 64) / (8 * 64), quantize_out=True)
    program = gemm.emit(spec, arch_registry.load(PRESET), tile).to_program()
    with pytest.raises(InputError, match="one group per tile row"):
        assemble(program, arch_registry.load(PRESET), case.params)


def test_outside_the_subset_is_rejected():
    """VEC kinds other than the bias add and the KV quantize (a norm) are not built; a non-LUT arch has no RTL
    array."""
    from rtl.gateware.array_params import from_arch

    case = gemm_case()
    arch = arch_registry.load("lut-tc-rtl-small")
    program = isa.parse(isa.format(case.program) + "VEC op=norm elems=256 after=@6\n")
    with pytest.raises(InputError, match="not in the RTL array's subset"):
        assemble(program, arch, case.params)
    with pytest.raises(InputError, match="arch.pe.type"):
        from_arch(arch_registry.load("bitmod-28nm"))
    with pytest.raises(InputError, match="arch.table_unit"):
        from_arch(arch_registry.load("lut-tc-28nm"))


@pytest.mark.parametrize("shape", FPGA_CASES, ids=lambda s: f"M{s['m']}N{s['n']}K{s['k']}{s['weights']}")
def test_fpga_preset_runs_the_compilers_tiles(shape):
    """The FPGA-sized array runs the programs the compiler emits for its preset: bit-exact, the engine's cycles."""
    case = searched_case(FPGA_PRESET, **shape)
    assert (case.params.units, case.params.mu, case.params.nu, case.params.bias_add) == (1, 1, 8, False)
    if shape["k"] == 40:
        assert 40 % case.tile.kt != 0, case.tile
    cycles, _, words = run_system(case, max_cycles=20000)
    check(case, cycles, words)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=st.integers(1, 4), n=st.sampled_from([8, 16, 24]), k=st.sampled_from([16, 24, 32, 40, 64]),
       weights=st.sampled_from(["int2", "int4", "int4_asym"]), group=st.sampled_from([8, None]),
       seed=st.integers(0, 2**16))
def test_fpga_preset_random_shapes(m, n, k, weights, group, seed):
    """Random GEMMs in the search's tiles on lut-tc-rtl-fpga: bit-exact FP16 outputs, the engine's cycle count."""
    case = searched_case(FPGA_PRESET, m, n, k, weights, group, seed)
    cycles, _, words = run_system(case, max_cycles=20000)
    check(case, cycles, words)


def test_fpga_preset_refuses_a_bias_add():
    """lut-tc-rtl-fpga has no bias add (one unit's wbuf ports give 64 of the 128 bits a block's biases need per
    cycle): a program with one is refused before it runs, naming the field."""
    with pytest.raises(InputError, match="arch.arrays"):
        searched_case(FPGA_PRESET, 2, 16, 32, "int4", 8, 0, bias=True)


def test_bias_add_needs_the_wbufs_bits_per_cycle():
    """The RTL's bias add reads a block's Nu FP16 biases in one cycle; with fewer wbuf bits per cycle (one unit:
    2 ports × 64 bits < 16 × 16) the engine would time a longer VEC, so the assembler refuses it, naming the field."""
    with pytest.raises(InputError, match="arch.arrays") as err:
        gemm_case(m=2, n=32, k=32, bias=True, units=1)
    assert "≥ 2" in str(err.value)
    gemm_case(m=2, n=32, k=32, bias=False, units=1)   # no bias add: one unit is fine
