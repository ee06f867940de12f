"""Lattices of :meth:`PairwiseMRF.grid`: their edges, and the checks of a saved lattice."""
from __future__ import annotations

import math

import numpy as np

from .._validation import as_float_array, check_log_potential, check_positive_int, param

__all__ = ["grid_edges", "check_grid", "check_lattice", "potts_tables"]


def grid_edges(shape: tuple, per: tuple) -> np.ndarray:
    """Nearest-neighbour edges (m, 2) int64 of a lattice (sites in row-major order)."""
    idx = np.arange(math.prod(shape)).reshape(shape)
    edges: list[np.ndarray] = []
    for ax, L in enumerate(shape):
        if L < 2:
            continue
        a = np.moveaxis(idx, ax, -1)
        edges.append(np.stack([a[..., :-1].ravel(), a[..., 1:].ravel()], 1))
        if per[ax] and L >= 3:
            edges.append(np.stack([a[..., -1].ravel(), a[..., 0].ravel()], 1))
    out = np.concatenate(edges) if edges else np.zeros((0, 2), np.int64)
    return np.ascontiguousarray(out, dtype=np.int64)


def check_grid(params, d: int, edges: np.ndarray, tables: np.ndarray) -> dict:
    """The lattice of saved parameters: its shape covers the d sites, its edges are the
    model's edges and one table is shared (what the checkerboard kernel assumes)."""
    shape = np.asarray(params["grid_shape"])
    per = np.asarray(param(params, "grid_periodic", "PairwiseMRF"))
    if shape.dtype.kind not in "iu" or shape.ndim != 1 or shape.size == 0 or np.any(shape < 1):
        raise ValueError(f"grid_shape must be a 1-d array of positive integers, got {shape!r}")
    if per.dtype.kind != "b" or per.shape != shape.shape:
        raise ValueError(f"grid_periodic must be {shape.size} booleans (one per axis), got {per!r}")
    shape_t = tuple(int(s) for s in shape)
    if math.prod(shape_t) != d:
        raise ValueError(f"grid_shape {shape_t} does not cover the d = {d} sites of unary")
    per_t = tuple(bool(p) for p in per)
    if tables.shape[0] != 1 or not np.array_equal(grid_edges(shape_t, per_t), edges):
        raise ValueError(f"edges and tables are not those of the lattice {shape_t} "
                         f"(periodic {per_t}) that grid_shape declares")
    return dict(shape=shape_t, periodic=per_t, beta=None)


def check_lattice(shape, periodic, n_states):
    """(shape tuple, periodic tuple of bools, C) of :meth:`fastdgm.PairwiseMRF.grid`, checked."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    try:
        shape = tuple(check_positive_int(s, "shape") for s in shape)
    except TypeError:
        raise TypeError(f"shape must be an int or a tuple of ints, got {shape!r}") from None
    if not shape:
        raise ValueError("shape must have at least one axis")
    C = check_positive_int(n_states, "n_states")
    if isinstance(periodic, (bool, np.bool_)):
        per = (bool(periodic),) * len(shape)
    else:
        per = tuple(bool(p) for p in periodic)
        if len(per) != len(shape):
            raise ValueError(f"periodic must be a bool or have one entry per axis of shape "
                             f"{shape}, got {periodic!r}")
    return shape, per, C


def potts_tables(field, coupling, d, C, shape):
    """(unary (d, C), coupling table (C, C), beta or None) of :meth:`fastdgm.PairwiseMRF.grid`."""
    if field is None:
        unary = np.zeros((d, C))
    else:
        unary = as_float_array(field, "field").astype(np.float64)
        if unary.shape == tuple(shape) + (C,):
            unary = unary.reshape(d, C)
        if unary.shape != (d, C):
            raise ValueError(f"field must have shape (d, C) = ({d}, {C}), got {unary.shape}")
        check_log_potential(unary, "field")
    if np.ndim(coupling) == 0:
        beta = float(as_float_array(coupling, "coupling"))
        check_log_potential(np.asarray(beta), "coupling")
        table = beta * np.eye(C)
    else:
        beta = None
        table = as_float_array(coupling, "coupling", ndim=2).astype(np.float64)
        if table.shape != (C, C):
            raise ValueError(f"coupling must be a scalar or of shape (C, C) = ({C}, {C}), got "
                             f"{table.shape}")
        check_log_potential(table, "coupling")
    return unary, table, beta
