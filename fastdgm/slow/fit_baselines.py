"""The fits an expert would write with numpy/scipy (benchmark baselines of the density suite).

Binary data (the density-estimation benchmark): Chow-Liu by one float32 GEMM for the joint
counts, vectorised mutual informations and scipy's minimum spanning tree; one EM iteration
of a factorized mixture by two GEMMs (E-step scores, M-step counts).
"""
import numpy as np
from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree
from scipy.special import logsumexp


def chow_liu_binary_numpy(X, alpha=1.0):
    """(parent (d,), log_cond (d, 2, 2)) of the Chow-Liu tree of binary X, rooted at 0."""
    n, d = X.shape
    Xf = np.asarray(X, dtype=np.float32)
    n11 = (Xf.T @ Xf).astype(np.float64)
    n1 = np.diag(n11).copy()
    joint = np.stack([n - n1[:, None] - n1[None, :] + n11, n1[None, :] - n11, n1[:, None] - n11, n11])
    marg = np.stack([n - n1, n1])
    pa = np.stack([marg[0][:, None], marg[0][:, None], marg[1][:, None], marg[1][:, None]])
    pb = np.stack([marg[0][None, :], marg[1][None, :], marg[0][None, :], marg[1][None, :]])
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(joint > 0, joint / n * np.log(joint * n / (pa * pb)), 0.0)
    mi = terms.sum(0)
    np.fill_diagonal(mi, 0.0)
    tree = minimum_spanning_tree(-(mi + 1e-12)).toarray()      # epsilon: zero-MI edges still count
    order, pred = breadth_first_order(tree + tree.T, 0, directed=False)
    parent = np.where(pred < 0, -1, pred)
    log_cond = np.empty((d, 2, 2))
    log_cond[0] = np.log((marg[:, 0] + alpha) / (n + 2 * alpha))[None, :]
    for j in range(1, d):
        p = parent[j]
        N = joint[:, p, j].reshape(2, 2)
        log_cond[j] = np.log((N + alpha) / (N.sum(1, keepdims=True) + 2 * alpha))
    return parent, log_cond


def mixture_em_iteration_numpy(X, logw, logc, alpha=1.0):
    """One MAP-EM iteration of a binary factorized mixture by two GEMMs; returns (logw, logc, ll)."""
    Xf = np.asarray(X, dtype=np.float64)
    n = Xf.shape[0]
    a = Xf @ (logc[:, :, 1] - logc[:, :, 0]).T + logc[:, :, 0].sum(1) + logw
    lse = logsumexp(a, axis=1)
    resp = np.exp(a - lse[:, None])
    nk = resp.sum(0)
    ones = resp.T @ Xf
    counts = np.stack([nk[:, None] - ones, ones], axis=2)
    return np.log(nk / n), np.log((counts + alpha) / (nk[:, None, None] + 2 * alpha)), lse.sum()
