"""Sampling by cumulative-level thresholding: the public layer over ``csrc/_threshold.pyx``.

To draw from p = (p_1, ..., p_C): build the levels L_k = p_1 + ... + p_k, draw u ~ U(0, 1),
return the first k with u < L_k. Every function here checks and normalises its arguments,
then hands trusted buffers to a Cython kernel.
"""
from __future__ import annotations

import math
from typing import Any, overload

import numpy as np

from ._config import get_num_threads
from ._dispatch import (
    draw_table,
    levels_1d,
    method_code,
    out_dtype,
    scalar_or_array,
    search_tables,
    uniforms,
    weights_or_logits,
)
from ._rng import make_key
from ._typing import ArrayLike, DTypeLike, FloatArray, IntArray, NDArray, Seed, Size
from ._validation import (
    as_float_array,
    check_logits,
    check_size,
    check_weights,
    first_bad,
    smallest_uint,
)
from .kernels import _threshold as _k

__all__ = ["cumulative_levels", "threshold", "categorical", "sample_joint"]

# ---------------------------------------------------------------------------------------
# the primitive
# ---------------------------------------------------------------------------------------
def cumulative_levels(p: ArrayLike, axis: int = -1) -> FloatArray:
    """Normalised cumulative levels L_k = (p_1 + ... + p_k) / sum(p) along ``axis``.

    Parameters
    ----------
    p : array_like, float64 or float32, shape (..., C, ...)
        Non-negative weights; each slice along ``axis`` needs a positive sum.
    axis : int
        The category axis.

    Returns
    -------
    levels : ndarray, float64, same shape as ``p``
        Non-decreasing along ``axis``; the last level is exactly 1.0 and a zero weight
        repeats the previous level, so thresholding never returns it.

    Examples
    --------
    >>> import fastdgm as fd
    >>> fd.cumulative_levels([1, 1, 2])
    array([0.25, 0.5 , 1.  ])
    """
    arr = as_float_array(p, "p", min_ndim=1)
    try:
        arr = np.moveaxis(arr, axis, -1)
    except np.exceptions.AxisError as exc:
        raise ValueError(f"axis: {exc}") from None
    check_weights(arr, "p")
    c = np.cumsum(arr, axis=-1, dtype=np.float64)
    levels = c / c[..., -1:]
    levels[..., -1] = 1.0
    return np.moveaxis(levels, -1, axis)


def threshold(u: ArrayLike, levels: ArrayLike) -> NDArray[np.int64] | np.int64:
    """Index of the first level above each uniform: the first k with ``u < levels[..., k]``.

    Parameters
    ----------
    u : array_like of float, values in [0, 1)
        The caller's uniforms (pseudo- or quasi-random, common random numbers...).
    levels : array_like of float, shape (C,) or (..., C)
        Non-decreasing levels in [0, 1] along the last axis, e.g. from
        :func:`cumulative_levels`. If the last level is below 1 (rounding), a ``u`` at or
        above it gets the last category of positive width: index C is never returned.
        ``levels.shape[:-1]`` broadcasts against ``u.shape``.

    Returns
    -------
    ndarray of int64, shape ``broadcast(u.shape, levels.shape[:-1])``
        (a numpy scalar for scalar input).

    Examples
    --------
    >>> import fastdgm as fd
    >>> fd.threshold([0.0, 0.3, 0.5, 0.99], [0.25, 0.5, 1.0])
    array([0, 1, 2, 2])
    """
    uu = as_float_array(u, "u")
    if uu.size == 0:
        raise ValueError("u must not be empty")
    uu = uu.astype(np.float64, copy=False)
    idx = first_bad(~((uu >= 0) & (uu < 1)))
    if idx is not None:
        raise ValueError(f"u must lie in [0, 1): u[{', '.join(map(str, idx))}] = {uu[idx]}")
    L = np.ascontiguousarray(as_float_array(levels, "levels", min_ndim=1), dtype=np.float64)
    idx = first_bad(~((L >= 0) & (L <= 1)))
    if idx is not None:
        raise ValueError(f"levels must lie in [0, 1]: levels[{', '.join(map(str, idx))}] = {L[idx]}")
    widths = np.diff(L, axis=-1, prepend=0.0)
    idx = first_bad(widths < 0)
    if idx is not None:
        raise ValueError(f"levels must be non-decreasing along the last axis: "
                         f"levels[{', '.join(map(str, idx))}] = {L[idx]}")
    idx = first_bad(~(L[..., -1] > 0))
    if idx is not None:
        raise ValueError(f"levels has a row whose last level is 0: levels[{', '.join(map(str, idx))}]")
    batch = L.shape[:-1]
    try:
        shape = np.broadcast_shapes(uu.shape, batch)
    except ValueError:
        raise ValueError(f"u of shape {uu.shape} does not broadcast with levels of shape {L.shape}") from None
    C = L.shape[-1]
    L2 = L.reshape(-1, C)
    last = (C - 1 - np.argmax((widths > 0).reshape(-1, C)[:, ::-1], axis=1)).astype(np.int64)
    rows = np.ascontiguousarray(np.broadcast_to(np.arange(L2.shape[0], dtype=np.int64).reshape(batch), shape))
    ub = np.ascontiguousarray(np.broadcast_to(uu, shape))
    out = np.empty(shape, dtype=np.int64)
    _k.threshold_rows(ub.reshape(-1), L2, rows.reshape(-1), last, out.reshape(-1), get_num_threads())
    return out[()] if out.ndim == 0 else out


