"""Tree structures: breadth-first order of a parent array, and the check of the (M, d) parent
arrays of the mixtures of trees (the maximum spanning tree of the tree models is
:func:`fastdgm.models._pair_stats.max_spanning_tree`)."""
from __future__ import annotations

import numpy as np

from .._validation import check_parent

__all__ = ["tree_order", "check_parents"]


def tree_order(parent: np.ndarray) -> np.ndarray:
    """Breadth-first order from the root (parents before children); ValueError on a cycle."""
    d = parent.shape[0]
    root = int(np.flatnonzero(parent == -1)[0])
    children: list[list[int]] = [[] for _ in range(d)]
    for j in range(d):
        if parent[j] >= 0:
            children[parent[j]].append(j)
    order = [root]
    for j in order:
        order.extend(children[j])
    if len(order) != d:
        missing = sorted(set(range(d)) - set(order))
        raise ValueError(f"parent does not define a tree: variable {missing[0]} is on a cycle "
                         f"(parent[{missing[0]}] = {parent[missing[0]]})")
    return np.asarray(order, dtype=np.int64)


def check_parents(parents, n_trees: int | None = None) -> np.ndarray:
    """``parents`` as (M, d) int64, each row a tree (:func:`fastdgm._validation.check_parent`,
    then :func:`tree_order` for cycles); with ``n_trees``, M must equal it. TypeError for a
    non-integer array; ValueError naming ``parents[m]`` for a bad row."""
    try:
        p = np.asarray(parents)
    except Exception as exc:
        raise TypeError(f"parents must be an integer array: {exc}") from None
    if p.dtype.kind not in "iu":
        raise TypeError(f"parents must have an integer dtype, got {p.dtype}")
    if p.ndim != 2 or p.size == 0:
        raise ValueError(f"parents must be a non-empty 2-d array (M, d), got shape {p.shape}")
    if n_trees is not None and p.shape[0] != n_trees:
        raise ValueError(f"parents must have one row per component: shape ({n_trees}, d), got {p.shape}")
    out = np.empty(p.shape, dtype=np.int64)
    for m in range(p.shape[0]):
        try:
            out[m] = check_parent(p[m])
            tree_order(out[m])
        except ValueError as exc:
            raise ValueError(f"parents[{m}]: {exc}") from None
    return out
