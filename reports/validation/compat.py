"""Validation tables of the compatibility modes and formulas: LUT Tensor Core Table 1, SCALE-Sim, BitMoD's tile
model and LLM-Viewer's roofline (each reproduced exactly, or to the published digits)."""

from __future__ import annotations

from sim import pe
from sim.compat.bitmod_tile_model import bitmod_cycles, headline_speedups
from sim.gpu.llm_viewer_compat import llm_viewer_roofline
from sim.gpu.roofline import get_gpu
from sim.pe.base import GemmProblem, PEConfig
from workloads.models import get_model

from .row import Row

# --- LUT Tensor Core, Table 1 (arXiv 2408.06003): peak and density formulas --------------------
# A100: 108 SMs, 4 tensor cores per SM, normalised clock 1.41 GHz (docs/references.md#lut-tensor-core, Table 1).
A100_SMS = 108
TC_PER_SM = 4
A100_CLOCK_HZ = 1.41e9
LUT_SLOTS = 512  # M2N64K4 elongated tile: M·N·K lookup slots (docs/references.md#lut-tensor-core)


def lut_peak_ops(x: int, w_bits: int, sms: int = A100_SMS) -> float:
    """Peak ops/s of A100-LUT-<x>X: 2·(x·512)·4 TC/SM·#SM·f / W_BIT (docs/references.md#lut-tensor-core, derived
    [I])."""
    return 2 * (x * LUT_SLOTS) * TC_PER_SM * sms * A100_CLOCK_HZ / w_bits


def ltc_table1_rows() -> list[Row]:
    """Peak TOPs and compute density (TOPs/mm²) of Table 1's rows (BitNet W2A8)."""
    src = "LUT Tensor Core Table 1"
    rows = []
    for x, peak, area_sm, density in ((4, 1248, 0.187, 61.84), (8, 2496, 0.373, 61.95)):
        ours = lut_peak_ops(x, w_bits=2) / 1e12
        rows.append(Row(src, f"A100-LUT-{x}X peak (TOPs)", peak, ours, 0.001,
                        "formula fitted to these rows: 2·(X·512)·4·108·1.41 GHz / 2"))
        rows.append(Row(src, f"A100-LUT-{x}X density (TOPs/mm²)", density, ours / (A100_SMS * area_sm), 0.005,
                        "peak / (108 SMs × published TC area per SM); area rounded to 3 digits in the paper"))
    for name, peak, area_sm, density, note in (
            ("A100 FP16 TC", 312, 0.975, 2.96, ""),
            ("A100 INT8 TC", 624, 0.312, 17.73,
             "624 / (108 × 0.312) = 18.52: the paper's density implies 0.326 mm²/SM, not the 0.312 it prints")):
        rows.append(Row(src, f"{name} density (TOPs/mm²)", density, peak / (A100_SMS * area_sm),
                        0.05 if note else 0.005, note))
    return rows


# --- SCALE-Sim 3.0.0 (docs/references.md#peer-tools): measured cycle counts, (array R, C, M, N, K, dataflow, cycles)
SCALESIM_MEASURED = [
    (32, 32, 64, 64, 64, "os", 503), (32, 32, 64, 64, 64, "ws", 631), (32, 32, 64, 64, 64, "is", 631),
    (8, 8, 20, 12, 30, "os", 263), (8, 8, 20, 12, 30, "ws", 335), (8, 8, 20, 12, 30, "is", 407),
    (16, 8, 100, 24, 40, "os", 1301), (16, 8, 100, 24, 40, "ws", 1241), (16, 8, 100, 24, 40, "is", 2417),
    (32, 32, 512, 512, 512, "os", 146_943), (32, 32, 512, 512, 512, "ws", 155_135),
]


def scalesim_rows() -> list[Row]:
    """Our SCALE-Sim compatibility mode (int8-systolic, --mode scalesim) on every measured case."""
    model = pe.get("int8-systolic")
    rows = []
    for r, c, m, n, k, df, cycles in SCALESIM_MEASURED:
        res = model.run(GemmProblem(m, n, k, "int8", "int8"), model.resolve(PEConfig(array=(r, c), dataflow=df)),
                        "scalesim")
        rows.append(Row("SCALE-Sim 3.0.0", f"{r}x{c} {df.upper()} M,N,K={m},{n},{k} (cycles)", cycles, res.cycles,
                        0.0, "measured by running scalesim (docs/references.md#peer-tools)"))
    return rows


