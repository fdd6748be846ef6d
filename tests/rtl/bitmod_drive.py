"""Driving rtl.gateware.bitmod_pe.BitModPE from sim.pe.bitmod_pe_io folds (shared by amaranth.sim and cocotb
testbenches): random operands with the formats' edge values, and the fold → port values mapping."""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.formats import get as get_format
from tests.rtl.amaranth_util import pack

FP16_SPECIAL = np.array([65504.0, -65504.0, 2.0 ** -24, -(2.0 ** -24), 2.0 ** -14 - 2.0 ** -24, 1.0, -2.0, 0.0, -0.0])


def random_fp16(rng, shape) -> np.ndarray:
    """FP16 values (as float64): normals over the whole range, subnormals, ±65504, ±0."""
    mag = np.exp2(rng.uniform(-26, 16, size=shape))
    a = (rng.choice([-1.0, 1.0], size=shape) * mag).astype(np.float16)
    a = np.where(np.isinf(a), np.float16(65504), a).astype(np.float64)
    pick = rng.random(shape) < 0.2
    a[pick] = rng.choice(FP16_SPECIAL, size=int(pick.sum()))
    return a


def random_operands(rng, weights: str, m: int, n: int, k: int, group: int):
    """FP16 activations (normals over a wide range, subnormals, ±65504, zeros) and quantized weights
    with zeros, all-zero groups and the format's most negative level."""
    a = random_fp16(rng, (m, k))
    w = rng.normal(size=(n, k)) * np.exp2(rng.integers(-3, 4, size=(n, 1)))
    w[rng.random((n, k)) < 0.1] = 0.0
    if k // group > 1:
        w[0, :group] = 0.0                                      # an all-zero group
    fmt = get_format(weights)
    qw = fmt.quantize(w, group_size=group)
    codes = qw.codes.copy()
    top = 1 << (fmt.code_bits - 1)
    if weights.startswith("bitmod"):      # the special value (−0 code) and the most negative base value
        codes[-1, 0], codes[0, -1] = top, (1 << fmt.code_bits) - 1
    else:                                 # the most negative level −2^(b−1) (code 0)
        codes[-1, 0] = codes[0, -1] = 0
    return a, dataclasses.replace(qw, codes=codes)


def step_ports(step, code_bits: int, is_bitmod: bool) -> dict[str, int]:
    """Port values (as integers) presenting ``step``."""
    ports = {"act": pack(step.act, 16), "w": pack(step.w, code_bits), "last": int(step.last),
             "last_group": int(step.last_group), "scale": step.scale}
    if is_bitmod:
        ports["tag"] = step.tag
    else:
        ports["scale_exp"] = step.scale_exp & ((1 << 6) - 1)
    return ports


def group_value(d: int, d_exp: int) -> float:
    return float(np.ldexp(float(d), d_exp))
