"""The Monte-Carlo estimators and their :class:`Estimate` (value, stderr, n), model-free: the
base model class uses them, and :mod:`fastdgm.estimators` (which also compares models) re-exports
them."""
from __future__ import annotations

import math

import numpy as np

from ._typing import ArrayLike
from ._validation import as_float_array, first_bad

__all__ = ["Estimate", "kl_estimate", "entropy_estimate", "cross_entropy"]


class Estimate(float):
    """A float (the estimate) that also carries its standard error and sample size.

    Behaves as a float everywhere (arithmetic and comparisons use the value; results are
    plain floats). Unpacks as ``value, stderr, n = est``.

    Parameters
    ----------
    value : float
        The estimate.
    stderr : float
        Its standard error.
    n : int
        Number of samples averaged.

    Attributes
    ----------
    value : float
    stderr : float
        Standard error of the mean (0.0 for an exact value; inf when the value is infinite).
    n : int
        Number of samples averaged (0 for an exact value).
    """

    __slots__ = ("stderr", "n")
    stderr: float
    n: int

    def __new__(cls, value: float, stderr: float = 0.0, n: int = 0) -> Estimate:
        self = super().__new__(cls, value)
        self.stderr = float(stderr)
        self.n = int(n)
        return self

    @property
    def value(self) -> float:
        """The estimate as a plain float."""
        return float(self)

    @property
    def exact(self) -> bool:
        """True for an exact value (n == 0, stderr == 0)."""
        return self.n == 0 and self.stderr == 0.0

    def ci(self, z: float = 1.959963984540054) -> tuple[float, float]:
        """Normal-approximation confidence interval value +- z * stderr (95% by default).

        Parameters
        ----------
        z : float
            Standard normal quantile (1.96 for 95%).

        Returns
        -------
        tuple of float
            ``(low, high)``.
        """
        return float(self) - z * self.stderr, float(self) + z * self.stderr

    def __iter__(self):
        return iter((float(self), self.stderr, self.n))

    def __getnewargs__(self):
        return float(self), self.stderr, self.n

    def __repr__(self) -> str:
        return f"Estimate(value={float(self)!r}, stderr={self.stderr!r}, n={self.n})"

    __str__ = __repr__


def _log_values(a, name: str, *, allow_neg_inf: bool) -> np.ndarray:
    arr = as_float_array(a, name, ndim=1).astype(np.float64, copy=False)
    idx = first_bad(np.isnan(arr) | (arr == np.inf))
    if idx is not None:
        raise ValueError(f"{name} must not be NaN or +inf: {name}[{idx[0]}] = {arr[idx]}")
    if not allow_neg_inf:
        idx = first_bad(arr == -np.inf)
        if idx is not None:
            raise ValueError(f"{name}[{idx[0]}] = -inf: a sample of P cannot have probability 0 "
                             f"under P (were the samples drawn from P?)")
    return arr


def _mean_estimate(terms: np.ndarray) -> Estimate:
    """Mean of the per-sample terms and its standard error (inf if a term is infinite)."""
    n = terms.shape[0]
    mean = float(np.mean(terms))
    if not math.isfinite(mean):
        return Estimate(mean, math.inf, n)
    if n < 2:
        return Estimate(mean, math.inf, n)
    sd = float(np.std(terms, ddof=1))
    return Estimate(mean, sd / math.sqrt(n), n)


def kl_estimate(log_p: ArrayLike, log_q: ArrayLike) -> Estimate:
    """Monte-Carlo KL(P || Q) = (1/n) sum_i [log P(x^i) - log Q(x^i)] at samples x^i of P.

    Parameters
    ----------
    log_p, log_q : array_like of float, shape (n,)
        log P and log Q at the same n samples drawn from P. ``log_q`` may hold -inf (then the
        estimate is +inf); ``log_p`` may not.

    Returns
    -------
    Estimate
        value, standard error std(ddof=1)/sqrt(n), n.
    """
    lp = _log_values(log_p, "log_p", allow_neg_inf=False)
    lq = _log_values(log_q, "log_q", allow_neg_inf=True)
    if lp.shape != lq.shape:
        raise ValueError(f"log_p and log_q must have the same shape, got {lp.shape} and {lq.shape}")
    return _mean_estimate(lp - lq)


def entropy_estimate(log_p: ArrayLike) -> Estimate:
    """Monte-Carlo entropy H(P) = -(1/n) sum_i log P(x^i) at samples x^i of P (nats).

    Parameters
    ----------
    log_p : array_like of float, shape (n,)

    Returns
    -------
    Estimate
    """
    return _mean_estimate(-_log_values(log_p, "log_p", allow_neg_inf=False))


def cross_entropy(log_q: ArrayLike) -> Estimate:
    """Monte-Carlo cross-entropy H(P, Q) = -(1/n) sum_i log Q(x^i) at samples x^i of P.

    With X a data set and Q a model, ``cross_entropy(q.log_prob(X))`` is the mean negative
    log-likelihood (``-q.score(X)``) with its standard error; it equals
    H(P_data) + KL(P_data || Q), so minimising it over Q is minimising the KL.

    Parameters
    ----------
    log_q : array_like of float, shape (n,)
        May hold -inf (then the value is +inf).

    Returns
    -------
    Estimate
    """
    return _mean_estimate(-_log_values(log_q, "log_q", allow_neg_inf=True))
