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
from .parallel import chunked_kernel, parallel_kernel, serial_kernel
from .rng import uniform

__all__ = ["bn_log_prob", "bn_sample", "dense_codes", "family_scores", "family_counts",
           "family_score", "family_scores_without", "closure", "drop_reach", "best_move", "draw_weighted", "BIC", "BDEU"]

BIC = 0
BDEU = 1


@serial_kernel(inline="always")
def _config(X, i, pidx, lo, hi, C):
    """Row of the conditional table of a node whose parents are pidx[lo:hi], for row i of X."""
    code = 0
    for t in range(lo, hi):
        code = code * C + np.int64(X[i, pidx[t]])
    return code


@chunked_kernel(items="X.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def bn_log_prob(c, start, stop, X, pptr, pidx, offsets, log_cpt, out):
    """out[i] = sum_j log_cpt[offsets[j] + config_j(x_i), x_ij] (j ascending)."""
    d = X.shape[1]
    C = log_cpt.shape[1]
    for i in range(start, stop):
        s = 0.0
        for j in range(d):
            r = offsets[j] + _config(X, i, pidx, pptr[j], pptr[j + 1], C)
            s += log_cpt[r, X[i, j]]
        out[i] = s


@chunked_kernel(items="out.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def bn_sample(c, start, stop, levels, pptr, pidx, offsets, order, key, row0, out):
    """Ancestral sampling in topological ``order``: out[i, j] = threshold(levels[offsets[j] +
    config_j(out[i])], uniform(key, (row0 + i) * d + j))."""
    d = out.shape[1]
    C = levels.shape[1]
    for i in range(start, stop):
        for t in range(d):
            j = order[t]
            r = offsets[j] + _config(out, i, pidx, pptr[j], pptr[j + 1], C)
            out[i, j] = threshold_levels(levels[r], uniform(key, (row0 + i) * d + j))


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
def _score_table(N, m, r, q, kind, total, ess, xlx):
    """Score of a family from its counts N (m * r,), row j = configuration, column = child
    state; q = number of parent configurations (all of them, observed or not, float).

    BIC: sum N_jk log(N_jk / N_j) - 0.5 log(total) q (r - 1).
    BDeu: sum over observed j of lgamma(a) - lgamma(N_j + a) + sum_k lgamma(N_jk + b) - lgamma(b),
    a = ess / q, b = ess / (q r) (unobserved configurations contribute 0).
    ``xlx`` (n + 1,): v log v for the integer counts v = 0 .. n of unweighted data, looked up
    instead of computed (BIC only); empty with weights.
    """
    s = 0.0
    if kind == BIC:
        if xlx.shape[0] > 0:
            for j in range(m):
                nj = 0
                for k in range(r):
                    v = np.int64(N[j * r + k])
                    nj += v
                    s += xlx[v]
                s -= xlx[nj]
        else:
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
def _count(base, xc, stride, w, N):
    """N[xc_i * stride + base_i] += w_i (w empty: 1), the counts of a family whose rows are
    ``base`` (n,) and extra parent column ``xc`` (n,) (empty: no extra parent)."""
    n = base.shape[0]
    if xc.shape[0] == 0:
        if w.shape[0] > 0:
            for i in range(n):
                N[base[i]] += w[i]
        else:
            for i in range(n):
                N[base[i]] += 1.0
    elif w.shape[0] > 0:
        for i in range(n):
            N[np.int64(xc[i]) * stride + base[i]] += w[i]
    else:
        for i in range(n):
            N[np.int64(xc[i]) * stride + base[i]] += 1.0


@serial_kernel(inline="always")
def _base(XT, code, y, ry):
    """code_i * ry + y_i: the cell of row i in the table of y given the parent configurations."""
    n = XT.shape[1]
    base = np.empty(n, np.int64)
    for i in range(n):
        base[i] = code[i] * ry + np.int64(XT[y, i])
    return base


@serial_kernel
def family_score(XT, code, m, y, card, q, kind, total, ess, w, xlx):
    """Score of node y's family whose parent configurations are ``code`` (n,) in [0, m), with
    q configurations in all (float)."""
    ry = card[y]
    N = np.zeros(m * ry)
    _count(_base(XT, code, y, ry), XT[y, :0], 0, w, N)
    return _score_table(N, m, ry, q, kind, total, ess, xlx)


@serial_kernel
def family_scores_without(XT, parents, y, card, kind, total, ess, w, xlx, out):
    """out[t] = score of node y with parents ``parents`` (sorted) minus parents[t]: the
    families of the deletions, each as :func:`family_score` computes it."""
    k = parents.shape[0]
    sub = np.empty(max(k - 1, 0), np.int64)
    for t in range(k):
        q = 1.0
        u = 0
        for s in range(k):
            if s != t:
                sub[u] = parents[s]
                q *= np.float64(card[parents[s]])
                u += 1
        code, m = dense_codes(XT, sub, card)
        out[t] = family_score(XT, code, m, y, card, q, kind, total, ess, w, xlx)
    return out


@serial_kernel(inline="always")
def _count4(base, x0, x1, x2, x3, o0, o1, o2, o3, M, w, N):
    """Four families' counts in one pass: N[o_k + x_k[i] * M + base_i] += w_i (w empty: 1),
    k = 0 .. 3. Four independent tables hide the latency of incrementing the same cell row
    after row (skewed columns)."""
    n = base.shape[0]
    if w.shape[0] > 0:
        for i in range(n):
            b = base[i]
            v = w[i]
            N[o0 + np.int64(x0[i]) * M + b] += v
            N[o1 + np.int64(x1[i]) * M + b] += v
            N[o2 + np.int64(x2[i]) * M + b] += v
            N[o3 + np.int64(x3[i]) * M + b] += v
    else:
        for i in range(n):
            b = base[i]
            N[o0 + np.int64(x0[i]) * M + b] += 1.0
            N[o1 + np.int64(x1[i]) * M + b] += 1.0
            N[o2 + np.int64(x2[i]) * M + b] += 1.0
            N[o3 + np.int64(x3[i]) * M + b] += 1.0


@parallel_kernel
def family_scores(XT, code, m, y, cands, card, q, kind, total, ess, w, xlx, out):
    """out[t] = score of node y with parents (current set) + {cands[t]}; the current set's
    configurations are ``code`` in [0, m) and q of them in all. Candidates counted four at a
    time, blocks of four in parallel; the new parent is the most significant digit of a
    configuration."""
    ry = card[y]
    M = m * ry
    base = _base(XT, code, y, ry)
    T = cands.shape[0]
    for blk in prange((T + 3) // 4):
        t0 = blk * 4
        # a short last block repeats its last candidate (counted, not reported)
        xs = np.empty(4, np.int64)
        start = np.zeros(5, np.int64)
        for k in range(4):
            xs[k] = cands[min(t0 + k, T - 1)]
            start[k + 1] = start[k] + card[xs[k]] * M
        N = np.zeros(start[4])
        _count4(base, XT[xs[0]], XT[xs[1]], XT[xs[2]], XT[xs[3]], start[0], start[1], start[2],
                start[3], M, w, N)
        for k in range(min(4, T - t0)):
            rx = card[xs[k]]
            out[t0 + k] = _score_table(N[start[k]:start[k + 1]], m * rx, ry, q * rx, kind, total, ess, xlx)
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
    for t in range(d - 1, -1, -1):
        _rebuild_row(adj, reach, order[t])
    return True


@serial_kernel(inline="always")
def _rebuild_row(adj, reach, v):
    """reach[v] from the rows of v's children (already right): each child and what it reaches."""
    d = adj.shape[0]
    reach[v, :] = False
    for c in range(d):
        if adj[v, c]:
            reach[v, c] = True
            for b in range(d):
                if reach[c, b]:
                    reach[v, b] = True


@serial_kernel
def drop_reach(adj, reach, x):
    """Update ``reach`` (as :func:`closure` makes it) after the removal of an edge x -> .
    already made in ``adj``: only x and its ancestors can lose descendants; their rows are
    rebuilt, children before parents."""
    d = adj.shape[0]
    anc = np.empty(d, np.int64)
    na = 0
    for a in range(d):
        if a == x or reach[a, x]:
            anc[na] = a
            na += 1
    inset = np.zeros(d, np.bool_)
    for t in range(na):
        inset[anc[t]] = True
    left = np.zeros(d, np.int64)          # children still to rebuild, within the set
    for t in range(na):
        a = anc[t]
        for c in range(d):
            if adj[a, c] and inset[c]:
                left[a] += 1
    ready = np.empty(na, np.int64)
    head = 0
    tail = 0
    for t in range(na):
        if left[anc[t]] == 0:
            ready[tail] = anc[t]
            tail += 1
    while head < tail:
        a = ready[head]
        head += 1
        _rebuild_row(adj, reach, a)
        for p in range(d):
            if adj[p, a] and inset[p]:
                left[p] -= 1
                if left[p] == 0:
                    ready[tail] = p
                    tail += 1
    return reach


@serial_kernel
def best_move(d_add, d_del, adj, reach, indeg, max_parents, tabu, grow, shrink, room):
    """(kind, x, y, delta) of the best legal move: kind 0 adds x -> y, 1 deletes x -> y,
    2 reverses x -> y; kind -1 when no move is legal. ``d_add[x, y]`` is the score change of
    adding x to y's parents, ``d_del[x, y]`` of removing it; tabu (3, d, d) int counts forbid
    a move while > 0 (a reversal of x -> y also while tabu[2, y, x] > 0). Table cells: a
    parent more of node j adds ``grow[j]`` cells, one less removes ``shrink[j]`` (float64 (d,));
    a move may add at most ``room`` cells in all. Ties: first found."""
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
                if (tabu[2, x, y] == 0 and tabu[2, y, x] == 0 and indeg[x] < max_parents
                        and grow[x] - shrink[y] <= room):
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
                  and tabu[0, x, y] == 0 and d_add[x, y] > best and grow[y] <= room):
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
