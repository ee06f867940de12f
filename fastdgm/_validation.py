"""Argument checks shared by every public function.

Each helper raises ``TypeError`` for a wrong kind of argument and ``ValueError`` for a
wrong value, naming the argument and, for arrays, the first bad position and its value.
Kernels downstream trust what these helpers return.
"""
from __future__ import annotations

import operator

import numpy as np

__all__ = [
    "as_float_array", "check_weights", "check_logits", "check_size", "check_states",
    "smallest_uint", "first_bad", "check_positive_int",
]


def _pos(index) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def first_bad(bad: np.ndarray):
    """Index tuple of the first True in ``bad`` (C order), or None."""
    flat = np.flatnonzero(bad.ravel())
    if flat.size == 0:
        return None
    return np.unravel_index(flat[0], bad.shape)


def as_float_array(a, name: str, *, ndim: int | None = None, min_ndim: int = 0) -> np.ndarray:
    """Convert ``a`` to a float64 (or float32, kept) array, rejecting non-numeric input.

    Returns float32 input unchanged (kernels read it in float64); integers become float64.
    """
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists etc.
        raise TypeError(f"{name} must be array_like of numbers: {exc}") from None
    kind = arr.dtype.kind
    if kind == "b" or kind not in "fiu":
        raise TypeError(f"{name} must have a real numeric dtype, got {arr.dtype}")
    if kind != "f" or arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    return arr


def check_weights(p: np.ndarray, name: str = "p", *, rows: bool = True) -> None:
    """Check probabilities/weights: finite, non-negative, and a positive sum.

    With ``rows=True`` each row (last axis) must have a positive sum, else the whole array.
    """
    bad = ~np.isfinite(p)
    idx = first_bad(bad)
    if idx is not None:
        raise ValueError(f"{name} must be finite: {name}{_pos(idx)} = {p[idx]}")
    idx = first_bad(p < 0)
    if idx is not None:
        raise ValueError(f"{name} must be non-negative: {name}{_pos(idx)} = {p[idx]}")
    if not rows:
        total = p.sum(dtype=np.float64)
        if not total > 0:
            raise ValueError(f"{name} is all zeros (no outcome has positive probability)")
        if not np.isfinite(total):
            raise ValueError(f"{name} sum overflows float64")
        return
    sums = p.sum(axis=-1, dtype=np.float64)
    idx = first_bad(~(sums > 0))
    if idx is not None:
        raise ValueError(f"{name} has a row of zeros (no category has positive probability): "
                         f"{name}{_pos(idx)}")
    idx = first_bad(~np.isfinite(sums))
    if idx is not None:
        raise ValueError(f"{name} row sum overflows float64: {name}{_pos(idx)}")


def check_logits(logits: np.ndarray, name: str = "logits", *, rows: bool = True) -> None:
    """Check logits: no NaN or +inf; -inf allowed; a finite entry in each row (or anywhere)."""
    idx = first_bad(np.isnan(logits) | (logits == np.inf))
    if idx is not None:
        raise ValueError(f"{name} must not be NaN or +inf: {name}{_pos(idx)} = {logits[idx]}")
    if not rows:
        if not np.any(np.isfinite(logits)):
            raise ValueError(f"{name} is all -inf (no outcome has positive probability)")
        return
    idx = first_bad(~np.any(np.isfinite(logits), axis=-1))
    if idx is not None:
        raise ValueError(f"{name} has a row that is all -inf (no category has positive probability): "
                         f"{name}{_pos(idx)}")


def check_positive_int(value, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum``; TypeError for non-integers."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got bool")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}") from None
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    return v


def check_size(size, name: str = "size") -> tuple | None:
    """Normalise a numpy-style ``size`` (None, int or tuple of ints) to a tuple or None."""
    if size is None:
        return None
    if isinstance(size, (bool, np.bool_)):
        raise TypeError(f"{name} must be None, an int or a tuple of ints, got bool")
    try:
        return (check_positive_int(size, name, minimum=0),)
    except TypeError:
        pass
    try:
        dims = tuple(size)
    except TypeError:
        raise TypeError(f"{name} must be None, an int or a tuple of ints, got {type(size).__name__}") from None
    return tuple(check_positive_int(s, name, minimum=0) for s in dims)


def smallest_uint(n_states: int) -> np.dtype:
    """Smallest unsigned integer dtype that holds the states 0 .. n_states-1."""
    for dt in (np.uint8, np.uint16, np.uint32):
        if n_states - 1 <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.uint64)


def check_states(X, name: str = "X", *, n_states: int | None = None, n_dims: int | None = None,
                 ndim: int = 2, compact: bool = True) -> tuple[np.ndarray, int]:
    """Validate an integer data array of states in [0, n_states).

    Parameters
    ----------
    X : array_like of int, shape (n, d) (or ``ndim`` dimensions)
    n_states : int, optional
        Number of states C; inferred as ``X.max() + 1`` when None.
    n_dims : int, optional
        Required size of the last axis.
    compact : bool
        If True, return X in :func:`smallest_uint` of C (a copy only when the dtype or the
        layout must change); else return it as given (C-contiguous).

    Returns
    -------
    X : ndarray, C-contiguous
    n_states : int
    """
    try:
        arr = np.asarray(X)
    except Exception as exc:
        raise TypeError(f"{name} must be an integer array: {exc}") from None
    if arr.dtype.kind == "b":
        arr = arr.astype(np.uint8)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            raise TypeError(f"{name} must have an integer dtype, got {arr.dtype} "
                            f"(convert with {name}.astype(int) if the values are states)")
        raise TypeError(f"{name} must have an integer dtype, got {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if arr.size == 0 and (arr.shape[0] == 0 if ndim else True):
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if n_dims is not None and arr.shape[-1] != n_dims:
        raise ValueError(f"{name} must have {n_dims} columns (the model's n_dims), got shape {arr.shape}")
    if n_states is not None:
        n_states = check_positive_int(n_states, "n_states")
    if n_states is not None and arr.dtype.kind == "u" and np.iinfo(arr.dtype).max < n_states:
        mx = -1            # every value the dtype can hold is a valid state: nothing to scan
    elif arr.size:
        idx = first_bad(arr < 0) if arr.dtype.kind == "i" else None
        if idx is not None:
            raise ValueError(f"{name} must hold states in [0, n_states): {name}{_pos(idx)} = {arr[idx]}")
        mx = int(arr.max())
    else:
        mx = -1
    if n_states is None:
        n_states = mx + 1
    elif mx >= n_states:
        idx = first_bad(arr >= n_states)
        raise ValueError(f"{name} must hold states in [0, n_states={n_states}): "
                         f"{name}{_pos(idx)} = {arr[idx]}")
    if compact:
        arr = np.ascontiguousarray(arr, dtype=smallest_uint(max(n_states, 1)))
    else:
        arr = np.ascontiguousarray(arr)
    return arr, int(n_states)
