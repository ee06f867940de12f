"""MAP-EM of the factorized mixture: E- and M-step statistics in one fused numba pass per
iteration (:func:`fastdgm.kernels.likelihood.mixture_em_stats`), columns packed for small C."""
from __future__ import annotations

import numpy as np

from ..kernels import likelihood as _k
from ._packing import combine, marginalize, pack, pack_width

__all__ = ["em", "m_step", "block_statistics"]


def m_step(counts, nk, total, alpha, C):
    """Mixture parameters from the E-step statistics counts (K, d, C), nk (K,)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lw = np.log(nk / total)
        lc = np.log((counts + alpha) / (nk[:, None, None] + alpha * C))
    dead = ~(nk > 0)
    if alpha == 0 and dead.any():
        lc[dead] = -np.log(C)   # no data: any valid table, weight 0 makes it irrelevant
    return lw, np.ascontiguousarray(lc)


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
        T = np.ascontiguousarray(combine(np.ascontiguousarray(lc.transpose(1, 2, 0)), C, g))
        _k.mixture_em_stats(work, Xp, T, lw, w, rows, counts, nk, ll)
        loglik = float(ll.sum())
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
        stats = marginalize(counts.sum(axis=0), d, C, g)          # (d, C, K)
        lw, lc = m_step(np.ascontiguousarray(stats.transpose(2, 0, 1)), nk.sum(axis=0), total, alpha, C)
    return lw, lc, obj_hist, ll_hist, converged


def block_statistics(X, C: int, K: int, w: np.ndarray, *, lw=None, lc=None, key=None, row0: int = 0) -> dict:
    """EM statistics of one block of rows: the E-step under (lw (K,), lc (K, d, C)), or, with
    ``key``, the random initial responsibilities of rows ``row0..`` of the whole data set.

    Returns ``counts`` (K, d, C), ``nk`` (K,), ``loglik`` () and ``total`` (): additive over
    blocks; :func:`m_step` of their sums is the next model.
    """
    n, d = X.shape
    g = pack_width(C, d)
    Xp = pack(X, C, g)
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
