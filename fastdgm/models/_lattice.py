"""Lattices of :meth:`PairwiseMRF.grid`: their edges, and the checks of a saved lattice."""
from __future__ import annotations

import math

import numpy as np

from .._validation import param

__all__ = ["grid_edges", "check_grid"]


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
