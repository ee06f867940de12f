"""Numba kernels of mixtures of trees (:class:`fastdgm.treemix.TreeMixture`).

Inputs are trusted (checked in :mod:`fastdgm.models.treemix`): X (n, d) states in [0, C) of any
integer dtype, ``cond`` (K, d, C, C) float64 log-conditionals log P_k(x_j = v | x_parent = u),
``kparent`` (K, d) int64 with the root of each tree its own parent (its table rows all hold
its log-marginal), ``order`` (K, d) int64 breadth-first orders, ``logw`` (K,) log-weights.

Rows go in chunks of ``CHUNK`` (the same as :mod:`fastdgm.kernels.likelihood`), each row
written independently: every result is bit-identical for any number of threads.
Randomness: the component of row i uses ``uniform(substream(key, 0), i)``, element (i, j)
``uniform(key, i * d + j)``, as in ``mixture_sample``.
Slow numpy references are in :mod:`fastdgm.slow.treemix`.
"""
from __future__ import annotations

import numpy as np

from .parallel import chunked_kernel, serial_kernel
from .likelihood import CHUNK, SERIAL_WORK
from .rng import uniform
from .levels import logsumexp

__all__ = ["treemix_log_prob", "treemix_responsibilities", "dirichlet_responsibilities",
           "sparse_pair_counts", "binary_pair_tables"]


@serial_kernel(inline="always")
def tree_component_scores(X, i, cond, kparent, logw, acc):
    """acc[k] = logw[k] + sum_j cond[k, j, X[i, kparent[k, j]], X[i, j]] (j ascending)."""
    K = logw.shape[0]
    d = X.shape[1]
    for k in range(K):
        s = logw[k]
        ck = cond[k]
        pk = kparent[k]
        for j in range(d):
            s += ck[j, X[i, pk[j]], X[i, j]]
        acc[k] = s


@chunked_kernel(items="X.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def treemix_log_prob(c, start, stop, X, cond, kparent, logw, out):
    """out[i] = logsumexp_k (logw[k] + log P_k(x_i))."""
    K = logw.shape[0]
    acc = np.empty(K)
    for i in range(start, stop):
        tree_component_scores(X, i, cond, kparent, logw, acc)
        out[i] = logsumexp(acc, K)


@chunked_kernel(items="X.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def treemix_responsibilities(c, start, stop, X, cond, kparent, logw, resp, out):
    """resp[i, k] = P(z = k | x_i), out[i] = log P(x_i); a row of probability zero gets -inf
    and responsibilities 0 (it carries no weight into the M-step)."""
    K = logw.shape[0]
    acc = np.empty(K)
    for i in range(start, stop):
        tree_component_scores(X, i, cond, kparent, logw, acc)
        lse = logsumexp(acc, K)
        out[i] = lse
        for k in range(K):
            resp[i, k] = 0.0 if lse == -np.inf else np.exp(acc[k] - lse)


@chunked_kernel(items="out.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def dirichlet_responsibilities(c, start, stop, key, row0, out):
    """EM initialisation: out[i, k] proportional to -log(1 - u) + 1e-12 with
    u = uniform(key, (row0 + i) * K + k) for row i of a block starting at row ``row0`` of
    the data set, rows normalised (Dirichlet(1) rows), as in
    ``_likelihood_kernels.random_resp_stats``."""
    K = out.shape[1]
    for i in range(start, stop):
        s = 0.0
        for k in range(K):
            r = -np.log1p(-uniform(key, (row0 + i) * K + k)) + 1e-12
            out[i, k] = r
            s += r
        for k in range(K):
            out[i, k] /= s


@chunked_kernel(items="W.shape[0]", serial_below=SERIAL_WORK)
def sparse_pair_counts(c, start, stop, indptr, indices, W, G):
    """G[k, a, b] += sum_i W[k, i] over rows i whose active set (indices[indptr[i]:indptr[i+1]],
    ascending) holds both a <= b: the weighted co-occurrence counts of the 1s of binary data,
    upper triangle and diagonal only. Parallel over components, rows summed in order inside
    each (components ``[start, stop)`` here): bit-identical for any number of threads.
    O(sum_i nnz_i^2 / 2) per component."""
    n = indptr.shape[0] - 1
    for k in range(start, stop):
        Gk = G[k]
        Wk = W[k]
        for i in range(n):
            wi = Wk[i]
            if wi == 0.0:
                continue
            s = indptr[i]
            e = indptr[i + 1]
            for p in range(s, e):
                row = Gk[indices[p]]
                for q in range(p, e):
                    row[indices[q]] += wi


@chunked_kernel(items="G.shape[1]", serial_below=SERIAL_WORK)
def binary_pair_tables(c, start, stop, G, total, flip, N):
    """Joint counts N[k, a, b] (2, 2) of binary data from the co-occurrences of its 1s,
    G[k, min(a, b), max(a, b)] (upper triangle and diagonal, as ``sparse_pair_counts``
    leaves them), of the total weights total[k]; the states of a column with flip[a] set are
    swapped back (rows a in ``[start, stop)`` here). Differences that round below 0 are
    clipped to 0."""
    K, d, _ = G.shape
    for a in range(start, stop):
        for k in range(K):
            Gk = G[k]
            sa = Gk[a, a]
            fa = 1 if flip[a] else 0
            for b in range(d):
                g = Gk[a, b] if a <= b else Gk[b, a]
                sb = Gk[b, b]
                fb = 1 if flip[b] else 0
                o = N[k, a, b]
                o[1 ^ fa, 1 ^ fb] = g
                o[1 ^ fa, fb] = max(sa - g, 0.0)
                o[fa, 1 ^ fb] = max(sb - g, 0.0)
                o[fa, fb] = max((total[k] - sa - sb) + g, 0.0)


