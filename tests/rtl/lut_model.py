"""A small exact Python model of docs/lut_tensor_core_contract.md, for the RTL tests (tests/rtl, tests/hdl).

Integers only (INT activations, INT32 accumulator). Arrays are int64. The lead may re-point the
tests at ``sim.pe.lut_tensor_core`` once it is merged; these are the functions the tests need:

* :func:`table_entries` — stored table of one K-group (the precompute unit's output).
* :func:`plane_inputs` — per-plane ``idx``/``neg`` of one tile's weight codes (offline inversion).
* :func:`tile_output` — the unit's ``out`` for one tile from tables, planes and ``psum_in``.
* :func:`tile_cycles` — edges from the first ``start`` to the last ``valid`` (T·b + 1).
* :func:`partial_sums` — accumulator → ``sim.reference.group_partial_sums`` (reinterpretation).
* :func:`random_tile` — random operands of one tile (test data, shared by tests/rtl and tests/hdl).
* FP16 mode: :func:`table_entries_fp16`, :func:`tile_output_fp16` (values as float64, rounded with
  ``sim.reference`` emulators in the contract's order) and :func:`fp16_bits` (NaN → 0x7E00).
"""

from __future__ import annotations

import numpy as np

from sim.reference import round_to, tree_sum

QNAN_BITS = 0x7E00  # the RTL's NaN (rtl/gateware/fp16.py); numpy's NaN payload may differ

LUT_OUTPUT_LATENCY = 1


def entry_signs(k: int) -> np.ndarray:
    """(2^(K−1), K) ±1: sign of activation t in stored entry e (pattern (1 << (K−1)) | e)."""
    pattern = np.arange(1 << (k - 1)) | (1 << (k - 1))
    return np.where((pattern[:, None] >> np.arange(k)[None, :]) & 1, 1, -1)


def table_entries(acts: np.ndarray) -> np.ndarray:
    """``acts`` (..., K) → stored entries (..., 2^(K−1)): S[e] = T[(1 << (K−1)) | e]."""
    acts = np.asarray(acts, dtype=np.int64)
    return acts @ entry_signs(acts.shape[-1]).T


def table_entries_fp16(acts: np.ndarray) -> np.ndarray:
    """FP16 tables: every entry summed by a pairwise tree rounding to FP16 after each add (float64)."""
    acts = np.asarray(acts, dtype=np.float64)
    terms = acts[..., None, :] * entry_signs(acts.shape[-1])        # (..., E, K), negation exact
    with np.errstate(invalid="ignore"):
        return tree_sum(terms, np.float16, axis=-1)


def tile_output_fp16(tables, idx, neg, psum_in) -> np.ndarray:
    """acc = fp16(acc + fp16(±S[idx_i]·2^i)) over the planes, from psum_in (float64 values)."""
    acc = round_to(psum_in, np.float16)
    for i in range(len(idx)):
        with np.errstate(invalid="ignore"):
            acc = round_to(acc + round_to(lookup_values(tables, idx[i], neg[i]) * 2.0 ** i, np.float16),
                           np.float16)
    return acc


def lookup_values(tables, idx, neg) -> np.ndarray:
    """±S_m[idx_n] as float64 (FP16 tables; negation is exact)."""
    v = np.asarray(tables, dtype=np.float64)[:, np.asarray(idx)]
    return np.where(np.asarray(neg)[None, :] == 1, -v, v)


def fp16_bits(values) -> np.ndarray:
    """IEEE binary16 patterns (int64) of float64 values that are FP16 already; NaN → 0x7E00."""
    v = np.asarray(values, dtype=np.float64)
    bits = v.astype(np.float16).view(np.uint16).astype(np.int64)
    return np.where(np.isnan(v), QNAN_BITS, bits)


def random_fp16(rng: np.random.Generator, shape, max_exp: int = 15) -> np.ndarray:
    """Random finite FP16 values (float64), all exponents up to ``max_exp`` incl. subnormals and zeros."""
    bits = rng.integers(0, 1 << 16, size=shape).astype(np.uint16)
    field = rng.integers(0, max_exp + 16, size=shape).astype(np.uint16)   # biased exponent 0..max_exp+15
    bits = (bits & 0x83FF) | (field << 10)
    return bits.view(np.float16).astype(np.float64)


