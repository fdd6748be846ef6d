"""A small exact Python model of LUT_CONTRACT.md, for the RTL tests (tests/rtl, tests/hdl).

Integers only (INT activations, INT32 accumulator). Arrays are int64. The lead may re-point the
tests at ``sim.pe.lut_tensor_core`` once it is merged; these are the functions the tests need:

* :func:`table_entries` — stored table of one K-group (the precompute unit's output).
* :func:`plane_inputs` — per-plane ``idx``/``neg`` of one tile's weight codes (offline inversion).
* :func:`tile_output` — the unit's ``out`` for one tile from tables, planes and ``psum_in``.
* :func:`tile_cycles` — edges from the first ``start`` to the last ``valid`` (T·b + 1).
* :func:`partial_sums` — accumulator → ``sim.reference.group_partial_sums`` (reinterpretation).
* :func:`random_tile` — random operands of one tile (test data, shared by tests/rtl and tests/hdl).
"""

from __future__ import annotations

import numpy as np

LUT_OUTPUT_LATENCY = 1


def table_entries(acts: np.ndarray) -> np.ndarray:
    """``acts`` (..., K) → stored entries (..., 2^(K−1)): S[e] = T[(1 << (K−1)) | e]."""
    acts = np.asarray(acts, dtype=np.int64)
    k = acts.shape[-1]
    e = np.arange(1 << (k - 1))
    pattern = e | (1 << (k - 1))
    signs = np.where((pattern[:, None] >> np.arange(k)[None, :]) & 1, 1, -1)  # (E, K)
    return acts @ signs.T


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
    """z' = 2z + 1 − 2^b (references §1)."""
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
