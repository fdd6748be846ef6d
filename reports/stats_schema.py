"""The shape of a simulation result, as written by ``lutsim simulate --json`` and read by reports.

A *stats* dict::

    {
      "arch": "lut-tc-28nm", "model": "llama-2-7b", "quant": "w4a16-g128", "phase": "decode",
      "seq_len": 1, "kv_len": 1024, "batch": 1,
      "ops": [  # one row per trace op (identical decoder layers may carry a repeat count)
        {"name": "L0.q_proj", "kind": "linear", "repeat": 32, "cycles": 1234, "bound": "memory",
         "utilization": 0.12, "ops": 3.3e7, "bytes": 8.4e6, "energy_pj": 1.0e6,
         "stalls": {"dram": 800, "dependency": 10}},
      ],
      "totals": {"cycles": ..., "latency_ms": ..., "tokens_per_s": ..., "ttft_ms": ... (prefill),
                 "energy_pj": ..., "energy_per_token_mj": ..., "area_mm2": ..., "power_w": ...,
                 "peak_ops_per_s": ..., "dram_bytes_per_s": ...},
      "energy_breakdown_pj": {"pe": ..., "table": ..., "buffers": ..., "dram": ..., "leakage": ...},
      "area_breakdown_mm2": {"pe": ..., "table": ..., "buffers": ..., "vector": ...},
      "assumptions": {...constants and their sources...},
    }

Sweep result rows (Parquet) carry the ``totals`` keys as columns, plus ``energy.<component>``
(pJ) and ``area.<component>`` (mm²) columns, plus ``design`` (a label) when the evaluator sets it.
"""

from __future__ import annotations

REQUIRED_TOTALS = ("cycles", "latency_ms", "tokens_per_s", "energy_per_token_mj", "area_mm2", "power_w")
OP_FIELDS = ("name", "kind", "repeat", "cycles", "bound", "utilization", "ops", "bytes", "energy_pj", "stalls")


def check_stats(stats: dict, where: str = "stats") -> dict:
    """Raise ValueError naming the first missing field of a stats dict; return it unchanged."""
    for key in ("model", "quant", "phase", "ops", "totals", "energy_breakdown_pj", "area_breakdown_mm2",
                "assumptions"):
        if key not in stats:
            raise ValueError(f"{where}: missing field {key!r} (is this the JSON of 'lutsim simulate --json'?)")
    for key in REQUIRED_TOTALS:
        if key not in stats["totals"]:
            raise ValueError(f"{where}.totals: missing field {key!r}")
    return stats
