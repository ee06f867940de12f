"""The per-pair mutual-information kernel (one C x C count table per pair, in pair order): the
independent twin the count-matrix paths of :mod:`fastdgm.models._cooccurrence` must equal bit
for bit on integer counts. Test-only: the package computes mutual informations from count
matrices."""
import numpy as np
from numba import njit, prange

from fastdgm.kernels.likelihood import _count_pair
from fastdgm.kernels.pairwise import table_mutual_info


@njit(parallel=True, cache=False)
def pair_mutual_info(Xt, w, a, b, C, total, out):
    """out[p] = empirical mutual information (nats) of columns a[p] and b[p] of X (weights w).

    Pairs are processed in blocks of 64 with one C x C count buffer per block, so memory is
    bounded by (blocks in flight) x C^2 whatever d is.
    """
    P = a.shape[0]
    has_w = w.shape[0] > 0
    nb = (P + 63) // 64
    logt = np.log(total)
    no_table = np.empty(0)
    for blk in prange(nb):
        o = np.empty((C, C))
        ra = np.empty(C)
        cb = np.empty(C)
        for p in range(blk * 64, min(P, blk * 64 + 64)):
            _count_pair(Xt[a[p]], Xt[b[p]], w, has_w, o)
            out[p] = table_mutual_info(o, C, total, logt, ra, cb, no_table)
    return out


def mutual_info_matrix(X, C, w=None):
    """(d, d) mutual informations of the columns of X by :func:`pair_mutual_info`."""
    X = np.ascontiguousarray(X)
    n, d = X.shape
    wk = np.empty(0) if w is None else np.asarray(w, dtype=np.float64)
    total = float(wk.sum()) if wk.size else float(n)
    mi = np.zeros((d, d))
    if d < 2:
        return mi
    a, b = (v.astype(np.int64) for v in np.triu_indices(d, k=1))
    vals = np.empty(a.shape[0])
    pair_mutual_info(np.ascontiguousarray(X.T), wk, a, b, C, total, vals)
    mi[a, b] = vals
    mi[b, a] = vals
    return mi
