"""MCMC convergence diagnostics over traces of shape (draws, chains).

- :func:`rhat`: split R-hat (Gelman et al., BDA3 §11.4) and its rank-normalised, folded
  version (Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021), the default.
- :func:`ess`: effective sample size with Geyer's initial monotone sequence on split
  chains (BDA3 §11.5; Stan), bulk (rank-normalised) by default, as in Vehtari et al. 2021.

The formulas follow ArviZ's implementation (``arviz.rhat`` / ``arviz.ess``), with traces
laid out (draws, chains) instead of ArviZ's (chains, draws).
"""
from __future__ import annotations


import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata

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


def _z_scale(a: np.ndarray) -> np.ndarray:
    return ndtri((rankdata(a, method="average").reshape(a.shape) - 0.375) / (a.size + 0.25))


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
