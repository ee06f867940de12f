"""Missing values in a pairwise MRF: the exact marginal of the observed entries, and fills
exact by enumeration (few completions) or by Gibbs sweeps with the observed sites clamped.
Kernels: :mod:`fastdgm.kernels.mrf_missing`."""
from __future__ import annotations

import numpy as np

from .._rng import make_key
from ..kernels.mrf_missing import missing_gibbs, missing_scores
from ._missing import check_missing, fill_result

__all__ = ["log_prob_missing", "fill"]

_GIBBS_STREAM = np.uint64(0x9E3779B97F4A7C15)
"""Xor-ed into the call's key for the Gibbs rows (the enumerated rows use the key itself)."""


def _args(model, X, missing):
    Xc, M, arr = check_missing(X, missing, model.n_states, model.n_dims)
    a = model.adjacency
    return Xc, M, arr, (model.n_states, model._unary, a.ptr, a.nbr, a.tab, a.otab)


def log_prob_missing(model, X, missing, enum_limit: int) -> np.ndarray:
    """log P(x_obs) of each row, float64 (n,): -E of the observed terms, plus the log of the sum
    over the completions (at most ``enum_limit`` per row), minus log Z."""
    logz = model.log_partition()
    Xc, M, _, tables = _args(model, X, missing)
    out = np.empty_like(Xc)
    log_sum, base = np.empty(Xc.shape[0]), np.empty(Xc.shape[0])
    missing_scores(Xc, M, *tables, enum_limit, np.uint64(0), False, out, log_sum, base)
    return -model.energy(Xc) - base + log_sum - logz


def fill(model, X, missing, rng, n_sweeps: int, enum_limit: int) -> np.ndarray:
    """See :meth:`fastdgm.PairwiseMRF.fill`."""
    Xc, M, arr, tables = _args(model, X, missing)
    key = make_key(rng)
    out = np.empty_like(Xc)
    log_sum, base = np.empty(Xc.shape[0]), np.empty(Xc.shape[0])
    missing_scores(Xc, M, *tables, enum_limit, key, True, out, log_sum, base)
    big = np.flatnonzero(np.isnan(log_sum))
    if big.size:
        start = np.random.default_rng(int(key)).integers(0, model.n_states, size=(big.size, model.n_dims))
        rows = np.where(M[big], start, Xc[big]).astype(Xc.dtype)
        missing_gibbs(np.ascontiguousarray(M[big]), *tables, np.uint64(key) ^ _GIBBS_STREAM, n_sweeps, rows)
        out[big] = rows
    return fill_result(arr, M, out, model.n_states)
