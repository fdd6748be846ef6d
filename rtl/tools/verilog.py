"""Verilog generation for the RTL designs, and the design table the CLI and synthesis use.

Adding a design is one entry in :data:`DESIGNS`: a name, a constructor (a ``wiring.Component``
class or a ``functools.partial`` of one) and a one-line description; its keyword parameters are
the overridable ones (read from the constructor's signature).
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amaranth.back import verilog as amaranth_verilog

from sim.errors import InputError

from ..gateware.bitmod_pe import BitModPE
from ..gateware.fp16 import Fp16Adder
from ..gateware.lut_array import FPGA_PRESET, lut_array
from ..gateware.lut_tensor_core import LutTensorCore
from ..gateware.mac_pe import MacArray, MacPE
from ..gateware.mixpe_pe import MixPE
from ..gateware.table_precompute import TablePrecompute


@dataclass(frozen=True)
class Design:
    """One generatable block: ``build(**params)`` returns the component; ``top`` is its module name."""

    build: Callable[..., Any]
    top: str
    description: str

    def parameters(self) -> dict[str, Any]:
        """Overridable keyword parameters and their defaults."""
        sig = inspect.signature(self.build)
        return {n: p.default for n, p in sig.parameters.items()
                if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is not p.empty}


DESIGNS: dict[str, Design] = {
    "lut-tc": Design(LutTensorCore, "lut_tensor_core", "LUT Tensor Core unit, INT mode (default M2N64K4)"),
    "table-precompute": Design(TablePrecompute, "table_precompute", "table precompute, K acts → 2^(K−1) entries"),
    "table-precompute-fp16": Design(functools.partial(TablePrecompute, mode="fp16", act_width=16),
                                    "table_precompute_fp16", "table precompute, FP16 activations and entries"),
    "fp16-add": Design(Fp16Adder, "fp16_add", "combinational FP16 adder (RNE), optional ·2^shift on b"),
    "mac-int8": Design(functools.partial(MacPE, k=1), "mac_int8", "INT8×INT8→INT32 MAC PE"),
    "mac-fp16-int8": Design(functools.partial(MacPE, k=1, mode="fp16", act_width=16, acc_width=16), "mac_fp16_int8",
                            "FP16 activation × INT8 weight MAC PE, FP16 product and accumulator (RNE)"),
    "mac-dp4": Design(functools.partial(MacPE, k=4), "mac_dp4", "INT8×INT8→INT32 dot-product-of-4 MAC PE"),
    "mac-array": Design(MacArray, "mac_array", "MAC tensor-core baseline of the LUT unit's shape: M×N INT8 DP-K PEs"),
    "mac-array-fp16": Design(functools.partial(MacArray, mode="fp16", n=2), "mac_array_fp16",
                             "MAC tensor-core baseline, FP16 activations × INT8 weights: M×N FP16 DP-K PEs "
                             "(default M2N2K4: at N = 64 its Verilog takes minutes to generate)"),
    "lut-tc-fp16": Design(functools.partial(LutTensorCore, mode="fp16", act_width=16, acc_width=16),
                          "lut_tensor_core_fp16", "LUT Tensor Core unit, FP16 tables and FP16 accumulator"),
    "bitmod": Design(BitModPE, "bitmod_pe", "BitMoD bit-serial PE: 4 FP16 lanes × one weight term per cycle, FP32 out"),
    "mixpe": Design(MixPE, "mixpe_pe", "MixPE PE, W4A8: shift-and-add group sum, one dequant per group, FP32 out"),
    "mixpe-w4a16": Design(functools.partial(MixPE, acts="fp16"), "mixpe_pe_w4a16",
                          "MixPE PE, W4A16: FP16 activations, FP32 group registers, one dequant per group"),
    "lut-array": Design(lut_array, "lut_array", "LUT array of preset lut-tc-rtl-small: 2 LUT units, table precompute, "
                        "buffers, ISA controller with an instruction-load port, external memory port"),
    "lut-array-fpga": Design(functools.partial(lut_array, preset=FPGA_PRESET), "lut_array_minimal",
                             "the same LUT array at preset lut-tc-rtl-fpga (the smallest it builds: one M1N8K4 unit, "
                             "no bias add, 3.6 KiB of buffers), what an ECP5 LFE5U-85F holds (docs/fpga_flow.md)"),
}


def design(name: str) -> Design:
    try:
        return DESIGNS[name]
    except KeyError:
        raise InputError("design", f"unknown design {name!r}", ", ".join(DESIGNS)) from None


def build(name: str, **overrides):
    """The component of design ``name`` with ``overrides`` applied (InputError on unknown names)."""
    d = design(name)
    allowed = d.parameters()
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise InputError("param", f"design {name!r} has no parameter {', '.join(unknown)}",
                         ", ".join(allowed) or "none")
    return d.build(**overrides)


def to_verilog(component, top: str) -> str:
    """Verilog text of ``component`` as module ``top`` (no source locations, builtin Yosys)."""
    os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")  # identical output on every machine
    return amaranth_verilog.convert(component, name=top, emit_src=False)


def generate(name: str, **overrides) -> tuple[str, str]:
    """(top module name, Verilog text) of design ``name``."""
    top = design(name).top
    return top, to_verilog(build(name, **overrides), top)


def write(name: str, out_dir: str | Path, **overrides) -> Path:
    """Write ``<out_dir>/<top>.v``; returns its path."""
    top, text = generate(name, **overrides)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{top}.v"
    path.write_text(text)
    return path