# --- BitMoD's analytical tile model: every cycle count of BitMoD-HPCA-25 bitmod_sim/plot/speedup_plot.ipynb ----
# (cycle_<design>_d: prefill of 256 tokens, cycle_<design>_g: one decode token), in its model order
# OPT-1.3B, Phi-2, Yi-6B, Llama-2-7B, Llama-2-13B, Llama-3-8B (zoo names below).
BITMOD_MODELS = ("opt-1.3b", "phi-2", "yi-6b", "llama-2-7b", "llama-2-13b", "llama-3-8b")
BITMOD_PUBLISHED = {  # design -> phase -> cycles per model of BITMOD_MODELS
    "fp16": {"prefill": (669255680, 1399816192, 2878668800, 3156574208, 6676111360, 3969089536),
             "decode": (82153718, 165841248, 362970848, 413518608, 804330080, 469624976)},
    "ant": {"prefill": (440975360, 847773696, 1734868992, 1949564928, 4076584960, 2266234880),
            "decode": (25779238, 51998112, 119342816, 129497936, 251907680, 132370576)},
    "olive": {"prefill": (403718144, 779268096, 1575157760, 1768062976, 3648512000, 2008645632),
              "decode": (20018374, 41655712, 96691936, 97236816, 189155680, 105031744)},
    "bitmod-lossless": {"prefill": (336236544, 693780480, 1414209536, 1649680384, 3537397760, 1901133824),
                        "decode": (31220054, 62986912, 137681120, 156919888, 305157360, 178109840)},
    "bitmod-lossy": {"prefill": (233070592, 515194880, 946937856, 1202921472, 2601461760, 1273233408),
                     "decode": (15857750, 31959712, 69662944, 79493200, 154552560, 90099088)},
}
BITMOD_HEADLINE = {"ant": 1.69, "olive": 1.48}  # arXiv 2411.11745 abstract: mean speedup over their 6 models
# Their headline is quoted to 2 decimals; the notebook's own cycle counts give 1.6914 / 1.4739 with their averaging
# (and 1.6900 / 1.4717 as a ratio of mean speedups, 1.6887 / 1.4710 geometric): 1.48 is 0.4 % above any of them.
BITMOD_HEADLINE_TOLERANCE = 0.005


def bitmod_rows() -> list[Row]:
    """Compatibility mode: every published cycle count exactly, and the headline ratios over their 6 models."""
    rows = [Row("BitMoD tile model", f"{name} {d} {ph} (cycles)", cycles[k],
                bitmod_cycles(get_model(name), d, ph)["total_cycles"], 0.0, "compatibility mode")
            for d, by_phase in BITMOD_PUBLISHED.items() for ph, cycles in by_phase.items()
            for k, name in enumerate(BITMOD_MODELS)]
    ours = headline_speedups([get_model(n) for n in BITMOD_MODELS])
    for base, pub in BITMOD_HEADLINE.items():
        rows.append(Row("BitMoD tile model", f"BitMoD-lossy speedup over {base.upper()} (mean of 6 models)", pub,
                        ours[base], BITMOD_HEADLINE_TOLERANCE,
                        "their 6 models, mean of prefill and prefill+20 per model (speedup_plot.ipynb's arithmetic "
                        "on its own cycle counts, which this mode reproduces exactly); published to 2 decimals"))
    return rows


# --- LLM-Viewer (docs/references.md#peer-tools): LLaMA-2-7B, batch 1, 1024 tokens, A100-40G, no FlashAttention
LLM_VIEWER_PUBLISHED = [("prefill", 16, "latency_ms", 50.79), ("prefill", 16, "ops", 13.82e12),
                        ("decode", 16, "latency_ms", 8.854), ("decode", 16, "bytes", 13.77e9),
                        ("decode", 4, "latency_ms", 2.481), ("decode", 4, "bytes", 3.857e9)]


def llm_viewer_rows() -> list[Row]:
    """Compatibility mode (--compat llm-viewer) against the published figures, to 4 significant digits."""
    m, gpu = get_model("llama-2-7b"), get_gpu("a100-40g", llm_viewer=True)
    rows = []
    for phase, w_bits, key, pub in LLM_VIEWER_PUBLISHED:
        total = llm_viewer_roofline(m, gpu, phase, 1024, 1, w_bits, 16, 16)["total"]
        ours = float(f"{total[key]:.4g}")
        rows.append(Row("LLM-Viewer", f"{phase} W{w_bits}A16 {key}", pub, ours, 0.0, "4 significant digits"))
    return rows
