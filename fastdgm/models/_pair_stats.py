"""Pair statistics of the tree models, one pipeline: weighted pair counts -> mutual information
-> maximum spanning tree -> smoothed conditional tables.

:class:`fastdgm.ChowLiuTree` (one weighting: the sample weights), :class:`fastdgm.TreeMixture`
(one weighting per component: responsibilities times sample weights) and
:class:`fastdgm.HiddenChowLiuTree` (whose latent tree is the Chow-Liu tree of the data) all go
through the functions here; the counts themselves come from the count engine of
:mod:`fastdgm.models._cooccurrence` (BLAS Gram matrix of the one-hot encoding, sparse
co-occurrence kernel or per-pair kernel, whichever is cheapest).

Counts are laid out N[a, u, b, v] = sum_i w_i [x_ia = u][x_ib = v], shape (d, C, d, C) (the
(d C, d C) Gram matrix of the one-hot encoding, reshaped).

*Mutual information* is :func:`mutual_information_from_counts` (the per-pair arithmetic of
:func:`fastdgm.kernels.pairwise.table_mutual_info`), *the tree* Prim's
:func:`max_spanning_tree` from variable 0 with deterministic ties, *the tables*
:func:`tree_tables`: P(x_j = v | x_parent = u) = (N_uv + alpha) / (N_u + alpha C) (uniform
when N_u + alpha C = 0) and the root's marginal (N_v + alpha) / (total + alpha C).
"""
from __future__ import annotations

import numpy as np

from .._validation import check_sample_weight, check_states
from ..kernels import treemix as _tk
from ._cooccurrence import (
    _mutual_information,
    choose_method,
    mutual_information_from_counts,
    pair_counts_blocked,
    weighted_count_matrices,
)

__all__ = ["mutual_information_matrix", "pairwise_counts", "pair_counts_blocked", "max_spanning_tree",
           "mutual_information_from_counts", "chow_liu", "chow_liu_from_counts", "tree_counts",
           "tree_tables", "tree_score", "PairCounter", "binary_tables"]


# ---------------------------------------------------------------------------------------
# counts
# ---------------------------------------------------------------------------------------
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


