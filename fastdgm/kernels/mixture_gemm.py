"""The E- and M-step statistics of a factorized mixture as two matrix products per block of rows.

The GEMM twin of :func:`fastdgm.kernels.likelihood.mixture_em_stats` (same statistics, the same
meaning, rounding differences only), for wide data where d*K is large and the fused per-row
kernel is bound by its table lookups. With the states 1..C-1 of X one-hot encoded as
Y (n, d(C-1)) (for C = 2, Y = X itself) and D[j(C-1) + x - 1, k] = lc[k, j, x] - lc[k, j, 0]:

- E-step: scores A = Y @ D + (lw + sum_j lc[:, j, 0]) (B, K), responsibilities by a row-wise
  log-sum-exp, R = w * resp;
- M-step: [R, w > 0]^T @ Y (K + 1, d(C-1)) gives the expected counts of the states 1..C-1
  and, in its last row, the exact number of rows of positive weight in each state; the counts
  of state 0 are nk minus the others (clamped at 0, and exactly 0 where no row of positive
  weight has state 0). They agree with the fused kernel's to ~1e-12 of nk, not relatively.

Rows are cut into blocks of ``block_rows`` rows (a function of the shape only); block t belongs
to lane ``t % L`` (L a function of the shape only); a lane adds its blocks in order into its own
partials and the lanes are added in order. Each block's products run on one BLAS thread
(:func:`fastdgm.kernels.blas.blas_threads`), the lanes on up to :func:`get_num_threads` Python
threads (numpy releases the GIL in BLAS). So the result is bit-identical on any number of
threads. Without threadpoolctl, BLAS keeps its own thread count; OpenBLAS splits a product by
its output, so each entry is still summed in one order, but that is OpenBLAS's behaviour, not a
promise of this module.

The scores need finite tables (0 * inf is NaN in a product): :func:`prefer_gemm` says no to a
table with -inf entries, and the fused kernel handles them.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .blas import blas_threads
from .threads import get_num_threads

__all__ = ["BLOCK_CELLS", "block_rows", "n_lanes", "prefer_gemm", "em_stats"]

BLOCK_CELLS = 1 << 18     # doubles of one block of Y: B * d(C-1) ~ 2 MiB, cache-resident
MAX_LANES = 4

# The cost model (measured on an AVX2 core, one thread, n = 16000, K = 5..40): for binary data
# GEMM ties the fused kernel at d = 16 and wins from d = 32 on (1.2-1.6x at d = 64-110, 4-10x at
# d = 500-1600 where the fused tables leave the cache); for C > 2 the one-hot expansion costs
# C - 1 passes and the fused kernel wins (1.1-3x) until its tables (and private counts) outgrow
# the caches, where every lookup misses.
BINARY_MIN_D = 32            # C = 2: GEMM from this many columns on
FUSED_MAX_BYTES = 4 << 20    # C > 2: GEMM when the fused kernel's tables exceed this


def block_rows(dd: int) -> int:
    """Rows per block for a one-hot width ``dd``: about ``BLOCK_CELLS`` doubles, 64..4096 rows."""
    return int(min(4096, max(64, BLOCK_CELLS // max(1, dd))))


def n_lanes(n_blocks: int) -> int:
    """Lanes of partial statistics (a function of the number of blocks only)."""
    return int(max(1, min(n_blocks, MAX_LANES)))


def prefer_gemm(d: int, C: int, K: int, groups: int, lc: np.ndarray | None = None) -> bool:
    """True when the GEMM statistics are expected faster than the fused kernel (the cost model).

    Parameters
    ----------
    d, C, K : int
        Columns, states, components.
    groups : int
        Packed column groups of the fused kernel (g columns of C states per uint8 state,
        groups = ceil(d / g)).
    lc : ndarray, shape (K, d, C), optional
        The log tables: GEMM needs them finite (0 * -inf is NaN in a product).

    Returns
    -------
    bool
        C = 2: d >= ``BINARY_MIN_D``; C > 2: the fused kernel's tables, 16 * groups * C**g * K
        bytes (table and private counts), exceed ``FUSED_MAX_BYTES``.
    """
    if lc is not None and not np.isfinite(lc).all():
        return False
    if C == 2:
        return d >= BINARY_MIN_D
    g = -(-d // groups)
    return 16 * groups * min(C ** g, 256) * K > FUSED_MAX_BYTES


def _one_hot(Xb, C, Y):
    """Y[:, j(C-1) + x - 1] = [Xb[:, j] == x] for x = 1..C-1 (Y = Xb as float64 for C = 2)."""
    if C == 2:
        np.copyto(Y, Xb, casting="unsafe")
        return
    for x in range(1, C):
        np.copyto(Y[:, x - 1::C - 1], Xb == x, casting="unsafe")


def _lane(X, C, D, base, w, B, lane, L):
    """Partial statistics of the blocks lane, lane + L, ... in order: (M (K+1, dd), nk (K,), ll)."""
    n = X.shape[0]
    dd, K = D.shape
    Y = np.empty((B, dd))
    A = np.empty((B, K))
    R = np.empty((B, K + 1))
    M = np.zeros((K + 1, dd))
    P = np.empty((K + 1, dd))
    nk = np.zeros(K)
    ll = 0.0
    nblk = -(-n // B)
    for t in range(lane, nblk, L):
        i0 = t * B
        nb = min(n, i0 + B) - i0
        y, a, r = Y[:nb], A[:nb], R[:nb]
        _one_hot(X[i0:i0 + nb], C, y)
        np.matmul(y, D, out=a)
        a += base
        m = a.max(axis=1)
        a -= m[:, None]
        np.exp(a, out=a)
        s = a.sum(axis=1)
        lse = m + np.log(s)
        wb = w[i0:i0 + nb] if w.shape[0] else np.ones(nb)
        ll += float(np.dot(wb, lse)) if w.shape[0] else float(lse.sum())
        np.multiply(a, (wb / s)[:, None], out=r[:, :K])
        r[:, K] = wb > 0.0                   # exact integer counts of the weighted rows
        nk += r[:, :K].sum(axis=0)
        np.matmul(r.T, y, out=P)
        M += P
    return M, nk, ll


def em_stats(X: np.ndarray, C: int, lw: np.ndarray, lc: np.ndarray, w: np.ndarray):
    """E-step statistics of X under the mixture (lw (K,), lc (K, d, C), all finite).

    Parameters
    ----------
    X : ndarray of int, shape (n, d)
        States in [0, C), C-contiguous.
    C : int
    lw : ndarray of float64, shape (K,)
        Log mixture weights (-inf allowed: a dead component).
    lc : ndarray of float64, shape (K, d, C)
        Finite log tables.
    w : ndarray of float64, shape (n,) or (0,)
        Row weights; empty for all ones.

    Returns
    -------
    counts : ndarray of float64, shape (K, d, C)
        sum_i w_i r_ik [X_ij = x].
    nk : ndarray of float64, shape (K,)
        sum_i w_i r_ik.
    loglik : float
        sum_i w_i log P(x_i).
    """
    n, d = X.shape
    K = lw.shape[0]
    dd = d * (C - 1)
    D = np.ascontiguousarray((lc[:, :, 1:] - lc[:, :, :1]).reshape(K, dd).T)
    base = lw + lc[:, :, 0].sum(axis=1)
    B = block_rows(dd)
    L = n_lanes(-(-n // B))
    nt = min(L, get_num_threads())
    with blas_threads(1):
        if nt <= 1:
            parts = [_lane(X, C, D, base, w, B, lane, L) for lane in range(L)]
        else:
            with ThreadPoolExecutor(nt) as ex:
                parts = list(ex.map(lambda lane: _lane(X, C, D, base, w, B, lane, L), range(L)))
    M, nk, ll = parts[0]
    for Mp, nkp, llp in parts[1:]:
        M += Mp
        nk += nkp
        ll += llp
    ones = M[:K].reshape(K, d, C - 1)
    nonzero = M[K].reshape(d, C - 1).sum(axis=1)           # rows of weight > 0 in a state >= 1
    rows = float(np.count_nonzero(w > 0.0)) if w.shape[0] else float(n)
    counts = np.empty((K, d, C))
    counts[:, :, 1:] = ones
    np.maximum(nk[:, None] - ones.sum(axis=2), 0.0, out=counts[:, :, 0])
    counts[:, nonzero == rows, 0] = 0.0                     # no weighted row in state 0
    return counts, nk, ll
