"""Numba kernels of the pairwise statistics of :mod:`fastdgm.models._cooccurrence`.

Everything here trusts its inputs (checked by :mod:`fastdgm.models._cooccurrence`).

*Events.* Element (i, j) of X with state x != 0 is the event ``e = j * (C - 1) + x - 1`` of
row i; state 0 is the background and makes no event. A row's events come in ascending
order (columns ascending). The co-occurrence kernels count, for every pair of events
e <= f, the rows holding both -- the counts N[a, u, b, v] with u, v >= 1; the entries with a
0 state follow exactly from the marginals (see :func:`fastdgm.pairwise.expand_reduced`).
Their counts are integers: the partition of rows over threads does not change any bit.

*Mutual information.* :func:`mutual_info_from_counts` runs, pair by pair, the arithmetic of
the per-pair twin in tests/pair_kernel.py (same operations in the same order), so
on the same (exact integer) counts it returns the same bits.
"""
from __future__ import annotations

import numpy as np

from .parallel import chunked_kernel, serial_kernel

__all__ = ["cooc_dense", "cooc_csr", "weighted_pair_tables", "mutual_info_from_counts", "table_mutual_info"]


@serial_kernel(inline="always")
def _add_pairs(ev, m, U):
    """U[e, f] += 1 for every pair p <= q of the m events ev[:m] (ascending): upper triangle."""
    for p in range(m):
        row = U[ev[p]]
        for q in range(p, m):
            row[ev[q]] += 1


def _cooc_dense(c, start, stop, X, C, bounds, U):
    """U[s] (S, D, D) integer: upper-triangle event co-occurrences of rows [bounds[s], bounds[s+1]).

    X (n, d) states in [0, C); D = d (C - 1). U must be zeroed by the caller.
    """
    d = X.shape[1]
    for s in range(start, stop):
        ev = np.empty(d, dtype=np.int64)
        Us = U[s]
        for i in range(bounds[s], bounds[s + 1]):
            m = 0
            for j in range(d):
                x = X[i, j]
                if x != 0:
                    ev[m] = j * (C - 1) + x - 1
                    m += 1
            _add_pairs(ev, m, Us)


cooc_dense = chunked_kernel(_cooc_dense, items="U.shape[0]")


def _cooc_csr(c, start, stop, indptr, indices, data, C, bounds, U):
    """As :func:`_cooc_dense` for X in CSR form (indices ascending within a row, no duplicates);
    stored zeros make no event."""
    for s in range(start, stop):
        lo = indptr[bounds[s]]
        hi = indptr[bounds[s + 1]]
        ev = np.empty(max(1, hi - lo), dtype=np.int64)
        Us = U[s]
        for i in range(bounds[s], bounds[s + 1]):
            m = 0
            for t in range(indptr[i], indptr[i + 1]):
                x = data[t]
                if x != 0:
                    ev[m] = indices[t] * (C - 1) + x - 1
                    m += 1
            _add_pairs(ev, m, Us)


cooc_csr = chunked_kernel(_cooc_csr, items="U.shape[0]")


@serial_kernel(inline="always")
def _count_pair_weightings(xa, xb, W, o):
    """o[k, u, v] = sum_i W[i, k] [xa[i] = u, xb[i] = v] for every weighting k, rows in order
    (per weighting the additions of ``likelihood.pair_counts``, in its order: the same bits);
    the K independent additions of a row overlap, and the columns are read once for all K."""
    o[:, :, :] = 0.0
    K = W.shape[1]
    for i in range(xa.shape[0]):
        u = xa[i]
        v = xb[i]
        for k in range(K):
            o[k, u, v] += W[i, k]


def _weighted_pair_tables(c, start, stop, Xt, W, a, b, out):
    """out[k, a[p], b[p]] (C, C) = the counts of the column pair (a[p], b[p]) weighted by
    W[:, k], and out[k, b[p], a[p]] its transpose, for every pair p (a[p] <= b[p]).

    Xt (d, n) states (X transposed, C-contiguous), W (n, K) float64 C-contiguous,
    a, b (P,) int64 columns, out (K, d, d, C, C) float64 (cells of other pairs untouched).
    One pair per chunk, each pair's tables computed alone: bit-identical for any number of
    threads.
    """
    K = W.shape[1]
    C = out.shape[3]
    for p in range(start, stop):
        o = np.empty((K, C, C))
        _count_pair_weightings(Xt[a[p]], Xt[b[p]], W, o)
        ap = a[p]
        bp = b[p]
        for k in range(K):
            for u in range(C):
                for v in range(C):
                    out[k, ap, bp, u, v] = o[k, u, v]
                    out[k, bp, ap, v, u] = o[k, u, v]


weighted_pair_tables = chunked_kernel(_weighted_pair_tables, items="a.shape[0]")


@serial_kernel
def log_int_table(m):
    """(m,) float64: entry k is log(k) (numba's log: the bits :func:`table_mutual_info` takes)."""
    out = np.empty(m)
    for k in range(m):
        out[k] = np.log(float(k))
    return out


@serial_kernel(inline="always")
def _log(x, lt):
    """log(x); by the table lt of :func:`log_int_table` when it is not empty (x an integer)."""
    return lt[np.int64(x)] if lt.shape[0] > 0 else np.log(x)


@serial_kernel(inline="always")
def table_mutual_info(o, C, total, logt, ra, cb, lt):
    """Mutual information (nats) of one C x C count table ``o`` of total weight ``total``
    (logt = log(total)); ra, cb (C,) scratch; lt: :func:`log_int_table` when every count
    is an integer below its length, else empty. 0 log 0 terms count as 0."""
    for u in range(C):
        ra[u] = 0.0
        cb[u] = 0.0
    for u in range(C):
        for v in range(C):
            ra[u] += o[u, v]
            cb[v] += o[u, v]
    for u in range(C):
        ra[u] = _log(ra[u], lt) if ra[u] > 0 else 0.0
        cb[u] = _log(cb[u], lt) if cb[u] > 0 else 0.0
    mi = 0.0
    for u in range(C):
        for v in range(C):
            q = o[u, v]
            if q > 0:
                mi += q * (_log(q, lt) + logt - ra[u] - cb[v])
    return mi / total


def _mutual_info_from_counts(c, start, stop, N, total, off_a, off_b, lt, out):
    """out[a, b] = mutual information of columns off_a + a and off_b + b, for every pair of
    the block with off_a + a < off_b + b (the others are left untouched).

    N (da, C, db, C) float64 joint counts of the block, out (da, db) float64, lt as in
    :func:`table_mutual_info`.
    """
    da, C, db, _ = N.shape
    logt = np.log(total)
    for a in range(start, stop):
        o = np.empty((C, C))
        ra = np.empty(C)
        cb = np.empty(C)
        for b in range(max(0, off_a + a + 1 - off_b), db):
            for u in range(C):
                for v in range(C):
                    o[u, v] = N[a, u, b, v]
            out[a, b] = table_mutual_info(o, C, total, logt, ra, cb, lt)


mutual_info_from_counts = chunked_kernel(_mutual_info_from_counts, items="N.shape[0]")
