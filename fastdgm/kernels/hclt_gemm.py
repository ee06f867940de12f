"""The hidden Chow-Liu tree's upward pass and E-step as matrix products over blocks of rows.

The model and the tables are those of :mod:`fastdgm.kernels.hclt`; so are the scaling (each
complete lam_j divided by its maximum, the logs summed per row) and the downward recursion.
What changes is the order of the work: for a block of B rows (B up to 256), node by node,

- upward:    msg_j = lam_j @ Tt[j]                       (B x K) @ (K x K)
- downward:  H_c = R_c @ T[c], R_c(u) = q_p(u) / m_c(u)  (B x K) @ (K x K)
- pairs:     G_c += (w R_c)^T @ lam_c                     (K x B) @ (B x K)

three GEMMs per node and block through numba's ``np.dot`` (scipy's BLAS), so K = 64..256
runs at a large fraction of the machine's GEMM rate where the per-row mat-vec kernel of
:mod:`fastdgm.kernels.hclt` is bound by its loads.

Precision: the kernels take the tables ``T``, ``Tt``, ``E`` in float64 (DGEMM; the statistics
equal the per-row kernel's to rounding) or in float32 (SGEMM, twice the rate): then the
messages lam, msg and the GEMM operands R, H are float32, still divided by their maximum per
row and node (a partial product is renormalised below ``hclt._RESCALE32`` = 1e-15, far above
float32's smallest normal 1.2e-38), while ``prior``, the row scales (``logs``, ``prod``), the
log-likelihood and the statistics G, S are float64: each block's float32 products are added to
float64 accumulators, so the error does not grow with n. The float32 error is that of one
block: a few float32 roundings per node along the tree, measured at most 1.2e-6 relative on the
statistics and 3e-8 on the log-likelihood (tests/test_hclt_f32.py checks 1e-5 and 1e-6).

Determinism: the block size and the lanes are functions of the shape only (``gemm_block_rows``,
``n_lanes``); each GEMM runs on one BLAS thread (the caller holds
:func:`fastdgm.kernels.blas.blas_threads` at 1), so results are bit-identical on any number of
threads.
"""
from __future__ import annotations

import numpy as np

from .hclt import _emit, _scale, _absorb, _root_ll, _root_posteriors, _ratio, _posterior, _zero_lane
from .likelihood import SERIAL_WORK
from .parallel import chunked_kernel, serial_kernel

__all__ = ["GEMM_MIN_K", "F32_MIN_K", "PRECISIONS", "prefer_gemm", "check_precision", "estep_dtype",
           "gemm_block_rows", "gemm_lanes", "log_prob_gemm", "em_stats_gemm"]

# The cost model. Measured on the shared density sets (AVX2, the whole training split, float64
# statistics, medians of 3; benchmarks/bench_em_blas.py::test_hclt_path_crossover times the same),
# per-row kernel time / GEMM time of the E-step at K = 2, 4, 8, 16: nltcs (d 16) 1.3, 1.5, 1.7,
# 1.3; plants (d 69) 1.4, 1.6, 1.3, 1.6 (one thread); accidents (d 111) 1.5, -, 1.7, 1.3 and
# c20ng (d 910) 0.95, -, 1.9, 1.3 (two threads); the upward pass alone 1.0-1.9. (An earlier
# measurement on random data, d = 64, n = 2000, had them tie at K = 16-24.) GEMM from K = 4 on;
# below, the per-row kernel (ties at K = 2 on the widest set).
GEMM_MIN_K = 4
_SCRATCH = 1 << 22       # doubles of each of lam and msg (d, B, K) per lane: 32 MiB


# float32 (SGEMM) E-step under precision="auto" from K = 32 on: there the GEMMs dominate and
# SGEMM's twice-the-rate shows (benchmarks/bench_em_blas.py, d = 64, one thread, AVX2, loaded
# machine: float32/float64 E-step time 0.54 at K = 64, 0.51 at 128, 0.50 at 256; 54-68% of the
# SGEMM rate measured in the same run; on the whole training split at K = 32: accidents 0.67,
# c20ng 0.63; at K = 16 0.86-1.1, no gain); below, float64 keeps the statistics equal to the
# per-row kernel's to rounding.
F32_MIN_K = 32
PRECISIONS = ("auto", "float64", "float32")


def prefer_gemm(K: int) -> bool:
    """True when the GEMM E-step is used: K >= ``GEMM_MIN_K`` (see the measurements above it)."""
    return K >= GEMM_MIN_K


