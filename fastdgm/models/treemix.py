"""Mixtures of Chow-Liu trees (Meila & Jordan, "Learning with mixtures of trees", JMLR 2000).

P(x) = sum_k w_k P_k(x), each P_k a tree-structured distribution
P_k(x) = P_k(x_root) prod_{j != root} P_k(x_j | x_parent_k(j)), with its own tree.
Fitted by EM: the E-step computes the responsibilities r_ik = P(k | x_i); the M-step sets
w_k to the mean responsibility and fits each tree by a Chow-Liu fit weighted by r_ik
(weighted pairwise counts -> mutual information -> maximum spanning tree -> smoothed
conditionals), exactly as :meth:`fastdgm.ChowLiuTree.fit` does with ``sample_weight``.
"""
from __future__ import annotations

import numpy as np

from .._validation import (check_alpha, check_log_probs, check_log_table, check_model_X, check_positive_int, check_scalar, param, smallest_uint)
from ..kernels import ancestral as _s
from ..kernels import treemix as _tk
from . import em
from ._tables import levels
from ._treemix_em import PairCounter, _prior, e_step_statistics, initial_statistics, m_step
from ._treemix_prune import mixture_start
from ._trees import check_parents, tree_order
from .base import classonlymethod, fit_data, register_model
from .em import EMModel
from .tree import ChowLiuTree

__all__ = ["TreeMixture", "PairCounter"]



DENSITY_SHRINK = (0.0, 10.0, 50.0)
"""The ``shrink`` values of the density benchmark's grid (pseudo-rows per table row): 10 was
chosen on accidents and msweb, 50 helped most on wide data (c20ng; a sampled d = 800,
n = 2,000 tree mixture)."""


DENSITY_PRUNE = 1.0
"""The grid's ``prune`` (BIC) with ``init="mixture"``, K = 50, ``shrink`` = 10 (c20ng: test -151.76)."""


# ---------------------------------------------------------------------------------------
# validation of tables and trees
# ---------------------------------------------------------------------------------------
def _check_prune(prune) -> float:
    """``prune``: a float >= 0, inf allowed (every edge dropped)."""
    if isinstance(prune, (float, np.floating)) and prune == np.inf:
        return float("inf")
    return check_scalar(prune, "prune", minimum=0.0)


