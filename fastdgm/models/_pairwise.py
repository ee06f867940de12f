"""Pairwise statistics of columns: joint (weighted) counts and empirical mutual information."""
from __future__ import annotations

import numpy as np

from .._validation import check_sample_weight, check_states
from ._cooccurrence import _mutual_information, pair_counts_blocked

__all__ = ["mutual_information_matrix", "pairwise_counts", "pair_counts_blocked"]


def mutual_information_matrix(X: np.ndarray, C: int, w: np.ndarray) -> np.ndarray:
    """Empirical mutual information (nats) of every pair of columns, (d, d) float64.

    From the joint counts of :mod:`fastdgm.models._cooccurrence` (BLAS / co-occurrence kernel),
    in blocks of columns when d C is large; 0 on the diagonal.
    """
    return _mutual_information(X, C, w)


def pairwise_counts(X, n_states=None, sample_weight=None, *, pairs=None, block_cells: int = 1 << 21):
    """(Weighted) joint counts of pairs of columns, computed in blocks of pairs.

    Parameters
    ----------
    X : array_like of int, shape (n, d)
    n_states : int, optional
    sample_weight : array_like of float, shape (n,), optional
    pairs : (P, 2) int array, optional
        The (a, b) column pairs; all ordered pairs (a, b) when None, returned as (d, d, C, C)
        (only for small d * C: that array has d^2 C^2 entries).
    block_cells : int
        At most this many count cells are computed per kernel call.

    Returns
    -------
    counts : ndarray float64, (P, C, C) or (d, d, C, C)
    """
    X, C = check_states(X, "X", n_states=n_states)
    n, d = X.shape
    w = check_sample_weight(sample_weight, n)
    full = pairs is None
    if full:
        aa, bb = np.meshgrid(np.arange(d), np.arange(d), indexing="ij")
        pairs = np.stack([aa.ravel(), bb.ravel()], axis=1)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return pair_counts_blocked(X, C, w, pairs[:, 0].copy(), pairs[:, 1].copy(), block_cells,
                                ).reshape((d, d, C, C) if full else (-1, C, C))
