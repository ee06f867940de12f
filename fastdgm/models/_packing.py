"""Packing g columns of C states into one uint8 state of C**g <= 256, for the mixture kernels."""
from __future__ import annotations

import numpy as np

from ..kernels import likelihood as _k

__all__ = ["pack_width", "pack", "combine", "marginalize"]

# Packing g columns of C states into one state of C**g <= _PACK_LIMIT (uint8): the mixture
# kernels then add one table entry per group instead of one per column, the E-step and the
# M-step statistics cost d/g instead of d per row and component.
_PACK_LIMIT = 256


def pack_width(C: int, d: int) -> int:
    g = 1
    while g < d and C ** (g + 1) <= _PACK_LIMIT:
        g += 1
    return g


def pack(X: np.ndarray, C: int, g: int) -> np.ndarray:
    """(n, ceil(d/g)) uint8 packed states (X itself when g == 1)."""
    if g == 1:
        return X
    n, d = X.shape
    out = np.empty((n, -(-d // g)), dtype=np.uint8)
    _k.pack_states(X.size, X, C, g, out)
    return out


def _group_digits(d: int, C: int, g: int):
    """For each group q: its columns and, for each packed state b < C**m, the digit of each column."""
    for q in range(-(-d // g)):
        cols = list(range(q * g, min(d, q * g + g)))
        m = len(cols)
        b = np.arange(C ** m)
        yield q, cols, [(b // C ** (m - 1 - t)) % C for t in range(m)]


def combine(T: np.ndarray, C: int, g: int) -> np.ndarray:
    """Per-column tables T (d, C, K) -> per-group tables (G, C**g, K): the sum over the
    group's columns (column order; -inf propagates). Unused entries of a short last group are 0."""
    if g == 1:
        return T
    d, _, K = T.shape
    out = np.zeros((-(-d // g), C ** g, K))
    for q, cols, digits in _group_digits(d, C, g):
        acc = out[q, :digits[0].size]
        for j, dig in zip(cols, digits):
            acc += T[j][dig]
    return out


def marginalize(S: np.ndarray, d: int, C: int, g: int) -> np.ndarray:
    """Statistics over packed states (G, C**g, K) -> per column (d, C, K)."""
    if g == 1:
        return S
    out = np.empty((d, C, S.shape[2]))
    for q, cols, digits in _group_digits(d, C, g):
        sq = S[q, :digits[0].size]
        for j, dig in zip(cols, digits):
            for c in range(C):
                out[j, c] = sq[dig == c].sum(axis=0)
    return out
