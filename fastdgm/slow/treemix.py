"""Slow, obviously-correct numpy references of :mod:`fastdgm.models.treemix` and
:mod:`fastdgm.kernels.treemix` (EM of a mixture of trees, sampling), and of exact
inference with missing entries by enumeration (:mod:`fastdgm.models._missing`).

Trees are (parents (K, d) with -1 at the root, log-conditionals (K, d, C, C) whose root
row 0 is the root's log-marginal). Loops and plain formulas, no shared code with the fast path.
"""
from __future__ import annotations

import itertools

import numpy as np

__all__ = ["tree_log_probs", "mixture_log_prob", "m_step", "objective", "em", "sample",
           "missing_log_prob", "conditional_probs", "treemix_log_prob_numpy",
           "weighted_gram_counts_numpy", "tree_missing_log_prob_numpy"]


def tree_log_probs(X, parents, logcond):
    """(n, K) log P_k(x_i), by loops."""
    X = np.asarray(X)
    n, d = X.shape
    K = parents.shape[0]
    out = np.zeros((n, K))
    for k in range(K):
        for i in range(n):
            s = 0.0
            for j in range(d):
                p = parents[k, j]
                s += logcond[k, j, 0 if p < 0 else X[i, p], X[i, j]]
            out[i, k] = s
    return out


