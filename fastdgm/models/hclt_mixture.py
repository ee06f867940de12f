"""Mixture of hidden Chow-Liu trees over the top Chow-Liu trees (Liu & Van den Broeck, NeurIPS 2021).

    P(x) = sum_m w_m HCLT_m(x),

component m a :class:`~fastdgm.HiddenChowLiuTree` with K hidden states on the m-th best
maximum spanning tree of the data's mutual informations (:mod:`._top_trees`): the model of the
published HCLT results, a regulariser (several trees instead of one). Every pass is a
component's own (:mod:`._hclt_passes`): log P(x) = logsumexp_m(log w_m + log P_m(x)); the
E-step weights each row's statistics of component m by its responsibility r_im =
P(m | x_i); missing entries are summed out by each component's upward pass.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._dispatch import draw_table, levels_1d, method_code, search_tables
from .._rng import make_key, substream_ref
from .._validation import (as_float_array, check_alpha, check_model_X, check_positive_int, check_prob_table,
                           check_sample_weight, param)
from ..kernels.bayesnet import draw_weighted
from . import em
from ._hclt_passes import em_statistics, upward
from ._hclt_regularise import GRID_WORK, hidden_grid, softened
from ._missing import check_missing, fill_result
from ._tables import distinct_rows, normalise_rows
from ._top_trees import top_spanning_trees
from ._trees import check_parents
from .base import classonlymethod, fit_data, register_model
from .em import EMModel
from .hclt import HiddenChowLiuTree

__all__ = ["HCLTMixture"]

_PARAMS = ("weights", "parents", "root_probs", "trans_probs", "emit_probs")


def _logsumexp(L: np.ndarray) -> np.ndarray:
    """log sum_m exp(L[:, m]) of each row, -inf for a row of -inf (scipy's; imported on first use)."""
    from scipy.special import logsumexp
    return logsumexp(L, axis=1)


@register_model
class HCLTMixture(EMModel):
    """Mixture of M hidden Chow-Liu trees: P(x) = sum_m weights[m] HCLT_m(x).

    Component m is the :class:`~fastdgm.HiddenChowLiuTree` ``(parents[m], root_probs[m],
    trans_probs[m], emit_probs[m])``; :meth:`fit` puts them on the M best Chow-Liu trees.

    Parameters
    ----------
    weights : array_like of float, shape (M,)
        Mixing weights, non-negative, summing to 1 within 1e-6.
    parents : array_like of int, shape (M, d)
        parents[m, j] is the parent of latent j in tree m, -1 for its single root.
    root_probs : array_like of float, shape (M, K)
    trans_probs : array_like of float, shape (M, d, K, K)
        trans_probs[m, j, u, v] = P(Z_j = v | Z_parent(j) = u) in component m.
    emit_probs : array_like of float, shape (M, d, K, C)
        emit_probs[m, j, k, x] = P(X_j = x | Z_j = k) in component m.

    Notes
    -----
    Every table is checked as :class:`~fastdgm.HiddenChowLiuTree` checks its own (finite,
    non-negative, normalised over its last axis within 1e-6); violations raise ``ValueError``
    naming the array (model files go through the same checks).

    Attributes
    ----------
    components : tuple of HiddenChowLiuTree
        The M components.
    tree_weights_ : ndarray float64 (M,)
        Set by :meth:`fit`: the mutual-information weight of each component's tree.
    objective_history_, log_likelihood_history_, n_iter_, converged_
        As for :class:`~fastdgm.HiddenChowLiuTree` (the objective's prior adds
        ``alpha * sum_m log weights[m]``).
    """

    kind = "hcltmix"
    state_table = ("emit_probs", 1)
    capabilities = frozenset({"exact_log_prob", "exact_sampler", "missing", "statistics", "em"})
    example_params = {"n_trees": 2, "n_hidden": 2, "rng": 0, "max_iter": 3}

    def __init__(self, weights, parents, root_probs, trans_probs, emit_probs):
        w = as_float_array(weights, "weights", ndim=1)
        w = check_prob_table(w, "weights", w.shape, "(M,)")
        M = w.shape[0]
        par = check_parents(parents, M)
        d = par.shape[1]
        K = as_float_array(root_probs, "root_probs", ndim=2).shape[1]
        C = as_float_array(emit_probs, "emit_probs", ndim=4).shape[3]
        rp = check_prob_table(root_probs, "root_probs", (M, K), "(M, K)")
        tp = check_prob_table(trans_probs, "trans_probs", (M, d, K, K), "(M, d, K, K)")
        ep = check_prob_table(emit_probs, "emit_probs", (M, d, K, C), "(M, d, K, C)")
        self._set(w, [HiddenChowLiuTree._trusted(par[m], rp[m], tp[m], ep[m]) for m in range(M)])

    def _set(self, weights, components):
        self.weights = np.ascontiguousarray(weights, dtype=np.float64)
        self.components = tuple(components)
        self.parents = np.stack([c.parent for c in components])
        self.root_probs = np.stack([c.root_probs for c in components])
        self.trans_probs = np.stack([c.trans_probs for c in components])
        self.emit_probs = np.stack([c.emit_probs for c in components])
        with np.errstate(divide="ignore"):
            self._log_w = np.log(self.weights)
        self._zlevels = None

    @classmethod
    def _from_components(cls, weights, components) -> "HCLTMixture":
        """From trusted parts (the fit's M-step)."""
        self = cls.__new__(cls)
        self._set(weights, components)
        return self

    # --- shape ---------------------------------------------------------------------------
    @property
    def n_dims(self) -> int:
        return self.emit_probs.shape[1]

    @property
    def n_states(self) -> int:
        return self.emit_probs.shape[3]

    @property
    def n_hidden(self) -> int:
        """K, the number of states of each hidden variable."""
        return self.root_probs.shape[1]

    @property
    def n_trees(self) -> int:
        """M, the number of components."""
        return self.weights.shape[0]

    # --- likelihood ----------------------------------------------------------------------
    def _joint(self, X, missing, comps=None) -> np.ndarray:
        """log w_m + log P_m(x_obs), (n, M): each component's upward pass."""
        comps = self.components if comps is None else comps
        return np.stack([upward(c, X, missing) for c in comps], axis=1) + self._log_w

    def _log_prob(self, X) -> np.ndarray:
        """Exact log P(x) of each row, (n,) float64: logsumexp over the components' upward passes."""
        return _logsumexp(self._joint(check_model_X(X, self.n_states, self.n_dims), None))

    def _log_prob_missing(self, X, missing) -> np.ndarray:
        """The exact marginal of the observed entries: each component's upward pass with the
        missing emissions set to 1, mixed."""
        return _logsumexp(self._joint(X, missing))

    def predict_proba(self, X, missing=None) -> np.ndarray:
        """Posterior P(component m | x_obs) of each row.

        Parameters
        ----------
        X : array_like of int, shape (n, d)
        missing : array_like of bool, shape (n, d), optional
            True marks an entry to sum out.

        Returns
        -------
        ndarray of float64, shape (n, M)
            Rows sum to 1 (a row of probability zero under every component: zeros).
        """
        L = self._joint(X if missing is not None else check_model_X(X, self.n_states, self.n_dims), missing)
        lse = _logsumexp(L)
        with np.errstate(invalid="ignore"):
            return np.where(np.isfinite(lse)[:, None], np.exp(L - lse[:, None]), 0.0)

    def sample_rows(self, key, start: int, n: int) -> np.ndarray:
        """Rows ``[start, start + n)`` of the sample of ``key``, (n, d), smallest unsigned dtype
        holding C.

        The component z_i of row i by cumulative-level thresholding of
        ``uniform(substream(key, 0), i)`` (:func:`fastdgm._dispatch.draw_table`), then row i
        of component z_i's ancestral sample of key ``substream(key, 1)``
        (:meth:`HiddenChowLiuTree.sample_rows`); thread-count and block invariant.

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
        ndarray, shape (n, d)
        """
        key, start, n = np.uint64(key), int(start), int(n)
        if self._zlevels is None:
            self._zlevels = levels_1d(self.weights, False)
        method = method_code("auto", self.n_trees, n)
        z = draw_table(self._zlevels, search_tables(self._zlevels, method), method, substream_ref(int(key), 0),
                       start, (n,), np.dtype(np.int64))
        ckey = np.uint64(substream_ref(int(key), 1))
        out = None
        for m in np.unique(z):
            rows = np.flatnonzero(z == m)
            lo, hi = int(rows[0]), int(rows[-1]) + 1
            part = self.components[m].sample_rows(ckey, start + lo, hi - lo)
            if out is None:
                out = np.empty((n, self.n_dims), dtype=part.dtype)
            out[rows] = part[rows - lo]
        if out is None:
            out = self.components[0].sample_rows(ckey, start, 0)
        return out

    def _fill(self, X, missing, rng=None) -> np.ndarray:
        """A component from P(m | x_obs) per row (``uniform(substream(key, 0), i)``), then that
        component's exact conditional fill (:meth:`HiddenChowLiuTree.fill`, seeded by
        ``substream(key, m + 1)``, on the rows that drew it)."""
        Xc, M, arr = check_missing(X, missing, self.n_states, self.n_dims)
        key = int(make_key(rng))
        L = self._joint(Xc, M)
        lse = _logsumexp(L)
        bad = np.flatnonzero(lse == -np.inf)
        if bad.size:
            raise ValueError(f"X: the observed entries of row {bad[0]} have probability zero "
                             f"under the model; nothing to condition on")
        post = np.ascontiguousarray(np.exp(L - lse[:, None]))
        z = np.zeros(Xc.shape[0], dtype=np.int64)
        draw_weighted(post, np.uint64(substream_ref(key, 0)), np.arange(Xc.shape[0], dtype=np.int64), z)
        out = Xc.copy()
        for m in np.unique(z):
            rows = np.flatnonzero(z == m)
            out[rows] = self.components[m]._fill(Xc[rows], M[rows], rng=substream_ref(key, m + 1))
        return fill_result(arr, M, out, self.n_states)

    def entropy(self) -> float:
        """Not available in closed form: raises NotImplementedError (use :meth:`entropy_estimate`)."""
        raise NotImplementedError(
            "HCLTMixture has no exact entropy (the log of a sum over the latents does not factorise); "
            "use HCLTMixture.entropy_estimate(n, rng=...) for a Monte-Carlo estimate with a standard error")

    # --- EM ------------------------------------------------------------------------------
    def _em_statistics(self, block, w) -> dict:
        """E-step statistics of ``block`` = (X, precision, soften) (:meth:`_em_prepare`):
        responsibilities r_im from each component's upward pass (on the softened emissions
        when soften > 0), then each component's statistics with the row weights w_i r_im
        (:func:`._hclt_passes.em_statistics`): ``counts`` (M,) sum_i w_i r_im, ``pair``
        (M, d, K, K), ``emit`` (M, d, C, K), ``loglik`` and ``total``."""
        X, precision, soften = block
        comps = [softened(c, soften) for c in self.components] if soften else self.components
        wt = w if w.size else np.ones(X.shape[0])
        L = self._joint(X, None, comps)
        lse = _logsumexp(L)
        with np.errstate(invalid="ignore"):
            R = np.where(np.isfinite(lse)[:, None], np.exp(L - lse[:, None]), 0.0)
        parts = [em_statistics(c, X, np.ascontiguousarray(wt * R[:, m]), precision) for m, c in enumerate(comps)]
        return {"counts": wt @ R, "pair": np.stack([p["pair"] for p in parts]),
                "emit": np.stack([p["emit"] for p in parts]),
                # one component: its own sum (the same quantity), so n_trees=1 is HCLT's fit bit for bit
                "loglik": parts[0]["loglik"] if len(parts) == 1 else np.float64(np.dot(wt, lse)),
                "total": np.float64(wt.sum())}

    def _em_update(self, stats: dict, alpha: float) -> "HCLTMixture":
        """weights = normalise(counts + alpha); component m: the HCLT M-step of its own
        statistics (:meth:`HiddenChowLiuTree._em_update`, same ``alpha``, tree kept)."""
        comps = [c._em_update({"pair": stats["pair"][m], "emit": stats["emit"][m]}, alpha)
                 for m, c in enumerate(self.components)]
        out = type(self)._from_components(normalise_rows(np.asarray(stats["counts"]) + alpha), comps)
        if hasattr(self, "tree_weights_"):
            out.tree_weights_ = self.tree_weights_
        return out

    def _log_prior(self, alpha) -> float:
        if alpha == 0:
            return 0.0
        with np.errstate(divide="ignore"):
            return alpha * float(np.log(self.weights).sum()) + sum(c._log_prior(alpha) for c in self.components)

    def em_step(self, X, alpha: float = 1.0, sample_weight=None) -> tuple["HCLTMixture", float]:
        """One EM iteration from this model: E-step statistics, then the MAP M-step.

        Parameters
        ----------
        X : array_like of int, shape (n, d)
        alpha : float >= 0
        sample_weight : array_like of float, shape (n,), optional

        Returns
        -------
        (HCLTMixture, float)
            The new model and the mean (weighted) log-likelihood of X under ``self``.
        """
        alpha = check_alpha(alpha)
        soften = getattr(self.components[0], "_soften", 0.0)
        stats = self.em_statistics(X, sample_weight, context={"soften": soften})
        return self._em_update(stats, alpha), float(stats["loglik"]) / float(stats["total"])

    @classonlymethod
    def fit(cls, X, n_states: int | None = None, *, n_trees: int = 4, n_hidden: int = 16, alpha: float = 0.1,
            rng=None, max_iter: int = em.MAX_ITER, tol: float = em.TOL, progress: bool = False,
            sample_weight=None, init: str = "mixture", init_noise: float = 3.0, dedupe: bool = True,
            n_init: int = 1, soften: float = 0.0, precision: str = "auto", batch_size: int | None = None,
            kappa: float = em.KAPPA) -> "HCLTMixture":
        """Fit by MAP-EM on the ``n_trees`` best Chow-Liu trees of X.

        1. Structures: the mutual informations of X's columns (those of
           :meth:`fastdgm.ChowLiuTree.fit`) and their ``n_trees`` heaviest spanning trees
           (:mod:`fastdgm.models._top_trees`, exact), each rooted at 0; the first is the
           Chow-Liu tree. With fewer spanning trees than ``n_trees`` (d <= 3), they repeat.
        2. Start: component m is :class:`~fastdgm.HiddenChowLiuTree`'s start (``init``,
           ``init_noise``) on tree m, seeded by the restart's key for m = 0 and by sub-stream m
           of sub-stream 0 of it for m > 0; uniform weights. So ``n_trees=1`` is
           ``HiddenChowLiuTree.fit`` bit for bit (same tree, start, iterations and histories).
        3. EM: the E-step's responsibilities r_im = P(m | x_i) weight each component's own
           E-step statistics; the M-step sets weights = normalise(sum_i w_i r_im + alpha) and
           takes each component's HCLT M-step with the same ``alpha``. The MAP objective
           (``objective_history_``, never decreasing) is the mean log-likelihood plus
           ``alpha`` times the sum of the logs of the weights and of every component's tables
           (as HiddenChowLiuTree counts them), per unit of sample weight.

        The loop, stop rule, restarts, mini-batch EM, early stopping on a validation split
        (:func:`fastdgm.select`) and block/dask fits are those of the one EM engine
        (:mod:`fastdgm.models.em`), as for :meth:`fastdgm.HiddenChowLiuTree.fit`.

        Parameters
        ----------
        X : array_like of int, shape (n, d)
        n_states : int, optional
            C; ``X.max() + 1`` when None.
        n_trees : int, default 4
            M, the number of components (trees).
        n_hidden : int, default 16
            K, states of every latent of every component.
        alpha : float >= 0
            Pseudo-count added to every expected count of the M-step (weights included).
        rng : SPEC 7 seed
            Restart 0 starts from the key of ``rng``, restart r > 0 from its sub-stream r.
        max_iter : int, default 100
        tol : float >= 0, default 1e-5
        progress : bool
        sample_weight : array_like of float, shape (n,), optional
        init : {"mixture", "random"}
        init_noise : float >= 0
        dedupe : bool
            EM on the distinct rows of X weighted by their multiplicities.
        n_init : int, default 1
        soften : float in [0, 0.5), default 0.0
            Data softening of every component (:mod:`._hclt_regularise`).
        precision : {"auto", "float64", "float32"}
            The components' E-step arithmetic (the responsibilities use float64 upward passes).
        batch_size, kappa : int or None, float in (0.5, 1], default None, 0.6
            Mini-batch (stepwise) EM, as for HiddenChowLiuTree.

        Returns
        -------
        HCLTMixture
            With ``tree_weights_`` (M,) and the EM trace.
        """
        X, C = fit_data(X, n_states)
        w = check_sample_weight(sample_weight, X.shape[0])
        if dedupe:
            X, w = distinct_rows(X, w)
        return em.fit(cls, em.InMemory(X, C, w if w.size else None), n_trees=n_trees, n_hidden=n_hidden,
                      alpha=alpha, rng=rng, max_iter=max_iter, tol=tol, n_init=n_init, progress=progress, init=init,
                      init_noise=init_noise, soften=soften, precision=precision, batch_size=batch_size,
                      kappa=kappa)

    # --- the EM statistics protocol (fastdgm.models.em) ------------------------------------
    _restart_key = staticmethod(HiddenChowLiuTree._restart_key)

    @classmethod
    def _em_check(cls, *, n_trees, **hclt) -> dict:  # type: ignore[override]
        return {"n_trees": check_positive_int(n_trees, "n_trees"), **HiddenChowLiuTree._em_check(**hclt)}

    @classmethod
    def _em_prepare(cls, X, n_states, **context):
        return HiddenChowLiuTree._em_prepare(X, n_states, **context)

    @classmethod
    def _em_setup(cls, data, *, alpha, n_trees, **hclt) -> dict:  # type: ignore[override]
        """HiddenChowLiuTree's setup (the Chow-Liu tree and its mutual informations) and the
        ``n_trees`` best spanning trees of those."""
        setup = HiddenChowLiuTree._em_setup(data, alpha=alpha, **hclt)
        parents, weights = top_spanning_trees(setup.pop("mutual_info"), n_trees)
        assert np.array_equal(parents[0], setup["parent"])
        setup["parents"] = [parents[m % len(parents)] for m in range(n_trees)]
        setup["tree_weights"] = np.array([weights[m % len(parents)] for m in range(n_trees)])
        return setup

    @classmethod
    def _em_start(cls, data, key, restart, alpha, setup, *, n_trees, **hclt):
        rkey = int(cls._restart_key(key, restart))
        comps = [HiddenChowLiuTree._em_start(data, rkey if m == 0 else substream_ref(substream_ref(rkey, 0), m),
                                             0, alpha, {**setup, "parent": parent}, **hclt)
                 for m, parent in enumerate(setup["parents"])]
        out = cls._from_components(np.full(n_trees, 1.0 / n_trees), comps)
        out.tree_weights_ = setup["tree_weights"]
        return out

    @classmethod
    def _fit_bytes(cls, shape, n_states, params):
        nbytes, name = HiddenChowLiuTree._fit_bytes(shape, n_states, params)
        M = params.get("n_trees", 4)
        M = M if isinstance(M, (int, np.integer)) and M > 0 else 1    # checked by the fit
        from .._memory import available_memory      # one HCLT too large: K's fault, else M's

        return float(M) * nbytes + 8.0 * (M + 2) * shape[0], name if nbytes > available_memory() else "n_trees"

    def get_params(self) -> dict:
        return {k: getattr(self, k) for k in _PARAMS}

    @classmethod
    def from_params(cls, params: Mapping[str, np.ndarray]) -> "HCLTMixture":
        """The model of ``params`` (e.g. read from an untrusted file), validated array by array.

        Parameters
        ----------
        params : mapping of str to ndarray
            ``weights`` (M,), ``parents`` (M, d), ``root_probs`` (M, K), ``trans_probs``
            (M, d, K, K), ``emit_probs`` (M, d, K, C).

        Returns
        -------
        HCLTMixture
        """
        return cls(*(param(params, k, cls.__name__) for k in _PARAMS))

    @classmethod
    def density_grid(cls, n: int, d: int):
        top = hidden_grid(n, d, work=GRID_WORK)[-1]       # two trees of half the HCLT's largest K
        return {"n_trees": [2], "n_hidden": [max(2, top // 2)]}, {"alpha": 0.02, "rng": 0, "max_iter": 80}

    def __repr__(self) -> str:
        return f"HCLTMixture(n_trees={self.n_trees}, n_dims={self.n_dims}, n_states={self.n_states}, n_hidden={self.n_hidden})"