# ---------------------------------------------------------------------------------------
# categorical draws
# ---------------------------------------------------------------------------------------
@overload
def categorical(p: ArrayLike | None = None, size: None = None, *, logits: ArrayLike | None = None,
                rng: Seed = None, method: str = "auto", dtype: DTypeLike = np.int64
                ) -> np.integer[Any] | IntArray: ...
@overload
def categorical(p: ArrayLike | None = None, size: Size = ..., *, logits: ArrayLike | None = None,
                rng: Seed = None, method: str = "auto", dtype: DTypeLike = np.int64) -> IntArray: ...


def categorical(p: ArrayLike | None = None, size: Size | None = None, *, logits: ArrayLike | None = None,
                rng: Seed = None, method: str = "auto", dtype: DTypeLike = np.int64
                ) -> np.integer[Any] | IntArray:
    """Draw categories by cumulative-level thresholding.

    Parameters
    ----------
    p : array_like, float64 or float32, shape (C,) or (..., C), optional
        Non-negative weights, normalised per row (they need not sum to 1).
    size : int or tuple of ints, optional
        For p of shape (C,): the output shape (None: one scalar draw). For p of shape
        (..., C): the output shape, into which ``p.shape[:-1]`` broadcasts as in
        :meth:`numpy.random.Generator.multinomial` (None: one draw per row).
    logits : array_like, optional
        Unnormalised log-probabilities instead of ``p``; -inf means probability 0.
    rng : None, int, SeedSequence, BitGenerator or Generator
        SPEC 7 seed. The same ``rng`` gives the same draws whatever the thread count.
    method : {"auto", "scan", "bisect", "guide", "alias"}
        Search on the levels. "scan", "bisect" and "guide" (Chen-Asau guide table) return
        identical draws for the same ``rng``; "alias" (Walker/Vose) uses the uniform
        differently. "auto" picks by C and draws per distribution. With one draw per row,
        every method uses the fused one-pass row scan (a table would cost more than it saves).
    dtype : integer dtype
        Dtype of the output (default int64).

    Returns
    -------
    ndarray of ``dtype`` (a numpy scalar when ``p`` is 1-D and ``size`` is None)
        Category indices in [0, C); a category of probability zero is never drawn.

    Raises
    ------
    ValueError
        NaN, inf or negative weights (NaN or +inf logits), an all-zero row, empty input,
        ``size`` that does not broadcast, an unknown method. Nothing is returned on error.

    Examples
    --------
    >>> import fastdgm as fd
    >>> fd.categorical([0.2, 0.8], size=5, rng=0).shape
    (5,)
    """
    arr, is_logits, name = weights_or_logits(p, logits)
    size = check_size(size)
    C = arr.shape[-1]
    dt = out_dtype(dtype, C)
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, got {type(method).__name__}")
    key = make_key(rng)
    if arr.ndim == 1:
        (check_logits if is_logits else check_weights)(arr, name)
        shape = () if size is None else size
        draws = math.prod(shape)
        m = method_code(method, C, draws)
        levels = levels_1d(arr, is_logits)
        out = draw_table(levels, search_tables(levels, m), m, key, 0, shape, dt)
        return scalar_or_array(out, size)

    batch = arr.shape[:-1]
    n = math.prod(batch)
    shp: tuple[int, ...] = batch if size is None else size
    try:
        bshape = np.broadcast_shapes(batch, shp)
    except ValueError:
        bshape = None
    if bshape != shp:
        raise ValueError(f"size {shp} is not compatible with the batch shape {batch} of {name} "
                         f"(shape {arr.shape}): p.shape[:-1] must broadcast to size")
    if math.prod(shp) == 0:
        (check_logits if is_logits else check_weights)(arr, name)
        return np.empty(shp, dtype=dt)
    P = arr.reshape(n, C)
    if shp[len(shp) - len(batch):] == batch:       # draws x rows: the fused kernel
        draws = math.prod(shp[:len(shp) - len(batch)])
        m = method_code(method, C, draws)
        out = np.empty(draws * n, dtype=dt)
        nbad = _k.sample_rows(P, is_logits, m, draws, np.uint64(key), out, get_num_threads())
        if nbad:
            (check_logits if is_logits else check_weights)(arr, name)
            raise ValueError(f"{name} has invalid rows")  # pragma: no cover - check above names it
        return out.reshape(shp)
    # general broadcast (e.g. batch (n, 1) into size (n, k)): levels then the primitive
    method_code(method, C, 2)
    (check_logits if is_logits else check_weights)(arr, name)
    return _broadcast_draws(P, is_logits, batch, shp, key).astype(dt, copy=False)


