"""Tree structures: breadth-first order of a parent array, maximum spanning tree (Prim).

Prim's algorithm is kept here rather than scipy's ``minimum_spanning_tree``: its tie-breaking
(lowest index first, earliest tree vertex on equal links) is part of the fitted model's
definition, and seeded fits must stay identical.
"""
from __future__ import annotations

import numpy as np

__all__ = ["tree_order", "max_spanning_tree"]


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


def max_spanning_tree(weights: np.ndarray, root: int = 0) -> np.ndarray:
    """Prim's maximum spanning tree of a symmetric (d, d) weight matrix, from ``root``.

    Deterministic: the next vertex is the outside vertex of largest link weight, the lowest
    index on ties; a vertex's parent changes only on a strictly larger weight (so among equal
    links the earliest-added tree vertex wins).

    Returns
    -------
    parent : ndarray, int64, shape (d,), -1 at the root
    """
    d = weights.shape[0]
    parent = np.full(d, -1, dtype=np.int64)
    in_tree = np.zeros(d, dtype=bool)
    in_tree[root] = True
    best = weights[root].astype(np.float64).copy()
    link = np.full(d, root, dtype=np.int64)
    for _ in range(d - 1):
        cand = np.where(in_tree, -np.inf, best)
        j = int(np.argmax(cand))
        in_tree[j] = True
        parent[j] = link[j]
        better = (~in_tree) & (weights[j] > best)
        best[better] = weights[j][better]
        link[better] = j
    return parent
