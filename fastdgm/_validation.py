"""Argument checks shared by every public function.

Each helper raises ``TypeError`` for a wrong kind of argument and ``ValueError`` for a
wrong value, naming the argument and, for arrays, the first bad position and its value.
Kernels downstream trust what these helpers return.
"""
from __future__ import annotations

import math
import operator

import numpy as np

__all__ = [
    "as_float_array", "check_weights", "check_logits", "check_size", "check_states",
    "smallest_uint", "first_bad", "check_positive_int", "check_scalar", "check_alpha",
    "check_sample_weight", "check_model_X", "check_log_table", "check_parent", "check_finite",
    "check_edges", "check_prob_table", "check_log_probs", "check_log_potential", "MAX_LOG_POTENTIAL", "param",
    "MAX_INFERRED_STATES", "LOG_NORM_TOL",
]

MAX_INFERRED_STATES = 65536
"""Largest number of states :func:`check_states` infers from the data (``X.max() + 1``); above,
pass ``n_states`` explicitly (a stray huge value would otherwise size every table by it)."""

LOG_NORM_TOL = 1e-6
"""Tolerance of :func:`check_log_probs`: |logsumexp of a row| of a stored log-table."""


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
    if kind != "f" or arr.dtype not in (np.float32, np.float64) or not arr.dtype.isnative:
        arr = arr.astype(np.float64)
    arr = compact(arr)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    return arr


def compact(arr: np.ndarray) -> np.ndarray:
    """``arr`` itself if kernels can walk it by element strides (aligned, native byte order,
    every stride a multiple of the item size), else a C-contiguous copy.

    A field of a structured array (``rec["w"]``: stride 12 for float64) or an unaligned view
    would otherwise be read at the wrong bytes by kernels that index in elements.
    """
    if (arr.flags.aligned and arr.dtype.isnative
            and all(s % arr.itemsize == 0 for s in arr.strides)):
        return arr
    return np.ascontiguousarray(arr)


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
        Number of states C; inferred as ``X.max() + 1`` when None, up to
        :data:`MAX_INFERRED_STATES` = 65536 (a larger maximum is a ValueError asking for
        ``n_states``: tables are sized by C, so one stray value must not allocate gigabytes).
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
    if ndim >= 2 and arr.shape[-1] == 0:
        raise ValueError(f"{name} must have at least one column (variable), got shape {arr.shape}")
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
        # unsigned C-contiguous rows (the usual data): the parallel scan of model inputs
        fast = arr.ndim == 2 and arr.dtype.kind == "u" and arr.flags.c_contiguous
        mx = _max_state(arr) if fast else int(arr.max())
    else:
        mx = -1
    if n_states is None:
        if mx >= MAX_INFERRED_STATES:
            idx = first_bad(arr == mx)
            raise ValueError(f"{name}{_pos(idx)} = {mx}: inferring n_states = max + 1 is capped at "
                             f"{MAX_INFERRED_STATES}; pass n_states explicitly if the data really "
                             f"has {mx + 1} or more states")
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


def check_log_table(probs, logits, *, name_p: str, ndim: int, shape_doc: str) -> np.ndarray:
    """Validated table of exactly one of probs / logits -> log-probabilities normalised over
    the last axis (float64, C-contiguous, -inf for zero probability)."""
    if (probs is None) == (logits is None):
        raise TypeError(f"give exactly one of {name_p} and logits")
    name = name_p if probs is not None else "logits"
    arr = as_float_array(probs if probs is not None else logits, name)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have shape {shape_doc}, got shape {arr.shape}")
    arr = arr.astype(np.float64)
    if probs is not None:
        check_weights(arr, name)
        with np.errstate(divide="ignore"):
            lt = np.log(arr / arr.sum(axis=-1, keepdims=True))
    else:
        check_logits(arr, name)
        lt = arr - arr.max(axis=-1, keepdims=True)
        lt = lt - np.log(np.exp(lt).sum(axis=-1, keepdims=True))
    return np.ascontiguousarray(lt)


def check_alpha(alpha) -> float:
    """``alpha`` (additive smoothing) as a float, finite and >= 0."""
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise TypeError(f"alpha must be a real number, got {type(alpha).__name__}") from None
    if not (math.isfinite(a) and a >= 0):
        raise ValueError(f"alpha must be finite and >= 0, got {alpha}")
    return a


