"""Mixture of K factorized categoricals, fitted by MAP-EM (:mod:`._mixture_em`)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from .._typing import ArrayLike, FloatArray, IntArray, Seed
from .._validation import (
    check_alpha,
    check_log_probs,
    check_log_table,
    check_model_X,
    check_positive_int,
    param,
    smallest_uint,
)
from ..kernels import ancestral as _s
from ..kernels import likelihood as _k
from . import em
from ._mixture_em import block_statistics, m_step, prepare
from ._packing import combine, pack, pack_width
from ._tables import levels
from .base import classonlymethod, fit_data, register_model
from .em import EMModel

if TYPE_CHECKING:
    pass

__all__ = ["Mixture"]


@register_model
class Mixture(EMModel):
    """Mixture of K factorized categoricals: P(x) = sum_k w_k prod_j c[k, j, x_j].

    Parameters
    ----------
    weights : array_like of float, shape (K,)
        Non-negative mixing weights (normalised here).
    components : array_like of float, shape (K, d, C)
        Non-negative weights of each component's categorical per variable (normalised over C).

    Attributes
    ----------
    log_weights : ndarray, float64, shape (K,)
    log_components : ndarray, float64, shape (K, d, C)
    objective_history_ : list of float
        Set by :meth:`fit`: the quantity EM increases, per unit of sample weight, at each
        iteration: (sum_i w_i log P(x_i) + alpha * sum_{k,j,x} log c[k,j,x]) / sum_i w_i,
        i.e. the mean log-likelihood plus the log Dirichlet prior that the smoothing
        ``alpha`` stands for (MAP-EM). Never decreases. Equal to the mean log-likelihood
        when ``alpha=0``.
    log_likelihood_history_ : list of float
        Mean (weighted) log-likelihood of the training data at each iteration (with
        ``alpha > 0`` this one may decrease slightly: it is not what MAP-EM maximises).
    n_iter_ : int
        E-steps run for the returned fit; ``converged_`` : bool.
    """

    kind = "mixture"
    state_table = ("log_components", 1)
    fit_legacy_args = ("n_components", "n_states", "rng", "max_iter", "tol", "n_init", "alpha",
                        "sample_weight", "progress")
    capabilities = frozenset({"exact_log_prob", "exact_sampler", "missing", "statistics", "em"})
    example_params = {"n_components": 2, "rng": 0, "max_iter": 5}

    @classmethod
    def density_grid(cls, n: int, d: int):
        return ({"n_components": [10, 50]}, {"alpha": 0.1, "rng": 0, "max_iter": 100})

    def __init__(self, weights: ArrayLike, components: ArrayLike) -> None:
        lw = check_log_table(weights, None, name_p="weights", ndim=1, shape_doc="(K,)")
        lc = check_log_table(components, None, name_p="components", ndim=3, shape_doc="(K, d, C)")
        self._set(*_matching(lw, lc, "weights", "components"))

    def _set(self, log_weights, log_components):
        self.log_weights = log_weights
        self.log_components = log_components
        self._T = np.ascontiguousarray(log_components.transpose(1, 2, 0))  # (d, C, K)
        self._levels = None
        self._packed = None    # (g, tables (G, C**g, K)) built on first use

    @classmethod
    def _from_log(cls, log_weights, log_components):
        self = cls.__new__(cls)
        self._set(np.ascontiguousarray(log_weights, dtype=np.float64),
                  np.ascontiguousarray(log_components, dtype=np.float64))
        return self

    @property
    def weights(self) -> np.ndarray:
        """Mixture weights, (K,) float64, summing to 1."""
        return np.exp(self.log_weights)

    @property
    def components(self) -> np.ndarray:
        """Per-component factorized probabilities, (K, d, C) float64."""
        return np.exp(self.log_components)

    @property
    def n_components(self) -> int:
        """Number of components K."""
        return self.log_components.shape[0]

    @property
    def n_dims(self) -> int:
        return self.log_components.shape[1]

    @property
    def n_states(self) -> int:
        return self.log_components.shape[2]

    def _check_packed(self, X):
        """Validated X packed g columns per state, and the matching (G, C**g, K) tables."""
        X = check_model_X(X, self.n_states, self.n_dims)
        if self._packed is None:
            g = pack_width(self.n_states, self.n_dims)
            self._packed = (g, np.ascontiguousarray(combine(self._T, self.n_states, g)))
        g, T = self._packed
        return pack(X, self.n_states, g), T

    def _log_prob(self, X: ArrayLike) -> FloatArray:
        """log P(x) of each row, shape (n,), float64 (max-shifted logsumexp over components).

        For small C, g columns are packed into one state of C**g <= 256 (a uint8 copy of
        n * ceil(d/g) bytes) and summed through precomputed group tables: equal to the
        column-by-column sum up to rounding.
        """
        Xp, T = self._check_packed(X)
        out = np.empty(Xp.shape[0])
        _k.mixture_log_prob(Xp.size * self.n_components, Xp, T, self.log_weights, out)
        return out

    def _missing_form(self) -> tuple:
        return ("mixture", self._T, self.log_weights, levels(self.log_components))

    @classmethod
    def _fit_bytes(cls, shape, n_states, params):
        K = int(params.get("n_components", 10))
        n, d = shape
        return 8.0 * K * (2 * n + 4 * d * n_states), "n_components"   # responsibilities, tables

    def predict_proba(self, X: ArrayLike) -> FloatArray:
        """Posterior P(component k | x) of each row.

        Parameters
        ----------
        X : array_like of int, shape (n, d)
            States in [0, C).

        Returns
        -------
        ndarray of float64, shape (n, K)
            Rows sum to 1.
        """
        Xp, T = self._check_packed(X)
        resp = np.empty((Xp.shape[0], self.n_components))
        out = np.empty(Xp.shape[0])
        _k.mixture_responsibilities(Xp.size * self.n_components, Xp, T, self.log_weights, resp, out)
        return resp

    def sample_rows(self, key: int | np.uint64, start: int, n: int) -> IntArray:
        """Rows ``[start, start + n)`` of the sample of ``key``.

        A component by thresholding the weights (``uniform(substream(key, 0), i)``), then each
        variable from that component (``uniform(key, i*d + j)``); thread-count and block
        invariant.

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
            self._levels = (levels(self.log_weights), levels(self.log_components))
        out = np.empty((n, self.n_dims), dtype=smallest_uint(self.n_states))
        _s.mixture_sample(out.size, self._levels[0], self._levels[1], np.uint64(key), start, out)
        return out

    def entropy(self) -> float:
        """Not available in closed form for a mixture: raises NotImplementedError.

        Use :meth:`entropy_estimate` (Monte Carlo, with a standard error) instead."""
        raise NotImplementedError(
            "Mixture has no exact entropy (the log of a sum does not factorise); use "
            "Mixture.entropy_estimate(n, rng=...) for a Monte-Carlo estimate with a standard error")

    # --- EM --------------------------------------------------------------------------------
    @classonlymethod
    def fit(cls, X: ArrayLike, n_states: int | None = None, *, n_components: int = 10, rng: Seed = None,
            max_iter: int = em.MAX_ITER, tol: float = em.TOL, n_init: int = 1, alpha: float = 1.0,
            sample_weight: ArrayLike | None = None, progress: bool = False) -> Mixture:
        """Fit by expectation-maximisation (MAP-EM with a Dirichlet smoothing prior).

        E-step: responsibilities r_ik = P(k | x_i) with a max-shifted logsumexp per row.
        M-step: w_k = sum_i s_i r_ik / sum_i s_i and
        c[k, j, x] = (sum_i s_i r_ik [x_ij = x] + alpha) / (sum_i s_i r_ik + alpha * C),
        where s_i are the sample weights. Each iteration never decreases the objective
        recorded in ``objective_history_`` (see the class docstring). The loop, the stop rule
        and the trace are those of the one EM engine (:mod:`fastdgm.models.em`).

        Parameters
        ----------
        X : array_like of int, shape (n, d)
        n_components : int
            K.
        n_states : int, optional
            C; ``X.max() + 1`` when None (inferred up to 65536; pass it above).
        rng : SPEC 7 seed
            Seeds the random initial responsibilities (Dirichlet(1) rows) of each restart
            (restart r: sub-stream r of the key of ``rng``).
        max_iter : int, default 100
            Maximum number of E-steps per restart.
        tol : float >= 0, default 1e-5
            Stop after iteration t > 0 when the objective (per unit weight, nats) improved by
            at most ``tol * |objective_{t-1}|`` (the engine's relative rule; ``tol=0`` stops at
            the first iteration that does not improve).
        n_init : int
            Restarts; the fit with the highest final objective is returned (first on ties).
        alpha : float >= 0
            Pseudo-count added to every component state (0: plain maximum-likelihood EM;
            a component that loses all its weight then keeps uniform tables and weight 0).
        sample_weight : array_like of float, shape (n,), optional
        progress : bool
            Show a progress bar of EM iterations (over all restarts) on stderr.

        Returns
        -------
        Mixture
        """
        X, C = fit_data(X, n_states)
        return em.fit(cls, em.InMemory(X, C, sample_weight), n_components=n_components, rng=rng,
                      max_iter=max_iter, tol=tol, n_init=n_init, alpha=alpha, progress=progress)

    # --- the EM statistics protocol (fastdgm.models.em) ------------------------------------
    @classmethod
    def _em_check(cls, *, n_components) -> dict:  # type: ignore[override]
        return {"n_components": check_positive_int(n_components, "n_components")}

    @classmethod
    def _em_prepare(cls, X, n_states, **context):
        return prepare(X, n_states)

    @classmethod
    def _em_initial(cls, block, n_states, key, start, w, *, n_components) -> dict:  # type: ignore[override]
        return block_statistics(block, n_components, w, key=np.uint64(key), row0=start)

    def _em_statistics(self, block, w) -> dict:
        return block_statistics(block, self.n_components, w, lw=self.log_weights, lc=self.log_components)

    def _log_prior(self, alpha: float) -> float:
        return alpha * float(self.log_components.sum()) if alpha > 0 else 0.0

    @classmethod
    def from_statistics(cls, stats: dict, alpha=1.0) -> "Mixture":
        """The M-step: the MAP mixture of summed EM statistics (see :meth:`fit`).

        Parameters
        ----------
        stats : dict
            ``counts`` (K, d, C), ``nk`` (K,), ``total`` (summed :meth:`em_statistics` or
            :meth:`initial_statistics` of the blocks).
        alpha : float >= 0

        Returns
        -------
        Mixture
        """
        alpha = check_alpha(alpha)
        counts = np.asarray(stats["counts"], dtype=np.float64)
        lw, lc = m_step(counts, np.asarray(stats["nk"], dtype=np.float64), float(stats["total"]), alpha,
                        counts.shape[2])
        return cls._from_log(lw, lc)

    def get_params(self) -> dict[str, np.ndarray]:
        return {"log_weights": self.log_weights, "log_components": self.log_components}

    @classmethod
    def from_params(cls, params: Mapping[str, np.ndarray]) -> Mixture:
        """The model of ``params`` (e.g. read from a file), validated: ``log_weights`` (K,) and
        ``log_components`` (K, d, C), normalised log-probabilities with matching K.

        Parameters
        ----------
        params : mapping of str to ndarray
            The arrays of :meth:`get_params` (e.g. read from an untrusted file).

        Returns
        -------
        Mixture
        """
        name = cls.__name__
        lw = check_log_probs(param(params, "log_weights", name), "log_weights", ndim=1, shape_doc="(K,)")
        lc = check_log_probs(param(params, "log_components", name), "log_components", ndim=3,
                             shape_doc="(K, d, C)")
        return cls._from_log(*_matching(lw, lc, "log_weights", "log_components"))


def _matching(lw, lc, name_w, name_c):
    """``(lw, lc)`` if the weights and the components agree on K, else a ValueError."""
    if lc.shape[0] != lw.shape[0]:
        raise ValueError(f"{name_w} has {lw.shape[0]} entries but {name_c} has {lc.shape[0]} "
                         f"components (shape {lc.shape}); they must match (K)")
    return lw, lc
