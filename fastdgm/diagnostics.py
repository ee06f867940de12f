"""MCMC convergence diagnostics over traces of shape (draws, chains).

- :func:`rhat`: split R-hat (Gelman et al., BDA3 §11.4) and its rank-normalised, folded
  version (Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021), the default.
- :func:`ess`: effective sample size with Geyer's initial monotone sequence on split
  chains (BDA3 §11.5; Stan), bulk (rank-normalised) by default, as in Vehtari et al. 2021.

The formulas follow ArviZ's implementation (``arviz.rhat`` / ``arviz.ess``), with traces
laid out (draws, chains) instead of ArviZ's (chains, draws).
"""
from __future__ import annotations

import math

import numpy as np

from ._typing import ArrayLike, FloatArray
from ._validation import as_float_array, check_finite

__all__ = ["rhat", "ess"]


def _trace(trace, name="trace") -> np.ndarray:
    """(draws, chains, rest...) float64; a 1-D trace is one chain."""
    a = as_float_array(trace, name, min_ndim=1).astype(np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.shape[0] < 4:
        raise ValueError(f"{name} needs at least 4 draws, got shape {a.shape}")
    check_finite(a, name)          # NaN/inf would give a number that means nothing
    return a


def _ndtri(p: np.ndarray) -> np.ndarray:
    """Inverse standard normal CDF (Acklam's rational approximation + one Halley step).

    The upper half uses the symmetry x(p) = -x(1 - p) (1 - p is exact there), so the
    refinement never subtracts numbers close to 1.
    """
    p = np.asarray(p, dtype=np.float64)
    upper = p > 0.5
    return np.where(upper, -_ndtri_lower(np.where(upper, 1.0 - p, 0.5)),
                    _ndtri_lower(np.where(upper, 0.5, p)))


def _ndtri_lower(p: np.ndarray) -> np.ndarray:
    a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
         1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
    b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
         6.680131188771972e+01, -1.328068155288572e+01]
    c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
         -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
    dd = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
    p = np.asarray(p, dtype=np.float64)
    x = np.empty_like(p)
    lo = p < 0.02425
    hi = p > 1 - 0.02425
    mid = ~(lo | hi)
    q = np.sqrt(-2 * np.log(p[lo]))
    x[lo] = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / \
        ((((dd[0] * q + dd[1]) * q + dd[2]) * q + dd[3]) * q + 1)
    q = np.sqrt(-2 * np.log(1 - p[hi]))
    x[hi] = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / \
        ((((dd[0] * q + dd[1]) * q + dd[2]) * q + dd[3]) * q + 1)
    q = p[mid] - 0.5
    r = q * q
    x[mid] = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / \
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    # one Halley refinement step: error ~1e-15
    erfc = np.vectorize(math.erfc, otypes=[np.float64])
    e = 0.5 * erfc(-x / math.sqrt(2)) - p
    u = e * math.sqrt(2 * math.pi) * np.exp(x * x / 2)
    return x - u / (1 + x * u / 2)


