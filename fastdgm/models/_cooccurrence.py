"""Pairwise joint counts and mutual informations of all column pairs, at BLAS speed.

``N[a, u, b, v] = sum_i w_i [x_ia = u][x_ib = v]`` for all columns a, b and states u, v,
returned as a (d, C, d, C) float64 array (reshape to (d C, d C) for a matrix view: it is the
Gram matrix O^T diag(w) O of the one-hot encoding O (n, d C) of X). Three ways to it:

``"dense"``
    Unweighted: only the states u, v >= 1 are counted, as the Gram matrix R of the reduced
    one-hot encoding (n, d (C - 1)) in float32 by BLAS (``A.T @ A``, a SYRK), row chunks of at
    most 2**24 rows so that every partial sum is an integer < 2**24, exact in float32; the
    chunks are added in float64. The entries with a 0 state follow exactly from the marginals
    (:func:`expand_reduced`). For C = 2 this is one ``X.T @ X`` in float32.
    Weighted: the full one-hot encoding scaled by sqrt(w) in float64 (one rounding per product),
    chunks added in order.
``"sparse"`` (unweighted)
    A numba co-occurrence kernel over the non-zero states of each row (cost ~ sum_i m_i^2 / 2
    for m_i non-zeros in row i, instead of n d^2 (C-1)^2 / 2 for BLAS): fastest for sparse
    binary data such as 20 Newsgroups (density 0.05). Integer counts: exact.
``"pairs"``
    The per-pair numba kernel of :mod:`fastdgm.kernels.likelihood` (cost n d^2 / 2 table
    increments whatever C): for large C, where the one-hot encodings are too wide.

``method="auto"`` picks by a cost model (:func:`choose_method`). Unweighted counts are exact
integers by every method, so they are identical whatever the method, chunking or thread count.
"""
from __future__ import annotations

import sys

import numpy as np

from .._validation import check_positive_int, check_sample_weight, check_states
from ..kernels import likelihood as _lk
from ..kernels import pairwise as _pk
from ..kernels.blas import blas_threads
from ..kernels.threads import get_num_threads

__all__ = ["pairwise_count_matrix", "mutual_information", "mutual_information_from_counts", "expand_reduced",
           "choose_method", "pair_counts_blocked", "weighted_gram", "weighted_count_matrices"]

_F32_EXACT_ROWS = 1 << 24          # float32 holds every integer up to 2**24 exactly
_CHUNK_BYTES = 1 << 26             # the one-hot chunk of the dense path: at most 64 MB
_MI_BLOCK_CELLS = 1 << 24          # mutual_information: at most this many count cells at once
_METHODS = ("auto", "dense", "sparse", "pairs")

# cost model, in nanoseconds per unit, one thread (measured on a SkylakeX core, OpenBLAS)
_NS_SYRK32 = 0.025     # per multiply-add of a float32 SYRK (n * D^2 / 2 of them)
_NS_SYRK64 = 0.05      # float64
_NS_SCAN = 0.4         # per element of X scanned by the co-occurrence kernel
_NS_COOC = 2.5         # per co-occurrence increment (sum_i m_i (m_i + 1) / 2 of them)
_NS_PAIR = 0.9         # per row and column pair of the per-pair kernel (n * d (d + 1) / 2)


# ---------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------
MI_ZERO = 1e-12
"""Mutual informations (nats) of weighted counts below this are 0 (rounding noise)."""

def _is_sparse(X) -> bool:
    # a scipy.sparse matrix exists only once scipy.sparse is imported: no import for dense X
    # (importing scipy.sparse costs about 0.1 s of a warm first fit)
    sp = sys.modules.get("scipy.sparse")
    return sp is not None and sp.issparse(X)


def _check_sparse(X, C):
    """Canonical CSR (sorted indices, no duplicates) of a scipy.sparse matrix of states."""
    import scipy.sparse as sp

    S = sp.csr_matrix(X)          # a copy for any other format; csr stays as it is
    if S.dtype.kind == "b":
        S = S.astype(np.uint8)
    if S.dtype.kind not in "iu":
        raise TypeError(f"X must have an integer dtype, got {S.dtype}")
    if S.shape[0] == 0 or S.shape[1] == 0:
        raise ValueError(f"X must not be empty, got shape {S.shape}")
    if not S.has_canonical_format:
        S = S.copy()
        S.sum_duplicates()
    if S.data.size and (S.data.min() < 0 or S.data.max() >= C):
        raise ValueError(f"X must hold states in [0, {C}), got values in "
                         f"[{S.data.min()}, {S.data.max()}]")
    return S


