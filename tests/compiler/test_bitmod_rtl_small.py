"""Preset bitmod-rtl-small (the small BitMoD array of the RTL, rtl/gateware/bitmod_array.py): the compiler emits
a k-tiled BitMoD FP4 GEMM for it, the engine runs the program, and every BSMMA's duration is its PE cycles (folds x fold
of docs/bitmod_pe.md), never the buffer-access cycles: the property the RTL's exact timing relies on."""

from __future__ import annotations

from compiler import gemm
from compiler.specs import GemmSpec
from sim import arch as arch_registry
from sim import engine
from sim import pe as pe_registry
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


def _spec(n: int = 8, k: int = 160, weights: str = "bitmod_fp4", group: int = 8) -> GemmSpec:
    code = {"bitmod_fp4": 4, "int8": 8}[weights]
    meta = 8 if weights.startswith("bitmod") else 16
    return GemmSpec(m=4, n=n, k=k, weights=weights, acts="fp16", group=group, w_bytes=(code + meta / group) / 8,
                    a_bytes=2, out_bytes=2, quantize_out=False)


def test_channel_scales_option():
    """pe.options.channel_scales (set in the preset): one resident wbuf LOAD of the N FP16 channel scales (BitMoD
    formats), freed at the end; every DEQUANT has groups=1 and reads its n-tile's scales; the outputs follow the
    scales in DRAM; DEQUANT is busy ⌈m·n/4⌉ cycles (obuf reads: 32-bit words × 4 banks) even with 20 groups.
    Without the option (the same arch otherwise) DEQUANT counts the groups and nothing more is loaded."""
    arch = arch_registry.load(PRESET)
    assert arch.pe.options == {"channel_scales": True}
    spec, tile = _spec(), gemm.Tile(4, 4, 96)
    program = gemm.emit(spec, arch, tile).to_program()
    read = {d for ins in program.instrs if ins.op == "BSMMA" for d in ins.deps}
    chan = [i for i, ins in enumerate(program.instrs) if ins.op == "LOAD" and ins["buf"] == "wbuf" and i not in read]
    assert len(chan) == 1 and program.instrs[chan[0]]["bytes"] == spec.n * gemm.CHANNEL_SCALE_BYTES
    c = program.instrs[chan[0]]
    stores = [ins for ins in program.instrs if ins.op == "STORE"]
    assert min(s["addr"] for s in stores) == c["addr"] + c["bytes"]
    assert ("wbuf", c["bytes"]) in program.instrs[-1].free
    dqs = [i for i, ins in enumerate(program.instrs) if ins.op == "DEQUANT"]
    assert len(dqs) == 2 and all(program.instrs[i]["groups"] == 1 for i in dqs)
    assert all(("wbuf", 4 * gemm.CHANNEL_SCALE_BYTES, 1) in program.instrs[i].rd for i in dqs)
    dec = decode(program, arch)
    assert all(dec.occ[i] == -(-4 * 4 // 4) for i in dqs)

    plain = arch_registry.from_dict({**arch.to_dict(), "pe": {**arch.to_dict()["pe"], "options": {}}})
    before = gemm.emit(spec, plain, tile).to_program()
    assert len(before.instrs) == len(program.instrs) - 2       # no channel-scale LOAD nor its SYNC
    assert all(ins["groups"] == spec.groups for ins in before.instrs if ins.op == "DEQUANT")
    assert gemm.channel_scale_bytes(_spec(weights="int8"), arch) == 0   # INT formats: no channel scale
    # the PE events count the channel multiply only where the PEs do it (the output is the same product)
    prob = pe_registry.GemmProblem(4, 4, 96, "bitmod_fp4", "fp16", 8)
    muls = [pe_registry.tile_cycles("bitmod", a.pe.config(), prob).events["fp32_muls"] for a in (arch, plain)]
    assert muls == [0, 16]