def _rank_average(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n of the flattened array, ties given their average rank (scipy 'average')."""
    flat = a.ravel()
    order = np.argsort(flat, kind="mergesort")
    s = flat[order]
    n = s.size
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ends = np.r_[starts[1:], n]
    avg = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(n)
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks.reshape(a.shape)


def _z_scale(a: np.ndarray) -> np.ndarray:
    return _ndtri((_rank_average(a) - 0.375) / (a.size + 0.25))


def _split(a: np.ndarray) -> np.ndarray:
    """(draws, chains) -> (draws // 2, 2 * chains): first and last halves (middle draw dropped)."""
    half = a.shape[0] // 2
    return np.concatenate([a[:half], a[a.shape[0] - half:]], axis=1)


def _rhat_basic(a: np.ndarray) -> float:
    n = a.shape[0]
    chain_mean = a.mean(0)
    chain_var = a.var(0, ddof=1)
    between = n * chain_mean.var(ddof=1)
    within = chain_var.mean()
    return float(np.sqrt((between / within + n - 1) / n))


def _autocov(a: np.ndarray) -> np.ndarray:
    """Biased autocovariance of each chain (column), lags 0..n-1, by FFT."""
    n = a.shape[0]
    x = a - a.mean(0)
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(x, n=size, axis=0)
    return np.fft.irfft(f * np.conj(f), n=size, axis=0)[:n] / n


def _ess_basic(a: np.ndarray) -> float:
    n_draw, n_chain = a.shape
    if np.max(a) - np.min(a) < np.finfo(float).resolution:
        return float(a.size)
    acov = _autocov(a)
    chain_mean = a.mean(0)
    mean_var = acov[0].mean() * n_draw / (n_draw - 1.0)
    var_plus = mean_var * (n_draw - 1.0) / n_draw
    if n_chain > 1:
        var_plus += chain_mean.var(ddof=1)
    rho = np.zeros(n_draw)
    rho_even = 1.0
    rho[0] = rho_even
    rho_odd = 1.0 - (mean_var - acov[1].mean()) / var_plus
    rho[1] = rho_odd
    t = 1
    while t < n_draw - 3 and rho_even + rho_odd > 0.0:  # Geyer's initial positive sequence
        rho_even = 1.0 - (mean_var - acov[t + 1].mean()) / var_plus
        rho_odd = 1.0 - (mean_var - acov[t + 2].mean()) / var_plus
        if rho_even + rho_odd >= 0:
            rho[t + 1] = rho_even
            rho[t + 2] = rho_odd
        t += 2
    max_t = t - 2
    if rho_even > 0:
        rho[max_t + 1] = rho_even
    t = 1
    while t <= max_t - 2:  # Geyer's initial monotone sequence
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = (rho[t - 1] + rho[t]) / 2.0
            rho[t + 2] = rho[t + 1]
        t += 2
    n = n_chain * n_draw
    tau = -1.0 + 2.0 * rho[: max_t + 1].sum() + rho[max_t + 1: max_t + 2].sum()
    tau = max(tau, 1.0 / np.log10(n))
    return float(n / tau) if np.all(np.isfinite(rho)) else float("nan")


def _apply(fn, a: np.ndarray):
    """fn over (draws, chains) slices of a (draws, chains, rest...) array."""
    if a.ndim == 2:
        return fn(a)
    rest = a.shape[2:]
    flat = a.reshape(a.shape[0], a.shape[1], -1)
    return np.array([fn(flat[:, :, k]) for k in range(flat.shape[2])]).reshape(rest)


def rhat(trace: ArrayLike, method: str = "rank") -> float | FloatArray:
    """Potential scale reduction factor R-hat of MCMC draws.

    Parameters
    ----------
    trace : array_like, shape (draws, chains) or (draws, chains, ...)
        A 1-D trace is one chain (split in two halves). At least 4 draws.
    method : {"rank", "split"}
        "rank": max of the rank-normalised split R-hat and the folded one (Vehtari et al.
        2021, eq. 4-5; ArviZ's default). "split": the classic split R-hat of BDA3.

    Returns
    -------
    float, or ndarray of the trailing shape
        Values near 1 (say < 1.01) indicate the chains agree.

    Raises
    ------
    ValueError
        Fewer than 4 draws, or a NaN or infinite entry (named by its position).
    """
    a = _trace(trace)
    if method == "split":
        return _apply(lambda x: _rhat_basic(_split(x)), a)
    if method == "rank":
        def f(x):
            bulk = _rhat_basic(_z_scale(_split(x)))
            tail = _rhat_basic(_z_scale(_split(np.abs(x - np.median(x)))))
            return max(bulk, tail)
        return _apply(f, a)
    raise ValueError(f"method must be 'rank' or 'split', got {method!r}")


def ess(trace: ArrayLike, method: str = "bulk") -> float | FloatArray:
    """Effective sample size of MCMC draws.

    Parameters
    ----------
    trace : array_like, shape (draws, chains) or (draws, chains, ...)
        A 1-D trace is one chain. At least 4 draws.
    method : {"bulk", "tail", "mean"}
        "bulk": ESS of the rank-normalised split chains (Vehtari et al. 2021; ArviZ's default);
        "tail": min of the ESS of the 5% and 95% quantile indicators; "mean": the classic
        split-chain ESS of BDA3 (for the mean).

    Returns
    -------
    float, or ndarray of the trailing shape

    Raises
    ------
    ValueError
        Fewer than 4 draws, or a NaN or infinite entry (named by its position).
    """
    a = _trace(trace)
    if method == "mean":
        return _apply(lambda x: _ess_basic(_split(x)), a)
    if method == "bulk":
        return _apply(lambda x: _ess_basic(_z_scale(_split(x))), a)
    if method == "tail":
        def f(x):
            lo = _ess_basic(_split((x <= np.quantile(x, 0.05)).astype(np.float64)))
            hi = _ess_basic(_split((x <= np.quantile(x, 0.95)).astype(np.float64)))
            return min(lo, hi)
        return _apply(f, a)
    raise ValueError(f"method must be 'bulk', 'tail' or 'mean', got {method!r}")