def _check_args(X, C, w, chunk_rows, method):
    C = check_positive_int(C, "C")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if chunk_rows is not None:
        chunk_rows = check_positive_int(chunk_rows, "chunk_rows")
    if _is_sparse(X):
        X = _check_sparse(X, C)
    else:
        X = check_states(X, "X", n_states=C)[0]
    return X, C, check_sample_weight(w, X.shape[0]), chunk_rows


# ---------------------------------------------------------------------------------------
# the three ways to the counts
# ---------------------------------------------------------------------------------------
def _row_chunks(n: int, rows: int):
    return [(s, min(n, s + rows)) for s in range(0, n, rows)]


def _default_rows(width: int, itemsize: int) -> int:
    return max(1, _CHUNK_BYTES // max(1, width * itemsize))


def _reduced_onehot(Xc: np.ndarray, C: int, dtype) -> np.ndarray:
    """(rows, d (C-1)) encoding of the states >= 1: column j (C-1) + u - 1 is [x_j = u]."""
    if C == 2:
        return Xc.astype(dtype)
    return (Xc[:, :, None] == np.arange(1, C, dtype=Xc.dtype)).reshape(Xc.shape[0], -1).astype(dtype)


def _gram_reduced_dense(X, C, chunk_rows):
    """(D, D) float64 Gram matrix of the reduced one-hot encoding, float32 SYRK per chunk."""
    n, d = X.shape
    D = d * (C - 1)
    rows = min(_F32_EXACT_ROWS, chunk_rows or _default_rows(D, 4))
    R = np.zeros((D, D))
    with blas_threads():
        for s, e in _row_chunks(n, rows):
            A = _reduced_onehot(X[s:e], C, np.float32)
            R += A.T @ A                   # numpy calls SYRK for A.T @ A
    return R


def weighted_gram(X, C, W, chunk_rows=None):
    """(K, d C, d C) float64: O^T diag(W[:, k]) O for each column k of W (n, K), O the one-hot
    encoding (n, d C) of X, as (sqrt(W[:, k]) O)^T (sqrt(W[:, k]) O) (a float64 SYRK per chunk of
    rows, accumulated in float64, chunks added in order). The chunks depend only on d C (and
    ``chunk_rows``), not on K or the thread count (tested bit-identical on 1 and 2 threads)."""
    n, d = X.shape
    K = W.shape[1]
    rows = chunk_rows or _default_rows(d * C, 8)
    G = np.zeros((K, d * C, d * C))
    sw = np.sqrt(W)
    with blas_threads():
        for s, e in _row_chunks(n, rows):
            Xc = X[s:e]
            O = (Xc[:, :, None] == np.arange(C, dtype=Xc.dtype)).reshape(e - s, -1)
            A = np.empty(O.shape)
            for k in range(K):
                np.multiply(O, sw[s:e, k, None], out=A)
                G[k] += A.T @ A
    return G


def _gram_full_weighted(X, C, w, chunk_rows):
    """(d C, d C) float64 O^T diag(w) O: :func:`weighted_gram` of one weighting."""
    return weighted_gram(X, C, w[:, None], chunk_rows)[0]


def _cooc_slots(n: int, D: int) -> np.ndarray:
    """Row bounds of the co-occurrence kernel's slots: one per thread, fewer when the (D, D)
    accumulators would exceed 256 MB. Integer counts: the result does not depend on them."""

    S = max(1, min(get_num_threads(), n, (1 << 26) // max(1, D * D)))
    return np.linspace(0, n, S + 1).round().astype(np.int64)


def _gram_reduced_sparse(X, C):
    """(D, D) float64 Gram matrix of the reduced one-hot encoding by the co-occurrence kernel
    (X dense or CSR)."""
    n, d = X.shape
    D = d * (C - 1)
    bounds = _cooc_slots(n, D)
    U = np.zeros((bounds.shape[0] - 1, D, D), dtype=np.int32 if n < (1 << 31) else np.int64)
    if _is_sparse(X):
        _pk.cooc_csr(X.indptr.astype(np.int64), X.indices.astype(np.int64), X.data, C, bounds, U)
    else:
        _pk.cooc_dense(X, C, bounds, U)
    up = U.sum(axis=0, dtype=np.int64) if U.shape[0] > 1 else U[0]
    R = up.astype(np.float64)
    R += R.T
    R[np.diag_indices(D)] *= 0.5
    return R


def pair_counts_blocked(X, C, w, a, b, block_cells=1 << 21, Xt=None):
    """Counts (P, C, C) of the column pairs (a[p], b[p]) by the per-pair kernel, at most
    ``block_cells`` count cells per kernel call; ``Xt`` is X.T C-contiguous if already made."""
    n = X.shape[0]
    if Xt is None:
        Xt = np.ascontiguousarray(X.T)
    out = np.empty((a.shape[0], C, C))
    step = max(1, block_cells // (C * C))
    for s in range(0, a.shape[0], step):
        e = min(a.shape[0], s + step)
        _lk.pair_counts((e - s) * n, Xt, w, a[s:e], b[s:e], out[s:e])
    return out


def _pair_tables(X, C, w, Xt=None):
    """(d, d, C, C) by the per-pair kernel (pairs a <= b, mirrored: the kernel counts (b, a)
    in the same row order, so the mirror has the same bits)."""
    d = X.shape[1]
    a, b = np.triu_indices(d)
    P = pair_counts_blocked(X, C, w, a.astype(np.int64), b.astype(np.int64), Xt=Xt)
    N = np.empty((d, d, C, C))
    N[a, b] = P
    N[b, a] = P.transpose(0, 2, 1)
    return N


def _counts_pairs(X, C, w, Xt=None):
    """(d, C, d, C) by the per-pair kernel (:func:`_pair_tables`)."""
    return np.ascontiguousarray(_pair_tables(X, C, w, Xt).transpose(0, 2, 1, 3))


def weighted_count_matrices(X, C, W, method, Xt=None):
    """(K, d, d, C, C) float64 tables N[k, a, b, u, v] = sum_i W[i, k] [x_ia = u][x_ib = v] of
    X (n, d) for each column of W (n, K), by ``method`` "dense" (:func:`weighted_gram`) or
    "pairs" (the K-weighting per-pair kernel on the pairs a <= b, mirrored; ``Xt`` = X.T
    C-contiguous if already made). "pairs" gives weighting k the bits of
    :func:`pair_counts_blocked` with weights W[:, k]."""
    n, d = X.shape
    K = W.shape[1]
    if method == "dense":
        return np.ascontiguousarray(weighted_gram(X, C, W).reshape(K, d, C, d, C).transpose(0, 1, 3, 2, 4))
    if Xt is None:
        Xt = np.ascontiguousarray(X.T)
    a, b = (t.astype(np.int64) for t in np.triu_indices(d))
    out = np.empty((K, d, d, C, C))
    _pk.weighted_pair_tables(Xt, np.ascontiguousarray(W, dtype=np.float64), a, b, out)
    return out


def expand_reduced(R: np.ndarray, C: int, n: float) -> np.ndarray:
    """Full counts (d, C, d, C) from the counts R of the states >= 1 only.

    Parameters
    ----------
    R : ndarray float64, shape (d (C-1), d (C-1))
        R[a (C-1) + u - 1, b (C-1) + v - 1] = N[a, u, b, v] for u, v >= 1 (the Gram matrix of
        the reduced one-hot encoding; its diagonal holds the marginal counts).
    C : int
    n : float
        Number of rows (total weight).

    Returns
    -------
    N : ndarray float64, shape (d, C, d, C)
        With N[a, 0, b, v] = m[b, v] - sum_{u>=1} N[a, u, b, v], N[a, u, b, 0] likewise and
        N[a, 0, b, 0] = m[b, 0] - sum_{u>=1} N[a, u, b, 0], m the marginal counts: exact for
        integer counts below 2**53.
    """
    D = R.shape[0]
    d = D // (C - 1) if C > 1 else 0
    N = np.empty((d, C, d, C))
    if C == 1:
        N[...] = n
        return N
    R4 = R.reshape(d, C - 1, d, C - 1)
    marg = np.empty((d, C))
    marg[:, 1:] = np.diagonal(R).reshape(d, C - 1)
    marg[:, 0] = n - marg[:, 1:].sum(axis=1)
    N[:, 1:, :, 1:] = R4
    N[:, 0, :, 1:] = marg[None, :, 1:] - R4.sum(axis=1)
    N[:, 1:, :, 0] = marg[:, 1:, None] - R4.sum(axis=3)
    N[:, 0, :, 0] = marg[None, :, 0] - N[:, 1:, :, 0].sum(axis=1)
    return N


# ---------------------------------------------------------------------------------------
# method choice
# ---------------------------------------------------------------------------------------
def _row_nonzeros(X) -> np.ndarray:
    """Non-zeros per row (stored entries of a sparse X: an upper bound)."""
    if _is_sparse(X):
        return np.diff(X.indptr)
    return np.count_nonzero(X, axis=1)


def choose_method(X, C: int, weighted: bool) -> str:
    """``"dense"``, ``"sparse"`` or ``"pairs"``: the cheapest by the cost model (ns, one thread).

    dense:  n D^2 / 2 multiply-adds of a SYRK, D = d (C - 1) (d C in float64 when weighted);
    sparse: n d scanned elements + sum_i m_i (m_i + 1) / 2 increments (unweighted only);
    pairs:  n d (d + 1) / 2 table increments.
    """
    n, d = X.shape
    if weighted:
        dense = n * (d * C) ** 2 / 2 * _NS_SYRK64
    else:
        dense = n * (d * (C - 1)) ** 2 / 2 * _NS_SYRK32
    pairs = n * d * (d + 1) / 2 * _NS_PAIR
    cost = {"dense": dense, "pairs": pairs}
    if not weighted:
        m = _row_nonzeros(X).astype(np.float64)
        cost["sparse"] = (0 if _is_sparse(X) else n * d * _NS_SCAN) + float((m * (m + 1)).sum()) / 2 * _NS_COOC
    return min(cost, key=lambda m: cost[m])


def _count_matrix(X, C: int, w: np.ndarray, chunk_rows=None, method: str = "auto") -> np.ndarray:
    """:func:`pairwise_count_matrix` on checked inputs (w empty: unweighted)."""
    weighted = w.shape[0] > 0
    n, d = X.shape
    if method == "auto":
        method = choose_method(X, C, weighted)
    if C == 1:
        return np.full((d, 1, d, 1), float(w.sum()) if weighted else float(n))
    if method == "sparse" and not weighted:
        return expand_reduced(_gram_reduced_sparse(X, C), C, n)
    if _is_sparse(X):
        X = np.ascontiguousarray(X.toarray())
    if method == "pairs":
        return _counts_pairs(X, C, w)
    if weighted:
        return _gram_full_weighted(X, C, w, chunk_rows).reshape(d, C, d, C)
    return expand_reduced(_gram_reduced_dense(X, C, chunk_rows), C, n)


# ---------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------
def pairwise_count_matrix(X, C: int, w=None, *, chunk_rows: int | None = None,
                          method: str = "auto") -> np.ndarray:
    """Joint (weighted) counts of the states of every pair of columns.

    Parameters
    ----------
    X : array_like of int, shape (n, d), or scipy.sparse matrix (n, d) of int
        States in [0, C) (a sparse matrix: its unstored entries are state 0).
    C : int
        Number of states.
    w : array_like of float, shape (n,), optional
        Non-negative row weights (all ones when None).
    chunk_rows : int, optional
        Rows per BLAS chunk of the dense method (default: a 64 MB one-hot chunk; at most
        2**24 unweighted, the float32-exact limit). Does not change unweighted results.
    method : {"auto", "dense", "sparse", "pairs"}
        See the module docstring; "sparse" with weights runs "dense".

    Returns
    -------
    N : ndarray float64, shape (d, C, d, C)
        N[a, u, b, v] = sum_i w_i [x_ia = u][x_ib = v]; symmetric under (a, u) <-> (b, v);
        N[a, u, a, v] = 0 for u != v and the marginal count for u = v. Unweighted: exact
        integers.
    """
    X, C, w, chunk_rows = _check_args(X, C, w, chunk_rows, method)
    return _count_matrix(X, C, w, chunk_rows, method)


_LOG_TABLE_MAX = 1 << 22   # integer counts up to this: logs by table lookup (same bits)


def _mi_block(N, total, off_a, off_b, out, lt):
    _pk.mutual_info_from_counts(N, total, off_a, off_b, lt, out)


def _mutual_information(X, C: int, w: np.ndarray, *, method: str = "auto",
                        block_cells: int = _MI_BLOCK_CELLS, return_counts: bool = False):
    """:func:`mutual_information` on checked inputs (w empty: unweighted).

    With ``return_counts``: ``(mi, N)``, N the (d, C, d, C) counts of
    :func:`pairwise_count_matrix` when they were computed in one block, else None.
    """
    n, d = X.shape
    total = float(w.sum()) if w.shape[0] else float(n)
    mi = np.zeros((d, d))
    N = None
    if d < 2 or C < 2 or not total > 0:
        return (mi, N) if return_counts else mi
    lt = _pk.log_int_table(n + 1) if (w.shape[0] == 0 and n < _LOG_TABLE_MAX) else np.empty(0)
    B = max(1, int(np.sqrt(block_cells)) // (2 * C))     # columns per block: (2 B C)^2 <= cells
    if d * C * d * C <= block_cells or B >= d:
        N = _count_matrix(X, C, w, None, method)
        mi = mutual_information_from_counts(N, total, w.shape[0] > 0)
    else:
        starts = list(range(0, d, B))
        for i, s in enumerate(starts):
            for t in starts[i:]:
                cols = np.r_[s:min(d, s + B), t:min(d, t + B)] if t != s else np.arange(s, min(d, s + B))
                Xs = X[:, cols] if _is_sparse(X) else np.ascontiguousarray(X[:, cols])
                N = _count_matrix(Xs, C, w, None, method)
                na = min(d, s + B) - s
                if t == s:
                    _mi_block(N, total, s, s, mi[s:s + na, s:s + na], lt)
                else:
                    nb = len(cols) - na
                    Nab = np.ascontiguousarray(N[:na, :, na:, :])
                    _mi_block(Nab, total, s, t, mi[s:s + na, t:t + nb], lt)
        N = None
    iu = np.triu_indices(d, k=1)
    mi[(iu[1], iu[0])] = mi[iu]
    return (mi, N) if return_counts else mi


def mutual_information_from_counts(N: np.ndarray, total: float, weighted: bool) -> np.ndarray:
    """Mutual information (d, d) of the pair counts N (d, C, d, C) of ``total`` rows (weight).

    Weighted counts: values below :data:`MI_ZERO` nats are 0 (ties break the same way whatever
    order the counts were summed in).

    Unweighted counts (exact integers) take their logs from a table: the same bits as
    :func:`mutual_information` computes from the data.
    """
    d, C = N.shape[0], N.shape[1]
    mi = np.zeros((d, d))
    if d < 2 or C < 2 or not total > 0:
        return mi
    lt = np.empty(0) if weighted or total >= _LOG_TABLE_MAX else _pk.log_int_table(int(total) + 1)
    _mi_block(np.ascontiguousarray(N), float(total), 0, 0, mi, lt)
    if weighted:
        # A pair that is independent in the data (a constant column, above all) has MI 0, which
        # its float weighted counts give only up to rounding (+-1e-16), and rounding depends on
        # the order the counts were summed in: blocks of rows or one pass. The spanning tree
        # breaks ties by index, so such noise would pick other trees in a block fit than in
        # one pass. Values that small are zero.
        mi[np.abs(mi) < MI_ZERO] = 0.0
    iu = np.triu_indices(d, k=1)
    mi[(iu[1], iu[0])] = mi[iu]
    return mi


def mutual_information(X, C: int, w=None, *, method: str = "auto") -> np.ndarray:
    """Empirical mutual information (nats) of every pair of columns.

    I(a; b) = sum_{u,v} N_uv / W log(W N_uv / (N_u. N_.v)) from the joint counts N of
    :func:`pairwise_count_matrix` (W the total weight, 0 log 0 = 0), with the arithmetic of
    the per-pair kernel, pair by pair: on exact integer counts the same bits as
    :func:`fastdgm.models.mutual_information_matrix` always had. Memory: the counts of at most
    2**24 cells (128 MB) at once, in blocks of columns when d C is larger.

    Parameters
    ----------
    X : array_like of int, shape (n, d), or scipy.sparse matrix
    C : int
    w : array_like of float, shape (n,), optional
    method : {"auto", "dense", "sparse", "pairs"}

    Returns
    -------
    mi : ndarray float64, shape (d, d)
        Symmetric, 0 on the diagonal.
    """
    X, C, w, _ = _check_args(X, C, w, None, method)
    return _mutual_information(X, C, w, method=method)
