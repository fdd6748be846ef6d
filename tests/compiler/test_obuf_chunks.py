"""Chunked DEQUANT on a ``group_sums`` arch (lut-tc-rtl-small: the LMMAs write one FP32 term per quantization group
of every output to obuf, issues 14 + 20): a reduction whose terms do not all fit half of obuf is dequantized in
K-chunks that accumulate in FP32 in obuf (docs/isa.md, "Chunked DEQUANT"). The CLI command that failed, the tiling
of its largest GEMM, the emitted program's chunks and declared obuf accesses, and the numerics: chunked sequential
FP32 accumulation in increasing group order gives the bits of sim.reference.mpgemm_rounded."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import gemm, search
from compiler.specs import GemmSpec, gemm_spec
from lutsim.cli import main
from sim import arch as arch_registry
from sim import engine, formats, reference
from workloads.models import get_model
from workloads.recipes import get_recipe
from workloads.trace import build_trace

PRESET = "lut-tc-rtl-small"
COMMAND = ["simulate", "--arch", PRESET, "--model", "llama-2-7b", "--quant", "w4a8kv4", "--phase", "prefill"]


def _arch(obuf: int | None = None):
    arch = arch_registry.load(PRESET)
    if obuf is None:
        return arch
    d = arch.to_dict()
    d["buffers"] = [{**b, "capacity": obuf} if b["name"] == "obuf" else b for b in d["buffers"]]
    return arch_registry.from_dict(d)


def _spec(m: int, n: int, k: int, group: int, weights: str = "int4_asym") -> GemmSpec:
    fmt = formats.get(weights)
    return GemmSpec(m=m, n=n, k=k, weights=weights, acts="int8", group=group, a_bytes=1, out_bytes=2,
                    w_bytes=(fmt.code_bits + fmt.metadata_bits_per_group() / group) / 8, quantize_out=False)


def test_llama_2_7b_prefill_runs_on_the_rtl_preset(capsys):
    """Issue 14: exit 2 ("no tile ... fits half of abuf/wbuf/obuf") on main; seq-len 64 still needs chunks
    (K = 11008: 86 groups of 128, 11 KiB of terms per 2×16 block, obuf 8 KiB)."""
    assert main(COMMAND + ["--seq-len", "64"]) == 0
    assert "latency" in capsys.readouterr().out


def _largest_gemm(seq_len: int) -> GemmSpec:
    recipe = get_recipe("w4a8kv4")
    trace = build_trace(get_model("llama-2-7b"), recipe, "prefill", seq_len=seq_len)
    # the most MACs, of those the longest reduction (down_proj: the GEMM of issue 14's error)
    op = max((o for o in trace.ops if o.kind == "linear"), key=lambda o: (o.M * o.N * o.K, o.K))
    return gemm_spec(op, recipe.weights)


def test_the_full_2048_case_tiles_its_largest_gemm_in_chunks():
    spec = _largest_gemm(2048)
    arch = _arch()
    assert (spec.m, spec.n, spec.k) == (2048, 4096, 11008)
    assert gemm.obuf_bytes(spec, arch, *arch.pe.tile[:2]) > arch.buffers[-1].capacity // 2  # unchunked: no fit
    best = search.candidates(spec, arch)[0].tile
    assert best.chunk >= 1 and gemm.fits(spec, arch, best)
    assert gemm.whole_units(spec, arch, best.mt, best.nt, best.kt)


def _deqs(program) -> list:
    return [i for i in program.instrs if i.op == "DEQUANT"]


@settings(max_examples=25, deadline=None)
@given(mb=st.integers(1, 2), nb=st.integers(1, 3), groups=st.integers(2, 9), gk=st.sampled_from([1, 2]),
       tail=st.booleans(), obuf_words=st.integers(2, 12))
def test_emitted_chunks_cover_k_once_in_order(mb, nb, groups, gk, tail, obuf_words):
    """Random shapes, k-tiles of ``gk`` groups (K not a multiple of the tile with ``tail``) and obuf sizes: the
    chunks of every output tile dequantize each group once, in order (acc_out first, acc_in last); every LMMA
    writes its own groups' FP32 terms and reads no obuf; the DEQUANTs read and write what the RTL does."""
    group = 8
    k = (groups * gk + (gk - 1 if tail and gk > 1 else 0)) * group
    spec = _spec(2 * mb, 16 * nb, k, group)
    arch = _arch(obuf=obuf_words * 128 * 2 * mb * nb)   # half of obuf: obuf_words FP32 words per output
    t = gemm.chunked(spec, arch, gemm.Tile(2 * mb, 16 * nb, gk * group))
    if t is None:
        return  # not even one k-tile's terms and the accumulator fit
    program = gemm.emit(spec, arch, t).to_program()
    deqs, g_total = _deqs(program), spec.groups
    assert sum(d["groups"] for d in deqs) == g_total and len(deqs) == gemm.chunks(spec, t)
    flags = [(d["acc_in"], d["acc_out"]) for d in deqs]
    assert flags == ([(0, 0)] if len(deqs) == 1 else [(0, 1)] + [(1, 1)] * (len(deqs) - 2) + [(1, 0)])
    assert all(d["groups"] + d["acc_in"] <= gemm.obuf_slot(spec, arch, t) for d in deqs)
    m, n = spec.m, spec.n
    for d in deqs:
        assert d.rd == (("obuf", m * n * 4 * (d["groups"] + d["acc_in"]), 1),)
        assert d.wr == (("obuf", m * n * (4 if d["acc_out"] else 2), 1),)
    for ins in program.instrs:
        if ins.op == "LMMA":
            assert all(b != "obuf" for b, _, _ in ins.rd)
            assert ins.wr == (("obuf", ins["m"] * ins["n"] * 4 * (ins["k"] // group), 1),)
    engine.run(program, arch)   # the engine runs it (no deadlock: a chunk's LMMAs wait for the last DEQUANT)


def test_chunk_costs_one_more_term_per_output_and_chunk():
    """The engine times a DEQUANT with acc_in as groups + 1 terms per output (the RTL reads the FP32 accumulator
    word of every block first: rtl/gateware/lut_array.py, tests/rtl/gateware/test_lut_array.py)."""
    arch = _arch()
    lanes = arch.vector.lanes
    from sim.isa import Program, make
    for acc_in in (0, 1):
        p = Program(arch=arch.name, instrs=[make("DEQUANT", m=2, n=32, groups=5, acc_in=acc_in, acc_out=1)])
        assert engine.run(p, arch).cycles == 2 * 32 * (5 + acc_in) // lanes + arch.vector.latency


def chunked_model(terms: np.ndarray, bounds: list[int]) -> np.ndarray:
    """FP16 outputs of chunked DEQUANTs over FP32 ``terms`` (M, N, G): each chunk [bounds[i], bounds[i+1]) adds its
    terms in increasing g onto the FP32 accumulator the chunk before it left (none for the first), rounding after
    every add; only the last chunk rounds to FP16 (what the RTL's vector unit does)."""
    f32 = reference.acc_dtype("fp32")
    acc = None
    for lo, hi in zip(bounds, bounds[1:]):
        acc = reference.sequential_sum(terms[..., lo:hi], f32, init=acc)
    return reference.round_to(acc, reference.acc_dtype("fp16"))


@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 4), n=st.integers(1, 6), groups=st.integers(1, 12), group=st.sampled_from([4, 8, 16]),
       cuts=st.lists(st.integers(1, 11), max_size=4), seed=st.integers(0, 2**16), bits=st.sampled_from([2, 4, 8]))
def test_chunked_accumulation_is_bit_exact(m, n, groups, group, cuts, seed, bits):
    """Any split of the groups into chunks gives mpgemm_rounded's bits: the same FP32 adds in the same order."""
    fmt = formats.get(f"int{bits}_asym")
    rng = np.random.default_rng(seed)
    k = groups * group
    a = rng.integers(-128, 128, size=(m, k))
    qw = fmt.quantize(rng.normal(size=(n, k)) * rng.uniform(0.01, 100), group_size=group)
    qw = dataclasses.replace(qw, codes=rng.integers(0, 1 << bits, size=(n, k)).astype(qw.codes.dtype))
    terms = reference.round_to(reference.group_partial_sums(a, qw) * reference.group_scales(qw)[None],
                               reference.acc_dtype("fp32"))
    bounds = sorted({0, groups, *(c for c in cuts if c < groups)})
    want = reference.mpgemm_rounded(a, qw)
    got = chunked_model(terms, bounds)
    assert np.array_equal(got.astype(np.float16).view(np.uint16), want.astype(np.float16).view(np.uint16))
