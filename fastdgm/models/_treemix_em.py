"""MAP-EM of the mixture of Chow-Liu trees (Meila & Jordan 2000): E-step responsibilities,
M-step weighted pair counts -> mutual information -> maximum spanning tree per component."""
from __future__ import annotations

import numpy as np

from ..kernels import treemix as _tk
from ._pair_stats import PairCounter, binary_tables, chow_liu_from_counts, tree_counts, tree_score, tree_tables
from ._treemix_prune import edge_penalty, prune_tree

_COUNT_CELLS = 1 << 23   # the M-step expands at most this many binary pair counts at a time

__all__ = ["PairCounter", "pair_statistics", "pooled_pairs", "edge_cells", "shrink_cells", "m_step",
           "initial_statistics", "e_step_statistics", "binary_tables"]



def shrink_cells(Q: np.ndarray, parent: np.ndarray, shrink: float) -> np.ndarray:
    """The pseudo-counts (d, C, C) of the shrinkage prior on the tables of tree ``parent``:
    row u of child j is ``shrink`` * Q(x_j = . | x_parent(j) = u), the pooled conditional (a
    row whose parent state has pooled probability 0 gets none); the root's row 0 is
    ``shrink`` * Q(x_root = .)."""
    cells = edge_cells(Q, parent)
    root = int(np.flatnonzero(parent < 0)[0])
    rows = cells.sum(axis=2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = np.where(rows > 0, cells / rows, 0.0)
    cond[root, 0] = cells[root, 0]
    return shrink * cond


def _tables_and_score(N: np.ndarray, parent: np.ndarray, alpha: float, pseudo: np.ndarray | None = None):
    """Smoothed log-tables (d, C, C) of the tree ``parent`` (any root) from the counts
    N (d, C, d, C) and its MAP score (:func:`tree_score`); the root's marginal is normalised by
    the sum of its own counts. ``pseudo`` (d, C, C) cells (:func:`shrink_cells`) are added to the
    counts of the same cells."""
    rc, Nc = tree_counts(N, parent)
    if pseudo is not None:
        rc = rc + pseudo[int(np.flatnonzero(parent < 0)[0]), 0]
        Nc = Nc + pseudo[np.flatnonzero(parent >= 0)]
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


def pooled_pairs(stats: dict) -> np.ndarray:
    """The pair distribution of the whole (weighted) data, (d, d, C, C) summing to 1 over
    (u, v) for each pair: the summed counts of every component (their responsibilities add up
    to the row weights) over the total weight. The tables of the one Chow-Liu tree of the data
    are its conditionals; :func:`m_step` shrinks the components toward them."""
    pairs = stats["pairs"]
    total = float(np.sum(stats["nk"]))
    if pairs.ndim == 3:
        N = binary_tables(pairs.sum(axis=0)[None], np.atleast_1d(np.sum(stats["pair_total"])), stats["flip"])[0]
    else:
        N = pairs.sum(axis=0)
    return N / total if total > 0 else N


def edge_cells(N: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """The cells of the counts N (d, d, C, C) that the tree ``parent`` uses, (d, C, C): row j
    is N[parent[j], j] (parent state, child state); the root's row 0 holds its marginal
    diag(N[root, root]) and its other rows are 0."""
    d, _, C, _ = N.shape
    root = int(np.flatnonzero(parent < 0)[0])
    ch = np.flatnonzero(parent >= 0)
    cnt = np.zeros((d, C, C))
    cnt[root, 0] = np.diagonal(N[root, root])
    cnt[ch] = N[parent[ch], ch]
    return cnt


def m_step(stats: dict, total: float, alpha: float, prev_parents, shrink: float = 0.0, prune: float = 0.0):
    """Mixture weights and trees from summed :func:`pair_statistics`; also the extra term
    of the log-prior: the shrinkage term (0.0 when ``shrink`` is 0) plus the pruning
    correction (0.0 when ``prune`` is 0).

    For each component: the Chow-Liu tree of its weighted counts, rooted at 0, unless the
    previous tree ``prev_parents[k]`` (with re-fitted tables) has a strictly higher MAP score
    (only possible with alpha > 0, where the smoothed score is not the mutual information):
    so every M-step increases the EM objective (generalised EM). Binary counts are expanded to
    (d, d, 2, 2) tables for as many components at a time as fit in ``_COUNT_CELLS`` cells.

    ``shrink`` = s > 0: each row of each table has the Dirichlet prior alpha + s Q(. | u), Q the
    pooled pair distribution of :func:`pooled_pairs` (the root's: alpha + s Q(x_root)), so the
    tables are (N_k(u, v) + s Q(v | u) + alpha) / (N_k(u) + s + alpha C): every row, however
    few rows of the component have parent state u, is shrunk by s pseudo-rows toward the
    conditional of the whole data (the one Chow-Liu tree's tables when the edge is one of its
    edges); as s grows every component tends to the pooled conditionals along its tree. The
    tree is still the Chow-Liu tree of N_k (or the previous tree if its MAP score is higher).
    The prior's extra term is sum of s Q(v | u) log P_k(v | u) over the cells each tree uses.

    ``prune`` > 0: each tree (the new and the previous one alike) then drops the edges whose
    MAP gain is at most :func:`~fastdgm.models._treemix_prune.edge_penalty` (a forest, see
    :mod:`fastdgm.models._treemix_prune`), and the trees' scores compared are the forests'."""
    nk = np.asarray(stats["nk"], dtype=np.float64)
    pairs = stats["pairs"]
    K, d = pairs.shape[:2]
    C = 2 if pairs.ndim == 3 else pairs.shape[3]
    with np.errstate(divide="ignore"):
        lw = np.log(nk / total)
    parents = np.empty((K, d), dtype=np.int64)
    lc = np.empty((K, d, C, C))
    Q = pooled_pairs(stats) if shrink > 0 else None
    prior = 0.0
    penalty = edge_penalty(prune, C, total) if prune > 0 else None
    step = max(1, _COUNT_CELLS // (d * d * C * C))     # components expanded at a time
    for k0 in range(0, K, step):
        k1 = min(K, k0 + step)
        Nb = (binary_tables(pairs[k0:k1], stats["pair_total"][k0:k1], stats["flip"]) if pairs.ndim == 3
              else pairs[k0:k1])
        for k in range(k0, k1):
            prior += _tree_for(Nb[k - k0], float(nk[k]), alpha, None if prev_parents is None else prev_parents[k],
                               parents, lc, k, Q, shrink, penalty)
    return lw, parents, lc, prior


def _cell_score(weight: np.ndarray, lc: np.ndarray) -> float:
    """sum of weight * lc over the cells of positive weight (0 * log 0 = 0)."""
    with np.errstate(invalid="ignore"):
        return float(np.where(weight > 0, weight * lc, 0.0).sum())


def _tree_for(N, n, alpha, prev_parent, parents, lc, k, Q=None, shrink=0.0, penalty=None) -> float:
    """Tree k of the M-step from its counts N (d, d, C, C) of total n into parents[k], lc[k];
    returns the extra term of its log-prior: the shrinkage term (0.0 without ``Q``) plus,
    with a ``penalty`` per edge, the pruning correction of :func:`prune_tree`."""
    Nt = np.ascontiguousarray(N.transpose(0, 2, 1, 3))          # (d, C, d, C)

    def tables(parent):
        pseudo = None if Q is None else shrink_cells(Q, parent, shrink)
        tab, score = _tables_and_score(Nt, parent, alpha, pseudo)
        extra, forest = 0.0, parent
        if penalty is not None:
            tab, pseudo, delta, extra, forest = prune_tree(Nt, parent, tab, alpha, penalty, pseudo, Q, shrink)
            score += delta
        return tab, score, pseudo, extra, forest

    _, parent = chow_liu_from_counts(Nt, n, True)
    tab, score, pseudo, extra, forest = tables(parent)
    if prev_parent is not None and not np.array_equal(parent, prev_parent):
        tab_old, score_old, pseudo_old, extra_old, forest_old = tables(prev_parent)
        # the same forest is the same model: the new tree, whatever the rounding of the scores
        if score_old > score and not np.array_equal(forest_old, forest):
            parent, tab, pseudo, extra = prev_parent, tab_old, pseudo_old, extra_old
    parents[k] = parent
    lc[k] = tab
    return extra + (0.0 if pseudo is None else _cell_score(pseudo, tab))


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
