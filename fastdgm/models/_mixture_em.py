"""MAP-EM of the factorized mixture: E- and M-step statistics in one fused numba pass per
iteration (:func:`fastdgm.kernels.likelihood.mixture_em_stats`, columns packed for small C), or
as two matrix products per block of rows on wide data (:mod:`fastdgm.kernels.mixture_gemm`),
chosen by :func:`fastdgm.kernels.mixture_gemm.prefer_gemm`."""
from __future__ import annotations

import functools

import numpy as np

from ..kernels import likelihood as _k
from ..kernels import mixture_gemm as _g
from ._packing import combine, marginalize, pack, pack_width

__all__ = ["m_step", "prepare", "block_statistics", "Packed"]


def m_step(counts, nk, total, alpha, C):
    """Mixture parameters from the E-step statistics counts (K, d, C), nk (K,)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lw = np.log(nk / total)
        lc = np.log((counts + alpha) / (nk[:, None, None] + alpha * C))
    dead = ~(nk > 0)
    if alpha == 0 and dead.any():
        lc[dead] = -np.log(C)   # no data: any valid table, weight 0 makes it irrelevant
    return lw, np.ascontiguousarray(lc)


class Packed:
    """One block of rows prepared for the EM statistics: the states themselves (the GEMM path)
    and, packed g columns per state (C**g <= 256) on first use, for the fused kernels; kept
    across the iterations of an in-memory fit."""

    def __init__(self, X: np.ndarray, C: int):
        self.n, self.d = X.shape
        self.C = C
        self.g = pack_width(C, self.d)
        self.groups = -(-self.d // self.g)
        self.X = X

    @functools.cached_property
    def Xp(self) -> np.ndarray:
        """X packed g columns per state, (n, groups) uint8 (built when a fused kernel needs it)."""
        return pack(self.X, self.C, self.g)


def prepare(X: np.ndarray, C: int) -> Packed:
    """X (validated) packed for :func:`block_statistics`."""
    return Packed(X, C)


def block_statistics(block: Packed, K: int, w: np.ndarray, *, lw=None, lc=None, key=None, row0: int = 0) -> dict:
    """EM statistics of one block of rows: the E-step under (lw (K,), lc (K, d, C)), or, with
    ``key``, the random initial responsibilities (Dirichlet(1) rows) of rows ``row0..`` of the
    whole data set, in one fused pass.

    Returns ``counts`` (K, d, C), ``nk`` (K,), ``loglik`` () and ``total`` (): additive over
    blocks; :func:`m_step` of their sums is the next model.
    """
    C, g, d, n = block.C, block.g, block.d, block.n
    if key is None and _g.prefer_gemm(d, C, K, block.groups, lc):    # wide data: two GEMMs per block
        cnt, nks, loglik = _g.em_stats(block.X, C, lw, lc, w)
        return {"counts": cnt, "nk": nks, "loglik": np.float64(loglik), "total": np.float64(w.sum() if w.size else n)}
    Xp = block.Xp
    G, Cg = Xp.shape[1], C ** g
    work = Xp.size * K
    nc, rows = _k.n_chunks(n, G * Cg * K)
    counts = np.empty((nc, G, Cg, K))
    nk = np.empty((nc, K))
    ll = np.zeros(nc)
    if key is not None:
        _k.random_resp_stats(work, Xp, K, np.uint64(key), int(row0), w, rows, counts, nk)
    else:
        T = np.ascontiguousarray(combine(np.ascontiguousarray(lc.transpose(1, 2, 0)), C, g))
        _k.mixture_em_stats(work, Xp, T, lw, w, rows, counts, nk, ll)
    stats = marginalize(counts.sum(axis=0), d, C, g)
    return {"counts": np.ascontiguousarray(stats.transpose(2, 0, 1)), "nk": nk.sum(axis=0),
            "loglik": np.float64(ll.sum()), "total": np.float64(w.sum() if w.size else n)}