def _logsumexp_rows(a):
    m = a.max(axis=1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return (m + np.log(np.exp(a - m).sum(axis=1, keepdims=True)))[:, 0]


def mixture_log_prob(X, logw, parents, logcond):
    """(n,) log sum_k w_k P_k(x_i)."""
    return _logsumexp_rows(tree_log_probs(X, parents, logcond) + logw[None, :])


def _pair_counts(X, C, wk):
    n, d = X.shape
    N = np.zeros((d, d, C, C))
    for a in range(d):
        for b in range(d):
            np.add.at(N[a, b], (X[:, a], X[:, b]), wk)
    return N


def _max_spanning_tree_kruskal(mi):
    """Kruskal on the edges sorted by decreasing weight; parents oriented from root 0."""
    d = mi.shape[0]
    comp = list(range(d))

    def find(a):
        while comp[a] != a:
            a = comp[a]
        return a

    adj = [[] for _ in range(d)]
    for w, a, b in sorted(((mi[a, b], a, b) for a in range(d) for b in range(a + 1, d)),
                          key=lambda t: -t[0]):
        ra, rb = find(a), find(b)
        if ra != rb:
            comp[ra] = rb
            adj[a].append(b)
            adj[b].append(a)
    parent = -np.ones(d, dtype=np.int64)
    seen, stack = {0}, [0]
    while stack:
        u = stack.pop()
        for v in adj[u]:
            if v not in seen:
                seen.add(v)
                parent[v] = u
                stack.append(v)
    return parent


def _prior_rows(Q, parent, j, shrink):
    """The shrinkage pseudo-counts of table j: shrink * Q(x_j) for the root (C,), else
    shrink * Q(x_j | x_parent = u) for each row u (C, C), 0 where Q(u) = 0."""
    C = Q.shape[-1]
    if shrink == 0:
        return np.zeros(C) if parent[j] < 0 else np.zeros((C, C))
    if parent[j] < 0:
        return shrink * np.array([Q[j, j, v, v] for v in range(C)])
    T = Q[parent[j], j]
    out = np.zeros((C, C))
    for u in range(C):
        if T[u].sum() > 0:
            out[u] = shrink * T[u] / T[u].sum()
    return out


def _tables(N, nk, parent, alpha, C, Q=None, shrink=0.0):
    d = parent.shape[0]
    lc = np.zeros((d, C, C))
    score = 0.0
    for j in range(d):
        if Q is not None and shrink > 0:
            N = N.copy()
            if parent[j] < 0:
                N[j, j] += np.diag(_prior_rows(Q, parent, j, shrink))
            else:
                N[parent[j], j] += _prior_rows(Q, parent, j, shrink)
        if parent[j] < 0:
            cnt = np.array([N[j, j, v, v] for v in range(C)])
            nk = cnt.sum()
            with np.errstate(divide="ignore", invalid="ignore"):
                lc[j] = np.log((cnt + alpha) / (nk + alpha * C))[None, :]
            for v in range(C):
                if cnt[v] + alpha > 0:
                    score += (cnt[v] + alpha) * lc[j, 0, v]
        else:
            T = N[parent[j], j]
            for u in range(C):
                den = T[u].sum() + alpha * C
                for v in range(C):
                    with np.errstate(divide="ignore"):
                        lc[j, u, v] = np.log((T[u, v] + alpha) / den) if den > 0 else -np.log(C)
                    if T[u, v] + alpha > 0:
                        score += (T[u, v] + alpha) * lc[j, u, v]
    return lc, score


def _prune(N, nk, parent, lc, alpha, C, Q, shrink, penalty):
    """Forest of the tree ``parent`` (tables lc from :func:`_tables`): child j drops its edge
    unless sum (T + s Q(.|.) + alpha) log P(v | u) - penalty > sum (N_j + s Q_j + alpha) log m_j,
    m_j its smoothed marginal, put in every row. Returns (lc, pruned (d,) bool, score change)."""
    lc = lc.copy()
    d = parent.shape[0]
    pruned = np.zeros(d, dtype=bool)
    delta = 0.0
    for j in range(d):
        if parent[j] < 0:
            continue
        T = N[parent[j], j] + (_prior_rows(Q, parent, j, shrink) if shrink > 0 else 0.0)
        edge = sum((T[u, v] + alpha) * lc[j, u, v] for u in range(C) for v in range(C) if T[u, v] + alpha > 0)
        cnt = np.array([N[j, j, v, v] + (shrink * Q[j, j, v, v] if shrink > 0 else 0.0) for v in range(C)])
        den = cnt.sum() + alpha * C
        with np.errstate(divide="ignore"):
            m = np.log((cnt + alpha) / den) if den > 0 else np.full(C, -np.log(C))
        marg = sum((cnt[v] + alpha) * m[v] for v in range(C) if cnt[v] + alpha > 0)
        if edge - penalty > marg:
            delta -= penalty
        else:
            pruned[j] = True
            lc[j] = m[None, :]
            delta += marg - edge
    return lc, pruned, delta


def _penalty(prune, C, total):
    return np.inf if prune == np.inf else prune * (C - 1) ** 2 * np.log(max(total, 2.0)) / 2


def m_step(X, C, R, w, alpha, prev_parents=None, shrink=0.0, prune=0.0):
    """Weights, trees and smoothed tables from responsibilities R (n, K) and weights w (n,).

    Tree k: maximum spanning tree of the weighted mutual informations (Kruskal), rooted at 0;
    the previous tree is kept if its smoothed score sum (N + alpha) log p is strictly higher.
    ``shrink`` = s: row u of each table gets the pseudo-counts s * Q(x_j | x_parent = u), Q the
    pair distribution of the (weighted) data; the tree is that of the raw counts.
    ``prune`` > 0: each tree (new and previous) is cut to its best forest (:func:`_prune`)
    before the scores are compared. Returns (logw, parents, logcond, pruned (K, d) bool)."""
    X = np.asarray(X)
    n, d = X.shape
    K = R.shape[1]
    total = w.sum()
    Q = _pair_counts(X, C, w) / total
    logw = np.log(np.array([(w * R[:, k]).sum() for k in range(K)]) / total)
    parents = np.zeros((K, d), dtype=np.int64)
    logcond = np.zeros((K, d, C, C))
    pruned = np.zeros((K, d), dtype=bool)
    penalty = _penalty(prune, C, total)
    for k in range(K):
        wk = w * R[:, k]
        nk = wk.sum()
        N = _pair_counts(X, C, wk)
        mi = np.zeros((d, d))
        for a in range(d):
            for b in range(d):
                if a == b:
                    continue
                P = N[a, b] / nk
                pa, pb = P.sum(axis=1), P.sum(axis=0)
                mi[a, b] = sum(P[u, v] * np.log(P[u, v] / (pa[u] * pb[v]))
                               for u in range(C) for v in range(C) if P[u, v] > 0)
        parent = _max_spanning_tree_kruskal(mi)

        def forest(parent):
            lc, score = _tables(N, nk, parent, alpha, C, Q, shrink)
            cut = np.zeros(d, dtype=bool)
            if prune > 0:
                lc, cut, delta = _prune(N, nk, parent, lc, alpha, C, Q, shrink, penalty)
                score += delta
            return lc, score, cut

        lc, score, cut = forest(parent)
        if prev_parents is not None and not np.array_equal(parent, prev_parents[k]):
            lc_old, score_old, cut_old = forest(prev_parents[k])
            same = np.array_equal(np.where(cut_old, -1, prev_parents[k]), np.where(cut, -1, parent))
            if score_old > score and not same:
                parent, lc, cut = prev_parents[k].copy(), lc_old, cut_old
        parents[k] = parent
        logcond[k] = lc
        pruned[k] = cut
    return logw, parents, logcond, pruned


def objective(X, w, logw, parents, logcond, alpha, shrink=0.0, pruned=None, prune=0.0):
    """(sum_i w_i log P(x_i) + alpha * sum of every table's log-probabilities
    + shrink * sum of Q(v | u) log P_k(v | u) over each tree's cells, Q the data's pair
    distribution, - penalty * number of kept edges) / sum_i w_i; a ``pruned`` child's table
    counts as a root's (its marginal, row 0, once)."""
    ll = float((w * mixture_log_prob(X, logw, parents, logcond)).sum())
    Q = _pair_counts(np.asarray(X), logcond.shape[-1], w) / w.sum()
    prior = extra = extra_pen = 0.0
    for k in range(parents.shape[0]):
        for j in range(parents.shape[1]):
            p = -1 if pruned is not None and pruned[k, j] else parents[k, j]
            q = _prior_rows(Q, np.where(np.arange(parents.shape[1]) == j, p, parents[k]), j, 1.0)                   # (C,) root, (C, C) edge
            lp = logcond[k, j, 0] if p < 0 else logcond[k, j]
            prior += lp.sum()
            extra += float((q[q > 0] * lp[q > 0]).sum())
            if prune > 0 and p >= 0:
                extra_pen += _penalty(prune, logcond.shape[-1], float(w.sum()))
    return (ll + (alpha * prior if alpha > 0 else 0.0) + (shrink * extra if shrink > 0 else 0.0)
            - extra_pen) / w.sum()


def em(X, C, K, key, alpha, n_iter, w=None, shrink=0.0, prune=0.0):
    """EM from Dirichlet(1) responsibilities u = uniform(key, i * K + k): returns the list of
    (logw, parents, logcond, objective) after the initial M-step and each further iteration."""
    from .likelihood import random_responsibilities

    X = np.asarray(X)
    w = np.ones(X.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
    R = random_responsibilities(key, X.shape[0], K)
    logw, parents, logcond, pruned = m_step(X, C, R, w, alpha, shrink=shrink, prune=prune)
    out = []
    for it in range(n_iter):
        out.append((logw, parents, logcond, objective(X, w, logw, parents, logcond, alpha, shrink, pruned, prune)))
        L = tree_log_probs(X, parents, logcond) + logw[None, :]
        R = np.exp(L - _logsumexp_rows(L)[:, None])
        logw, parents, logcond, pruned = m_step(X, C, R, w, alpha, parents, shrink, prune)
    return out


def sample(logw, parents, logcond, key, n):
    """Reference of TreeMixture.sample: component from uniform(substream(key, 0), i), then
    ancestral sampling in breadth-first order with uniform(key, i * d + j)."""
    from .._rng import substream_ref, uniform_ref

    K, d = parents.shape
    wl = np.cumsum(np.exp(logw))
    wl /= wl[-1]
    zkey = substream_ref(int(key), 0)
    out = np.zeros((n, d), dtype=np.int64)
    for i in range(n):
        z = int(np.searchsorted(wl, uniform_ref(zkey, i), side="right"))
        order = [int(np.flatnonzero(parents[z] < 0)[0])]
        for j in order:
            order.extend(int(c) for c in np.flatnonzero(parents[z] == j))
        for j in order:
            p = parents[z, j]
            lv = np.cumsum(np.exp(logcond[z, j, 0 if p < 0 else out[i, p]]))
            lv /= lv[-1]
            out[i, j] = int(np.searchsorted(lv, uniform_ref(key, i * d + j), side="right"))
    return out


def _completions(x, mask, C):
    """All rows equal to x on the observed entries, every state on the missing ones."""
    x = np.asarray(x)
    mis = np.flatnonzero(mask)
    rows = np.repeat(x[None, :], C ** mis.size, axis=0).astype(np.int64)
    for r, vals in enumerate(itertools.product(range(C), repeat=mis.size)):
        rows[r, mis] = vals
    return rows


def missing_log_prob(model, x, mask):
    """log sum over the missing entries' states of P(x), by enumeration (one row x (d,))."""
    lp = model.log_prob(_completions(x, mask, model.n_states))
    m = lp.max()
    return m + np.log(np.exp(lp - m).sum()) if np.isfinite(m) else m


def conditional_probs(model, x, mask):
    """(completions (C^m, d), their conditional probabilities P(x_mis | x_obs))."""
    rows = _completions(x, mask, model.n_states)
    p = np.exp(model.log_prob(rows))
    return rows, p / p.sum()


# --- the numpy idioms the benchmarks time against ------------------------------------------
def treemix_log_prob_numpy(X, logw, parents, logcond):
    """Vectorised over rows: per component a gather per column, then a logsumexp over K."""
    K, d = parents.shape
    X = np.asarray(X)
    L = np.empty((X.shape[0], K))
    for k in range(K):
        s = np.full(X.shape[0], logw[k])
        for j in range(d):
            p = parents[k, j]
            s += logcond[k, j, 0 if p < 0 else X[:, p], X[:, j]]
        L[:, k] = s
    return _logsumexp_rows(L)


def weighted_gram_counts_numpy(X, W):
    """Binary data: the (1, 1) pair counts of each weighting by BLAS, (K, d, d):
    G[k] = (X * W[:, k])^T X."""
    Xf = np.asarray(X, dtype=np.float64)
    return np.stack([(Xf * W[:, k:k + 1]).T @ Xf for k in range(W.shape[1])])


def weighted_onehot_counts_numpy(X, C, W):
    """Any C: the pair counts of each weighting by BLAS, (K, d C, d C):
    N[k] = (O * W[:, k])^T O, O the float64 one-hot encoding (n, d C) of X (the numpy idiom)."""
    X = np.asarray(X)
    O = (X[:, :, None] == np.arange(C)).reshape(X.shape[0], -1).astype(np.float64)
    return np.stack([(O * W[:, k:k + 1]).T @ O for k in range(W.shape[1])])


def tree_missing_log_prob_numpy(X, M, parent, logcond):
    """Upward pass vectorised over rows: beta (n, d, C), messages by a logsumexp over (n, C, C)."""
    X = np.asarray(X)
    n, d = X.shape
    C = logcond.shape[2]
    order = [int(np.flatnonzero(parent < 0)[0])]
    for j in order:
        order.extend(int(c) for c in np.flatnonzero(parent == j))
    with np.errstate(divide="ignore"):
        beta = np.where(M[:, :, None] | (X[:, :, None] == np.arange(C)), 0.0, -np.inf)
    for j in order[:0:-1]:
        a = logcond[j][None, :, :] + beta[:, j, None, :]
        m = a.max(axis=2, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        with np.errstate(divide="ignore"):
            beta[:, parent[j]] += (m + np.log(np.exp(a - m).sum(axis=2, keepdims=True)))[:, :, 0]
    r = order[0]
    a = logcond[r, 0][None, :] + beta[:, r]
    return _logsumexp_rows(a)