class PairCounter:
    """Weighted joint counts of every pair of columns of one data set, for many weightings
    (the M-step statistics of :class:`fastdgm.TreeMixture`).

    ``PairCounter(X, C)(W)[k, a, b, u, v] = sum_i W[i, k] [x_ia = u, x_ib = v]``.

    Binary data (C = 2): each column whose mean exceeds 1/2 is flipped, so the data are
    sparse; the rows' active columns are kept once (CSR), and the (1, 1) counts of each
    weighting are the weighted co-occurrences of the active columns (a numba kernel,
    parallel over weightings, O(sum_i nnz_i^2 / 2) each, not O(n d^2)); the other three cells
    follow from the column sums and the total, and flipped columns get their states swapped
    back. C > 2: :func:`fastdgm.models._cooccurrence.weighted_count_matrices` by the cheaper of
    its two weighted methods (:func:`~fastdgm.models._cooccurrence.choose_method`): the BLAS
    Gram matrix of the one-hot encoding scaled by sqrt(W[:, k]) (small C), or the per-pair
    kernel on the pairs a <= b, one pass over the data for all K weightings (large C).

    Parameters
    ----------
    X : ndarray, shape (n, d), states in [0, C), C-contiguous
    C : int
    flip : ndarray of bool, shape (d,), optional
        C = 2: the columns to flip (default: those of mean above 1/2). The blocks of one fit
        share the flips decided on the whole data, so that their counts add up.
    method : {"auto", "dense", "pairs"}
        C > 2: the count method ("auto": by the cost model).
    """

    def __init__(self, X: np.ndarray, C: int, flip: np.ndarray | None = None, method: str = "auto"):
        self.n, self.d = X.shape
        self.C = C
        if C == 2:
            self.flip = (X.mean(axis=0, dtype=np.float64) > 0.5 if flip is None
                         else np.ascontiguousarray(flip, dtype=bool))
            rows, cols = np.nonzero(np.where(self.flip[None, :], 1 - X, X))
            self.indices = cols.astype(np.int64)
            self.indptr = np.zeros(self.n + 1, dtype=np.int64)
            np.cumsum(np.bincount(rows, minlength=self.n), out=self.indptr[1:])
            self.work = int((np.diff(self.indptr) ** 2).sum()) // 2 + self.n
        else:
            self.X = X
            self.method = choose_method(X, C, True) if method == "auto" else method
            self.Xt = np.ascontiguousarray(X.T) if self.method == "pairs" else None

    def __call__(self, W: np.ndarray) -> np.ndarray:
        """Counts (K, d, d, C, C) float64 for the weightings W (n, K) (non-negative)."""
        if self.C != 2:
            return weighted_count_matrices(self.X, self.C, W, self.method, Xt=self.Xt)
        G, sums = self.cooccurrence(W)
        return binary_tables(G, sums, self.flip)

    def cooccurrence(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """C = 2: (G (K, d, d), sums (K,)): the weighted co-occurrences of the 1s of the
        flipped columns (upper triangle and diagonal) and the total weight of each weighting;
        additive over blocks of rows that share the flips; :func:`binary_tables` expands them."""
        K, d = W.shape[1], self.d
        Wt = np.ascontiguousarray(W.T)
        G = np.zeros((K, d, d))
        _tk.sparse_pair_counts(self.work * K, self.indptr, self.indices, Wt, G)
        return G, Wt.sum(axis=1)


def binary_tables(G: np.ndarray, sums: np.ndarray, flip: np.ndarray) -> np.ndarray:
    """Joint counts (K, d, d, 2, 2) of binary data from :meth:`PairCounter.cooccurrence`."""
    K, d, _ = G.shape
    N = np.empty((K, d, d, 2, 2))
    _tk.binary_pair_tables(K * d * d, G, np.ascontiguousarray(sums), np.ascontiguousarray(flip), N)
    return N


# ---------------------------------------------------------------------------------------
# mutual information and the maximum spanning tree
# ---------------------------------------------------------------------------------------
def mutual_information_matrix(X: np.ndarray, C: int, w: np.ndarray) -> np.ndarray:
    """Empirical mutual information (nats) of every pair of columns, (d, d) float64.

    From the joint counts of :mod:`fastdgm.models._cooccurrence` (BLAS / co-occurrence kernel),
    in blocks of columns when d C is large; 0 on the diagonal.
    """
    return _mutual_information(X, C, w)


def max_spanning_tree(weights: np.ndarray, root: int = 0) -> np.ndarray:
    """Prim's maximum spanning tree of a symmetric (d, d) weight matrix, from ``root``.

    Deterministic: the next vertex is the outside vertex of largest link weight, the lowest
    index on ties; a vertex's parent changes only on a strictly larger weight (so among equal
    links the earliest-added tree vertex wins). Prim's algorithm is kept here rather than
    scipy's ``minimum_spanning_tree``: its tie-breaking is part of the fitted model's
    definition, and seeded fits must stay identical.

    Returns
    -------
    parent : ndarray, int64, shape (d,), -1 at the root
    """
    d = weights.shape[0]
    parent = np.full(d, -1, dtype=np.int64)
    in_tree = np.zeros(d, dtype=bool)
    in_tree[root] = True
    best = weights[root].astype(np.float64).copy()
    link = np.full(d, root, dtype=np.int64)
    for _ in range(d - 1):
        cand = np.where(in_tree, -np.inf, best)
        j = int(np.argmax(cand))
        in_tree[j] = True
        parent[j] = link[j]
        better = (~in_tree) & (weights[j] > best)
        best[better] = weights[j][better]
        link[better] = j
    return parent


def chow_liu(X: np.ndarray, C: int, w: np.ndarray):
    """The Chow-Liu tree of checked data X (n, d) with weights w (empty: unweighted).

    Returns
    -------
    mi : ndarray float64 (d, d)
        Empirical mutual informations.
    parent : ndarray int64 (d,)
        Prim's maximum spanning tree of ``mi`` from variable 0.
    child_counts : ndarray float64 (d - 1, C, C)
        The (parent state, child state) counts of the children 1..d-1 (:func:`tree_counts`).
    """
    d = X.shape[1]
    mi, counts = _mutual_information(X, C, w, return_counts=True)
    parent = max_spanning_tree(mi, root=0)
    ch = np.arange(1, d, dtype=np.int64)
    if counts is not None:
        child = counts[parent[ch], :, ch, :]
    elif d > 1:
        child = pair_counts_blocked(X, C, w, parent[ch].copy(), ch)
    else:
        child = np.empty((0, C, C))
    return mi, parent, child


def chow_liu_from_counts(N: np.ndarray, total: float, weighted: bool):
    """(mi (d, d), parent (d,)): the mutual informations of the counts N (d, C, d, C) of
    ``total`` weight and their maximum spanning tree from variable 0."""
    mi = mutual_information_from_counts(N, total, weighted)
    return mi, max_spanning_tree(mi, root=0)


# ---------------------------------------------------------------------------------------
# tables of a tree
# ---------------------------------------------------------------------------------------
def tree_counts(N: np.ndarray, parent: np.ndarray):
    """(root_counts (C,), child_counts (d - 1, C, C)) of the tree ``parent`` from the counts
    N (d, C, d, C): the root's marginal counts (the diagonal of its own table) and, for the
    children in ascending order, rows = parent state, columns = child state."""
    root = int(np.flatnonzero(parent < 0)[0])
    ch = np.flatnonzero(parent >= 0)
    return np.diagonal(N[root, :, root, :]).copy(), N[parent[ch], :, ch, :]


def tree_tables(parent: np.ndarray, root_counts: np.ndarray, child_counts: np.ndarray, total: float,
                alpha: float) -> np.ndarray:
    """Smoothed log-tables (d, C, C) of the tree ``parent`` (any root).

    log P(x_root) in every row of the root's table, (root_counts + alpha) / (total + alpha C);
    log P(x_j | x_parent) of the children j (ascending) from their counts child_counts
    (d - 1, C, C), (N_uv + alpha) / (N_u + alpha C); a parent state never seen with
    alpha = 0 gets a uniform conditional (it has probability 0, so it is never used).
    """
    C = root_counts.shape[0]
    d = parent.shape[0]
    root = int(np.flatnonzero(parent < 0)[0])
    ch = np.flatnonzero(parent >= 0)
    log_cond = np.empty((d, C, C))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_cond[root] = np.log((root_counts + alpha) / (total + alpha * C))[None, :]
        if ch.shape[0]:
            rows = child_counts.sum(axis=2, keepdims=True)
            cond = (child_counts + alpha) / (rows + alpha * C)
            cond = np.where(rows + alpha * C > 0, cond, 1.0 / C)
            log_cond[ch] = np.log(cond)
    return log_cond


def tree_score(parent: np.ndarray, log_cond: np.ndarray, root_counts: np.ndarray, child_counts: np.ndarray,
               alpha: float) -> float:
    """MAP score sum over the cells of (count + alpha) * log(prob) of a tree's tables (the
    root's marginal counted once; 0 * log 0 = 0), arguments as in :func:`tree_tables`."""
    d, C, _ = log_cond.shape
    root = int(np.flatnonzero(parent < 0)[0])
    ch = np.flatnonzero(parent >= 0)
    cnt = np.empty((d, C, C))
    cnt[root] = 0.0
    cnt[root, 0] = root_counts
    cnt[ch] = child_counts
    weight = cnt + alpha
    weight[root, 1:] = 0.0
    with np.errstate(invalid="ignore"):
        return float(np.where(weight > 0, weight * log_cond, 0.0).sum())
