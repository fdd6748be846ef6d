"""End-to-end speed and schedule quality of ``lutsim simulate`` (Llama-2-7B), each run a fresh process.

Run: ``python benchmarks/bench_e2e.py [--runs 3]``. Every figure is the wall time of ``lutsim simulate ...
--json`` as a new process: interpreter start, imports (from bytecode), the Numba kernels loaded from their disk
cache where a command uses them (one untimed run first fills both caches), compile and simulate of every op;
nothing else is cached between runs. Targets:

* lut-tc-28nm W4A16-g128 decode (one token, KV 1024) ≤ 0.5 s; prefill (2048 tokens) ≤ 5 s;
* lut-tc-rtl-small W4A8-KV4 prefill (2048 tokens; the RTL-sized arch: tiny buffers, many instructions) ≤ 5 s,
  one run, stopped after ``--limit`` seconds or at ``--memory`` GiB of address space (then FAIL);
* per linear layer of the lut-tc-28nm prefill: simulated cycles against the roofline bound (max of
  compute-bound and bandwidth-bound cycles), ≥ 0.90 for every layer.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from benchmarks.timing import Verdicts, env, fmt_s, lutsim, process  # noqa: E402

MODEL = "llama-2-7b"
CASES = [  # (label, arch, quant, phase args, target s)
    ("decode 1 token, KV 1024", "lut-tc-28nm", "w4a16-g128", ["--phase", "decode", "--kv-len", "1024"], 0.5),
    ("prefill 2048 tokens", "lut-tc-28nm", "w4a16-g128", ["--phase", "prefill", "--seq-len", "2048"], 5.0),
]
RTL_SMALL = ("prefill 2048 tokens", "lut-tc-rtl-small", "w4a8kv4", ["--phase", "prefill", "--seq-len", "2048"], 5.0)
ROOFLINE_TARGET = 0.90
INCLUDES = "fresh process: start, imports, Numba disk-cache load where used, compile and simulate of every op"


def command(arch: str, quant: str, phase: list[str]) -> list[str]:
    return lutsim("simulate", "--arch", arch, "--model", MODEL, "--quant", quant, *phase, "--json")


def roofline(stats: dict, v: Verdicts) -> None:
    print("prefill linear layers vs the roofline bound (max of compute-bound and bandwidth-bound cycles):")
    worst, sim_sum, roof_sum = 1.0, 0, 0.0
    for r in stats["ops"]:
        if r["kind"] != "linear":
            continue
        ratio = r["roofline_cycles"] / r["cycles"]
        worst = min(worst, ratio)
        sim_sum += r["cycles"] * r["repeat"]
        roof_sum += r["roofline_cycles"] * r["repeat"]
        print(f"  {r['name']:10s} {r['M']}x{r['N']}x{r['K']}  simulated {r['cycles']:>10d}  roofline "
              f"{r['roofline_cycles']:>12.0f}  ratio {ratio:.4f}  bound {r['bound']}")
    v.check(f"every prefill linear layer >= {ROOFLINE_TARGET} of its roofline bound", worst >= ROOFLINE_TARGET,
            f"worst {worst:.4f}, all layers {roof_sum / sim_sum:.4f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--limit", type=float, default=300.0, help="seconds before the rtl-small prefill is stopped")
    ap.add_argument("--memory", type=float, default=8.0, help="GiB of address space the rtl-small prefill may use")
    args = ap.parse_args(argv)
    v = Verdicts("bench_e2e")
    prefill = None
    for label, arch, quant, phase, target in CASES:
        cmd = command(arch, quant, phase)
        process(cmd, 1, "warm-up: fills the Numba disk cache")
        t, out = process(cmd, args.runs, INCLUDES)
        print(f"{arch} {quant} {label}: {t}")
        v.check(f"lutsim simulate {arch} {quant} {label} <= {target} s", t.median <= target, fmt_s(t.median))
        if phase[1] == "prefill":
            prefill = json.loads(out)
    roofline(prefill, v)
    label, arch, quant, phase, target = RTL_SMALL
    t0 = time.perf_counter()
    limit = int(args.memory * 2**30)
    try:
        res = subprocess.run(command(arch, quant, phase), capture_output=True, text=True, env=env(), timeout=args.limit,
                             preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))
        seconds = time.perf_counter() - t0
        note = "" if res.returncode == 0 else f"failed (exit {res.returncode}; {args.memory:g} GiB limit?): "
    except subprocess.TimeoutExpired:
        seconds, note = args.limit, f"stopped after {args.limit:.0f} s: "
    print(f"{arch} {quant} {label}: {note}{fmt_s(seconds)} (one run; {INCLUDES})")
    v.check(f"lutsim simulate {arch} {quant} {label} <= {target} s", not note and seconds <= target,
            f"{note}{fmt_s(seconds)}")
    return v.exit_code()


if __name__ == "__main__":
    sys.exit(main())
