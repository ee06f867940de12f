"""Continuous targets by the same thresholding: exact inverse CDF of piecewise-linear densities."""
from __future__ import annotations

import math
from typing import overload

import numpy as np

from ._config import get_num_threads
from ._dispatch import levels_1d
from ._rng import make_key
from ._typing import ArrayLike, FloatArray, Seed, Size
from ._validation import as_float_array, check_size, check_weights, first_bad
from .kernels import _threshold as _k

__all__ = ["sample_density", "gaussian_transport"]


def _check_density(grid, density):
    x = np.ascontiguousarray(as_float_array(grid, "grid", ndim=1), dtype=np.float64)
    f = np.ascontiguousarray(as_float_array(density, "density", ndim=1), dtype=np.float64)
    if x.shape != f.shape:
        raise ValueError(f"grid and density must have the same shape, got {x.shape} and {f.shape}")
    if x.size < 2:
        raise ValueError(f"grid needs at least 2 points, got {x.size}")
    idx = first_bad(~np.isfinite(x))
    if idx is not None:
        raise ValueError(f"grid must be finite: grid[{idx[0]}] = {x[idx]}")
    idx = first_bad(~(np.diff(x) > 0))
    if idx is not None:
        raise ValueError(f"grid must be strictly increasing: grid[{idx[0] + 1}] = {x[idx[0] + 1]} "
                         f"<= grid[{idx[0]}] = {x[idx[0]]}")
    check_weights(f, "density")
    mass = np.diff(x) * (f[:-1] + f[1:]) * 0.5
    total = mass.sum()
    if not total > 0:
        raise ValueError("density has zero total mass")
    if not np.isfinite(total):
        raise ValueError("density: the total mass overflows float64 (rescale grid or density)")
    return x, f, mass


@overload
def sample_density(grid: ArrayLike, density: ArrayLike, size: None = None, *, rng: Seed = None) -> float: ...
@overload
def sample_density(grid: ArrayLike, density: ArrayLike, size: Size, *, rng: Seed = None) -> FloatArray: ...


def sample_density(grid: ArrayLike, density: ArrayLike, size: Size | None = None, *,
                   rng: Seed = None) -> float | FloatArray:
    """Exact samples of a continuous density known at C grid points, linear in between.

    The inverse CDF of the piecewise-linear density is applied to counter-based
    uniforms: the interval is found by cumulative-level thresholding of the interval
    masses, and the position inside it by solving the quadratic CDF exactly.

    Parameters
    ----------
    grid : array_like of float, shape (C,)
        Strictly increasing points, C >= 2.
    density : array_like of float, shape (C,)
        Non-negative density values at ``grid`` (unnormalised is fine).
    size : int or tuple of ints, optional
        Output shape (None: one float).
    rng : SPEC 7 seed

    Returns
    -------
    ndarray of float64, shape ``size`` (a float for ``size=None``), in [grid[0], grid[-1]].
    """
    x, f, mass = _check_density(grid, density)
    size = check_size(size)
    shape = () if size is None else size
    out = np.empty(math.prod(shape), dtype=np.float64)
    _k.density_sample(np.uint64(make_key(rng)), levels_1d(mass, False), x, f, mass, out,
                      get_num_threads())
    return float(out[0]) if size is None else out.reshape(shape)


def gaussian_transport(z: ArrayLike, grid: ArrayLike, density: ArrayLike) -> FloatArray | np.float64:
    """The monotone map T with T(Z) ~ density for Z ~ N(0, 1): T = F^{-1} o Phi.

    Parameters
    ----------
    z : array_like of float
        Standard-normal draws (finite).
    grid, density : array_like of float, shape (C,)
        As in :func:`sample_density`.

    Returns
    -------
    ndarray of float64, shape of ``z``: non-decreasing in ``z``.
    """
    x, f, mass = _check_density(grid, density)
    zz = as_float_array(z, "z").astype(np.float64)
    idx = first_bad(~np.isfinite(zz))
    if idx is not None:
        raise ValueError(f"z must be finite: z[{', '.join(map(str, idx))}] = {zz[idx]}")
    flat = np.ascontiguousarray(zz).reshape(-1)
    u = np.empty_like(flat)
    nt = get_num_threads()
    _k.ndtr(flat, u, nt)
    out = np.empty_like(flat)
    _k.density_inverse(u, levels_1d(mass, False), x, f, mass, out, nt)
    res = out.reshape(zz.shape)
    return res[()] if res.ndim == 0 else res


# ---------------------------------------------------------------------------------------
# the direct O(C^d) sampler of a joint table
# ---------------------------------------------------------------------------------------
