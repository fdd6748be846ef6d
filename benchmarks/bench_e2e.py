"""End-to-end speed and schedule quality of ``lutsim simulate`` (Llama-2-7B, W4A16-g128, lut-tc-28nm).

Run: ``python benchmarks/bench_e2e.py``. One process, one core. Prints:

* wall and CPU time of decode (one token, all 32 layers, KV 1024) and of prefill (2048 tokens): the first
  call in the process (Numba kernels loaded from their on-disk cache by a warm-up run on a different arch;
  every program compiled and simulated) and a repeat call (program cache warm). Targets: decode ≤ 0.5 s,
  prefill ≤ 5 s of one core (judged on CPU time, which a busy shared machine does not inflate).
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

from lutsim.pipeline import simulate  # noqa: E402

ARCH, MODEL, QUANT = "lut-tc-28nm", "llama-2-7b", "w4a16-g128"
DECODE_TARGET_S, PREFILL_TARGET_S, ROOFLINE_TARGET = 0.5, 5.0, 0.90


def _timed(**kw) -> tuple[dict, tuple[float, float], tuple[float, float]]:
    """Stats, (wall, CPU) seconds of the first call and of a repeat call."""
    w0, c0 = time.perf_counter(), time.process_time()
    stats = simulate(ARCH, MODEL, QUANT, **kw)
    w1, c1 = time.perf_counter(), time.process_time()
    simulate(ARCH, MODEL, QUANT, **kw)
    again = (time.perf_counter() - w1, time.process_time() - c1)
    return stats.to_dict(), (w1 - w0, c1 - c0), again


def main() -> int:
    simulate("int8-systolic-28nm", MODEL, "w8a8", "decode", kv_len=16)  # loads the Numba kernels (disk cache)
    dec, dec_first, dec_again = _timed(phase="decode", kv_len=1024)
    pre, pre_first, pre_again = _timed(phase="prefill", seq_len=2048)
    print(f"{MODEL} {QUANT} on {ARCH} (seconds: wall / CPU of this process; on a shared machine the CPU time "
          "is what one dedicated core would take)")
    for label, stats, first, again, target in (
            ("decode  (1 token, KV 1024)", dec, dec_first, dec_again, DECODE_TARGET_S),
            ("prefill (2048 tokens)     ", pre, pre_first, pre_again, PREFILL_TARGET_S)):
        print(f"{label}: first {first[0]:.3f} / {first[1]:.3f} s, repeat {again[0]:.4f} / {again[1]:.4f} s "
              f"(target <= {target} s: CPU {first[1] / target:.2f} of budget); latency "
              f"{stats['totals']['latency_ms']:.3f} ms, {sum(r['instructions'] for r in stats['ops'])} instructions")
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
    ok = dec_first[1] <= DECODE_TARGET_S and pre_first[1] <= PREFILL_TARGET_S and worst >= ROOFLINE_TARGET
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
