"""The k best maximum spanning trees of a weighted complete graph (Lawler 1972 / Murty 1968
partitioning), for :class:`fastdgm.HCLTMixture`'s top Chow-Liu trees.

A subproblem is a pair (I, O) of forced-in and forced-out edges; its best tree T is the best
spanning tree containing I and avoiding O. Popping the best T of all open subproblems gives
the next best tree; T's subproblem is then split on T's free edges e_1, ..., e_r (those not in
I): subproblem i forces in e_1..e_{i-1} and forces out e_i. The subproblems partition the
trees of their parent minus T, so every tree is found once, in order of weight.

The root subproblem (no constraint) is solved by Prim's :func:`._pair_stats.max_spanning_tree`
(so the first tree is the Chow-Liu tree, bit for bit). Subproblem i of a popped T is solved by
one exchange: T - e_i + f, f the heaviest edge outside O and e_i that reconnects the two halves
of T - e_i. That is its best tree: T is a maximum spanning tree of the graph without O under
weights that give the edges of I (and then of e_1..e_{i-1}, which T contains) a weight above
every other, and deleting a tree edge e from a graph turns its maximum spanning tree into
T - e + (the heaviest edge across the cut) (the cut property). Ties are broken towards the
first found (the lowest (a, b), a on the child's side, for f; the earlier subproblem in the queue).
"""
from __future__ import annotations

import heapq
import math

import numpy as np

from ._pair_stats import max_spanning_tree

__all__ = ["top_spanning_trees", "tree_edges", "tree_weight", "parent_from_edges"]


def tree_edges(parent: np.ndarray) -> list[tuple[int, int]]:
    """The edges of a tree as sorted (min, max) pairs, in increasing order."""
    return sorted((min(int(j), int(p)), max(int(j), int(p))) for j, p in enumerate(parent) if p >= 0)


def tree_weight(weights: np.ndarray, edges) -> float:
    """The exactly rounded sum of the weights of ``edges`` (``math.fsum``: independent of the
    order of the edges, so equal trees have equal weights bit for bit)."""
    return math.fsum(float(weights[a, b]) for a, b in edges)


def parent_from_edges(edges, d: int, root: int = 0) -> np.ndarray:
    """The parent array (d,) int64 of the spanning tree ``edges`` rooted at ``root``."""
    nbr: list[list[int]] = [[] for _ in range(d)]
    for a, b in edges:
        nbr[a].append(b)
        nbr[b].append(a)
    parent = np.full(d, -2, dtype=np.int64)
    parent[root] = -1
    stack = [root]
    while stack:
        u = stack.pop()
        for v in sorted(nbr[u]):
            if parent[v] == -2:
                parent[v] = u
                stack.append(v)
    if (parent == -2).any():
        raise ValueError("edges do not span the graph")  # pragma: no cover - internal
    return parent


def _preorder(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position of each vertex in a depth-first preorder, size of its subtree): the subtree
    of v is the vertices u with pos[v] <= pos[u] < pos[v] + size[v]."""
    d = parent.shape[0]
    children: list[list[int]] = [[] for _ in range(d)]
    for j in range(d):
        if parent[j] >= 0:
            children[parent[j]].append(j)
    pos = np.empty(d, dtype=np.int64)
    size = np.ones(d, dtype=np.int64)
    seq: list[int] = []
    stack = [int(np.flatnonzero(parent < 0)[0])]
    while stack:
        u = stack.pop()
        pos[u] = len(seq)
        seq.append(u)
        stack.extend(reversed(children[u]))
    for u in reversed(seq):
        if parent[u] >= 0:
            size[parent[u]] += size[u]
    return pos, size


def top_spanning_trees(weights, k: int, root: int = 0) -> tuple[list[np.ndarray], list[float]]:
    """The ``k`` heaviest spanning trees of the complete graph with edge weights ``weights``.

    Parameters
    ----------
    weights : array_like of float, shape (d, d)
        Symmetric, finite (the diagonal is ignored).
    k : int >= 1
    root : int
        The root of every returned parent array.

    Returns
    -------
    parents : list of ndarray int64 (d,)
        min(k, d^(d-2)) distinct spanning trees (parent arrays, -1 at ``root``), heaviest first;
        the first is ``max_spanning_tree(weights, root)``.
    tree_weights : list of float
        Their weights (exactly rounded sums), non-increasing.
    """
    W = np.array(weights, dtype=np.float64)
    d = W.shape[0]
    if W.shape != (d, d) or not np.isfinite(W).all():
        raise ValueError(f"weights must be a finite (d, d) matrix, got shape {W.shape}")
    first = max_spanning_tree(W, root=root)
    e0 = tree_edges(first)
    heap: list[tuple] = [(-tree_weight(W, e0), 0, first, e0, frozenset(), frozenset())]
    count = 1
    parents: list[np.ndarray] = []
    out_w: list[float] = []
    while heap and len(parents) < k:
        negw, _, parent, edges, inc, exc = heapq.heappop(heap)
        parent = parent_from_edges(edges, d, root) if parent is None else parent
        parents.append(parent)
        out_w.append(-negw)
        if len(parents) == k:
            break
        forced = set(inc)
        pos, size = _preorder(parent)
        for e in edges:
            if e in inc:
                continue
            c = e[0] if parent[e[0]] == e[1] else e[1]      # the child end: its subtree is one side
            side = (pos >= pos[c]) & (pos < pos[c] + size[c])
            rows, cols = np.flatnonzero(side), np.flatnonzero(~side)
            cross = W[np.ix_(rows, cols)]          # the edges across the cut, rows and columns ascending
            at = np.cumsum(side) - 1, np.cumsum(~side) - 1
            for a, b in exc | {e}:                 # excluded edges never reconnect
                if side[a] != side[b]:
                    a, b = (a, b) if side[a] else (b, a)
                    cross[at[0][a], at[1][b]] = -np.inf
            r, c = divmod(int(np.argmax(cross)), cols.shape[0])     # the lowest (a, b) among ties
            a, b = int(rows[r]), int(cols[c])
            if cross[r, c] != -np.inf:
                new = sorted([x for x in edges if x != e] + [(min(a, b), max(a, b))])
                heapq.heappush(heap, (-tree_weight(W, new), count, None, new, frozenset(forced), exc | {e}))
                count += 1
            forced.add(e)
    return parents, out_w