_LEVEL_BLOCK = 1 << 18
"""Elements of the (rows, C) levels built at a time by :func:`_broadcast_draws` (2 MiB)."""


def _broadcast_draws(P, is_logits: bool, batch: tuple, size: tuple, key) -> np.ndarray:
    """Draws of shape ``size`` from the rows of validated P (n, C) broadcast from ``batch``:
    element i uses ``uniform(key, i)`` and the levels of its row. Levels are built for a block
    of rows at a time, so memory is O(output + block), never an (n, C) temporary."""
    n, C = P.shape
    rows = np.ascontiguousarray(np.broadcast_to(np.arange(n, dtype=np.int64).reshape(batch), size)).ravel()
    u = uniforms(key, rows.size)
    out = np.empty(rows.size, dtype=np.int64)
    order = np.argsort(rows, kind="stable")          # output positions grouped by row
    start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=start[1:])
    block = max(1, _LEVEL_BLOCK // C)
    nt = get_num_threads()
    for r0 in range(0, n, block):
        r1 = min(n, r0 + block)
        W = P[r0:r1]
        if is_logits:
            W = np.exp(W - W.max(axis=1, keepdims=True))
        L = np.ascontiguousarray(cumulative_levels(W))
        sel = order[start[r0]:start[r1]]
        res = np.empty(sel.size, dtype=np.int64)
        _k.threshold_rows(u[sel], L, rows[sel] - r0, np.full(r1 - r0, C - 1, dtype=np.int64), res, nt)
        out[sel] = res
    return out.reshape(size)


# ---------------------------------------------------------------------------------------
# continuous densities tabulated at C points
# ---------------------------------------------------------------------------------------
def sample_joint(table: ArrayLike, size: Size | None = None, *, rng: Seed = None, log: bool = False) -> IntArray:
    """Direct sampling of a full joint table: O(C^d) setup, exact (the ground truth).

    Parameters
    ----------
    table : array_like of float, shape (C_1, ..., C_d)
        Joint weights P(x_1, ..., x_d) (unnormalised is fine), or log-weights if ``log``.
    size : int or tuple of ints, optional
        Number of samples (None: one sample).
    rng : SPEC 7 seed
    log : bool
        ``table`` holds log-probabilities (-inf allowed).

    Returns
    -------
    X : ndarray, shape ``size + (d,)``, smallest unsigned dtype holding max(C_j)

    Examples
    --------
    >>> import numpy as np, fastdgm as fd
    >>> fd.sample_joint(np.ones((2, 3)), size=4, rng=0).shape
    (4, 2)
    """
    arr = as_float_array(table, "table", min_ndim=1)
    (check_logits if log else check_weights)(arr, "table", rows=False)
    size = check_size(size)
    flat = arr.reshape(-1)
    idx = categorical(logits=flat, size=size, rng=rng) if log else categorical(flat, size=size, rng=rng)
    coords = np.unravel_index(np.asarray(idx), arr.shape)
    out = np.empty(np.shape(idx) + (arr.ndim,), dtype=smallest_uint(max(arr.shape)))
    for j, c in enumerate(coords):
        out[..., j] = c
    return out


# ---------------------------------------------------------------------------------------
# one categorical variable as a model
# ---------------------------------------------------------------------------------------
