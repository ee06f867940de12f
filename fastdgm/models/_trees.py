"""Tree structures: breadth-first order of a parent array (the maximum spanning tree of the
tree models is :func:`fastdgm.models._pair_stats.max_spanning_tree`)."""
from __future__ import annotations

import numpy as np

__all__ = ["tree_order"]


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
