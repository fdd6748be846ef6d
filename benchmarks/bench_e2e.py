"""End-to-end speed and schedule quality of ``lutsim simulate`` (Llama-2-7B, W4A16-g128, lut-tc-28nm).

Run: ``python benchmarks/bench_e2e.py``. One process, one core. Prints:

* wall time of decode (one token, all 32 layers, KV 1024) and of prefill (2048 tokens): the first call in
  the process (Numba kernels loaded from their on-disk cache by a warm-up run on a different arch; every
  program compiled and simulated) and a repeat call (program cache warm). Targets: decode ≤ 0.5 s,
  prefill ≤ 5 s.
* per linear layer of the 2048-token prefill: simulated cycles, the roofline bound (max of compute-bound
  cycles at the PE's peak rate and bandwidth-bound cycles of the layer's bytes) and their ratio; target
  ≥ 0.90 (the compiler's schedule against the arch's roofline).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from lutsim.api import simulate  # noqa: E402

ARCH, MODEL, QUANT = "lut-tc-28nm", "llama-2-7b", "w4a16-g128"
DECODE_TARGET_S, PREFILL_TARGET_S, ROOFLINE_TARGET = 0.5, 5.0, 0.90


def _timed(**kw) -> tuple[dict, float, float]:
    t0 = time.perf_counter()
    stats = simulate(ARCH, MODEL, QUANT, **kw)
    t1 = time.perf_counter()
    simulate(ARCH, MODEL, QUANT, **kw)
    return stats, t1 - t0, time.perf_counter() - t1


def main() -> int:
    simulate("int8-systolic-28nm", MODEL, "w8a8", "decode", kv_len=16)  # loads the Numba kernels (disk cache)
    dec, dec_first, dec_again = _timed(phase="decode", kv_len=1024)
    pre, pre_first, pre_again = _timed(phase="prefill", seq_len=2048)
    print(f"{MODEL} {QUANT} on {ARCH}")
    print(f"decode  (1 token, KV 1024): first {dec_first:.3f} s, repeat {dec_again:.4f} s (target <= "
          f"{DECODE_TARGET_S} s: {dec_first / DECODE_TARGET_S:.2f} of budget); latency "
          f"{dec['totals']['latency_ms']:.3f} ms, {sum(r['instructions'] for r in dec['ops'])} instructions")
    print(f"prefill (2048 tokens):      first {pre_first:.3f} s, repeat {pre_again:.4f} s (target <= "
          f"{PREFILL_TARGET_S} s: {pre_first / PREFILL_TARGET_S:.2f} of budget); TTFT "
          f"{pre['totals']['ttft_ms']:.3f} ms, {sum(r['instructions'] for r in pre['ops'])} instructions")
    print("prefill linear layers vs the roofline bound (max of compute-bound and bandwidth-bound cycles):")
    worst, sim_sum, roof_sum = 1.0, 0, 0.0
    for r in pre["ops"]:
        if r["kind"] != "linear":
            continue
        ratio = r["roofline_cycles"] / r["cycles"]
        worst = min(worst, ratio)
        sim_sum += r["cycles"] * r["repeat"]
        roof_sum += r["roofline_cycles"] * r["repeat"]
        t = r["tile"]
        print(f"  {r['name']:10s} {r['M']}x{r['N']}x{r['K']}  simulated {r['cycles']:>10d}  roofline "
              f"{r['roofline_cycles']:>12.0f}  ratio {ratio:.4f}  bound {r['bound']:7s} "
              f"tile {t['m']}x{t['n']}x{t['k']} arrays {t['arrays_grid'][0]}x{t['arrays_grid'][1]}")
    total = roof_sum / sim_sum
    print(f"  all linear layers: ratio {total:.4f}, worst {worst:.4f} (target >= {ROOFLINE_TARGET})")
    ok = dec_first <= DECODE_TARGET_S and pre_first <= PREFILL_TARGET_S and worst >= ROOFLINE_TARGET
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
