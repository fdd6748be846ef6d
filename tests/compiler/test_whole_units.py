"""pe.options.whole_units (lut-tc-rtl-small): the compiler's own tile search gives only array instructions of
whole M×N×K unit tiles, remainder tiles included, so the RTL array (rtl/tools/array_program.py) can run the
program; without the option the same search picks partial (padded) sub-tiles."""

from __future__ import annotations

from compiler import search
from compiler.specs import GemmSpec
from sim import arch as arch_registry
from sim import formats

GEMMS = [(8, 16, 128, 128), (8, 128, 128, 128), (4, 48, 40, 8), (6, 80, 64, 16), (16, 512, 128, 128)]


def _spec(m: int, n: int, k: int, group: int) -> GemmSpec:
    fmt = formats.get("int4_asym")
    return GemmSpec(m=m, n=n, k=k, weights="int4_asym", acts="int8", group=group, a_bytes=1, out_bytes=2,
                    w_bytes=(fmt.code_bits + fmt.metadata_bits_per_group() / group) / 8, quantize_out=False)


def _shapes(arch) -> list[tuple[int, int, int]]:
    out = []
    for gemm in GEMMS:
        found = search.search(_spec(*gemm), arch)
        out += [(i["m"], i["n"], i["k"]) for i in found.program.instrs if i.op == "LMMA"]
    return out


def test_rtl_preset_tiles_are_whole_units():
    arch = arch_registry.load("lut-tc-rtl-small")
    mu, nu, k = arch.pe.tile
    shapes = _shapes(arch)
    assert shapes and all(m % mu == 0 and n % nu == 0 and kk % k == 0 for m, n, kk in shapes), shapes


def test_without_the_option_the_search_takes_partial_tiles():
    d = arch_registry.load("lut-tc-rtl-small").to_dict()
    d["pe"]["options"] = {}
    arch = arch_registry.from_dict(d)
    mu, nu, _ = arch.pe.tile
    assert any(m % mu or n % nu for m, n, _ in _shapes(arch))


def test_a_gemm_with_no_whole_tiling_still_compiles():
    """decode's m = 1: padded tiles as before (the RTL assembler refuses such a program)."""
    found = search.search(_spec(1, 64, 128, 128), arch_registry.load("lut-tc-rtl-small"))
    assert any(i.op == "LMMA" and i["m"] == 1 for i in found.program.instrs)
