"""The two passes of a hidden Chow-Liu tree over rows, each by the per-row kernel
(:mod:`fastdgm.kernels.hclt`) or by GEMMs per node and block of rows
(:mod:`fastdgm.kernels.hclt_gemm`) as the cost model chooses: the upward pass (log-likelihood,
missing entries summed out) and the E-step statistics. ``self`` is the model."""
from __future__ import annotations

import numpy as np

from .._validation import check_model_X
from ..kernels import hclt as _h
from ..kernels import hclt_gemm as _hg
from ..kernels.blas import blas_threads
from ..kernels.threads import get_num_threads
from ._missing import check_missing

__all__ = ["upward", "em_statistics", "tables32", "estep_bytes"]


def upward(self, X, missing) -> np.ndarray:
    """log P(x_obs) of each row by one upward pass (missing emissions set to 1), float64 (n,):
    by GEMMs per node from K = ``hclt_gemm.GEMM_MIN_K`` on, else by the per-row kernel."""
    if missing is None:
        X = check_model_X(X, self.n_states, self.n_dims)
        miss = np.zeros((0, 0), dtype=np.uint8)
    else:
        X, M, _ = check_missing(X, missing, self.n_states, self.n_dims)
        miss = M.view(np.uint8)
    out = np.empty(X.shape[0])
    K = self.n_hidden
    if _hg.prefer_gemm(K):
        with blas_threads(1):        # one BLAS thread per block: thread-count invariant bits
            _hg.log_prob_gemm(X.size * K ** 2, X, miss, self.order, self.parent, self.root_probs,
                              self._Tt, self._E, _hg.gemm_block_rows(self.n_dims, K), out)
    else:
        _h.log_prob(X.size * K ** 2, X, miss, self.order, self.parent, self.root_probs,
                    self._Tt, self._E, self._block(), out)
    return out


def estep_bytes(n: int, d: int, K: int, C: int, precision: str = "auto", threads: int | None = None) -> float:
    """Bytes one E-step of :func:`em_statistics` allocates on n rows (the partial statistics
    of every lane, the messages of the blocks that ``threads`` threads run at once, their sums
    and the model's tables and the M-step's copies), as the GEMM path lays them out (the per-row
    kernel's are smaller)."""
    threads = threads or get_num_threads()
    item = np.dtype(_hg.estep_dtype(K, precision)).itemsize
    B = _hg.gemm_block_rows(d, K)
    cells = d * K * K + d * C * K
    L = _hg.gemm_lanes(max(1, -(-n // B)), cells)
    scratch = (2 * d * B * K + 3 * B * K + K * K) * item       # lam, msg, R, WR, H, P of a block
    return float(8 * (L + 2) * cells + min(L, threads) * scratch + 8 * 10 * cells + 4 * 3 * cells)


def tables32(self) -> tuple:
    """(T, Tt, E) in float32 for the float32 E-step, made once per model. A positive entry
    below float32's smallest normal number becomes that number (not 0: a row of positive
    probability keeps it; not a subnormal: those are slow)."""
    if getattr(self, "_f32", None) is None:
        tiny = np.finfo(np.float32).tiny
        out = []
        for a in (self.trans_probs, self._Tt, self._E):
            b = a.astype(np.float32)
            b[(a > 0) & (b < tiny)] = tiny
            out.append(b)
        self._f32 = tuple(out)
    return self._f32


def em_statistics(self, X, w, precision: str = "auto") -> dict:
    """E-step statistics of a block: ``pair`` (d, K, K) expected (Z_parent(j), Z_j) counts,
    ``emit`` (d, C, K) expected (X_j, Z_j) counts, ``loglik`` the weighted log-likelihood
    and ``total`` the weight of the block; additive over blocks. By GEMMs per node and block
    of rows from K = ``hclt_gemm.GEMM_MIN_K`` on, else by the per-row kernel; with float32
    messages (SGEMM, float64 sums) where ``hclt_gemm.estep_dtype(K, precision)`` says so."""
    n, d = X.shape
    K, C = self.n_hidden, self.n_states
    f32 = _hg.estep_dtype(K, precision) is np.float32
    gemm = f32 or _hg.prefer_gemm(K)
    B = _hg.gemm_block_rows(d, K) if gemm else self._block()
    cells = d * K * K + d * C * K
    L = _hg.gemm_lanes(-(-n // B), cells) if gemm else _h.n_lanes(-(-n // B), cells)
    G, S, ll = np.empty((L, d, K, K)), np.empty((L, d, C, K)), np.empty(L)
    T, Tt, E = tables32(self) if f32 else (self.trans_probs, self._Tt, self._E)
    args = (X.size * K * K, X, w, self.order, self.parent, self.root_probs, T, Tt, E, B, G, S, ll)
    if gemm:
        with blas_threads(1):        # one BLAS thread per block: thread-count invariant bits
            _hg.em_stats_gemm(*args)
    else:
        _h.em_stats(*args)
    return {"pair": G.sum(axis=0) * self.trans_probs, "emit": S.sum(axis=0), "loglik": np.float64(ll.sum()),
            "total": np.float64(w.sum() if w.size else n)}
