"""Law-of-large-numbers estimators of KL divergence and entropy, exact KL where it exists.

Monte-Carlo estimators take log-probabilities evaluated at samples x^1..x^n of P and return
an :class:`Estimate` (value, stderr, n): the sample mean of the per-sample terms and its
standard error std(ddof=1) / sqrt(n) (the central limit theorem's scale):

- ``kl_estimate(log_p, log_q)``   KL(P || Q) = E_P[log P - log Q]
- ``entropy_estimate(log_p)``      H(P) = E_P[-log P]
- ``cross_entropy(log_q)``         H(P, Q) = E_P[-log Q] (the mean negative log-likelihood of
  model Q on data from P: ``cross_entropy(q.log_prob(X)) == -q.score(X)``)

``kl_divergence(p, q)`` computes KL between two models: in closed form for Categorical and
Factorized pairs, by enumerating the joint space when C^d is small, else by Monte Carlo.
``empirical_entropy(X)`` is the plug-in entropy of the empirical distribution of the rows.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ._typing import ArrayLike, Seed

if TYPE_CHECKING:
    from .models.base import Model
from ._validation import (
    check_positive_int,
    check_states,
    smallest_uint,
)

from ._estimate import Estimate, cross_entropy, entropy_estimate, kl_estimate

__all__ = ["Estimate", "kl_estimate", "entropy_estimate", "cross_entropy", "kl_divergence",
           "empirical_entropy"]

MAX_ENUMERATION = 1 << 20   # kl_divergence enumerates the joint space up to this many states
_ENUM_BLOCK = 1 << 16       # states per block of the enumeration


# ---------------------------------------------------------------------------------------
# KL between two models
# ---------------------------------------------------------------------------------------
def _as_model(m, name: str):
    """Models as they are; a Categorical (one variable) as a Factorized with d = 1."""
    from .models import Factorized
    from .models.categorical import Categorical

    if isinstance(m, Categorical):
        with np.errstate(divide="ignore"):
            return Factorized._from_log(np.log(np.asarray(m.probs, dtype=np.float64))[None, :])
    if not all(hasattr(m, a) for a in ("log_prob", "n_dims", "n_states")):
        raise TypeError(f"{name} must be a fastdgm model (with log_prob, n_dims, n_states), "
                        f"got {type(m).__name__}")
    return m


def _kl_tables(lp: np.ndarray, lq: np.ndarray) -> float:
    """sum over rows of KL(p_row || q_row) for log tables (d, C): 0 log 0 = 0, p > 0 = q -> inf."""
    pos = lp > -np.inf
    if np.any(pos & (lq == -np.inf)):
        return math.inf
    p = np.exp(lp)
    return float(np.sum(np.where(pos, p * (np.where(pos, lp, 0.0) - np.where(pos, lq, 0.0)), 0.0)))


def _enumerate_kl(p, q) -> float:
    d, C = p.n_dims, p.n_states
    total = C ** d
    dt = smallest_uint(C)
    powers = C ** np.arange(d - 1, -1, -1, dtype=np.int64)
    acc = 0.0
    for s in range(0, total, _ENUM_BLOCK):
        idx = np.arange(s, min(total, s + _ENUM_BLOCK), dtype=np.int64)
        X = ((idx[:, None] // powers) % C).astype(dt)
        lp = p.log_prob(X)
        lq = q.log_prob(X)
        pos = lp > -np.inf
        if np.any(pos & (lq == -np.inf)):
            return math.inf
        acc += float(np.sum(np.exp(lp[pos]) * (lp[pos] - lq[pos])))
    return acc


def kl_divergence(p_model: Model, q_model: Model, *, n: int | None = None, rng: Seed = None,
                  method: str = "auto") -> Estimate:
    """KL(P || Q) between two models over the same (d, C), in nats.

    Parameters
    ----------
    p_model, q_model : Categorical, Factorized, Mixture, ChowLiuTree or any model with
        ``log_prob``, ``n_dims``, ``n_states`` (and ``sample`` for Monte Carlo). A
        Categorical counts as a Factorized with d = 1.
    n : int, optional
        Number of samples of P for the Monte-Carlo estimate (default 100 000).
    rng : SPEC 7 seed
        For the Monte-Carlo samples.
    method : {"auto", "exact", "enumerate", "mc"}
        "exact": closed form, sum of per-variable KLs (Categorical/Factorized pairs only);
        "enumerate": sum over all C^d states (C^d <= 2^20); "mc": kl_estimate at n samples of P;
        "auto": the first of these that applies.

    Returns
    -------
    Estimate
        Exact results have stderr 0.0 and n 0. +inf when Q gives probability 0 to a state
        P can produce.
    """
    from .models import Factorized

    p = _as_model(p_model, "p_model")
    q = _as_model(q_model, "q_model")
    if (p.n_dims, p.n_states) != (q.n_dims, q.n_states):
        raise ValueError(f"p_model and q_model must have the same (n_dims, n_states), got "
                         f"({p.n_dims}, {p.n_states}) and ({q.n_dims}, {q.n_states})")
    if method not in ("auto", "exact", "enumerate", "mc"):
        raise ValueError(f"method must be one of 'auto', 'exact', 'enumerate', 'mc'; got {method!r}")
    closed = isinstance(p, Factorized) and isinstance(q, Factorized)
    small = p.n_states ** p.n_dims <= MAX_ENUMERATION
    if method == "exact" and not closed:
        raise ValueError("method='exact' needs two Categorical/Factorized models; use 'enumerate' or 'mc'")
    if method == "enumerate" and not small:
        raise ValueError(f"method='enumerate' needs C^d <= {MAX_ENUMERATION}, got "
                         f"{p.n_states}^{p.n_dims}")
    if method in ("auto", "exact") and closed:
        return Estimate(_kl_tables(p.log_probs, q.log_probs), 0.0, 0)
    if method in ("auto", "enumerate") and small:
        return Estimate(_enumerate_kl(p, q), 0.0, 0)
    n = 100_000 if n is None else check_positive_int(n, "n", minimum=2)
    X = p.sample(n, rng=rng)
    return kl_estimate(p.log_prob(X), q.log_prob(X))


# ---------------------------------------------------------------------------------------
# plug-in entropy of data
# ---------------------------------------------------------------------------------------
def empirical_entropy(X: ArrayLike, correction: str | None = None) -> float:
    """Plug-in entropy (nats) of the empirical distribution of the rows of X.

    H = -sum_x (c_x / n) log(c_x / n) over the distinct rows x with counts c_x. It is biased
    low when the number of distinct possible rows is not small compared with n.

    Parameters
    ----------
    X : array_like of int, shape (n, d) or (n,)
        States (any non-negative integers).
    correction : None or "miller-madow"
        "miller-madow" adds (m - 1) / (2 n), m = number of distinct rows observed: the
        first-order bias correction, good when every state of a small space is seen.

    Returns
    -------
    float
    """
    if correction not in (None, "miller-madow"):
        raise ValueError(f"correction must be None or 'miller-madow', got {correction!r}")
    arr = np.asarray(X)
    X2, _ = check_states(arr[:, None] if arr.ndim == 1 else arr, "X")
    n, d = X2.shape
    rows = np.ascontiguousarray(X2).view(np.dtype((np.void, X2.dtype.itemsize * d))).ravel()
    _, counts = np.unique(rows, return_counts=True)
    c = counts.astype(np.float64)
    h = math.log(n) - float(np.sum(c * np.log(c))) / n
    if correction == "miller-madow":
        h += (counts.size - 1) / (2.0 * n)
    return h
