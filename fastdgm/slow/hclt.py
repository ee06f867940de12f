"""Slow, obviously-correct references of the hidden Chow-Liu tree (enumeration over the
K^d latent states; only for tiny models)."""
from __future__ import annotations

import itertools

import numpy as np

__all__ = ["joint_zx", "log_prob", "posteriors", "em_step", "log_prob_numpy"]


def _latent_weights(model, x, missing=None):
    """(K^d,) P(z, x_observed) for every latent configuration z (itertools.product order)."""
    d, K = model.n_dims, model.n_hidden
    out = np.empty(K ** d)
    for t, z in enumerate(itertools.product(range(K), repeat=d)):
        p = model.root_probs[z[model.root]]
        for j in range(d):
            if j != model.root:
                p *= model.trans_probs[j, z[model.parent[j]], z[j]]
            if missing is None or not missing[j]:
                p *= model.emit_probs[j, z[j], x[j]]
        out[t] = p
    return out


def joint_zx(model):
    """Full joint P(x) over all C^d states, shape (C,)*d, by enumeration over z and x."""
    d, C = model.n_dims, model.n_states
    P = np.empty((C,) * d)
    for x in itertools.product(range(C), repeat=d):
        P[x] = _latent_weights(model, x).sum()
    return P


def log_prob(model, X, missing=None):
    """log P(x_i) (marginal over missing entries) by enumeration over z."""
    X = np.asarray(X)
    return np.array([np.log(_latent_weights(model, X[i], None if missing is None else missing[i]).sum())
                     for i in range(X.shape[0])])


def posteriors(model, x):
    """(pair (d, K, K) P(z_parent(j), z_j | x) (root's zero), single (d, K) P(z_j | x))."""
    d, K = model.n_dims, model.n_hidden
    pw = _latent_weights(model, x)
    pw = pw / pw.sum()
    pair = np.zeros((d, K, K))
    single = np.zeros((d, K))
    for t, z in enumerate(itertools.product(range(K), repeat=d)):
        for j in range(d):
            single[j, z[j]] += pw[t]
            if j != model.root:
                pair[j, z[model.parent[j]], z[j]] += pw[t]
    return pair, single


def em_step(model, X, alpha, w=None):
    """One MAP-EM step by exact posteriors: (root_probs, trans_probs, emit_probs, mean loglik)."""
    X = np.asarray(X)
    n = X.shape[0]
    w = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    d, K, C = model.n_dims, model.n_hidden, model.n_states
    P = np.zeros((d, K, K))
    S = np.zeros((d, K, C))
    for i in range(n):
        pair, single = posteriors(model, X[i])
        P += w[i] * pair
        for j in range(d):
            S[j, :, X[i, j]] += w[i] * single[j]
    root = S[model.root].sum(axis=1) + alpha
    root = root / root.sum()
    with np.errstate(invalid="ignore"):
        T = (P + alpha) / (P + alpha).sum(axis=2, keepdims=True)
    T[model.root] = 1.0 / K
    E = (S + alpha) / (S + alpha).sum(axis=2, keepdims=True)
    ll = float(np.dot(w, log_prob(model, X))) / w.sum()
    return root, T, E, ll


def log_prob_numpy(model, X):
    """The numpy idiom (benchmark baseline): the upward pass vectorised over rows, one BLAS
    product (n, K) @ (K, K) per node, messages rescaled by their row maximum."""
    X = np.asarray(X)
    n = X.shape[0]
    lam = [model.emit_probs[j][:, X[:, j]].T.copy() for j in range(model.n_dims)]   # (n, K)
    logs = np.zeros(n)
    for j in model.order[:0:-1]:
        mx = lam[j].max(axis=1, keepdims=True)
        logs += np.log(mx[:, 0])
        lam[model.parent[j]] *= (lam[j] / mx) @ model.trans_probs[j].T
    return logs + np.log(lam[model.root] @ model.root_probs)
