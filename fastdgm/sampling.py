"""Sampling by cumulative-level thresholding: the public layer over ``csrc/_threshold.pyx``.

To draw from p = (p_1, ..., p_C): build the levels L_k = p_1 + ... + p_k, draw u ~ U(0, 1),
return the first k with u < L_k. Every function here checks and normalises its arguments,
then hands trusted buffers to a Cython kernel.
"""
from __future__ import annotations

import math

import numpy as np

from . import _threshold as _k
from ._config import get_num_threads
from ._model import Model, register_model
from ._rng import make_key
from ._validation import (
    as_float_array, check_logits, check_size, check_states, check_weights, first_bad, smallest_uint,
)

__all__ = [
    "cumulative_levels", "threshold", "categorical", "sample_density", "gaussian_transport",
    "sample_joint", "Categorical",
]

_METHODS = dict(_k.METHODS)
_DUMMY_INDEX = np.zeros(1, dtype=np.int64)
_DUMMY_PROB = np.zeros(1, dtype=np.float64)


# ---------------------------------------------------------------------------------------
# argument helpers
# ---------------------------------------------------------------------------------------
def _out_dtype(dtype, n_states: int) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be an integer dtype, got {dtype!r}") from None
    if dt.kind not in "iu":
        raise TypeError(f"dtype must be an integer dtype, got {dt}")
    if n_states - 1 > np.iinfo(dt).max:
        raise ValueError(f"dtype {dt} cannot hold category {n_states - 1}")
    return dt.newbyteorder("=")


def _method_code(method: str, n_states: int, draws: int) -> int:
    if method == "auto":
        # scan, bisect and guide give identical draws: "auto" only picks the fastest
        if draws <= 1 or n_states <= 8:
            return _METHODS["scan"]           # branch-free count of the levels below u
        if n_states <= 64 or draws < n_states // 8:
            return _METHODS["bisect"]         # a table would cost more than it saves
        return _METHODS["guide"]
    try:
        return _METHODS[method]
    except (KeyError, TypeError):
        raise ValueError(f"method must be one of 'auto', 'scan', 'bisect', 'guide', 'alias'; "
                         f"got {method!r}") from None


def _weights_or_logits(p, logits, *, name_p="p", min_ndim=1):
    """Validate exactly one of p / logits; return (array, is_logits, name)."""
    if (p is None) == (logits is None):
        raise TypeError(f"give exactly one of {name_p} and logits")
    if p is not None:
        return as_float_array(p, name_p, min_ndim=min_ndim), False, name_p
    return as_float_array(logits, "logits", min_ndim=min_ndim), True, "logits"


def _levels_1d(w: np.ndarray, is_logits: bool) -> np.ndarray:
    """Normalised levels (C,) float64 of validated weights or logits (last level exactly 1)."""
    w = np.asarray(w, dtype=np.float64)
    if is_logits:
        w = np.exp(w - w.max())
    c = np.cumsum(w)
    levels = c / c[-1]
    levels[-1] = 1.0
    return levels


def _draw_table(levels: np.ndarray, tables, method: int, key, offset: int, shape, dtype) -> np.ndarray:
    out = np.empty(math.prod(shape), dtype=dtype)
    index, prob = tables
    _k.sample_table(levels, index, prob, method, np.uint64(key), np.uint64(offset), out,
                    get_num_threads())
    return out.reshape(shape)


def _tables(levels: np.ndarray, method: int):
    if method in (_METHODS["guide"], _METHODS["alias"]):
        return _k.prepare_tables(levels, method)
    return _DUMMY_INDEX, _DUMMY_PROB


def _scalar_or_array(out: np.ndarray, size):
    return out[()] if size is None else out


def _uniforms(key, n: int, offset: int = 0) -> np.ndarray:
    out = np.empty(n, dtype=np.float64)
    _k.fill_uniforms(np.uint64(key), np.uint64(offset), out, get_num_threads())
    return out


# ---------------------------------------------------------------------------------------
# the primitive
# ---------------------------------------------------------------------------------------
def cumulative_levels(p, axis: int = -1) -> np.ndarray:
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


