"""Thresholding dispatch shared by :mod:`fastdgm.sampling`, :mod:`fastdgm.continuous` and
:class:`fastdgm.Categorical`: method choice, search tables, output dtype, one table-draw call."""
from __future__ import annotations

import math

import numpy as np

from ._validation import as_float_array
from .kernels import _threshold as _k
from .kernels.threads import get_num_threads

__all__ = ["METHODS", "out_dtype", "method_code", "weights_or_logits", "levels_1d", "draw_table",
           "search_tables", "scalar_or_array", "uniforms"]

METHODS = dict(_k.METHODS)
_DUMMY_INDEX = np.zeros(1, dtype=np.int64)
_DUMMY_PROB = np.zeros(1, dtype=np.float64)


def out_dtype(dtype, n_states: int) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be an integer dtype, got {dtype!r}") from None
    if dt.kind not in "iu":
        raise TypeError(f"dtype must be an integer dtype, got {dt}")
    if n_states - 1 > np.iinfo(dt).max:
        raise ValueError(f"dtype {dt} cannot hold category {n_states - 1}")
    return dt.newbyteorder("=")


def method_code(method: str, n_states: int, draws: int) -> int:
    if method == "auto":
        # scan, bisect and guide give identical draws: "auto" only picks the fastest
        if draws <= 1 or n_states <= 8:
            return METHODS["scan"]           # branch-free count of the levels below u
        if n_states <= 64 or draws < n_states // 8:
            return METHODS["bisect"]         # a table would cost more than it saves
        return METHODS["guide"]
    try:
        return METHODS[method]
    except (KeyError, TypeError):
        raise ValueError(f"method must be one of 'auto', 'scan', 'bisect', 'guide', 'alias'; "
                         f"got {method!r}") from None


def weights_or_logits(p, logits, *, name_p="p", min_ndim=1):
    """Validate exactly one of p / logits; return (array, is_logits, name)."""
    if (p is None) == (logits is None):
        raise TypeError(f"give exactly one of {name_p} and logits")
    if p is not None:
        return as_float_array(p, name_p, min_ndim=min_ndim), False, name_p
    return as_float_array(logits, "logits", min_ndim=min_ndim), True, "logits"


def levels_1d(w: np.ndarray, is_logits: bool) -> np.ndarray:
    """Normalised levels (C,) float64 of validated weights or logits (last level exactly 1)."""
    w = np.asarray(w, dtype=np.float64)
    if is_logits:
        w = np.exp(w - w.max())
    c = np.cumsum(w)
    levels = c / c[-1]
    levels[-1] = 1.0
    return levels


def draw_table(levels: np.ndarray, tables, method: int, key, offset: int, shape, dtype) -> np.ndarray:
    out = np.empty(math.prod(shape), dtype=dtype)
    index, prob = tables
    _k.sample_table(levels, index, prob, method, np.uint64(key), np.uint64(offset), out,
                    get_num_threads())
    return out.reshape(shape)


def search_tables(levels: np.ndarray, method: int):
    if method in (METHODS["guide"], METHODS["alias"]):
        return _k.prepare_tables(levels, method)
    return _DUMMY_INDEX, _DUMMY_PROB


def scalar_or_array(out: np.ndarray, size):
    return out[()] if size is None else out


def uniforms(key, n: int, offset: int = 0) -> np.ndarray:
    out = np.empty(n, dtype=np.float64)
    _k.fill_uniforms(np.uint64(key), np.uint64(offset), out, get_num_threads())
    return out
