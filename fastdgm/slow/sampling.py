"""Slow, obviously-correct numpy twins of the thresholding kernels (tests and baselines)."""
import numpy as np

from .._rng import uniform_ref


def uniforms(key, n, offset=0):
    """The counter-based uniforms, one Python-int computation each."""
    return np.array([uniform_ref(int(key), offset + i) for i in range(n)], dtype=np.float64)


def levels(p):
    """Normalised cumulative sums along the last axis (float64)."""
    c = np.cumsum(np.asarray(p, dtype=np.float64), axis=-1)
    return c / c[..., -1:]


def threshold(u, lev):
    """Number of levels at or below u (= first k with u < L_k), clipped to the last category."""
    u = np.asarray(u, dtype=np.float64)
    lev = np.asarray(lev, dtype=np.float64)
    k = (u[..., None] >= lev).sum(-1)
    return np.minimum(k, lev.shape[-1] - 1)


def categorical_rows(P, u):
    """numpy idiom for one draw per row of P (n, C): ``(P.cumsum(1) > u * sum).argmax(1)``."""
    c = P.cumsum(axis=1)
    return (c > (u * c[:, -1])[:, None]).argmax(axis=1)


def choice(p, size, rng):
    """numpy's own sampler: ``Generator.choice`` with probabilities."""
    p = np.asarray(p, dtype=np.float64)
    return rng.choice(p.shape[0], size=size, p=p / p.sum())


def density_cdf(x, grid, dens):
    """CDF of the piecewise-linear density (grid, dens) at x, by exact integration."""
    grid = np.asarray(grid, float)
    dens = np.asarray(dens, float)
    mass = np.diff(grid) * (dens[:-1] + dens[1:]) / 2
    cum = np.concatenate([[0.0], np.cumsum(mass)])
    x = np.clip(np.asarray(x, float), grid[0], grid[-1])
    k = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, len(grid) - 2)
    t = x - grid[k]
    s = (dens[k + 1] - dens[k]) / (grid[k + 1] - grid[k])
    return (cum[k] + dens[k] * t + s * t * t / 2) / cum[-1]
