"""Exact inference with missing entries: marginal log-likelihoods and conditional fills.

A mask ``missing`` (bool, X's shape, True = missing) marks entries of X whose values are
ignored (they may be anything, even out of range). For every exact model:

- :func:`log_prob_missing` gives log P(x_obs) = log sum over the missing entries' states of
  P(x), exactly, in time polynomial in d;
- :func:`fill` returns a copy of X whose missing entries are one joint draw per row from the
  exact conditional P(x_mis | x_obs).

How:

- Factorized: drop the missing terms; draw each missing entry from its own table.
- Mixture: the posterior P(k | x_obs) from the observed terms; draw k, then the missing
  entries from component k (they are independent given k).
- ChowLiuTree: an upward (leaves -> root) message pass with the evidence, O(d C^2) per row;
  the fill samples downward: the root from P(root | x_obs) (prior times messages), each
  missing child given its parent's state times its subtree's message.
- TreeMixture: P(k | x_obs) from each tree's upward pass; draw k; fill with tree k.

The models expose these as ``model.log_prob(X, missing=mask)`` and
``model.fill(X, missing=mask, rng=None)``. Randomness: the component of row i uses
``uniform(substream(key, 0), i)`` and entry (i, j) ``uniform(key, i * d + j)`` of the call's
key: fills are the same for any number of threads and any chunking of the rows.
"""
from __future__ import annotations

import numpy as np

from .._rng import make_key
from .._validation import first_bad, smallest_uint
from ..kernels import missing as _mk

__all__ = ["check_missing", "log_prob_missing", "fill", "fill_result"]


def check_missing(X, missing, n_states: int, n_dims: int):
    """Validate data with a missing-value mask.

    Parameters
    ----------
    X : array_like of int, shape (n, d)
        States in [0, n_states) where ``missing`` is False; anything where it is True.
    missing : array_like of bool, shape (n, d)
        True marks a missing entry. Must have a boolean dtype.
    n_states, n_dims : int
        The model's C and d.

    Returns
    -------
    Xc : ndarray, smallest unsigned dtype holding C, shape (n, d), C-contiguous
        X with its missing entries set to 0.
    M : ndarray, bool, shape (n, d), C-contiguous
    X : ndarray
        X as an array (for the dtype of the fill's result).
    """
    try:
        arr = np.asarray(X)
    except Exception as exc:
        raise TypeError(f"X must be an integer array: {exc}") from None
    if arr.dtype.kind == "b":
        arr = arr.astype(np.uint8)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"X must have an integer dtype, got {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"X must be a non-empty 2-dimensional array (n, d), got shape {arr.shape}")
    if arr.shape[1] != n_dims:
        raise ValueError(f"X must have {n_dims} columns (the model's n_dims), got shape {arr.shape}")
    try:
        M = np.asarray(missing)
    except Exception as exc:
        raise TypeError(f"missing must be a boolean array: {exc}") from None
    if M.dtype != np.bool_:
        raise TypeError(f"missing must have a boolean dtype (True = missing), got {M.dtype}")
    if M.shape != arr.shape:
        raise ValueError(f"missing must have the shape of X {arr.shape}, got {M.shape}")
    bad = ~M & ((arr < 0) | (arr >= n_states)) if arr.dtype.kind == "i" else ~M & (arr >= n_states)
    idx = first_bad(bad)
    if idx is not None:
        raise ValueError(f"X must hold states in [0, n_states={n_states}) where missing is False: "
                         f"X[{idx[0]}, {idx[1]}] = {arr[idx]}")
    Xc = np.where(M, 0, arr).astype(smallest_uint(n_states), order="C")
    return Xc, np.ascontiguousarray(M), arr


def _readonly(a):
    """A read-only view of the array ``a`` (anything else unchanged)."""
    if not isinstance(a, np.ndarray):
        return a
    a = a.view()
    a.flags.writeable = False
    return a


def _form(model):
    """The model's tables for the kernels here (:meth:`Model._missing_form`), every array a
    read-only view: models hand over a mix of read-only parameters and fresh writable arrays,
    and numba compiles a kernel once per read-only/writable pattern of its arguments (each
    pattern of ``tree_fill`` is about 12 s of compilation); one pattern serves every model."""
    return tuple(_readonly(a) for a in model._missing_form())


def log_prob_missing(model, X, missing) -> np.ndarray:
    """Exact log-probability of the observed entries of each row, shape (n,), float64.

    Parameters
    ----------
    model : Factorized, Mixture, ChowLiuTree or TreeMixture
    X : array_like of int, shape (n, d)
    missing : array_like of bool, shape (n, d)
        True = missing (summed out). A row with every entry missing gets log 1 = 0.

    Returns
    -------
    ndarray, float64, shape (n,)
        log sum_{x_mis} P(x_obs, x_mis); -inf where the observed entries have probability 0.
    """
    Xc, M, _ = check_missing(X, missing, model.n_states, model.n_dims)
    form = _form(model)
    out = np.empty(Xc.shape[0])
    work = Xc.size * form[-1].shape[0] * (model.n_states if form[0] == "tree" else 1)
    if form[0] == "mixture":
        _mk.mixture_missing_log_prob(work, Xc, M, form[1], form[2], out)
    else:
        _mk.tree_missing_log_prob(work, Xc, M, form[1], form[2], form[3], form[4], out)
    return out


def fill(model, X, missing, rng=None) -> np.ndarray:
    """Copy of X with its missing entries drawn from the exact conditional given the rest.

    Parameters
    ----------
    model : Factorized, Mixture, ChowLiuTree or TreeMixture
    X : array_like of int, shape (n, d)
    missing : array_like of bool, shape (n, d)
        True = missing (to be drawn).
    rng : SPEC 7 seed

    Returns
    -------
    ndarray, shape (n, d)
        X's dtype when it holds every state (else the smallest unsigned dtype holding C);
        the observed entries unchanged, the missing entries of each row one joint draw from
        P(x_mis | x_obs).

    Raises
    ------
    ValueError
        If the observed entries of a row have probability 0 (no conditional exists).
    """
    Xc, M, arr = check_missing(X, missing, model.n_states, model.n_dims)
    key = make_key(rng)
    form = _form(model)
    out = np.empty_like(Xc)
    lp = np.empty(Xc.shape[0])
    work = Xc.size * form[-1].shape[0] * (model.n_states if form[0] == "tree" else 1)
    if form[0] == "mixture":
        _mk.mixture_fill(work, Xc, M, form[1], form[2], form[3], key, out, lp)
    else:
        _mk.tree_fill(work, Xc, M, form[1], form[2], form[3], form[4], key, out, lp)
    idx = first_bad(lp == -np.inf)
    if idx is not None:
        raise ValueError(f"row {idx[0]} of X: its observed entries have probability 0 under the "
                         f"model, there is no conditional to draw the missing entries from")
    return fill_result(arr, M, out, model.n_states)


def fill_result(arr: np.ndarray, M: np.ndarray, drawn: np.ndarray, C: int) -> np.ndarray:
    """X (``arr``) with its missing entries (``M``) taken from ``drawn``: X's dtype when it
    holds every state, else the smallest unsigned dtype holding C."""
    dt = arr.dtype
    if np.iinfo(dt).max < C - 1:
        dt = smallest_uint(C)
    res = np.array(arr, dtype=dt, order="C", copy=True)
    res[M] = drawn[M]
    return res
