"""One categorical variable with its thresholding tables prepared once."""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, overload

import numpy as np

from .._dispatch import (
    draw_table,
    levels_1d,
    method_code,
    out_dtype,
    scalar_or_array,
    search_tables,
    weights_or_logits,
)
from .._rng import make_key
from .._validation import (
    LOG_NORM_TOL,
    smallest_uint,
    check_alpha,
    check_logits,
    check_sample_weight,
    check_size,
    check_states,
    check_weights,
    param,
)
from .base import Model, classonlymethod, fit_data, register_model
from .._typing import ArrayLike, DTypeLike, FloatArray, IntArray, Seed, Size

__all__ = ["Categorical"]


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

    capabilities = frozenset({"exact_log_prob", "exact_sampler", "missing", "exact_entropy"})

    def __init__(self, p: ArrayLike | None = None, *, logits: ArrayLike | None = None) -> None:
        arr, is_logits, name = weights_or_logits(p, logits)
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
        self._levels = levels_1d(arr, is_logits)
        self._table_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

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

    @overload
    def sample(self, size: None = None, rng: Seed = None, *, method: str = "auto",
               dtype: DTypeLike = np.int64) -> np.integer[Any]: ...
    @overload
    def sample(self, size: Size, rng: Seed = None, *, method: str = "auto",
               dtype: DTypeLike = np.int64) -> IntArray: ...

    def sample(self, size: Size | None = None, rng: Seed = None, *, method: str = "auto",
               dtype: DTypeLike = np.int64) -> np.integer[Any] | IntArray:
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
        dt = out_dtype(dtype, C)
        if not isinstance(method, str):
            raise TypeError(f"method must be a string, got {type(method).__name__}")
        m = method_code(method, C, math.prod(shape))
        key = make_key(rng)
        tables = self._table_cache.get(m)
        if tables is None:
            tables = self._table_cache[m] = search_tables(self._levels, m)
        return scalar_or_array(draw_table(self._levels, tables, m, key, 0, shape, dt), size)

    def sample_rows(self, key: int | np.uint64, start: int, n: int) -> IntArray:
        """Draws ``[start, start + n)`` of ``sample(N, rng)`` with ``key = make_key(rng)``.

        Every method but "alias" gives these draws ("auto" never picks it).

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
            int64, shape (n,).
        """
        m = method_code("auto", self.n_states, n)
        tables = self._table_cache.get(m)
        if tables is None:
            tables = self._table_cache[m] = search_tables(self._levels, m)
        return draw_table(self._levels, tables, m, np.uint64(key), int(start), (int(n),), np.dtype(np.int64))

    def _log_prob(self, x: ArrayLike) -> FloatArray:
        """``log p[x]``, the shape of ``x`` (states of any shape)."""
        arr, _ = check_states(np.atleast_1d(x), "x", n_states=self.n_states, ndim=np.ndim(x) or 1,
                              compact=False)
        out = self.log_probs[arr]
        return out.reshape(np.shape(x))

    def _check_missing(self, x, missing):
        """(x with missing entries set to 0, mask), both of x's shape (any shape)."""
        arr = np.asarray(x)
        M = np.asarray(missing)
        if M.dtype != np.bool_:
            raise TypeError(f"missing must have a boolean dtype (True = missing), got {M.dtype}")
        if M.shape != arr.shape:
            raise ValueError(f"missing must have the shape of x {arr.shape}, got {M.shape}")
        if arr.dtype.kind not in "iub":
            raise TypeError(f"x must have an integer dtype, got {arr.dtype}")
        return np.where(M, 0, arr), M

    def _log_prob_missing(self, x, missing) -> FloatArray:
        """log p[x] where observed, 0 (= log of the sum over every state) where missing."""
        arr, M = self._check_missing(x, missing)
        return np.where(M, 0.0, self._log_prob(arr))

    def _fill(self, x, missing, rng=None) -> IntArray:
        """Missing entries drawn independently from p (a single variable has nothing else to
        condition on): the k-th missing entry in C order is draw k of ``sample(., rng)``."""
        arr, M = self._check_missing(x, missing)
        self._log_prob(arr)                              # validates the observed states
        n_missing = int(M.sum())
        dt = np.asarray(x).dtype
        if dt.kind == "b" or np.iinfo(dt).max < self.n_states - 1:
            dt = smallest_uint(self.n_states)
        out = np.array(arr, dtype=dt, copy=True)
        out[M] = self.sample_rows(make_key(rng), 0, n_missing)
        return out

    def entropy(self) -> float:
        """Exact entropy -sum p log p in nats (0 log 0 = 0).

        Returns
        -------
        float
            The entropy.
        """
        p = self.probs
        nz = p > 0
        return float(-np.sum(p[nz] * self.log_probs[nz]))

    @classmethod
    def _check_fit_data(cls, x, n_states):
        arr = np.asarray(x)
        _, C = check_states(arr.reshape(-1, 1) if arr.ndim else arr.reshape(1, 1), "x",
                            n_states=n_states, compact=False)
        return arr, C

    @classmethod
    def example(cls, rng=0):
        x = np.random.default_rng(rng).choice(4, size=500, p=[0.1, 0.2, 0.3, 0.4])
        return cls.fit(x, n_states=4), x

    @classonlymethod
    def fit(cls, x: ArrayLike, n_states: int | None = None, *, alpha: float = 1.0,
            sample_weight: ArrayLike | None = None) -> Categorical:
        """Maximum-likelihood (``alpha=0``) or smoothed estimate (counts + alpha) / (n + alpha C).

        Parameters
        ----------
        x : array_like of int, any shape
            Observed states in [0, n_states).
        n_states : int, optional
            C; ``x.max() + 1`` by default (inferred up to 65536; pass it above).
        alpha : float >= 0
            Additive (Laplace/Lidstone) smoothing.
        sample_weight : array_like of float, shape of ``x``, optional
            Non-negative weights of the observations.

        Returns
        -------
        Categorical
            The fitted distribution.
        """
        arr, C = fit_data(x, n_states)
        flat = arr.reshape(-1, 1)
        alpha = check_alpha(alpha)
        w = None
        if sample_weight is not None:
            if np.shape(sample_weight) != arr.shape:
                raise ValueError(f"sample_weight must have the shape of x {arr.shape}, got "
                                 f"{np.shape(sample_weight)}")
            w = check_sample_weight(np.reshape(sample_weight, -1), flat.shape[0])
        counts = np.bincount(flat[:, 0], weights=w, minlength=C).astype(np.float64)
        return cls(counts + alpha)

    def get_params(self) -> dict[str, np.ndarray]:
        return {"probs": self.probs}

    @classmethod
    def from_params(cls, params: Mapping[str, np.ndarray]) -> Categorical:
        """The model of ``params`` (e.g. read from a file), validated: ``probs`` (C,) as in the
        constructor, summing to 1 within :data:`~fastdgm._validation.LOG_NORM_TOL`.

        Parameters
        ----------
        params : mapping of str to ndarray
            The arrays of :meth:`get_params` (e.g. read from an untrusted file).

        Returns
        -------
        Categorical
        """
        model = cls(param(params, "probs", cls.__name__))
        total = float(np.sum(np.asarray(params["probs"], dtype=np.float64)))
        if not abs(total - 1.0) <= LOG_NORM_TOL:
            raise ValueError(f"probs must be normalised probabilities (sum 1 within {LOG_NORM_TOL:g}), "
                             f"got sum {total!r}")
        return model
