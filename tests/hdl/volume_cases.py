"""Random vectors with edge values for tests/hdl/test_volume.py, and the models' expected results.

Each ``*_case`` returns a :class:`Case`: the per-cycle port values to stream (tests/hdl/verilator_stream.py),
optional per-result side values, and the expected records — the edges at which the result strobe is high
and the output values there, from the Python models (sim.pe.lut_tensor_core.tile_io,
sim.pe.table_precompute.precompute, sim.pe.bitmod_pe_io, sim.pe.mixpe_io) or, for the MAC PE (which has no
per-cycle model in sim/pe), the bit-exact dot product of tests/rtl/gateware/test_mac_pe.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.pe import bitmod_pe_io, mixpe_io
from sim.pe._rounding import EXACT_INT, FP16
from sim.pe.bitmod_pe import WEIGHTS
from sim.pe.lut_tensor_core import LUT_OUTPUT_LATENCY, tile_io
from sim.pe.table_precompute import precompute, precompute_latency
from sim.reference import round_to
from tests.rtl.bitmod_drive import FP16_SPECIAL, random_fp16
from tests.rtl.lut_model import fp16_bits

INF_NAN = np.array([np.inf, -np.inf, np.nan])


@dataclass
class Case:
    """vectors: port → (cycles, ...) values; side: port → (results, ...); expect: output port → (records, ...)
    values at ``edges``; ``vectors_n``: the vectors (tiles, tables, folds, MACs) the case holds."""

    vectors: dict[str, np.ndarray]
    edges: np.ndarray
    expect: dict[str, np.ndarray]
    vectors_n: int
    side: dict[str, np.ndarray] = field(default_factory=dict)
    signed: dict[str, bool] = field(default_factory=dict)
    group_values: np.ndarray | None = None   # BitMoD: every group's dequant value d·2^e, in order
    tail: int = 8                            # all-zero cycles after the vectors (drain)


def _int_acts(rng, shape, width: int) -> np.ndarray:
    """Random signed ``width``-bit activations (..., K); a fifth of the groups all most negative, all most
    positive, all zero, or the stored-entry extreme (top most negative, the others most positive)."""
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    a = rng.integers(lo, hi + 1, size=shape)
    kind = rng.integers(0, 20, size=shape[:-1])
    a[kind == 0] = lo
    a[kind == 1] = hi
    a[kind == 2] = 0
    a[kind == 3] = hi
    a[..., -1][kind == 3] = lo
    return a


def _fp16_values(rng, shape, specials: bool) -> np.ndarray:
    """FP16 values over the whole range (subnormals, ±65504, ±0); with ``specials`` also ±inf and NaN."""
    with np.errstate(over="ignore"):                  # random_fp16 casts values beyond 65504 (then clamps)
        a = random_fp16(rng, shape)
    if specials:
        pick = rng.random(shape) < 0.03
        a[pick] = rng.choice(INF_NAN, size=int(pick.sum()))
    return a


def lut_tc_case(rng, tiles: int, m: int, n: int, k: int, mode: str = "int", act_width: int = 8) -> Case:
    """``tiles`` back-to-back tiles of 1..8 planes each. INT: codes with all-zero and all-ones columns,
    psum_in up to ±(2^31 − 2^18) (no wrap); FP16: tables over the whole range (overflow to inf, inf − inf),
    psum_in with ±inf and NaN."""
    bits = rng.integers(1, 9, size=tiles)
    fp16 = mode == "fp16"
    tables, idx, neg, psum, out = [], [], [], [], []
    for t in range(tiles):
        b = int(bits[t])
        codes = rng.integers(0, 1 << b, size=(n, k))
        cols = rng.random(n)
        codes[cols < 0.05] = 0
        codes[cols > 0.95] = (1 << b) - 1
        if fp16:
            a = _fp16_values(rng, (m, k), specials=False)
            p = _fp16_values(rng, (m, n), specials=True)
            io = tile_io(a, codes, b, p, acts="fp16", acc="fp16")
            tables.append(fp16_bits(io.tables))
            psum.append(fp16_bits(p))
            out.append(fp16_bits(io.out))
        else:
            a = _int_acts(rng, (m, k), act_width)
            span = (1 << (31 if rng.random() < 0.2 else 20)) - (1 << 18)
            p = rng.integers(-span, span + 1, size=(m, n))
            io = tile_io(a, codes, b, p, acts=f"int{act_width}")
            tables.append(io.tables.astype(np.int64))
            psum.append(p)
            out.append(io.out.astype(np.int64))
        assert io.cycles == b + LUT_OUTPUT_LATENCY
        idx.append(io.idx)
        neg.append(io.neg)
    tile = np.repeat(np.arange(tiles), bits)
    plane = np.arange(len(tile)) - np.repeat(np.cumsum(bits) - bits, bits)
    start = plane == 0
    psum = np.asarray(psum)
    junk = psum[(tile + 1) % tiles]                      # psum_in is only sampled with start
    vectors = {"start": start.astype(np.int64), "n_planes": bits[tile], "tables": np.asarray(tables)[tile],
               "idx": np.concatenate(idx), "neg": np.concatenate(neg),
               "psum_in": np.where(start[:, None, None], psum[tile], junk)}
    return Case(vectors, np.cumsum(bits) + LUT_OUTPUT_LATENCY, {"out": np.asarray(out)}, tiles,
                signed={"out": not fp16})


def table_precompute_case(rng, count: int, k: int, mode: str = "int", act_width: int = 8) -> Case:
    """``count`` activation groups offered with random one-cycle gaps (o.ready held high); INT with the
    groups of :func:`_int_acts`, FP16 over the whole range with ±inf and NaN."""
    fp16 = mode == "fp16"
    acts = _fp16_values(rng, (count, k), specials=True) if fp16 else _int_acts(rng, (count, k), act_width)
    tables = precompute(acts[None].astype(np.float64), 1, FP16 if fp16 else EXACT_INT).tables[0]
    gaps = rng.random(count) < 0.2
    slots = np.where(gaps, 2, 1)                       # an idle cycle before a fifth of the offers
    valid = np.zeros(int(slots.sum()) + precompute_latency(k), np.int64)   # and a drain with o.ready high
    valid[np.cumsum(slots) - 1] = 1
    payload = np.zeros((len(valid), k), np.int64)
    payload[valid == 1] = fp16_bits(acts) if fp16 else acts
    accept = np.flatnonzero(valid) + 1                 # edge that samples each offer
    expect = fp16_bits(tables) if fp16 else tables.astype(np.int64)
    return Case({"i__valid": valid, "i__payload": payload, "o__ready": np.ones(len(valid), np.int64)},
                accept + precompute_latency(k) - 1, {"o__payload": expect}, count, signed={"o__payload": not fp16},
                tail=0)


def bitmod_case(rng, weights: str, folds: int) -> Case:
    """GEMMs of random shapes (group 1..12 weights, 1..3 groups) on one PE until ``folds`` folds; operands
    of tests/rtl/bitmod_drive.random_operands (FP16 specials, zero groups, the most negative levels)."""
    from tests.rtl.bitmod_drive import random_operands

    is_bitmod = weights.startswith("bitmod")
    steps, chan, groups, outs, fold_cycles = [], [], [], [], []
    done = 0
    while done < folds:
        group, n_groups = int(rng.integers(1, 13)), int(rng.integers(1, 4))
        m, n = int(rng.integers(1, 9)), int(rng.integers(1, 9))
        with np.errstate(over="ignore"):             # random_fp16 casts values beyond 65504 (then clamps)
            a, qw = random_operands(rng, weights, m, n, group * n_groups, group)
        fs, _ = bitmod_pe_io.pe_folds(a, qw)
        for f in fs:
            steps += f.steps
            chan.append(f.chan)
            groups += f.group_values
            outs.append(int(f.out.view(np.uint32)))
            fold_cycles.append(f.cycles)
        done += len(fs)
    vectors = {"act": np.array([s.act for s in steps], np.int64), "w": np.array([s.w for s in steps], np.int64),
               "last": np.array([s.last for s in steps], np.int64),
               "last_group": np.array([s.last_group for s in steps], np.int64),
               "scale": np.array([s.scale for s in steps], np.int64)}
    if is_bitmod:
        vectors["tag"] = np.array([s.tag for s in steps], np.int64)
    else:
        vectors["scale_exp"] = np.array([s.scale_exp for s in steps], np.int64)
    vectors["in_valid"] = np.ones(len(steps), np.int64)
    side = {"chan": np.array(chan, np.int64)} if is_bitmod else {}
    drain = 3 * (bitmod_pe_io.scale_bits_of(weights) + WEIGHTS[weights][0])   # ≤ 2 dequants and a group wait
    return Case(vectors, np.cumsum(fold_cycles), {"out": np.array(outs, np.int64)}, done, side,
                group_values=np.array(groups), tail=drain)


def mixpe_case(rng, weights: str, acts: str, folds: int, max_group: int) -> Case:
    """GEMMs of random shapes (group 1..max_group, 1..3 groups) on one PE until ``folds`` folds; operands of
    tests/rtl/gateware/test_mixpe_pe.random_operands (−128/127 runs or FP16 ones, zero groups, extreme codes)."""
    from tests.rtl.gateware.test_mixpe_pe import random_operands

    cycles, outs, lengths = [], [], []
    done = 0
    while done < folds:
        group, n_groups = int(rng.integers(1, max_group + 1)), int(rng.integers(1, 4))
        m, n = int(rng.integers(1, 9)), int(rng.integers(1, 9))
        with np.errstate(over="ignore"):
            a, qw = random_operands(rng, weights, m, n, group * n_groups, group, acts)
        if acts == "fp16":
            a[rng.random(a.shape) < 0.05] = rng.choice(FP16_SPECIAL)
        fs, _ = mixpe_io.pe_folds(a, qw, acts)
        for f in fs:
            cycles += f.cycles
            outs.append(int(f.out.view(np.uint32)))
            lengths.append(len(f.cycles))
        done += len(fs)
    vectors = {name: np.array([int(getattr(c, name)) for c in cycles], np.int64)
               for name in ("en", "a", "code", "dq", "zero", "scale", "last")}
    return Case(vectors, np.cumsum(lengths), {"out": np.array(outs, np.int64)}, done)


def mac_case(rng, cycles: int, k: int, mode: str = "int", w_width: int = 8, act_width: int = 8,
             acc_width: int = 32) -> Case:
    """Random a, w, en, clear per cycle: INT with most-negative × most-negative runs and wrap-around,
    FP16 activations over the whole range with ±inf and NaN (cleared after)."""
    fp16 = mode == "fp16"
    w = rng.integers(-(1 << (w_width - 1)), 1 << (w_width - 1), size=(cycles, k))
    if fp16:
        a = _fp16_values(rng, (cycles, k), specials=True)
    else:
        a = rng.integers(-(1 << (act_width - 1)), 1 << (act_width - 1), size=(cycles, k))
        runs = rng.random(cycles) < 0.1
        a[runs], w[runs] = -(1 << (act_width - 1)), -(1 << (w_width - 1))
    edge_w = rng.random(w.shape) < 0.1
    w[edge_w] = rng.choice([0, -(1 << (w_width - 1)), (1 << (w_width - 1)) - 1], size=int(edge_w.sum()))
    en = (rng.random(cycles) < 0.9).astype(np.int64)
    clear = (rng.random(cycles) < 0.05).astype(np.int64)
    zero = 0.0 if fp16 else 0
    acc, expect = zero, []
    mask, top = (1 << acc_width) - 1, 1 << (acc_width - 1)
    with np.errstate(invalid="ignore", over="ignore"):
        for c in range(cycles):
            if en[c]:
                base = zero if clear[c] else acc
                if fp16:
                    acc = float(round_to(base + float(round_to(a[c, 0] * w[c, 0], np.float16)), np.float16))
                else:
                    acc = ((base + int(a[c] @ w[c]) + top) & mask) - top
            expect.append(acc)
    a_port = fp16_bits(a) if fp16 else a
    out = fp16_bits(np.array(expect)) if fp16 else np.array(expect, np.int64)
    return Case({"a": a_port, "w": w, "en": en, "clear": clear}, np.arange(1, cycles + 1), {"acc": out}, cycles,
                signed={"acc": not fp16}, tail=0)
