"""The factorized (independent-variables) model: P(x) = prod_j probs[j, x_j]."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._validation import (
    check_alpha,
    check_log_probs,
    check_log_table,
    check_model_X,
    check_sample_weight,
    check_states,
    param,
    smallest_uint,
)
from ..kernels import ancestral as _s
from ..kernels import likelihood as _k
from ._tables import entropy_terms, levels, state_counts
from .base import Model, classonlymethod, fit_data, register_model
from .._typing import ArrayLike, FloatArray, IntArray

__all__ = ["Factorized"]


@register_model
class Factorized(Model):
    """d independent categorical variables over C states: P(x) = prod_j probs[j, x_j].

    Parameters
    ----------
    probs : array_like of float, shape (d, C), optional
        Non-negative weights, normalised per row here.
    logits : array_like of float, shape (d, C), optional
        Log-weights instead of ``probs`` (-inf is probability zero).

    Attributes
    ----------
    log_probs : ndarray, float64, shape (d, C)
        Normalised log-probabilities (-inf where the probability is zero).
    probs : ndarray, float64, shape (d, C)

    Examples
    --------
    >>> import numpy as np, fastdgm as fd
    >>> X = np.array([[0, 1], [1, 1], [0, 1]])
    >>> m = fd.Factorized.fit(X, n_states=2, alpha=0.0)
    >>> m.probs
    array([[0.66666667, 0.33333333],
           [0.        , 1.        ]])
    """

    kind = "factorized"
    state_table = ("log_probs", 0)
    capabilities = frozenset({"exact_log_prob", "exact_sampler", "missing", "exact_entropy", "statistics"})

    @classmethod
    def density_grid(cls, n: int, d: int):
        return ({"alpha": [0.1, 1.0]}, {})

    def __init__(self, probs: ArrayLike | None = None, *, logits: ArrayLike | None = None) -> None:
        self._set(check_log_table(probs, logits, name_p="probs", ndim=2, shape_doc="(d, C)"))

    def _set(self, log_probs):
        self.log_probs = log_probs
        self._levels = None
        self._binary = None    # (G, 256) tables of the packed C = 2 path, built on first use

    @classmethod
    def _from_log(cls, log_probs):
        self = cls.__new__(cls)
        self._set(np.ascontiguousarray(log_probs, dtype=np.float64))
        return self

    @property
    def probs(self) -> np.ndarray:
        """Probabilities of each state of each variable, (d, C) float64."""
        return np.exp(self.log_probs)

    @property
    def n_dims(self) -> int:
        return self.log_probs.shape[0]

    @property
    def n_states(self) -> int:
        return self.log_probs.shape[1]

    @classonlymethod
    def fit(cls, X: ArrayLike, n_states: int | None = None, *, alpha: float = 1.0,
            sample_weight: ArrayLike | None = None) -> Factorized:
        """Maximum-likelihood fit in closed form, with additive smoothing.

        probs[j, x] = (counts[j, x] + alpha) / (n + alpha * C), where counts[j, x] is the
        (weighted) number of rows with X[i, j] = x and n the number (total weight) of rows.

        Parameters
        ----------
        X : array_like of int, shape (n, d)
            States in [0, n_states).
        n_states : int, optional
            C; ``X.max() + 1`` when None (inferred up to 65536; pass it above).
        alpha : float >= 0, default 1.0
            Pseudo-count added to every state (Laplace smoothing). ``alpha=0`` is the plain
            MLE: states never seen get probability 0 (log-probability -inf).
        sample_weight : array_like of float, shape (n,), optional
            Non-negative weights of the rows (counts become sums of weights).

        Returns
        -------
        Factorized
        """
        X, C = fit_data(X, n_states)
        return cls.from_statistics(cls._statistics(X, C, sample_weight), alpha)

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
            ``counts`` float64 (d, C) (weighted) state counts and ``total`` float64 () the
            number (weight) of rows; the statistics of row blocks add up (``a[k] + b[k]``).
        """
        X, C = check_states(X, "X", n_states=n_states)
        return Factorized._statistics(X, C, sample_weight)

    @staticmethod
    def _statistics(X: np.ndarray, C: int, sample_weight) -> dict:
        """:meth:`sufficient_statistics` of validated X."""
        w = check_sample_weight(sample_weight, X.shape[0])
        return {"counts": state_counts(X, C, w),
                "total": np.float64(w.sum() if w.size else X.shape[0])}

    @classmethod
    def from_statistics(cls, stats: dict, alpha=1.0) -> "Factorized":
        """The smoothed maximum-likelihood model of :meth:`sufficient_statistics` (summed).

        Parameters
        ----------
        stats : dict
            ``counts`` (d, C) and ``total``.
        alpha : float >= 0

        Returns
        -------
        Factorized
        """
        alpha = check_alpha(alpha)
        counts = np.asarray(stats["counts"], dtype=np.float64)
        total = float(stats["total"])
        C = counts.shape[1]
        with np.errstate(divide="ignore"):
            lp = np.log((counts + alpha) / (total + alpha * C))
        return cls._from_log(lp)

    def _log_prob(self, X: ArrayLike) -> FloatArray:
        """log P(x) of each row, shape (n,), float64 (-inf where a state has probability 0).

        Sums logp[j, X[i, j]] over j. For C = 2 and d a multiple of 8, eight columns at a time:
        the eight 0/1 bytes are packed into one byte that indexes a table of the 256 sums
        (equal to the plain sum up to rounding, ~1e-15 relative).
        """
        X = check_model_X(X, self.n_states, self.n_dims)
        out = np.empty(X.shape[0])
        if self.n_states == 2 and self.n_dims % 8 == 0 and X.ctypes.data % 8 == 0:
            if self._binary is None:
                self._binary = _k.binary_tables(self.log_probs)
            _k.binary_log_prob(X.size, X.view(np.uint64), self._binary, out)
        else:
            _k.factorized_log_prob(X.size, X, self.log_probs, out)
        return out

    def _missing_form(self) -> tuple:
        lp = self.log_probs
        return ("mixture", np.ascontiguousarray(lp[:, :, None]), np.zeros(1), levels(lp)[None])

    def sample_rows(self, key: int | np.uint64, start: int, n: int) -> IntArray:
        """Rows ``[start, start + n)`` of the sample of ``key``, (n, d), smallest unsigned dtype.

        Element (i, j) is ``threshold(levels[j], uniform(key, i*d + j))``: the result does
        not depend on the number of threads, nor on how the rows are split into blocks.

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
            self._levels = levels(self.log_probs)
        out = np.empty((n, self.n_dims), dtype=smallest_uint(self.n_states))
        _s.factorized_sample(out.size, self._levels, np.uint64(key), start, out)
        return out

    def entropy(self) -> float:
        """Exact entropy in nats: -sum_j sum_x p log p (0 log 0 = 0).

        Returns
        -------
        float
            The entropy.
        """
        return float(entropy_terms(self.log_probs).sum())

    def marginals(self) -> np.ndarray:
        """Marginal probabilities of each variable (= ``probs``).

        Returns
        -------
        ndarray of float64, shape (d, C)
            ``P(x_j = v)``.
        """
        return self.probs

    def get_params(self) -> dict[str, np.ndarray]:
        return {"log_probs": self.log_probs}

    @classmethod
    def from_params(cls, params: Mapping[str, np.ndarray]) -> Factorized:
        """The model of ``params`` (e.g. read from a file), validated: ``log_probs`` (d, C)
        normalised log-probabilities (see :func:`fastdgm._validation.check_log_probs`).

        Parameters
        ----------
        params : mapping of str to ndarray
            The arrays of :meth:`get_params` (e.g. read from an untrusted file).

        Returns
        -------
        Factorized
        """
        return cls._from_log(check_log_probs(param(params, "log_probs", cls.__name__), "log_probs",
                                             ndim=2, shape_doc="(d, C)"))