def threshold(u, levels) -> np.ndarray:
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
def categorical(p=None, size=None, *, logits=None, rng=None, method: str = "auto", dtype=np.int64):
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
    arr, is_logits, name = _weights_or_logits(p, logits)
    size = check_size(size)
    C = arr.shape[-1]
    dt = _out_dtype(dtype, C)
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, got {type(method).__name__}")
    key = make_key(rng)
    if arr.ndim == 1:
        (check_logits if is_logits else check_weights)(arr, name)
        shape = () if size is None else size
        draws = math.prod(shape)
        m = _method_code(method, C, draws)
        levels = _levels_1d(arr, is_logits)
        out = _draw_table(levels, _tables(levels, m), m, key, 0, shape, dt)
        return _scalar_or_array(out, size)

    batch = arr.shape[:-1]
    n = math.prod(batch)
    if size is None:
        size = batch
    try:
        bshape = np.broadcast_shapes(batch, size)
    except ValueError:
        bshape = None
    if bshape != size:
        raise ValueError(f"size {size} is not compatible with the batch shape {batch} of {name} "
                         f"(shape {arr.shape}): p.shape[:-1] must broadcast to size")
    if math.prod(size) == 0:
        (check_logits if is_logits else check_weights)(arr, name)
        return np.empty(size, dtype=dt)
    P = arr.reshape(n, C)
    if size[len(size) - len(batch):] == batch:       # draws x rows: the fused kernel
        draws = math.prod(size[:len(size) - len(batch)])
        m = _method_code(method, C, draws)
        out = np.empty(draws * n, dtype=dt)
        nbad = _k.sample_rows(P, is_logits, m, draws, np.uint64(key), out, get_num_threads())
        if nbad:
            (check_logits if is_logits else check_weights)(arr, name)
            raise ValueError(f"{name} has invalid rows")  # pragma: no cover - check above names it
        return out.reshape(size)
    # general broadcast (e.g. batch (n, 1) into size (n, k)): levels then the primitive
    _method_code(method, C, 2)
    (check_logits if is_logits else check_weights)(arr, name)
    if is_logits:
        P = np.exp(P - P.max(axis=1, keepdims=True))
    L = cumulative_levels(P)
    rows = np.broadcast_to(np.arange(n, dtype=np.int64).reshape(batch), size).ravel()
    u = _uniforms(key, rows.size)
    last = np.full(n, C - 1, dtype=np.int64)
    out = np.empty(rows.size, dtype=np.int64)
    _k.threshold_rows(u, L, np.ascontiguousarray(rows), last, out, get_num_threads())
    return out.reshape(size).astype(dt, copy=False)


# ---------------------------------------------------------------------------------------
# continuous densities tabulated at C points
# ---------------------------------------------------------------------------------------
def _check_density(grid, density):
    x = as_float_array(grid, "grid", ndim=1).astype(np.float64, copy=False)
    f = as_float_array(density, "density", ndim=1).astype(np.float64, copy=False)
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


def sample_density(grid, density, size=None, *, rng=None) -> np.ndarray:
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
    _k.density_sample(np.uint64(make_key(rng)), _levels_1d(mass, False), x, f, mass, out,
                      get_num_threads())
    return float(out[0]) if size is None else out.reshape(shape)


def gaussian_transport(z, grid, density) -> np.ndarray:
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
    _k.density_inverse(u, _levels_1d(mass, False), x, f, mass, out, nt)
    out = out.reshape(zz.shape)
    return out[()] if out.ndim == 0 else out