def check_sample_weight(sample_weight, n: int) -> np.ndarray:
    """float64 (n,) weights, or an empty array for 'all ones'."""
    if sample_weight is None:
        return np.empty(0)
    w = as_float_array(sample_weight, "sample_weight", ndim=1)
    if w.shape[0] != n:
        raise ValueError(f"sample_weight must have one entry per row of X ({n}), got shape {w.shape}")
    check_weights(w, "sample_weight", rows=False)
    return np.ascontiguousarray(w, dtype=np.float64)


def check_model_X(X, C: int, d: int) -> np.ndarray:
    """X of a model with C states and d columns, compact and C-contiguous.

    Fast path for X already in the model's compact dtype: no scan at all when that dtype
    cannot hold a value >= C (uint8 with C = 256, uint16 with C = 65536), else a parallel
    max. Anything else, or a bad value, goes through :func:`check_states` (which names the
    first bad position).
    """
    if (type(X) is np.ndarray and X.ndim == 2 and X.shape[0] > 0 and X.shape[1] == d
            and X.dtype == smallest_uint(C) and X.flags.c_contiguous):
        if np.iinfo(X.dtype).max == C - 1 or (X.shape[1] > 0 and _max_state(X) < C):
            return X
    return check_states(X, "X", n_states=C, n_dims=d)[0]


def check_parent(parent, d=None) -> np.ndarray:
    """``parent`` (d,) int64 with one root (-1), entries in [0, d), no self-loop (cycles:
    see :func:`fastdgm.models._trees.tree_order`)."""
    try:
        p = np.asarray(parent)
    except Exception as exc:
        raise TypeError(f"parent must be an integer array: {exc}") from None
    if p.dtype.kind not in "iu":
        raise TypeError(f"parent must have an integer dtype, got {p.dtype}")
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"parent must be a non-empty 1-d array (d,), got shape {p.shape}")
    p = p.astype(np.int64)
    if d is not None and p.shape[0] != d:
        raise ValueError(f"parent must have {d} entries (one per variable), got {p.shape[0]}")
    d = p.shape[0]
    idx = first_bad((p < -1) | (p >= d) | (p == np.arange(d)))
    if idx is not None:
        raise ValueError(f"parent must hold -1 (the root) or another variable in [0, {d}): "
                         f"parent[{idx[0]}] = {p[idx]}")
    roots = np.flatnonzero(p == -1)
    if roots.size != 1:
        raise ValueError(f"parent must have exactly one root (entry -1), got {roots.size}")
    return p


