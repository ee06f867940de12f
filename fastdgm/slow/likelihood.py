"""Slow, obviously-correct numpy references of :mod:`fastdgm.kernels.likelihood`,
and the numpy idioms the benchmarks time against.

X is an integer array (n, d) of states in [0, C); tables are float64.
"""
from __future__ import annotations

import itertools

import numpy as np

__all__ = [
    "factorized_log_prob", "factorized_log_prob_numpy", "mixture_log_prob", "mixture_log_prob_numpy",
    "tree_log_prob", "mixture_responsibilities", "weighted_counts", "resp_counts", "pairwise_counts",
    "mutual_info", "logsumexp", "all_states", "factorized_sample", "mixture_sample", "tree_sample",
    "joint_probs", "mixture_em_step_numpy", "mutual_info_matrix_numpy", "pack_states",
    "random_responsibilities",
]


def factorized_log_prob(X, logp):
    """log P(x_i) = sum_j logp[j, x_ij], one row at a time. logp (d, C)."""
    X = np.asarray(X)
    out = np.zeros(X.shape[0])
    for i in range(X.shape[0]):
        s = 0.0
        for j in range(X.shape[1]):
            s += logp[j, X[i, j]]
        out[i] = s
    return out


def factorized_log_prob_numpy(X, logp):
    """The numpy idiom (benchmark baseline): loop over columns gathering ``logp[j][X[:, j]]``."""
    out = np.zeros(X.shape[0])
    for j in range(X.shape[1]):
        out += logp[j][X[:, j]]
    return out


def logsumexp(a, axis=-1):
    """log(sum(exp(a))) along ``axis``, max-shifted; -inf for an all -inf slice."""
    m = np.max(a, axis=axis, keepdims=True)
    m_safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - m_safe), axis=axis, keepdims=True)) + m_safe
    return np.squeeze(out, axis=axis)


def _component_log_probs(X, logw, logc):
    """(n, K) log w_k + sum_j logc[k, j, x_ij], by loops."""
    X = np.asarray(X)
    n, d = X.shape
    K = logw.shape[0]
    a = np.empty((n, K))
    for k in range(K):
        a[:, k] = logw[k] + factorized_log_prob(X, logc[k])
    return a


def mixture_log_prob(X, logw, logc):
    """log sum_k w_k prod_j c[k, j, x_ij]; logw (K,), logc (K, d, C)."""
    return logsumexp(_component_log_probs(X, logw, logc), axis=1)


def mixture_log_prob_numpy(X, logw, logc):
    """The numpy idiom (benchmark baseline): one-hot (n, d*C) matrix product + logsumexp."""
    X = np.asarray(X)
    n, d = X.shape
    K, _, C = logc.shape
    onehot = np.zeros((n, d * C))
    onehot[np.arange(n)[:, None], np.arange(d) * C + X] = 1.0
    a = onehot @ logc.reshape(K, d * C).T + logw
    return logsumexp(a, axis=1)


def mixture_responsibilities(X, logw, logc):
    """(resp (n, K), log P(x) (n,)): posterior of the component given each row."""
    a = _component_log_probs(X, logw, logc)
    lse = logsumexp(a, axis=1)
    with np.errstate(invalid="ignore"):
        resp = np.exp(a - lse[:, None])
    resp[~np.isfinite(lse)] = 1.0 / a.shape[1]
    return resp, lse


def tree_log_prob(X, log_marginal_root, log_cond, parent, root):
    """log P(x) = log m_root[x_root] + sum_{j != root} log_cond[j, x_parent(j), x_j]."""
    X = np.asarray(X)
    out = np.zeros(X.shape[0])
    for i in range(X.shape[0]):
        s = log_marginal_root[X[i, root]]
        for j in range(X.shape[1]):
            if j != root:
                s += log_cond[j, X[i, parent[j]], X[i, j]]
        out[i] = s
    return out


def weighted_counts(X, C, w=None):
    """counts[j, x] = sum of w_i over rows with X[i, j] = x (w_i = 1 if w is None)."""
    X = np.asarray(X)
    n, d = X.shape
    w = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    out = np.zeros((d, C))
    for j in range(d):
        for x in range(C):
            out[j, x] = w[X[:, j] == x].sum()
    return out


def resp_counts(X, C, resp):
    """counts[k, j, x] = sum_i resp[i, k] [X[i, j] = x] (the mixture M-step statistics)."""
    X = np.asarray(X)
    return np.stack([weighted_counts(X, C, resp[:, k]) for k in range(resp.shape[1])])


def pairwise_counts(X, C, w=None):
    """counts[a, b, u, v] = sum_i w_i [X[i, a] = u, X[i, b] = v], all pairs (d, d, C, C)."""
    X = np.asarray(X)
    n, d = X.shape
    w = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    out = np.zeros((d, d, C, C))
    for a in range(d):
        for b in range(d):
            np.add.at(out[a, b], (X[:, a], X[:, b]), w)
    return out


