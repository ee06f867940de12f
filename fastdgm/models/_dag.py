"""Directed acyclic graphs in CSR form (the parents of each node) and their checks.

The parents of node j are ``pidx[pptr[j]:pptr[j + 1]]``; these helpers validate such arrays
(from users or model files) and order the nodes.
"""
from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np

__all__ = ["MAX_TABLE_CELLS", "int_array", "check_graph", "topological_order", "table_rows", "parent_lists", "csr"]

MAX_TABLE_CELLS = 1 << 28
"""Largest total number of entries (rows x C) of the conditional tables of one network."""

def int_array(a, name: str) -> np.ndarray:
    """``a`` as a 1-dimensional int64 array, ValueError for anything else."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "iu" or arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-dimensional integer array, got {arr.dtype} {arr.shape}")
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} holds values beyond int64")
    return np.ascontiguousarray(arr, dtype=np.int64)


def check_graph(pptr: np.ndarray, pidx: np.ndarray, d: int, name: str) -> None:
    """ValueError unless the CSR parents form a DAG on d nodes (parents in range, distinct,
    no self-loop, no cycle)."""
    bad = np.flatnonzero((pidx < 0) | (pidx >= d))
    if bad.size:
        raise ValueError(f"{name}: parent {int(pidx[bad[0]])} is out of range [0, {d})")
    child = np.repeat(np.arange(d), np.diff(pptr))
    loops = np.flatnonzero(pidx == child)
    if loops.size:
        raise ValueError(f"{name}: node {int(child[loops[0]])} is its own parent")
    pairs = child * d + pidx
    uniq, cnt = np.unique(pairs, return_counts=True)
    if np.any(cnt > 1):
        p = int(uniq[np.argmax(cnt > 1)])
        raise ValueError(f"{name}: node {p // d} lists parent {p % d} more than once")
    topological_order(pptr, pidx)


def topological_order(pptr: np.ndarray, pidx: np.ndarray) -> np.ndarray:
    """Kahn's order (smallest ready node first); ValueError naming a node on a cycle."""

    d = pptr.shape[0] - 1
    indeg = np.diff(pptr).astype(np.int64)
    children: list[list[int]] = [[] for _ in range(d)]
    for j in range(d):
        for p in pidx[pptr[j]:pptr[j + 1]]:
            children[int(p)].append(j)
    ready = [j for j in range(d) if indeg[j] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        v = heapq.heappop(ready)
        order.append(v)
        for c in children[v]:
            indeg[c] -= 1
            if indeg[c] == 0:
                heapq.heappush(ready, c)
    if len(order) < d:
        node = int(np.flatnonzero(indeg > 0)[0])
        raise ValueError(f"the parents do not form a DAG: node {node} is on a cycle (or below one)")
    return np.asarray(order, dtype=np.int64)


def table_rows(pptr: np.ndarray, C: int, name: str) -> list[int]:
    """C^k_j rows of each node's table; ValueError if the tables would exceed MAX_TABLE_CELLS."""
    ks = np.diff(pptr)
    too_big = ks.size and C > 1 and int(ks.max()) * np.log2(C) > np.log2(MAX_TABLE_CELLS)
    rows = [] if too_big else [C ** int(k) for k in ks]
    if too_big or sum(rows) * C > MAX_TABLE_CELLS:
        raise ValueError(f"{name}: the conditional tables would hold more than {MAX_TABLE_CELLS} "
                         f"entries (C = {C}, up to {int(ks.max())} parents), above the limit "
                         f"(fastdgm.models.bayesnet.MAX_TABLE_CELLS)")
    return rows


def parent_lists(parents) -> list[list[int]]:
    """``parents`` (d sequences of int: lists, arrays) as d lists of int (small to send to
    workers); TypeError for anything else."""
    if isinstance(parents, (str, bytes)) or not isinstance(parents, (Sequence, np.ndarray)):
        raise TypeError(f"parents must be a sequence of d sequences of int, got {type(parents).__name__}")
    out = []
    for j, pa in enumerate(parents):
        a = np.asarray(pa if len(pa) else np.empty(0, np.int64))
        if a.ndim != 1 or a.dtype.kind not in "iu":
            raise TypeError(f"parents[{j}] must be a sequence of int, got {pa!r}")
        out.append([int(p) for p in a])
    return out


def csr(parents, d: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(parent_ptr, parent_idx) of d parent lists (d: their number when None), checked to form a
    DAG on d nodes."""
    lists = parent_lists(parents)
    d = len(lists) if d is None else d
    if len(lists) != d or d < 1:
        raise ValueError(f"parents must hold one parent list per column ({d}), got {len(lists)}")
    pptr = np.concatenate([[0], np.cumsum([len(p) for p in lists])]).astype(np.int64)
    pidx = np.array([p for pa in lists for p in pa], dtype=np.int64)
    check_graph(pptr, pidx, d, "parents")
    return pptr, pidx