def plane_inputs(codes: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Unsigned codes (N, K) of one K-group → ``idx`` (bits, N) and ``neg`` (bits, N), LSB plane first.

    Pattern p of plane i has bit t = bit i of codes[n, t]; idx = p & low if the top bit is set,
    else ~p & low; neg = NOT(top bit).
    """
    codes = np.asarray(codes, dtype=np.int64)
    k = codes.shape[1]
    low = (1 << (k - 1)) - 1
    planes = (codes[None, :, :] >> np.arange(bits)[:, None, None]) & 1            # (b, N, K)
    p = (planes << np.arange(k)[None, None, :]).sum(axis=-1)                       # (b, N)
    top = (p >> (k - 1)) & 1
    idx = np.where(top == 1, p & low, ~p & low)
    return idx, 1 - top


def lookup(tables: np.ndarray, idx: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """±S_m[idx_n] for all (m, n): tables (M, E), idx/neg (N,) → (M, N)."""
    v = np.asarray(tables, dtype=np.int64)[:, np.asarray(idx)]
    return np.where(np.asarray(neg)[None, :] == 1, -v, v)


def tile_output(tables, idx, neg, psum_in, acc_width: int = 32) -> np.ndarray:
    """acc = psum_in + Σ_i (±S[idx_i]) << i over the planes (rows of idx/neg); (M, N) int64.

    Raises OverflowError when the accumulator would wrap (the contract: never silent).
    """
    acc = np.asarray(psum_in, dtype=np.int64).copy()
    lo, hi = -(1 << (acc_width - 1)), (1 << (acc_width - 1)) - 1
    for i in range(len(idx)):
        acc += lookup(tables, idx[i], neg[i]) << i
        if acc.min() < lo or acc.max() > hi:
            raise OverflowError(f"INT{acc_width} accumulator wraps at plane {i}")
    return acc


def tile_cycles(bits: int, tiles: int = 1) -> int:
    """Edges from the one sampling the first ``start`` to the one raising the last ``valid``."""
    return tiles * bits + LUT_OUTPUT_LATENCY


def reinterpreted_zero(z: np.ndarray, bits: int) -> np.ndarray:
    """z' = 2z + 1 − 2^b (docs/references.md#lut-tensor-core)."""
    return 2 * np.asarray(z, dtype=np.int64) + 1 - (1 << bits)


def partial_sums(acc: np.ndarray, zprime: np.ndarray, act_sum: np.ndarray) -> np.ndarray:
    """P = (acc − z'·Σa) / 2 for acc = Σ a_k q'_k; acc (M, N), z' (N,), Σa (M,) → (M, N) exact."""
    twice = np.asarray(acc, dtype=np.int64) - np.asarray(zprime)[None, :] * np.asarray(act_sum)[:, None]
    if np.any(twice & 1):
        raise ArithmeticError("(acc − z'·Σa) must be even for integer activations")
    return twice >> 1


def random_tile(rng: np.random.Generator, m: int, n: int, k: int, act_width: int, bits: int,
                extreme: bool = False):
    """(tables (M, E), idx (b, N), neg (b, N), psum_in (M, N)) of one random tile.

    ``extreme`` puts the stored-entry extremes in the tables (top activation most negative,
    the others most positive) so that ±S reaches −K·2^(w−1) and K·2^(w−1).
    """
    lo, hi = -(1 << (act_width - 1)), 1 << (act_width - 1)
    acts = rng.integers(lo, hi, size=(m, k))
    if extreme:
        acts[:, :-1] = hi - 1
        acts[:, -1] = lo
    codes = rng.integers(0, 1 << bits, size=(n, k))
    idx, neg = plane_inputs(codes, bits)
    psum = rng.integers(-(1 << 20), 1 << 20, size=(m, n))
    return table_entries(acts), idx, neg, psum
