"""Probability tables shared by the models: cumulative levels, entropy terms, state counts."""
from __future__ import annotations

import numpy as np

from ..kernels import likelihood as _k

__all__ = ["levels", "entropy_terms", "state_counts", "normalise_rows", "distinct_rows"]


def levels(log_table: np.ndarray) -> np.ndarray:
    """Cumulative levels over the last axis, float64, the last level of every row exactly 1.0
    (zero-probability trailing states share that 1.0 and are never drawn)."""
    c = np.cumsum(np.exp(log_table), axis=-1)
    return np.ascontiguousarray(c / c[..., -1:])


def entropy_terms(log_table: np.ndarray) -> np.ndarray:
    """-p log p elementwise, with 0 log 0 = 0."""
    p = np.exp(log_table)
    return np.where(p > 0, -p * np.where(p > 0, log_table, 0.0), 0.0)


def state_counts(X: np.ndarray, C: int, w: np.ndarray) -> np.ndarray:
    """(d, C) float64 counts of each state per column (weighted by w if not empty)."""
    n, d = X.shape
    nc, rows = _k.n_chunks(n, d * C)
    partial = np.empty((nc, d, C))
    _k.weighted_counts(n * d, X, w, rows, partial)
    return partial.sum(axis=0)


def normalise_rows(a: np.ndarray) -> np.ndarray:
    """Rows of ``a`` divided by their sums (last axis), C-contiguous float64; a row of
    zeros (no data and ``alpha=0``) becomes uniform."""
    s = a.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(s > 0, a / s, 1.0 / a.shape[-1])
    return np.ascontiguousarray(out)


def distinct_rows(X: np.ndarray, w: np.ndarray):
    """The distinct rows of X (in order of first appearance) and their total weights."""
    n, d = X.shape
    rows = np.ascontiguousarray(X).view(np.dtype((np.void, X.dtype.itemsize * d))).ravel()
    _, first, inv = np.unique(rows, return_index=True, return_inverse=True)
    if first.size > 0.9 * n:
        return X, w
    keep = np.argsort(first, kind="stable")          # unique ids in order of first appearance
    rank = np.empty_like(keep)
    rank[keep] = np.arange(keep.size)
    weights = np.bincount(rank[inv.ravel()], weights=w if w.size else None, minlength=keep.size)
    return np.ascontiguousarray(X[first[keep]]), weights
