"""Numba kernels of exact inference with missing entries (:mod:`fastdgm.models._missing`).

Two model forms cover the four models:

- *mixture form*: P(x) = sum_k w_k prod_j T[j, x_j, k], T (d, C, K) log-tables, logw (K,)
  (a Factorized model is the case K = 1, logw = [0]);
- *tree form*: P(x) = sum_k w_k P_k(x), P_k a tree with log-conditionals cond (K, d, C, C),
  parents kparent (K, d) (root = its own parent), breadth-first orders order (K, d)
  (a ChowLiuTree is the case K = 1).

Inputs are trusted: X (n, d) states in [0, C) (any value at a missing entry, e.g. 0),
M (n, d) bool, True = missing. Each row is independent, rows go in chunks of ``CHUNK``:
results are bit-identical for any number of threads. Randomness: the component of row i
uses ``uniform(substream(key, 0), i)`` and entry (i, j) ``uniform(key, i * d + j)``.
A row whose observed entries have probability zero gets log-probability -inf and is left
as it is by the fill kernels (the caller raises).

Slow references: :mod:`fastdgm.slow.missing`.
"""
from __future__ import annotations

import numpy as np

from .parallel import chunked_kernel, serial_kernel
from .likelihood import CHUNK, SERIAL_WORK
from .rng import substream, uniform
from .levels import logsumexp, softmax_weights, threshold_levels, threshold_weights

__all__ = ["mixture_missing_log_prob", "mixture_fill", "tree_missing_log_prob", "tree_fill"]


# ---------------------------------------------------------------------------------------
# mixture form
# ---------------------------------------------------------------------------------------
@serial_kernel(inline="always")
def _masked_scores(X, M, i, T, logw, acc):
    """acc[k] = logw[k] + sum over observed j of T[j, X[i, j], k]."""
    K = logw.shape[0]
    for k in range(K):
        acc[k] = logw[k]
    for j in range(X.shape[1]):
        if not M[i, j]:
            t = T[j, X[i, j]]
            for k in range(K):
                acc[k] += t[k]


@serial_kernel(inline="always")
def _copy_row_and_draw_component(X, i, acc, K, wk, zkey, out, lp):
    """The start of a fill of row i from its components' scores acc (K,) (log weight plus
    log-likelihood of the observed entries): lp[i] = log P(observed), out[i] = X[i], and the
    component drawn from P(z | observed) by thresholding (-1 if the row has probability 0)."""
    lp[i] = logsumexp(acc, K)
    for j in range(X.shape[1]):
        out[i, j] = X[i, j]
    if lp[i] == -np.inf:
        return -1
    s = softmax_weights(acc, K, wk)
    return threshold_weights(wk, K, s, uniform(zkey, i))