# ---------------------------------------------------------------------------------------
# the direct O(C^d) sampler of a joint table
# ---------------------------------------------------------------------------------------
def sample_joint(table, size=None, *, rng=None, log: bool = False) -> np.ndarray:
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
@register_model
class Categorical(Model):
    """One categorical variable over C states, with its sampler prepared once.

    Parameters
    ----------
    p : array_like of float, shape (C,), optional
        Non-negative weights (normalised here).
    logits : array_like of float, shape (C,), optional
        Log-weights instead of ``p``.

    Attributes
    ----------
    probs : ndarray, float64, shape (C,)
        Normalised probabilities.
    log_probs : ndarray, float64, shape (C,)
        Their logarithms (-inf for zero).

    Notes
    -----
    The scalar case of the model protocol: ``sample(size)`` returns an array of shape
    ``size`` (like :meth:`numpy.random.Generator.choice`), and ``log_prob`` takes states of
    any shape. ``n_dims`` is 1.

    Examples
    --------
    >>> import fastdgm as fd
    >>> cat = fd.Categorical([0.1, 0.2, 0.7])
    >>> cat.sample(3, rng=0).shape
    (3,)
    """

    def __init__(self, p=None, *, logits=None):
        arr, is_logits, name = _weights_or_logits(p, logits)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-dimensional (C,), got shape {arr.shape}")
        (check_logits if is_logits else check_weights)(arr, name)
        arr = arr.astype(np.float64)
        if is_logits:
            lp = arr - arr.max()
            lp = lp - np.log(np.exp(lp).sum())
            probs = np.exp(lp)
        else:
            probs = arr / arr.sum()
            with np.errstate(divide="ignore"):
                lp = np.log(probs)
        self.probs = probs
        self.log_probs = lp
        self._levels = _levels_1d(arr, is_logits)
        self._table_cache = {}

    @property
    def n_dims(self) -> int:
        return 1

    @property
    def n_states(self) -> int:
        return self.probs.shape[0]

    @property
    def levels(self) -> np.ndarray:
        """Cumulative levels, float64 (C,), last exactly 1.0."""
        return self._levels

    def sample(self, size=None, rng=None, *, method: str = "auto", dtype=np.int64):
        """Draw states by thresholding; the search tables are built once and kept.

        Parameters
        ----------
        size : int or tuple of ints, optional
            Output shape (None: one scalar draw).
        rng : SPEC 7 seed
        method : {"auto", "scan", "bisect", "guide", "alias"}
        dtype : integer dtype, default int64

        Returns
        -------
        ndarray of ``dtype``, shape ``size`` (a numpy scalar for ``size=None``);
        the same draws as ``categorical(self.probs, size, rng=rng, method=method)``.
        """
        size = check_size(size)
        shape = () if size is None else size
        C = self.n_states
        dt = _out_dtype(dtype, C)
        if not isinstance(method, str):
            raise TypeError(f"method must be a string, got {type(method).__name__}")
        m = _method_code(method, C, math.prod(shape))
        key = make_key(rng)
        tables = self._table_cache.get(m)
        if tables is None:
            tables = self._table_cache[m] = _tables(self._levels, m)
        return _scalar_or_array(_draw_table(self._levels, tables, m, key, 0, shape, dt), size)

    def log_prob(self, x) -> np.ndarray:
        """Log-probability of each state in ``x`` (integer array of any shape), float64."""
        arr, _ = check_states(np.atleast_1d(x), "x", n_states=self.n_states, ndim=np.ndim(x) or 1,
                              compact=False)
        out = self.log_probs[arr]
        return out.reshape(np.shape(x))

    def entropy(self) -> float:
        """Exact entropy -sum p log p in nats (0 log 0 = 0)."""
        p = self.probs
        nz = p > 0
        return float(-np.sum(p[nz] * self.log_probs[nz]))

    @classmethod
    def fit(cls, x, n_states: int | None = None, alpha: float = 1.0, sample_weight=None) -> "Categorical":
        """Maximum-likelihood (``alpha=0``) or smoothed estimate (counts + alpha) / (n + alpha C).

        Parameters
        ----------
        x : array_like of int, any shape
            Observed states in [0, n_states).
        n_states : int, optional
            C; ``x.max() + 1`` by default.
        alpha : float >= 0
            Additive (Laplace/Lidstone) smoothing.
        sample_weight : array_like of float, shape of ``x``, optional
            Non-negative weights of the observations.
        """
        arr = np.asarray(x)
        flat, C = check_states(arr.reshape(-1, 1) if arr.ndim else arr.reshape(1, 1), "x",
                               n_states=n_states, compact=False)
        alpha = float(alpha)
        if not (alpha >= 0 and np.isfinite(alpha)):
            raise ValueError(f"alpha must be a finite number >= 0, got {alpha}")
        if sample_weight is None:
            w = None
        else:
            w = as_float_array(sample_weight, "sample_weight").astype(np.float64).reshape(-1)
            if w.shape[0] != flat.shape[0]:
                raise ValueError(f"sample_weight must have the shape of x, got {np.shape(sample_weight)}")
            check_weights(w, "sample_weight", rows=False)
        counts = np.bincount(flat[:, 0], weights=w, minlength=C).astype(np.float64)
        return cls(counts + alpha)

    def _get_params(self) -> dict:
        return {"probs": self.probs}

    @classmethod
    def _from_params(cls, params: dict) -> "Categorical":
        return cls(params["probs"])
