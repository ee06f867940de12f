"""The Chow-Liu tree: P(x) = P(x_root) prod_j P(x_j | x_parent(j)), fitted on mutual informations."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._validation import (
    check_alpha,
    check_log_probs,
    check_log_table,
    check_model_X,
    check_parent,
    check_sample_weight,
    check_states,
    param,
    smallest_uint,
)
from ..kernels import ancestral as _s
from ..kernels import likelihood as _k
from ._cooccurrence import pairwise_count_matrix
from ._pair_stats import chow_liu, chow_liu_from_counts, tree_counts, tree_tables
from ._tables import entropy_terms, levels, state_counts
from ._trees import tree_order
from .base import Model, classonlymethod, fit_data, register_model
from .._typing import ArrayLike, FloatArray, IntArray

__all__ = ["ChowLiuTree"]


@register_model
class ChowLiuTree(Model):
    """Tree-structured model P(x) = P(x_root) prod_{j != root} P(x_j | x_parent(j)).

    :meth:`fit` finds the maximum-likelihood tree (Chow & Liu 1968): the maximum spanning
    tree of the empirical mutual informations between columns.

    Parameters
    ----------
    parent : array_like of int, shape (d,)
        parent[j] is the parent variable of j; -1 for the (single) root.
    probs : array_like of float, shape (d, C, C)
        probs[j, u, :] = P(x_j = . | x_parent(j) = u), non-negative, normalised over the last
        axis here. For the root only ``probs[root, 0]`` is used: its marginal.

    Attributes
    ----------
    parent : ndarray int64 (d,)
    root : int
    order : ndarray int64 (d,)
        Breadth-first order from the root (parents before children).
    log_cond : ndarray float64 (d, C, C)
        log P(x_j = v | x_parent(j) = u); every row of the root's table is its log marginal.
    """

    def __init__(self, parent: ArrayLike, probs: ArrayLike) -> None:
        parent = check_parent(parent)
        lt = check_log_table(probs, None, name_p="probs", ndim=3, shape_doc="(d, C, C)")
        self._set(parent, _match_parent(parent, lt, "probs"))

    kind = "chowliu"
    state_table = ("log_cond", 0)
    capabilities = frozenset({"exact_log_prob", "exact_sampler", "missing", "exact_entropy", "statistics"})

    @classmethod
    def density_grid(cls, n: int, d: int):
        return ({"alpha": [0.01, 0.1, 1.0]}, {})

    def _set(self, parent, log_cond):
        self.parent = parent
        self.order = tree_order(parent)
        self.root = int(self.order[0])
        lc = np.array(log_cond, dtype=np.float64, order="C")
        lc[self.root] = lc[self.root, 0][None, :]
        self.log_cond = lc
        self._kparent = np.where(parent < 0, np.arange(parent.shape[0]), parent).astype(np.int64)
        self._levels = None

    @classmethod
    def _from_log(cls, parent, log_cond):
        self = cls.__new__(cls)
        self._set(check_parent(parent), log_cond)
        return self

    @property
    def n_dims(self) -> int:
        return self.log_cond.shape[0]

    @property
    def n_states(self) -> int:
        return self.log_cond.shape[2]

    @property
    def edges(self) -> np.ndarray:
        """(d - 1, 2) int64 array of (parent, child) pairs, in breadth-first order."""
        ch = self.order[1:]
        return np.stack([self.parent[ch], ch], axis=1)

    @classonlymethod
    def fit(cls, X: ArrayLike, n_states: int | None = None, *, alpha: float = 1.0,
            sample_weight: ArrayLike | None = None) -> ChowLiuTree:
        """Maximum-likelihood tree and its smoothed conditional tables.

        1. Empirical (weighted, unsmoothed) mutual information I(x_a; x_b) of every pair;
        2. maximum spanning tree by Prim's algorithm from variable 0 (deterministic ties,
           see :func:`fastdgm.models.max_spanning_tree`), rooted at 0;
        3. P(x_j = v | x_parent = u) = (N_uv + alpha) / (N_u + alpha * C) and the root's
           marginal (N_v + alpha) / (n + alpha * C). With ``alpha=0`` a parent state never
           seen gets a uniform conditional (it has probability 0, so it is never used).

        Parameters
        ----------
        X : array_like of int, shape (n, d)
        n_states : int, optional
            C; ``X.max() + 1`` when None (inferred up to 65536; pass it above).
        alpha : float >= 0, default 1.0
        sample_weight : array_like of float, shape (n,), optional

        Returns
        -------
        ChowLiuTree
            with ``mutual_info_`` (d, d) float64, the weights of the spanning tree.
        """
        X, C = fit_data(X, n_states)
        alpha = check_alpha(alpha)
        n, d = X.shape
        w = check_sample_weight(sample_weight, n)
        total = float(w.sum()) if w.size else float(n)
        mi, parent, N = chow_liu(X, C, w)
        root_counts = state_counts(np.ascontiguousarray(X[:, :1]), C, w)[0]
        log_cond = tree_tables(parent, root_counts, N, total, alpha)
        model = cls._from_log(parent, log_cond)
        model.mutual_info_ = mi
        return model

    @staticmethod
    def sufficient_statistics(X, n_states=None, sample_weight=None) -> dict:
        """Statistics of the fit, additive over blocks of rows (out-of-core and dask fits).

        Parameters
        ----------
        X : array_like of int, shape (n, d)
        n_states : int, optional
            C; give it when X is one block of a larger data set.
        sample_weight : array_like of float, shape (n,), optional

        Returns
        -------
        dict
            ``pair_counts`` float64 (d, C, d, C) joint (weighted) counts of every pair of
            columns, ``total`` float64 () and ``weighted`` bool; blocks add up (``weighted``
            is or-ed). Memory (d C)^2 float64: for d C up to a few thousand.
        """
        X, C = check_states(X, "X", n_states=n_states)
        w = check_sample_weight(sample_weight, X.shape[0])
        return {"pair_counts": pairwise_count_matrix(X, C, w if w.size else None),
                "total": np.float64(w.sum() if w.size else X.shape[0]), "weighted": np.bool_(w.size > 0)}

    @classmethod
    def from_statistics(cls, stats: dict, alpha=1.0) -> "ChowLiuTree":
        """The Chow-Liu tree of summed :meth:`sufficient_statistics`: mutual informations, Prim's
        maximum spanning tree from variable 0 and smoothed tables, as :meth:`fit` computes them
        (unweighted counts are exact integers: the same tree and tables, bit for bit).

        Parameters
        ----------
        stats : dict
            ``pair_counts`` (d, C, d, C), ``total``, ``weighted``.
        alpha : float >= 0

        Returns
        -------
        ChowLiuTree
        """
        alpha = check_alpha(alpha)
        N = np.ascontiguousarray(stats["pair_counts"], dtype=np.float64)
        total = float(stats["total"])
        mi, parent = chow_liu_from_counts(N, total, bool(stats.get("weighted", True)))
        root_counts, child_counts = tree_counts(N, parent)
        log_cond = tree_tables(parent, root_counts, child_counts, total, alpha)
        model = cls._from_log(parent, log_cond)
        model.mutual_info_ = mi
        return model

    def _log_prob(self, X: ArrayLike) -> FloatArray:
        """Exact log P(x) of each row, shape (n,), float64."""
        X = check_model_X(X, self.n_states, self.n_dims)
        out = np.empty(X.shape[0])
        _k.tree_log_prob(X.size, X, self.log_cond, self._kparent, out)
        return out

    def _missing_form(self) -> tuple:
        return ("tree", self.log_cond[None], self._kparent[None], self.order[None], np.zeros(1))

    def sample_rows(self, key: int | np.uint64, start: int, n: int) -> IntArray:
        """Rows ``[start, start + n)`` of the sample of ``key`` by ancestral sampling.

        Root first, then each child by thresholding its conditional given the parent's drawn
        state, element (i, j) with ``uniform(key, i*d + j)``.

        Parameters
        ----------
        key : int or numpy.uint64
            The stream key (``make_key(rng)``).
        start : int
            Index of the first row.
        n : int
            Number of rows.

        Returns
        -------
        ndarray
            Shape (n, d), smallest unsigned dtype holding C.
        """
        if self._levels is None:
            self._levels = levels(self.log_cond)
        out = np.empty((n, self.n_dims), dtype=smallest_uint(self.n_states))
        _s.tree_sample(out.size, self._levels, self._kparent, self.order, np.uint64(key), start, out)
        return out

    def marginals(self) -> np.ndarray:
        """Exact marginal P(x_j = v) of every variable (propagated down the tree).

        Returns
        -------
        ndarray of float64, shape (d, C)
            ``P(x_j = v)``.
        """
        d, C = self.n_dims, self.n_states
        cond = np.exp(self.log_cond)
        m = np.empty((d, C))
        m[self.root] = cond[self.root, 0]
        for j in self.order[1:]:
            m[j] = m[self.parent[j]] @ cond[j]
        return m

    def entropy(self) -> float:
        """Exact entropy in nats: H(x_root) + sum_j sum_u P(x_parent = u) H(x_j | x_parent = u).

        Returns
        -------
        float
            The entropy.
        """
        m = self.marginals()
        h_rows = entropy_terms(self.log_cond).sum(axis=2)  # (d, C) conditional entropies
        h = float(h_rows[self.root, 0])
        for j in self.order[1:]:
            h += float(m[self.parent[j]] @ h_rows[j])
        return h

    def get_params(self) -> dict[str, np.ndarray]:
        return {"parent": self.parent, "log_cond": self.log_cond}

    @classmethod
    def from_params(cls, params: Mapping[str, np.ndarray]) -> ChowLiuTree:
        """The model of ``params`` (e.g. read from a file), validated: ``parent`` (d,) a tree
        (one root, no cycle) and ``log_cond`` (d, C, C) normalised conditional log-tables.

        Parameters
        ----------
        params : mapping of str to ndarray
            The arrays of :meth:`get_params` (e.g. read from an untrusted file).

        Returns
        -------
        ChowLiuTree
        """
        parent = check_parent(param(params, "parent", cls.__name__))
        lc = check_log_probs(param(params, "log_cond", cls.__name__), "log_cond", ndim=3,
                             shape_doc="(d, C, C)")
        return cls._from_log(parent, _match_parent(parent, lc, "log_cond"))


def _match_parent(parent, table, name):
    """``table`` if its shape is (d, C, C) for the d of ``parent``, else a ValueError."""
    d = parent.shape[0]
    if table.shape[0] != d or table.shape[1] != table.shape[2]:
        raise ValueError(f"{name} must have shape (d, C, C) = ({d}, C, C) to match parent, "
                         f"got {table.shape}")
    return table
