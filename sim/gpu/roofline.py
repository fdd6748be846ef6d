"""GPU roofline of a trace: per op ``time = ops / min(peak(op precision), AI · BW)``, summed, no overlap.

AI = ops / bytes. An op with no ops (a pure copy) takes bytes / BW. Presets live in ``presets.yaml``
with their sources. An op's precision is what a GPU would compute it in: ``int8`` when both operands are
integer formats of at most 8 bits, ``fp8`` / ``fp4`` when both are such floats and the GPU lists that peak,
``fp16`` otherwise (weight-only quantization dequantizes to fp16; vector ops use the fp16 peak too).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim import formats
from sim.errors import InputError
from sim.userfile import read_packaged_file

PRESETS_FILE = Path(__file__).with_name("presets.yaml")
GB = 1e9  # presets give GB/s
TERA = 1e12  # presets give T(FL)OPS


@dataclass(frozen=True)
class GPU:
    key: str
    name: str
    bandwidth: float  # bytes/s
    peaks: dict  # precision -> ops/s
    source: str

    def peak(self, precision: str) -> float:
        """Peak ops/s of ``precision``, falling back fp4 → fp8 → fp16 when the GPU lists none."""
        chain = {"fp4": ("fp4", "fp8", "fp16"), "fp8": ("fp8", "fp16")}.get(precision, (precision, "fp16"))
        for p in chain:
            if p in self.peaks:
                return self.peaks[p]
        raise InputError("gpu", f"{self.key} lists no peak for {precision} or fp16")

    def to_dict(self) -> dict:
        return {"key": self.key, "name": self.name, "bandwidth_gbs": self.bandwidth / GB,
                "peak_tops": {k: v / TERA for k, v in self.peaks.items()}, "source": self.source}


def _presets() -> dict:
    return read_packaged_file(PRESETS_FILE)


def gpu_names() -> list[str]:
    return list(_presets())


def llm_viewer_gpu_names() -> list[str]:
    """Presets that LLM-Viewer's hardware table has (an ``llm_viewer`` entry in ``presets.yaml``)."""
    return [k for k, e in _presets().items() if "llm_viewer" in e]


def get_gpu(key: str, llm_viewer: bool = False) -> GPU:
    """A preset by key; ``llm_viewer`` applies the entry's LLM-Viewer values and refuses presets it lacks."""
    if key not in _presets():
        raise InputError("gpu", f"unknown GPU {key!r}", ", ".join(gpu_names()))
    e = dict(_presets()[key])
    if llm_viewer:
        if "llm_viewer" not in e:
            raise InputError("gpu", f"LLM-Viewer's hardware table has no {key!r}, so --compat llm-viewer cannot run "
                             "on it", ", ".join(llm_viewer_gpu_names()))
        e.update(e["llm_viewer"])
    return GPU(key, e["name"], e["bandwidth_gbs"] * GB, {k: v * TERA for k, v in e["peak_tops"].items()},
               e["source"])


def roofline_time(ops: float, nbytes: float, peak: float, bandwidth: float) -> float:
    """Seconds for one op: ops / min(peak, AI·BW); bytes / BW when there are no ops."""
    if ops <= 0:
        return nbytes / bandwidth
    if nbytes <= 0:
        return ops / peak
    return ops / min(peak, ops / nbytes * bandwidth)


def op_precision(w_fmt: str, a_fmt: str) -> str:
    """The GPU precision of a matmul with these operand formats (see module docstring); each format's
    ``family`` and ``code_bits`` come from :func:`sim.formats.storage` (an unknown format is an InputError)."""
    if not w_fmt:
        return "fp16"
    w, a = _storage(w_fmt), _storage(a_fmt)
    if w.family == a.family == "int" and max(w.code_bits, a.code_bits) <= 8:
        return "int8"
    fams = {w.family, a.family}
    if fams <= {"fp4", "fp8"}:
        return "fp4" if fams == {"fp4"} else "fp8"
    return "fp16"


def _storage(name: str) -> formats.Storage:
    try:
        return formats.storage(name)
    except formats.FormatError:
        raise InputError("format", f"unknown format {name!r}", ", ".join(formats.all_names())) from None


def roofline_rows(rows: list[dict], gpu: GPU) -> dict:
    """Rows with ``name``, ``ops``, ``bytes``, ``precision`` (already totalled over repeats) → result dict."""
    out = []
    for r in rows:
        peak = gpu.peak(r["precision"])
        t = roofline_time(r["ops"], r["bytes"], peak, gpu.bandwidth)
        ai = r["ops"] / r["bytes"] if r["bytes"] else float("inf")
        bound = "compute" if ai * gpu.bandwidth >= peak else "memory"
        out.append({**r, "arithmetic_intensity": ai, "peak_tops": peak / TERA, "bound": bound, "latency_ms": t * 1e3})
    total = {"latency_ms": sum(r["latency_ms"] for r in out), "ops": sum(r["ops"] for r in out),
             "bytes": sum(r["bytes"] for r in out)}
    return {"gpu": gpu.to_dict(), "ops": out, "total": total}


def roofline_trace(trace, gpu: GPU) -> dict:
    """Our roofline of a :class:`workloads.trace.Trace` (correct shapes and bytes)."""
    rows = [{"name": op.name, "kind": op.kind, "repeat": op.repeat, "precision": op_precision(op.w_fmt, op.a_fmt),
             "ops": op.flops * op.repeat, "bytes": op.bytes * op.repeat,
             "bytes_weight": op.bytes_weight * op.repeat} for op in trace.ops]
    res = roofline_rows(rows, gpu)
    res["mode"] = "lutsim"
    res["meta"] = trace.meta() | {"recipe": trace.recipe.to_dict()}
    return res
