"""Numba kernels of the Bayesian network: likelihood, ancestral sampling, family counts and scores.

A network over d variables is stored in CSR form: the parents of node j are
``pidx[pptr[j]:pptr[j + 1]]`` (in their stored order), its conditional table is the block of rows
``offsets[j]:offsets[j + 1]`` of a (R, C) table, and the row of a parent configuration is its
mixed-radix code with the first parent most significant: ``sum_t x_{pa_t} C^(k - 1 - t)``.

Structure search works on dense codes: ``XT`` (d, n), the data transposed (one column a
contiguous row), holds each column re-coded to its observed states
``0 .. card[j] - 1``, and a parent set's configurations are numbered ``0 .. m - 1`` in order of
first appearance (:func:`dense_codes`), so a candidate family's table has at most
``n * card[x] * card[y]`` cells whatever the number of parents.

Everything trusts its inputs (checked in :mod:`fastdgm.models.bayesnet`). Rows are split in
fixed chunks (``CHUNK``): the same bits for any number of threads; element (i, j) of a sample
uses ``uniform(key, i * d + j)``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .levels import threshold_levels
from .likelihood import CHUNK, SERIAL_WORK
from .parallel import parallel_kernel, serial_kernel
from .rng import uniform
from .schedule import WORKERS, next_item

__all__ = ["bn_log_prob", "bn_sample", "dense_codes", "family_scores", "family_counts",
           "family_score", "closure", "best_move", "draw_weighted", "BIC", "BDEU"]

BIC = 0
BDEU = 1


@serial_kernel(inline="always")
def _config(X, i, pidx, lo, hi, C):
    """Row of the conditional table of a node whose parents are pidx[lo:hi], for row i of X."""
    code = 0
    for t in range(lo, hi):
        code = code * C + np.int64(X[i, pidx[t]])
    return code


@parallel_kernel(serial_below=SERIAL_WORK)
def bn_log_prob(X, pptr, pidx, offsets, log_cpt, out):
    """out[i] = sum_j log_cpt[offsets[j] + config_j(x_i), x_ij] (j ascending)."""
    n, d = X.shape
    C = log_cpt.shape[1]
    nc = (n + CHUNK - 1) // CHUNK
    todo = np.zeros(1, np.int64)
    for worker in prange(WORKERS):
        c = next_item(todo)
        while c < nc:
            for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
                s = 0.0
                for j in range(d):
                    r = offsets[j] + _config(X, i, pidx, pptr[j], pptr[j + 1], C)
                    s += log_cpt[r, X[i, j]]
                out[i] = s
            c = next_item(todo)
    return out


@parallel_kernel(serial_below=SERIAL_WORK)
def bn_sample(levels, pptr, pidx, offsets, order, key, row0, out):
    """Ancestral sampling in topological ``order``: out[i, j] = threshold(levels[offsets[j] +
    config_j(out[i])], uniform(key, (row0 + i) * d + j))."""
    n, d = out.shape
    C = levels.shape[1]
    nc = (n + CHUNK - 1) // CHUNK
    todo = np.zeros(1, np.int64)
    for worker in prange(WORKERS):
        c = next_item(todo)
        while c < nc:
            for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
                for t in range(d):
                    j = order[t]
                    r = offsets[j] + _config(out, i, pidx, pptr[j], pptr[j + 1], C)
                    out[i, j] = threshold_levels(levels[r], uniform(key, (row0 + i) * d + j))
            c = next_item(todo)
    return out


# ---------------------------------------------------------------------------------------
# family counts and decomposable scores
# ---------------------------------------------------------------------------------------
@serial_kernel
def dense_codes(XT, parents, card):
    """(codes (n,) int64, m): the configurations of the columns ``parents`` of XT numbered
    0 .. m - 1 in order of first appearance (m = 1 and all zeros for no parent)."""
    n = XT.shape[1]
    code = np.zeros(n, np.int64)
    m = 1
    for p in parents:
        r = card[p]
        ids = np.full(m * r, -1, np.int64)
        nxt = 0
        for i in range(n):
            raw = code[i] * r + np.int64(XT[p, i])
            if ids[raw] < 0:
                ids[raw] = nxt
                nxt += 1
            code[i] = ids[raw]
        m = nxt
    return code, m


@serial_kernel(inline="always")
def _score_table(N, m, r, q, kind, total, ess):
    """Score of a family from its counts N (m * r,), row j = configuration, column = child
    state; q = number of parent configurations (all of them, observed or not, float).

    BIC: sum N_jk log(N_jk / N_j) - 0.5 log(total) q (r - 1).
    BDeu: sum over observed j of lgamma(a) - lgamma(N_j + a) + sum_k lgamma(N_jk + b) - lgamma(b),
    a = ess / q, b = ess / (q r) (unobserved configurations contribute 0).
    """
    s = 0.0
    if kind == BIC:
        for j in range(m):
            nj = 0.0
            for k in range(r):
                nj += N[j * r + k]
            if nj > 0:
                lj = math.log(nj)
                for k in range(r):
                    v = N[j * r + k]
                    if v > 0:
                        s += v * (math.log(v) - lj)
        s -= 0.5 * math.log(total) * q * (r - 1)
    else:
        a = ess / q
        b = a / r
        la = math.lgamma(a)
        lb = math.lgamma(b)
        for j in range(m):
            nj = 0.0
            t = 0.0
            for k in range(r):
                v = N[j * r + k]
                nj += v
                if v > 0:
                    t += math.lgamma(v + b) - lb
            if nj > 0:
                s += la - math.lgamma(nj + a) + t
    return s


@serial_kernel(inline="always")
def _count(XT, code, stride, col, y, ry, w, N):
    """N[(code_i * stride + XT[col, i]) * ry + XT[y, i]] += w_i (col < 0: no extra column)."""
    n = XT.shape[1]
    has_w = w.shape[0] > 0
    xy = XT[y]
    if col >= 0:
        xc = XT[col]
        for i in range(n):
            N[((code[i] * stride + np.int64(xc[i])) * ry + np.int64(xy[i]))] += w[i] if has_w else 1.0
    else:
        for i in range(n):
            N[code[i] * ry + np.int64(xy[i])] += w[i] if has_w else 1.0


@serial_kernel
def family_score(XT, code, m, y, card, q, kind, total, ess, w):
    """Score of node y's family whose parent configurations are ``code`` (n,) in [0, m), with
    q configurations in all (float)."""
    ry = card[y]
    N = np.zeros(m * ry)
    _count(XT, code, 1, -1, y, ry, w, N)
    return _score_table(N, m, ry, q, kind, total, ess)


@parallel_kernel
def family_scores(XT, code, m, y, cands, card, q, kind, total, ess, w, out):
    """out[t] = score of node y with parents (current set) + {cands[t]}; the current set's
    configurations are ``code`` in [0, m) and q of them in all. Candidates in parallel."""
    ry = card[y]
    for t in prange(cands.shape[0]):
        x = cands[t]
        rx = card[x]
        N = np.zeros(m * rx * ry)
        _count(XT, code, rx, x, y, ry, w, N)
        out[t] = _score_table(N, m * rx, ry, q * rx, kind, total, ess)
    return out


@serial_kernel
def family_counts(X, pidx, lo, hi, y, C, w, N):
    """N[config(x_i), x_iy] += w_i over the rows of X: the counts (C^k, C) of one family of the
    model (parents pidx[lo:hi], mixed radix over C), N float64 of shape (C^k * C,)."""
    n = X.shape[0]
    has_w = w.shape[0] > 0
    for i in range(n):
        N[_config(X, i, pidx, lo, hi, C) * C + np.int64(X[i, y])] += w[i] if has_w else 1.0
    return N


# ---------------------------------------------------------------------------------------
# the graph: reachability and the best move of the hill climbing
# ---------------------------------------------------------------------------------------
@serial_kernel
def closure(adj, reach):
    """reach[a, b] = True iff a directed path of length >= 1 leads from a to b in the DAG
    ``adj`` (d, d) bool (adj[a, b]: edge a -> b). Returns False if adj has a cycle."""
    d = adj.shape[0]
    indeg = np.zeros(d, np.int64)
    for a in range(d):
        for b in range(d):
            if adj[a, b]:
                indeg[b] += 1
    order = np.empty(d, np.int64)
    head = 0
    tail = 0
    for v in range(d):
        if indeg[v] == 0:
            order[tail] = v
            tail += 1
    while head < tail:
        v = order[head]
        head += 1
        for b in range(d):
            if adj[v, b]:
                indeg[b] -= 1
                if indeg[b] == 0:
                    order[tail] = b
                    tail += 1
    if tail < d:
        return False
    reach[:, :] = False
    for t in range(d - 1, -1, -1):
        v = order[t]
        for c in range(d):
            if adj[v, c]:
                reach[v, c] = True
                for b in range(d):
                    if reach[c, b]:
                        reach[v, b] = True
    return True


@serial_kernel
def best_move(d_add, d_del, adj, reach, indeg, max_parents, tabu):
    """(kind, x, y, delta) of the best legal move: kind 0 adds x -> y, 1 deletes x -> y,
    2 reverses x -> y; kind -1 when no move is legal. ``d_add[x, y]`` is the score change of
    adding x to y's parents, ``d_del[x, y]`` of removing it; tabu (3, d, d) int counts forbid
    a move while > 0 (a reversal of x -> y also while tabu[2, y, x] > 0). Ties: first found."""
    d = adj.shape[0]
    best = -np.inf
    bk, bx, by = -1, -1, -1
    for x in range(d):
        for y in range(d):
            if x == y:
                continue
            if adj[x, y]:
                if tabu[1, x, y] == 0 and d_del[x, y] > best:
                    best, bk, bx, by = d_del[x, y], 1, x, y
                if tabu[2, x, y] == 0 and tabu[2, y, x] == 0 and indeg[x] < max_parents:
                    delta = d_add[y, x] + d_del[x, y]
                    if delta > best:
                        ok = True       # no other path x -> ... -> y
                        for c in range(d):
                            if c != y and adj[x, c] and reach[c, y]:
                                ok = False
                                break
                        if ok:
                            best, bk, bx, by = delta, 2, x, y
            elif (not adj[y, x] and not reach[y, x] and indeg[y] < max_parents
                  and tabu[0, x, y] == 0 and d_add[x, y] > best):
                best, bk, bx, by = d_add[x, y], 0, x, y
    return bk, bx, by, best


@serial_kernel
def draw_weighted(weights, key, counters, out):
    """out[i] = first k with u_i * sum(weights[i]) < cumsum(weights[i])[k], u_i =
    uniform(key, counters[i]); the last state with positive weight when rounding runs past
    it; a row of zeros keeps out[i] unchanged. ``weights`` (n, C) float64 >= 0."""
    n, C = weights.shape
    for i in range(n):
        total = 0.0
        last = -1
        for k in range(C):
            total += weights[i, k]
            if weights[i, k] > 0:
                last = k
        if last < 0:
            continue
        t = uniform(key, counters[i]) * total
        acc = 0.0
        pick = last
        for k in range(last):
            acc += weights[i, k]
            if t < acc:
                pick = k
                break
        out[i] = pick
    return out
