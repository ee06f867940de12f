"""MAP-EM of the factorized mixture: E- and M-step statistics in one fused numba pass per
iteration (:func:`fastdgm.kernels.likelihood.mixture_em_stats`, columns packed for small C), or
as two matrix products per block of rows on wide data (:mod:`fastdgm.kernels.mixture_gemm`),
chosen by :func:`fastdgm.kernels.mixture_gemm.prefer_gemm`."""
from __future__ import annotations

import numpy as np

from ..kernels import likelihood as _k
from ..kernels import mixture_gemm as _g
from ._packing import combine, marginalize, pack, pack_width

__all__ = ["em", "m_step", "block_statistics", "e_step"]


def m_step(counts, nk, total, alpha, C):
    """Mixture parameters from the E-step statistics counts (K, d, C), nk (K,)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lw = np.log(nk / total)
        lc = np.log((counts + alpha) / (nk[:, None, None] + alpha * C))
    dead = ~(nk > 0)
    if alpha == 0 and dead.any():
        lc[dead] = -np.log(C)   # no data: any valid table, weight 0 makes it irrelevant
    return lw, np.ascontiguousarray(lc)


def e_step(X, Xp, C, g, lw, lc, w, rows, counts, nk, ll):
    """E-step statistics under (lw (K,), lc (K, d, C)): (counts (K, d, C), nk (K,), loglik).

    By GEMM when :func:`fastdgm.kernels.mixture_gemm.prefer_gemm` says so, else by the fused
    kernel on the packed ``Xp`` (g columns per state) with its chunk partials ``counts``
    (nc, G, C**g, K), ``nk`` (nc, K), ``ll`` (nc,) of ``rows`` rows each (scratch).
    """
    d = X.shape[1]
    if _g.prefer_gemm(d, C, lw.shape[0], Xp.shape[1], lc):
        return _g.em_stats(X, C, lw, lc, w)
    T = np.ascontiguousarray(combine(np.ascontiguousarray(lc.transpose(1, 2, 0)), C, g))
    _k.mixture_em_stats(Xp.size * lw.shape[0], Xp, T, lw, w, rows, counts, nk, ll)
    stats = marginalize(counts.sum(axis=0), d, C, g)
    return np.ascontiguousarray(stats.transpose(2, 0, 1)), nk.sum(axis=0), float(ll.sum())


def em(X, C, K, w, alpha, max_iter, tol, key, bar=None):
    n, d = X.shape
    total = float(w.sum()) if w.size else float(n)
    g = pack_width(C, d)
    Xp = pack(X, C, g)
    G, Cg = Xp.shape[1], C ** g
    work = Xp.size * K
    nc, rows = _k.n_chunks(n, G * Cg * K)
    counts = np.empty((nc, G, Cg, K))
    nk = np.empty((nc, K))
    ll = np.empty(nc)

    # initial M-step from random responsibilities (Dirichlet(1) rows), in one pass
    _k.random_resp_stats(work, Xp, K, key, 0, w, rows, counts, nk)
    stats = marginalize(counts.sum(axis=0), d, C, g)
    lw, lc = m_step(np.ascontiguousarray(stats.transpose(2, 0, 1)), nk.sum(axis=0), total, alpha, C)

    obj_hist, ll_hist = [], []
    converged = False
    for it in range(max_iter):
        counts_k, nk_k, loglik = e_step(X, Xp, C, g, lw, lc, w, rows, counts, nk, ll)
        prior = alpha * float(lc.sum()) if alpha > 0 else 0.0
        obj_hist.append((loglik + prior) / total)
        ll_hist.append(loglik / total)
        if bar is not None:
            bar.update(1)
        if it > 0 and obj_hist[-1] - obj_hist[-2] < tol * max(1.0, abs(obj_hist[-1])):
            converged = True
            break
        if it == max_iter - 1:
            break
        lw, lc = m_step(counts_k, nk_k, total, alpha, C)
    return lw, lc, obj_hist, ll_hist, converged


def block_statistics(X, C: int, K: int, w: np.ndarray, *, lw=None, lc=None, key=None, row0: int = 0) -> dict:
    """EM statistics of one block of rows: the E-step under (lw (K,), lc (K, d, C)), or, with
    ``key``, the random initial responsibilities of rows ``row0..`` of the whole data set.

    Returns ``counts`` (K, d, C), ``nk`` (K,), ``loglik`` () and ``total`` (): additive over
    blocks; :func:`m_step` of their sums is the next model.
    """
    n, d = X.shape
    g = pack_width(C, d)
    total = np.float64(w.sum() if w.size else n)
    if key is None and _g.prefer_gemm(d, C, K, -(-d // g), lc):     # no packing needed
        cnt, nks, loglik = _g.em_stats(X, C, lw, lc, w)
        return {"counts": cnt, "nk": nks, "loglik": np.float64(loglik), "total": total}
    Xp = pack(X, C, g)
    G, Cg = Xp.shape[1], C ** g
    work = Xp.size * K
    nc, rows = _k.n_chunks(n, G * Cg * K)
    counts = np.empty((nc, G, Cg, K))
    nk = np.empty((nc, K))
    ll = np.zeros(nc)
    if key is not None:
        _k.random_resp_stats(work, Xp, K, np.uint64(key), int(row0), w, rows, counts, nk)
        stats = marginalize(counts.sum(axis=0), d, C, g)
        cnt, nks, loglik = np.ascontiguousarray(stats.transpose(2, 0, 1)), nk.sum(axis=0), float(ll.sum())
    else:
        cnt, nks, loglik = e_step(X, Xp, C, g, lw, lc, w, rows, counts, nk, ll)
    return {"counts": cnt, "nk": nks, "loglik": np.float64(loglik), "total": total}
