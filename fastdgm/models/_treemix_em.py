"""MAP-EM of the mixture of Chow-Liu trees (Meila & Jordan 2000): E-step responsibilities,
M-step weighted pair counts -> mutual information -> maximum spanning tree per component."""
from __future__ import annotations

import numpy as np

from ..kernels import treemix as _tk
from ._pair_stats import PairCounter, binary_tables, chow_liu_from_counts, tree_counts, tree_score, tree_tables

_COUNT_CELLS = 1 << 23   # the M-step expands at most this many binary pair counts at a time

__all__ = ["PairCounter", "pair_statistics", "m_step", "initial_statistics", "e_step_statistics",
           "binary_tables"]



def _tables_and_score(N: np.ndarray, parent: np.ndarray, alpha: float):
    """Smoothed log-tables (d, C, C) of the tree ``parent`` (any root) from the counts
    N (d, C, d, C) and its MAP score (:func:`tree_score`); the root's marginal is normalised by
    the sum of its own counts."""
    rc, Nc = tree_counts(N, parent)
    lc = tree_tables(parent, rc, Nc, rc.sum(), alpha)
    return lc, tree_score(parent, lc, rc, Nc, alpha)


def pair_statistics(counter: PairCounter, R: np.ndarray, w: np.ndarray) -> dict:
    """The M-step statistics of responsibilities R (n, K) and row weights w (n,) of one block:
    ``nk`` (K,) and the pair counts weighted by R[:, k] w (C = 2: ``pairs`` (K, d, d)
    co-occurrences, ``pair_total`` (K,) and ``flip`` (d,), see :meth:`PairCounter.cooccurrence`;
    else ``pairs`` (K, d, d, C, C)). Additive over blocks (``flip`` is the same in every block)."""
    Rw = R * w[:, None]
    stats = {"nk": Rw.sum(axis=0)}
    if counter.C == 2:
        stats["pairs"], stats["pair_total"] = counter.cooccurrence(Rw)
        stats["flip"] = counter.flip.copy()
    else:
        stats["pairs"] = counter(Rw)
    return stats


def m_step(stats: dict, total: float, alpha: float, prev_parents):
    """Mixture weights and trees from summed :func:`pair_statistics`.

    For each component: the Chow-Liu tree of its weighted counts, rooted at 0, unless the
    previous tree ``prev_parents[k]`` (with re-fitted tables) has a strictly higher MAP score
    (only possible with alpha > 0, where the smoothed score is not the mutual information):
    so every M-step increases the EM objective (generalised EM). Binary counts are expanded to
    (d, d, 2, 2) tables for as many components at a time as fit in ``_COUNT_CELLS`` cells."""
    nk = np.asarray(stats["nk"], dtype=np.float64)
    pairs = stats["pairs"]
    K, d = pairs.shape[:2]
    C = 2 if pairs.ndim == 3 else pairs.shape[3]
    with np.errstate(divide="ignore"):
        lw = np.log(nk / total)
    parents = np.empty((K, d), dtype=np.int64)
    lc = np.empty((K, d, C, C))
    step = max(1, _COUNT_CELLS // (d * d * C * C))     # components expanded at a time
    for k0 in range(0, K, step):
        k1 = min(K, k0 + step)
        Nb = (binary_tables(pairs[k0:k1], stats["pair_total"][k0:k1], stats["flip"]) if pairs.ndim == 3
              else pairs[k0:k1])
        for k in range(k0, k1):
            _tree_for(Nb[k - k0], k, nk, alpha, prev_parents, parents, lc)
    return lw, parents, lc


def _tree_for(N, k, nk, alpha, prev_parents, parents, lc):
    """Tree k of the M-step from its counts N (d, d, C, C) into parents[k], lc[k]."""
    N = np.ascontiguousarray(N.transpose(0, 2, 1, 3))          # (d, C, d, C)
    _, parent = chow_liu_from_counts(N, float(nk[k]), True)
    tab, score = _tables_and_score(N, parent, alpha)
    if prev_parents is not None and not np.array_equal(parent, prev_parents[k]):
        tab_old, score_old = _tables_and_score(N, prev_parents[k], alpha)
        if score_old > score:
            parent, tab = prev_parents[k], tab_old
    parents[k] = parent
    lc[k] = tab


def _prior(lc: np.ndarray, roots: np.ndarray, alpha: float) -> float:
    """alpha * sum of the log-probabilities of every table cell (the root's row once)."""
    if alpha == 0:
        return 0.0
    K = lc.shape[0]
    s = 0.0
    for k in range(K):
        r = int(roots[k])
        s += float(lc[k].sum()) - float(lc[k, r].sum()) + float(lc[k, r, 0].sum())
    return alpha * s


def initial_statistics(counter: PairCounter, X: np.ndarray, K: int, w: np.ndarray, key, row0: int) -> dict:
    """Statistics of the random initial responsibilities (Dirichlet(1) rows drawn from
    ``uniform(key, (row0 + i) * K + k)``) of one block of rows starting at row ``row0``."""
    n = X.shape[0]
    R = np.empty((n, K))
    _tk.dirichlet_responsibilities(n * K, np.uint64(key), int(row0), R)
    return {**pair_statistics(counter, R, w), "loglik": np.float64(0.0), "total": np.float64(w.sum())}


def e_step_statistics(model, counter: PairCounter, X: np.ndarray, w: np.ndarray) -> dict:
    """E-step statistics of one block under ``model``: :func:`pair_statistics` of the
    responsibilities, ``loglik`` = sum_i w_i log P(x_i) (rows of weight 0 skipped) and ``total``."""
    K = model.n_components
    R = np.empty((X.shape[0], K))
    lp = np.empty(X.shape[0])
    _tk.treemix_responsibilities(X.size * K, X, model.log_cond, model._kparent, model.log_weights, R, lp)
    with np.errstate(invalid="ignore"):
        loglik = np.where(w > 0, w * lp, 0.0).sum()
    return {**pair_statistics(counter, R, w), "loglik": np.float64(loglik), "total": np.float64(w.sum())}