@chunked_kernel(items="X.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def mixture_missing_log_prob(c, start, stop, X, M, T, logw, out):
    """out[i] = log sum_k w_k prod_{j observed} P_k(x_ij): the missing entries summed out."""
    K = logw.shape[0]
    acc = np.empty(K)
    for i in range(start, stop):
        _masked_scores(X, M, i, T, logw, acc)
        out[i] = logsumexp(acc, K)


@chunked_kernel(items="X.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def mixture_fill(c, start, stop, X, M, T, logw, levels, key, out, lp):
    """out = X with each missing entry drawn from the exact conditional: component z_i from
    P(z | observed) (thresholding its weights), then entry j from levels[z_i, j] (K, d, C).
    lp[i] = log P(observed entries of row i)."""
    d = X.shape[1]
    K = logw.shape[0]
    zkey = substream(key, 0)
    acc = np.empty(K)
    wk = np.empty(K)
    for i in range(start, stop):
        _masked_scores(X, M, i, T, logw, acc)
        z = _copy_row_and_draw_component(X, i, acc, K, wk, zkey, out, lp)
        if z < 0:
            continue
        for j in range(d):
            if M[i, j]:
                out[i, j] = threshold_levels(levels[z, j], uniform(key, i * d + j))


# ---------------------------------------------------------------------------------------
# tree form
# ---------------------------------------------------------------------------------------
@serial_kernel(inline="always")
def _tree_upward(X, M, i, cond, parent, order, beta, tmp):
    """Upward (leaves -> root) pass of one tree on row i; returns log P(observed entries).

    beta[j, v] = log P(evidence in the subtree of j | x_j = v): the evidence indicator of j
    (0 if missing, else 0 at v = X[i, j] and -inf elsewhere) plus the children's messages
    m_c(v) = logsumexp_w (cond[c, v, w] + beta[c, w]). cond (d, C, C), parent/order (d,).
    tmp: (C,) scratch. O(d C^2) for missing entries, O(d C) for observed ones.
    """
    d = beta.shape[0]
    C = beta.shape[1]
    for j in range(d):
        if M[i, j]:
            for v in range(C):
                beta[j, v] = 0.0
        else:
            for v in range(C):
                beta[j, v] = -np.inf
            beta[j, X[i, j]] = 0.0
    for t in range(d - 1, 0, -1):
        j = order[t]
        p = parent[j]
        cj = cond[j]
        if M[i, j]:
            for u in range(C):
                for v in range(C):
                    tmp[v] = cj[u, v] + beta[j, v]
                beta[p, u] += logsumexp(tmp, C)
        else:
            x = X[i, j]
            bx = beta[j, x]
            for u in range(C):
                beta[p, u] += cj[u, x] + bx
    r = order[0]
    for v in range(C):
        tmp[v] = cond[r, 0, v] + beta[r, v]
    return logsumexp(tmp, C)


@serial_kernel(inline="always")
def _tree_scores(X, M, i, cond, kparent, order, logw, beta, tmp, acc):
    """acc[k] = logw[k] + log P_k(observed entries of row i) for every tree k."""
    for k in range(logw.shape[0]):
        acc[k] = logw[k] + _tree_upward(X, M, i, cond[k], kparent[k], order[k], beta, tmp)


@chunked_kernel(items="X.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def tree_missing_log_prob(c, start, stop, X, M, cond, kparent, order, logw, out):
    """out[i] = log sum_k w_k P_k(observed entries of row i)."""
    d = X.shape[1]
    K = logw.shape[0]
    C = cond.shape[3]
    acc = np.empty(K)
    beta = np.empty((d, C))
    tmp = np.empty(C)
    for i in range(start, stop):
        _tree_scores(X, M, i, cond, kparent, order, logw, beta, tmp, acc)
        out[i] = logsumexp(acc, K)


@chunked_kernel(items="X.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def tree_fill(c, start, stop, X, M, cond, kparent, order, logw, key, out, lp):
    """out = X with the missing entries of each row drawn jointly from the exact conditional:
    component z from P(z | observed), the upward pass of tree z, then downward: the root
    (if missing) from exp(cond[root, 0, v] + beta[root, v]), each missing child j given its
    parent's (drawn or observed) state s from exp(cond[j, s, v] + beta[j, v]).
    lp[i] = log P(observed entries of row i)."""
    d = X.shape[1]
    K = logw.shape[0]
    C = cond.shape[3]
    zkey = substream(key, 0)
    acc = np.empty(K)
    wk = np.empty(K)
    beta = np.empty((d, C))
    tmp = np.empty(C)
    wc = np.empty(C)
    for i in range(start, stop):
        _tree_scores(X, M, i, cond, kparent, order, logw, beta, tmp, acc)
        z = _copy_row_and_draw_component(X, i, acc, K, wk, zkey, out, lp)
        if z < 0:
            continue
        if z != K - 1:   # beta holds the last tree's messages: redo the pass of tree z
            _tree_upward(X, M, i, cond[z], kparent[z], order[z], beta, tmp)
        cz = cond[z]
        pz = kparent[z]
        for t in range(d):
            j = order[z, t]
            if not M[i, j]:
                continue
            pj = pz[j]
            ps = 0 if pj == j else out[i, pj]
            for v in range(C):
                tmp[v] = cz[j, ps, v] + beta[j, v]
            s = softmax_weights(tmp, C, wc)
            out[i, j] = threshold_weights(wc, C, s, uniform(key, i * d + j))