def check_precision(precision) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`, else ValueError naming it."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return precision


def estep_dtype(K: int, precision: str = "auto") -> type:
    """The E-step's message dtype: ``np.float32`` for ``precision="float32"`` and for ``"auto"``
    from K = ``F32_MIN_K`` on (always on the GEMM path), else ``np.float64``. The float32 path
    takes the GEMM kernels whatever K."""
    if precision == "float32" or (precision == "auto" and K >= F32_MIN_K):
        return np.float32
    return np.float64


def gemm_block_rows(d: int, K: int) -> int:
    """Rows per block: lam and msg (d, B, K) within ``_SCRATCH`` doubles each, 8 <= B <= 256."""
    return int(max(8, min(256, _SCRATCH // max(1, d * K))))


def gemm_lanes(n_blocks: int, cells: int) -> int:
    """Lanes of partial statistics (``cells`` doubles each): within 2**24 doubles, at least two
    when there are two blocks (both cores busy even at K = 256), at most 32."""
    return int(max(min(2, n_blocks), min(n_blocks, 32, (1 << 24) // max(1, cells))))


@serial_kernel(inline="always", error_model="numpy")
def _upward_gemm(X, miss, i0, nb, order, parent, prior, Tt, E, lam, msg, ll, logs, prod):
    """The upward pass of :func:`fastdgm.kernels.hclt._upward` over rows i0 .. i0+nb-1, one
    (nb x K) @ (K x K) product per node."""
    d = order.shape[0]
    for b in range(nb):
        logs[b] = 0.0
        prod[b] = 1.0
    _emit(X, miss, i0, nb, E, lam)
    for t in range(d - 1, 0, -1):
        j = order[t]
        p = parent[j]
        for b in range(nb):
            _scale(lam, j, b, logs, prod)
        np.dot(lam[j, :nb], Tt[j], msg[j, :nb])
        for b in range(nb):
            _absorb(lam, msg, j, p, b, logs)
    _root_ll(prior, lam, order[0], nb, logs, prod, ll)


@chunked_kernel(items="min((X.shape[0] + B - 1) // B, 64)", serial_below=SERIAL_WORK, error_model="numpy")
def log_prob_gemm(c, start, stop, X, miss, order, parent, prior, Tt, E, B, out):
    """out[i] = log P(x_i) (marginal over the entries flagged in ``miss``), blocks of B rows;
    lanes ``[start, stop)`` of min(blocks, 64), lane l taking the blocks l, l + L, ..."""
    n = X.shape[0]
    d = order.shape[0]
    K = prior.shape[0]
    nblk = (n + B - 1) // B
    L = min(nblk, 64)
    for lane in range(start, stop):
        lam = np.empty((d, B, K), Tt.dtype)
        msg = np.empty((d, B, K), Tt.dtype)
        ll = np.empty(B)
        logs = np.empty(B)
        prod = np.empty(B)
        for t in range(lane, nblk, L):
            i0 = t * B
            nb = min(n, i0 + B) - i0
            _upward_gemm(X, miss, i0, nb, order, parent, prior, Tt, E, lam, msg, ll, logs, prod)
            for b in range(nb):
                out[i0 + b] = ll[b]


@chunked_kernel(items="G.shape[0]", serial_below=SERIAL_WORK, error_model="numpy")
def em_stats_gemm(c, start, stop, X, w, order, parent, prior, T, Tt, E, B, G, S, ll):
    """The statistics of :func:`fastdgm.kernels.hclt.em_stats` (same arrays, same meaning:
    G times T are the expected pair counts), by three GEMMs per node and block of B rows;
    lanes ``[start, stop)`` of G.shape[0], each writing only its own G, S, ll entries."""
    n, d = X.shape
    K = prior.shape[0]
    L = G.shape[0]
    nblk = (n + B - 1) // B
    nomiss = np.zeros((0, 0), dtype=np.uint8)
    root = order[0]
    for lane in range(start, stop):
        _zero_lane(G, S, lane)
        lam = np.empty((d, B, K), Tt.dtype)
        msg = np.empty((d, B, K), Tt.dtype)
        lb = np.empty(B)
        wb = np.empty(B)
        R = np.empty((B, K), Tt.dtype)
        WR = np.empty((B, K), Tt.dtype)
        H = np.empty((B, K), Tt.dtype)
        P = np.empty((K, K), Tt.dtype)
        logs = np.empty(B)
        prod = np.empty(B)
        acc = 0.0
        for t in range(lane, nblk, L):
            i0 = t * B
            nb = min(n, i0 + B) - i0
            _upward_gemm(X, nomiss, i0, nb, order, parent, prior, Tt, E, lam, msg, lb, logs, prod)
            acc = _root_posteriors(X, w, i0, nb, root, prior, lam, lb, wb, S, lane, acc)
            for tt in range(1, d):
                ch = order[tt]
                p = parent[ch]
                for b in range(nb):
                    if wb[b] == 0.0:
                        for k in range(K):
                            R[b, k] = 0.0
                            WR[b, k] = 0.0
                    else:
                        _ratio(lam, msg, p, ch, b, wb[b], R, WR, b)
                np.dot(R[:nb], T[ch], H[:nb])
                np.dot(WR[:nb].T, lam[ch, :nb], P)
                for u in range(K):
                    for v in range(K):
                        G[lane, ch, u, v] += P[u, v]
                for b in range(nb):
                    if wb[b] != 0.0:
                        _posterior(X, i0, lam, H, b, ch, b, wb[b], S, lane)
        ll[lane] = acc