# ---------------------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------------------
@register_model
class TreeMixture(EMModel):
    """Mixture of K tree-structured distributions, each with its own tree.

    P(x) = sum_k w_k P_k(x_root_k) prod_{j != root_k} P_k(x_j | x_parents[k, j]).

    Parameters
    ----------
    weights : array_like of float, shape (K,)
        Non-negative mixing weights (normalised here).
    parents : array_like of int, shape (K, d)
        parents[k, j] is the parent of variable j in tree k, -1 for its (single) root.
    probs : array_like of float, shape (K, d, C, C)
        probs[k, j, u, :] = P_k(x_j = . | x_parent = u), non-negative, normalised over the
        last axis here; for the root of tree k only ``probs[k, root, 0]`` is used.

    Attributes
    ----------
    log_weights : ndarray, float64, shape (K,)
    parents : ndarray, int64, shape (K, d)
    log_cond : ndarray, float64, shape (K, d, C, C)
        Every row of a root's table holds its log-marginal.
    roots : ndarray, int64, shape (K,)
    orders : ndarray, int64, shape (K, d)
        Breadth-first order of each tree (parents before children).
    objective_history_, log_likelihood_history_, n_iter_, converged_
        Set by :meth:`fit`, as for :class:`fastdgm.Mixture`: the objective is
        (sum_i s_i log P(x_i) + alpha * sum over every table cell of log P_k(cell)) / sum_i s_i
        (the root's marginal counted once), plus the ``shrink`` prior's term (see :meth:`fit`),
        the MAP-EM objective; it never decreases.
    """

    kind = "treemix"
    state_table = ("log_cond", 1)
    fit_legacy_args = ("n_components", "n_states", "alpha", "rng", "max_iter", "tol", "n_init",
                        "sample_weight", "progress")
    capabilities = frozenset({"exact_log_prob", "exact_sampler", "missing", "statistics", "em"})
    example_params = {"n_components": 2, "rng": 0, "max_iter": 3}

    @classmethod
    def density_grid(cls, n: int, d: int):
        # K = 1 with ChowLiuTree's alphas: the Chow-Liu tree (EM stops at its 2nd iteration);
        # K up, without and with shrinkage (where d > 120 only K = 10, shrink = 50: the best
        # random start on msweb, c20ng and a d = 1000 sample); the Mixture's largest K as
        # forests grown from its fit (few iterations: valid moves little after two to four)
        return ([{"n_components": [1], **ChowLiuTree.density_grid(n, d)[0]},
                 {"n_components": [5, 10, 20] if d <= 120 else [10], "alpha": [0.1],
                  "shrink": list(DENSITY_SHRINK) if d <= 120 else [50.0], "max_iter": [50]},
                 {"n_components": [50], "alpha": [0.1], "init": ["mixture"], "prune": [DENSITY_PRUNE],
                  "shrink": [10.0], "max_iter": [5]}],
                {"rng": 0})

    def __init__(self, weights, parents, probs):
        lw = check_log_table(weights, None, name_p="weights", ndim=1, shape_doc="(K,)")
        par = check_parents(parents)
        lt = check_log_table(probs, None, name_p="probs", ndim=4, shape_doc="(K, d, C, C)")
        K, d = par.shape
        if lw.shape[0] != K:
            raise ValueError(f"weights has {lw.shape[0]} entries but parents has {K} rows; they must match (K)")
        if lt.shape[:2] != (K, d) or lt.shape[2] != lt.shape[3]:
            raise ValueError(f"probs must have shape (K, d, C, C) = ({K}, {d}, C, C) to match parents, "
                             f"got {lt.shape}")
        self._set(lw, par, lt)

    def _set(self, log_weights, parents, log_cond):
        K, d = parents.shape
        self.log_weights = np.ascontiguousarray(log_weights, dtype=np.float64)
        self.parents = parents
        self.orders = np.stack([tree_order(parents[k]) for k in range(K)]).astype(np.int64)
        self.roots = np.ascontiguousarray(self.orders[:, 0])
        lc = np.array(log_cond, dtype=np.float64, order="C")
        for k in range(K):
            r = self.roots[k]
            lc[k, r] = lc[k, r, 0][None, :]
        self.log_cond = lc
        self._kparent = np.where(parents < 0, np.arange(d)[None, :], parents).astype(np.int64)
        self._levels = None

    @classmethod
    def _from_log(cls, log_weights, parents, log_cond):
        self = cls.__new__(cls)
        self._set(log_weights, parents, log_cond)
        return self

    @property
    def weights(self) -> np.ndarray:
        """Mixing weights, float64 (K,)."""
        return np.exp(self.log_weights)

    @property
    def n_components(self) -> int:
        """K, the number of trees."""
        return self.log_cond.shape[0]

    @property
    def n_dims(self) -> int:
        return self.log_cond.shape[1]

    @property
    def n_states(self) -> int:
        return self.log_cond.shape[3]

    def component(self, k: int) -> ChowLiuTree:
        """Tree k as a :class:`fastdgm.ChowLiuTree`.

        Parameters
        ----------
        k : int
            Component index in [0, K).

        Returns
        -------
        ChowLiuTree
        """
        k = check_positive_int(k, "k", minimum=0)
        if k >= self.n_components:
            raise ValueError(f"k must be < n_components={self.n_components}, got {k}")
        return ChowLiuTree._from_log(self.parents[k], self.log_cond[k])

    def marginals(self) -> np.ndarray:
        """Exact marginal P(x_j = v) of every variable.

        Returns
        -------
        ndarray, float64, shape (d, C)
        """
        return sum(w * self.component(k).marginals() for k, w in enumerate(self.weights))

    # --- evaluation ------------------------------------------------------------------------
    def _log_prob(self, X) -> np.ndarray:
        """log P(x) of each row, shape (n,), float64 (max-shifted logsumexp over components)."""
        X = check_model_X(X, self.n_states, self.n_dims)
        out = np.empty(X.shape[0])
        _tk.treemix_log_prob(X.size * self.n_components, X, self.log_cond, self._kparent,
                             self.log_weights, out)
        return out

    def _missing_form(self) -> tuple:
        return ("tree", self.log_cond, self._kparent, self.orders, self.log_weights)

    @classmethod
    def _fit_bytes(cls, shape, n_states, params):
        K = int(params.get("n_components", 10))
        n, d = shape
        C = n_states
        # responsibilities, K trees' tables, the E-step's K pair-count tables (d^2 co-occurrences
        # for binary data, (d C)^2 else) and the counts expanded at a time (_COUNT_CELLS)
        pairs = K * d * d * (1 if C == 2 else C * C)
        expanded = min(K * (d * C) ** 2, max((d * C) ** 2, 1 << 23))
        return 8.0 * (2 * K * n + 2 * K * d * C * C + pairs + expanded), "n_components"

    def predict_proba(self, X) -> np.ndarray:
        """Posterior P(component k | x) of each row (rows of probability zero get all zeros).

        Parameters
        ----------
        X : array_like of int, shape (n, d)

        Returns
        -------
        ndarray, float64, shape (n, K)
        """
        X = check_model_X(X, self.n_states, self.n_dims)
        resp = np.empty((X.shape[0], self.n_components))
        out = np.empty(X.shape[0])
        _tk.treemix_responsibilities(X.size * self.n_components, X, self.log_cond, self._kparent,
                                     self.log_weights, resp, out)
        return resp

    def sample_rows(self, key, start: int, n: int) -> np.ndarray:
        """Rows ``[start, start + n)`` of the sample of ``key``: a component by thresholding the
        weights, then ancestral sampling down its tree; thread-count and block invariant.

        Parameters
        ----------
        key : int or numpy.uint64
            The sample's 64-bit key (``make_key(rng)``).
        start : int
            Index of the first row in the whole sample.
        n : int
            Number of rows.

        Returns
        -------
        ndarray, shape (n, d), smallest unsigned dtype holding C
        """
        if self._levels is None:
            self._levels = (levels(self.log_weights), levels(self.log_cond))
        out = np.empty((n, self.n_dims), dtype=smallest_uint(self.n_states))
        _s.treemix_sample(out.size, self._levels[0], self._levels[1], self._kparent, self.orders,
                          np.uint64(key), start, out)
        return out

    def entropy(self) -> float:
        """Not available in closed form for a mixture: raises NotImplementedError.

        Use :meth:`entropy_estimate` (Monte Carlo, with a standard error) instead."""
        raise NotImplementedError(
            "TreeMixture has no exact entropy (the log of a sum does not factorise); use "
            "TreeMixture.entropy_estimate(n, rng=...) for a Monte-Carlo estimate with a standard error")

    # --- EM --------------------------------------------------------------------------------
    @classonlymethod
    def fit(cls, X, n_states=None, *, n_components=10, alpha=1.0, rng=None, max_iter=em.MAX_ITER, tol=em.TOL,
            n_init=1, sample_weight=None, progress=False, shrink=0.0, prune=0.0, init="random"):
        """Fit by EM (Meila & Jordan 2000), MAP with a Dirichlet smoothing prior.

        Initialisation: random responsibilities (Dirichlet(1) rows drawn from the key of
        ``rng``), then an M-step. E-step: r_ik = P(k | x_i). M-step: w_k = sum_i s_i r_ik /
        sum_i s_i; tree k is the Chow-Liu tree of the counts weighted by s_i r_ik (mutual
        information -> maximum spanning tree from variable 0) with conditionals
        (N_uv + alpha) / (N_u + alpha C) and root marginal (N_v + alpha) / (n_k + alpha C),
        as :meth:`ChowLiuTree.fit` with ``sample_weight``; ``shrink`` = s > 0 adds s Q(v | u)
        to the counts of each row u (see ``shrink``). With ``alpha > 0`` the previous
        tree is kept when its smoothed score is higher, so the objective never decreases.
        The loop, the stop rule and the trace are those of the one EM engine
        (:mod:`fastdgm.models.em`); the E-step statistics (K weighted pair-count tables,
        (d, d) each for binary data, (d, d, C, C) else) add up over blocks of rows, so
        :func:`fastdgm.blockfit.fit_in_blocks` and :func:`fastdgm.dask.fit` fit it too.

        Stopping rule: after iteration t > 0, stop when the objective (per unit weight)
        improved by at most ``tol * |objective_{t-1}|`` (a relative tolerance).

        Parameters
        ----------
        X : array_like of int, shape (n, d)
        n_components : int
            K.
        n_states : int, optional
            C; ``X.max() + 1`` when None.
        alpha : float >= 0, default 1.0
        rng : SPEC 7 seed
            Restart r uses sub-stream r of the call's key.
        max_iter : int, default 100
            Maximum number of E-steps per restart.
        tol : float >= 0, default 1e-5
            Relative tolerance of the stopping rule.
        n_init : int, default 1
            Restarts; the one with the highest final objective is returned (first on ties).
        sample_weight : array_like of float, shape (n,), optional
        progress : bool
            Show a progress bar of EM iterations on stderr.
        shrink : float >= 0, default 0.0
            Shrinkage toward the conditionals of the whole data: each row u of each table gets
            the Dirichlet prior alpha + s Q(. | u), Q the pair distribution of the whole
            (weighted) data, so the conditionals are
            (N_k(u, v) + s Q(v | u) + alpha) / (N_k(u) + s + alpha C) and the root's marginal
            (N_k(v) + s Q(v) + alpha) / (n_k + s + alpha C). A parent state that few rows of the
            component have borrows the data's conditional (the one Chow-Liu tree's table when
            the edge is one of its edges) instead of the uniform one that alpha alone gives,
            which over-fits wide sparse data; the prior's term
            sum s Q(v | u) log P_k(v | u) joins the objective, which still never decreases.
            The trees are still those of the components' counts. ``n_components=1`` with
            ``shrink=0`` *is* the Chow-Liu tree with the same ``alpha``.
        prune : float >= 0 or inf, default 0.0
            Edge pruning (mixtures of forests): with ``prune`` = lam > 0 each component drops
            the edges whose MAP gain (with alpha = 0 and no shrinkage: n_k times the edge's
            mutual information in the component) is at most lam (C - 1)^2 log(n) / 2, n the
            total weight (lam = 1: the BIC rule); a dropped child's table holds its marginal in
            the component in every row (the forest's likelihood, stored as a tree), counted
            once in the prior like a root's, and the objective subtracts the penalty of each
            kept edge. ``inf`` drops every edge: the fit is :class:`fastdgm.Mixture`'s with the
            same ``alpha`` and ``rng``. 0 keeps every tree whole.
        init : {"random", "mixture"}, default "random"
            The start of each restart: "random" as above; "mixture" fits a
            :class:`fastdgm.Mixture` first (same ``alpha``, the same restart key as
            ``Mixture.fit`` with this ``rng``, its default ``max_iter`` and ``tol``) and starts
            from it as a mixture of edgeless forests (same likelihood), so the fit's objective
            is at least the Mixture's; ``max_iter`` then counts the tree mixture's iterations.

        Returns
        -------
        TreeMixture
        """
        X, C = fit_data(X, n_states)
        return em.fit(cls, em.InMemory(X, C, sample_weight), n_components=n_components, alpha=alpha,
                      rng=rng, max_iter=max_iter, tol=tol, n_init=n_init, progress=progress, shrink=shrink,
                      prune=prune, init=init)

    # --- the EM statistics protocol (fastdgm.models.em) ------------------------------------
    @classmethod
    def _em_check(cls, *, n_components, shrink=0.0, prune=0.0, init="random") -> dict:  # type: ignore[override]
        if not isinstance(init, str) or init not in ("random", "mixture"):
            raise ValueError(f"init must be 'random' or 'mixture', got {init!r}")
        return {"n_components": check_positive_int(n_components, "n_components"),
                "shrink": check_scalar(shrink, "shrink", minimum=0.0), "prune": _check_prune(prune), "init": init}

    @classmethod
    def _em_setup(cls, data, *, alpha, n_components, shrink=0.0, prune=0.0, init="random") -> dict:  # type: ignore[override]
        if data.n_states != 2:
            return {}
        # binary counts are taken on the sparser side of each column: the flips are decided
        # once on the whole data (unweighted column means), so that the blocks' counts add up
        from .factorized import Factorized

        stats = data.reduce(("suff", Factorized, {"n_states": 2, "weighted": False}))
        return {"context": {"flip": stats["counts"][:, 1] / stats["total"] > 0.5}}

    @classmethod
    def _em_prepare(cls, X, n_states, *, flip=None):
        return X, PairCounter(X, n_states, flip)

    @classmethod
    def _em_start(cls, data, key, restart, alpha, setup, *, n_components, shrink=0.0, prune=0.0, init="random"):
        if init == "mixture":
            return mixture_start(cls, data, key, restart, alpha, setup, n_components, shrink, prune)
        task = ("initial", cls, {"n_states": data.n_states, "key": int(cls._restart_key(key, restart)),
                                 "context": setup.get("context", {}), "hyper": {"n_components": n_components}})
        return cls.from_statistics(data.reduce(task), alpha=alpha, shrink=shrink, prune=prune)

    @classmethod
    def _em_initial(cls, block, n_states, key, start, w, *, n_components, shrink=0.0,  # type: ignore[override]
                    prune=0.0, init="random") -> dict:
        X, counter = block
        return initial_statistics(counter, X, n_components, w if w.size else np.ones(X.shape[0]), key, start)

    def _em_statistics(self, block, w) -> dict:
        X, counter = block
        return e_step_statistics(self, counter, X, w if w.size else np.ones(X.shape[0]))

    def _em_update(self, stats: dict, alpha: float) -> "TreeMixture":
        return type(self)._from_stats(stats, alpha, self.parents, getattr(self, "_shrink", 0.0),
                                      getattr(self, "_prune", 0.0))

    @classmethod
    def _from_stats(cls, stats: dict, alpha: float, prev_parents, shrink: float, prune: float = 0.0) -> "TreeMixture":
        lw, parents, lc, extra = m_step(stats, float(stats["total"]), alpha, prev_parents, shrink, prune)
        self = cls._from_log(lw, parents, lc)
        self._shrink, self._prune, self._extra_prior = shrink, prune, extra
        return self

    def _log_prior(self, alpha: float) -> float:
        # the shrinkage and pruning terms are those of the statistics this model was fitted
        # from (EM only)
        return _prior(self.log_cond, self.roots, alpha) + getattr(self, "_extra_prior", 0.0)

    @classmethod
    def from_statistics(cls, stats: dict, alpha=1.0, shrink=0.0, prune=0.0) -> "TreeMixture":
        """The M-step from summed EM statistics (:meth:`em_statistics` or
        :meth:`initial_statistics` of the blocks): weights and one Chow-Liu tree per component.

        Parameters
        ----------
        stats : dict
            ``nk`` (K,), ``total``, ``pairs`` (K, d, d) with ``pair_total`` (K,) and ``flip`` (d,)
            for binary data, else ``pairs`` (K, d, d, C, C).
        alpha : float >= 0
        shrink : float >= 0
            Shrinkage toward the pooled tree (see :meth:`fit`).
        prune : float >= 0 or inf
            Edge pruning (see :meth:`fit`).

        Returns
        -------
        TreeMixture
        """
        alpha = check_alpha(alpha)
        return cls._from_stats(stats, alpha, None, check_scalar(shrink, "shrink", minimum=0.0), _check_prune(prune))

    # --- persistence -------------------------------------------------------------------------
    def get_params(self) -> dict:
        return {"log_weights": self.log_weights, "parents": self.parents, "log_cond": self.log_cond}

    @classmethod
    def from_params(cls, params):
        lw = check_log_probs(param(params, "log_weights", "TreeMixture"), "log_weights", ndim=1, shape_doc="(K,)")
        par = check_parents(param(params, "parents", "TreeMixture"))
        lc = check_log_probs(param(params, "log_cond", "TreeMixture"), "log_cond", ndim=4,
                             shape_doc="(K, d, C, C)")
        K, d = par.shape
        if lw.shape[0] != K or lc.shape[:2] != (K, d) or lc.shape[2] != lc.shape[3]:
            raise ValueError(f"inconsistent shapes: log_weights {lw.shape}, parents {par.shape}, "
                             f"log_cond {lc.shape} (need (K,), (K, d), (K, d, C, C))")
        return cls._from_log(lw, par, lc)