def check_scalar(value, name: str, *, minimum: float | None = None, maximum: float | None = None,
                 include_minimum: bool = True) -> float:
    """``value`` as a finite float within the bounds; TypeError for non-numbers (sklearn style)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number, got bool")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and (v < minimum or (v == minimum and not include_minimum)):
        op = ">=" if include_minimum else ">"
        raise ValueError(f"{name} must be {op} {minimum}, got {value}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return v


def _max_state(X: np.ndarray, parallel_above: int = 1 << 24) -> int:
    # numpy below 16M cells (cheaper than a compile); above, 15% of a 1-thread log_prob (Amdahl)
    if X.size < parallel_above:
        return int(X.max())
    from .kernels.likelihood import largest_state
    return largest_state(X)


def check_finite(a: np.ndarray, name: str) -> None:
    """ValueError naming the first NaN or infinite entry of ``a``."""
    idx = first_bad(~np.isfinite(a))
    if idx is not None:
        raise ValueError(f"{name} must be finite: {name}{_pos(idx)} = {a[idx]}")


MAX_LOG_POTENTIAL = 1e100
"""Largest magnitude of an MRF log-potential: energies sum d + m of them without overflow."""


def check_log_potential(a: np.ndarray, name: str) -> None:
    """ValueError naming the first entry of ``a`` that is not finite or exceeds
    :data:`MAX_LOG_POTENTIAL` in magnitude (energies would overflow to inf/NaN)."""
    check_finite(a, name)
    idx = first_bad(np.abs(a) > MAX_LOG_POTENTIAL)
    if idx is not None:
        raise ValueError(f"{name} must lie within +-{MAX_LOG_POTENTIAL:g} (log-potentials): "
                         f"{name}{_pos(idx)} = {a[idx]}")


def check_edges(edges, d: int) -> np.ndarray:
    """Edges (m, 2) int64 of a graph on d sites: in range, no self-loop, no repeated pair."""
    try:
        e = np.asarray(edges)
    except Exception as exc:
        raise TypeError(f"edges must be an integer array of shape (m, 2): {exc}") from None
    if e.size == 0:
        e = e.reshape(0, 2).astype(np.int64)
    if e.dtype.kind not in "iu":
        raise TypeError(f"edges must have an integer dtype, got {e.dtype}")
    if e.ndim != 2 or e.shape[1] != 2:
        raise ValueError(f"edges must have shape (m, 2), got {e.shape}")
    idx = first_bad((e < 0) | (e >= d))
    if idx is not None:
        raise ValueError(f"edges must hold site indices in [0, d={d}): edges{_pos(idx)} = {e[idx]}")
    e = np.ascontiguousarray(e, dtype=np.int64)
    loops = np.flatnonzero(e[:, 0] == e[:, 1])
    if loops.size:
        k = loops[0]
        raise ValueError(f"edges must not contain self-loops: edges[{k}] = ({e[k, 0]}, {e[k, 1]})")
    if e.shape[0] > 1:
        lo = np.minimum(e[:, 0], e[:, 1])
        hi = np.maximum(e[:, 0], e[:, 1])
        code = lo * d + hi
        order = np.argsort(code, kind="stable")
        dup = np.flatnonzero(code[order][1:] == code[order][:-1])
        if dup.size:
            # report the later of the first duplicated pair, in edge order
            cands = [(max(order[j], order[j + 1]), min(order[j], order[j + 1])) for j in dup]
            k, k0 = min(cands)
            raise ValueError(f"edges must not repeat a pair (in either orientation): edges[{k}] = "
                             f"({e[k, 0]}, {e[k, 1]}) duplicates edges[{k0}] = ({e[k0, 0]}, {e[k0, 1]})")
    return e


def check_prob_table(arr, name: str, shape: tuple, shape_doc: str, tol: float = 1e-6) -> np.ndarray:
    """float64 copy of a probability table of the given shape: finite, >= 0, rows summing
    to 1 within ``tol`` (renormalised here unless within 1e-12 of 1 already)."""
    a = as_float_array(arr, name)
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape_doc} = {shape}, got {a.shape}")
    a = np.array(a, dtype=np.float64, order="C")
    idx = first_bad(~np.isfinite(a))
    if idx is not None:
        raise ValueError(f"{name} must be finite: {name}{list(map(int, idx))} = {a[idx]}")
    idx = first_bad(a < 0)
    if idx is not None:
        raise ValueError(f"{name} must be non-negative: {name}{list(map(int, idx))} = {a[idx]}")
    s = a.sum(axis=-1, keepdims=True)
    idx = first_bad(~(np.abs(s[..., 0] - 1.0) <= tol))
    if idx is not None:
        raise ValueError(f"{name} must be normalised over its last axis (within {tol}): "
                         f"sum of {name}{list(map(int, idx))} = {s[idx][0]}")
    fix = np.abs(s - 1.0) > 1e-12          # rows already normalised keep their bits (round trips)
    return np.ascontiguousarray(np.where(fix, a / s, a))


def param(params, key: str, model: str):
    """``params[key]`` of a saved model, or a ValueError naming the missing array."""
    try:
        return params[key]
    except (KeyError, TypeError):
        raise ValueError(f"{model} parameters need an array {key!r} (a fastdgm model file "
                         f"holds it; got {sorted(params) if hasattr(params, 'keys') else params!r})") from None


def check_log_probs(a, name: str, *, ndim: int, shape_doc: str) -> np.ndarray:
    """A stored table of log-probabilities normalised over the last axis (a model file's).

    Real dtype, ``ndim`` dimensions, not empty, no NaN or +inf (-inf is probability zero),
    every row's logsumexp within :data:`LOG_NORM_TOL` of 0. Returns a float64 C-contiguous
    copy with the values as given (no renormalisation: a saved model loads bit for bit).
    """
    arr = as_float_array(a, name)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have shape {shape_doc}, got shape {arr.shape}")
    arr = np.array(arr, dtype=np.float64, order="C")
    check_logits(arr, name)
    m = arr.max(axis=-1, keepdims=True)
    lse = (m + np.log(np.exp(arr - m).sum(axis=-1, keepdims=True)))[..., 0]
    idx = first_bad(~(np.abs(lse) <= LOG_NORM_TOL))
    if idx is not None:
        where = f"{name}{_pos(idx)}" if idx else name
        raise ValueError(f"{name} must hold normalised log-probabilities (logsumexp over the last "
                         f"axis = 0 within {LOG_NORM_TOL:g}): {where} sums to exp({lse[idx]:.6g})")
    return arr