def mutual_info(pair_counts):
    """Plug-in mutual information (nats) of a (C, C) table of (weighted) counts."""
    p = pair_counts / pair_counts.sum()
    pa = p.sum(axis=1, keepdims=True)
    pb = p.sum(axis=0, keepdims=True)
    nz = p > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum(p[nz] * np.log((p / (pa * pb))[nz])))


def all_states(d, C):
    """Every state of the joint space, shape (C**d, d), in lexicographic order."""
    return np.array(list(itertools.product(range(C), repeat=d)), dtype=np.int64).reshape(-1, d)


def _threshold(levels, u):
    """First k with u < levels[k]."""
    return int(np.searchsorted(levels, u, side="right"))


def factorized_sample(levels, key, n):
    """Reference of the factorized sampler: X[i, j] = threshold(levels[j], uniform(key, i*d + j))."""
    from .._rng import uniform_ref

    d = levels.shape[0]
    return np.array([[_threshold(levels[j], uniform_ref(key, i * d + j)) for j in range(d)]
                     for i in range(n)], dtype=np.int64).reshape(n, d)


def mixture_sample(wlevels, levels, key, n):
    """Reference of the mixture sampler: component from uniform(substream(key, 0), i)."""
    from .._rng import substream_ref, uniform_ref

    K, d, _ = levels.shape
    zkey = substream_ref(key, 0)
    out = np.empty((n, d), dtype=np.int64)
    for i in range(n):
        z = _threshold(wlevels, uniform_ref(zkey, i))
        for j in range(d):
            out[i, j] = _threshold(levels[z, j], uniform_ref(key, i * d + j))
    return out


def tree_sample(levels, parent, order, key, n):
    """Reference of ancestral sampling: levels (d, C, C) of P(x_j | x_parent); root parent -1
    (its row 0 is used)."""
    from .._rng import uniform_ref

    d = levels.shape[0]
    out = np.zeros((n, d), dtype=np.int64)
    for i in range(n):
        for j in order:
            ps = 0 if parent[j] < 0 else out[i, parent[j]]
            out[i, j] = _threshold(levels[j, ps], uniform_ref(key, i * d + j))
    return out


def joint_probs(model):
    """Exact probability of every state (C**d,), in the order of :func:`all_states`."""
    return np.exp(model.log_prob(all_states(model.n_dims, model.n_states)))


def mixture_em_step_numpy(X, logw, logc, onehot=None):
    """One EM iteration the numpy way (benchmark baseline): one-hot E-step by a matrix
    product + logsumexp, M-step statistics by the transposed product. Returns (logw, logc, ll)."""
    n, d = X.shape
    K, _, C = logc.shape
    if onehot is None:
        onehot = np.zeros((n, d * C))
        onehot[np.arange(n)[:, None], np.arange(d) * C + X] = 1.0
    a = onehot @ logc.reshape(K, d * C).T + logw
    lse = logsumexp(a, axis=1)
    resp = np.exp(a - lse[:, None])
    nk = resp.sum(axis=0)
    counts = (resp.T @ onehot).reshape(K, d, C)
    with np.errstate(divide="ignore"):
        return np.log(nk / n), np.log((counts + 1.0) / (nk[:, None, None] + C)), lse.sum()


def mutual_info_matrix_numpy(X, C):
    """Empirical mutual information of every pair of columns by ``np.bincount`` per pair
    (the numpy idiom; benchmark baseline of the Chow-Liu statistics)."""
    X = np.asarray(X)
    n, d = X.shape
    Xi = X.astype(np.int64)
    mi = np.zeros((d, d))
    for a in range(d):
        for b in range(a + 1, d):
            mi[a, b] = mi[b, a] = mutual_info(np.bincount(Xi[:, a] * C + Xi[:, b],
                                                          minlength=C * C).reshape(C, C))
    return mi


def pack_states(X, C, g):
    """Reference of the packing: state of group q = sum_t X[:, q*g + t] * C**(m-1-t)."""
    X = np.asarray(X, dtype=np.int64)
    n, d = X.shape
    out = []
    for q in range(-(-d // g)):
        b = np.zeros(n, dtype=np.int64)
        for j in range(q * g, min(d, q * g + g)):
            b = b * C + X[:, j]
        out.append(b)
    return np.stack(out, axis=1)


def random_responsibilities(key, n, K, w=None):
    """Reference of the EM initialisation: r_ik proportional to -log(1 - u_ik) + 1e-12,
    u_ik = uniform(key, i*K + k), rows normalised, times w_i."""
    from .._rng import uniform_ref

    u = np.array([uniform_ref(key, c) for c in range(n * K)]).reshape(n, K)
    r = -np.log1p(-u) + 1e-12
    r /= r.sum(axis=1, keepdims=True)
    return r if w is None else r * np.asarray(w)[:, None]
