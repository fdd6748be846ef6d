"""Preset bitmod-rtl-small (the small BitMoD array of the RTL, rtl/gateware/bitmod_array.py): the compiler emits
a k-tiled BitMoD FP4 GEMM for it, the engine runs the program, and every BSMMA's duration is its PE cycles (folds x fold
of docs/bitmod_pe.md), never the buffer-access cycles: the property the RTL's exact timing relies on."""

from __future__ import annotations

from compiler import gemm
from compiler.specs import GemmSpec
from sim import arch as arch_registry
from sim import engine
from sim.engine.decode import decode

PRESET = "bitmod-rtl-small"


def test_compiler_targets_preset_and_pe_cycles_dominate():
    arch = arch_registry.load(PRESET)
    group, k = 8, 96
    spec = GemmSpec(m=4, n=8, k=k, weights="bitmod_fp4", acts="fp16", group=group,
                    w_bytes=(4 + 8 / group) / 8, a_bytes=2, out_bytes=2, quantize_out=False)
    tile = gemm.Tile(4, 8, 64)                        # K = 96: k-tiles of 64 and 32
    program = gemm.emit(spec, arch, tile)
    stats = engine.run(program, arch)
    assert stats.cycles > 0
    dec = decode(program, arch)
    mmas = [i for i, op in enumerate(dec.ops) if op == "BSMMA"]
    assert len(mmas) == 2
    # fold = a + (G - 1) max(a, L) + L with a = group/4 lanes x T = 2 terms, L = 6 scale bits; 2x2 folds
    a, scale = group // 4 * 2, 6
    for i, kt in zip(mmas, (64, 32)):
        fold = a + (kt // group - 1) * max(a, scale) + scale
        assert dec.occ[i] == (8 // 2) * (4 // 2) * fold
