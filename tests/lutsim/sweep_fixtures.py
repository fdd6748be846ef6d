"""Evaluators for the sweep-runner tests (importable by worker processes)."""

import os
import time


def toy_evaluate(base_arch: str, params: dict, workload: dict) -> dict:
    """A deterministic stand-in model: area and latency from the parameters."""
    x, y = params["x"], params["y"]
    if x < 0:
        raise ValueError(f"x must be >= 0, got {x}")
    if y == 13:
        raise RuntimeError("unlucky design point")
    latency = float(workload["n"]) / (x + y)
    return {"area_mm2": float(x * y), "latency_ms": latency, "tokens_per_s": 1e3 / latency,
            "energy_per_token_mj": 0.1 * x + 0.2 * y, "energy.pe": 1e5 * x, "energy.dram": 3e5 * y}


def slow_evaluate(base_arch: str, params: dict, workload: dict) -> dict:
    """Like toy_evaluate but slow, so a test can kill the sweep midway."""
    time.sleep(float(os.environ.get("LUTSIM_TEST_DELAY", "0.05")))
    return toy_evaluate(base_arch, params, workload)
