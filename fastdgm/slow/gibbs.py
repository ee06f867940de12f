"""Slow references for pairwise MRFs and Gibbs sampling (tests and benchmark baselines).

Models are given as plain arrays: ``unary`` (d, C), ``edges`` (m, 2), ``tables`` (m, C, C)
(one table per edge; ``np.broadcast_to(T, (m, C, C))`` for a shared one).
"""
from __future__ import annotations

import itertools

import numpy as np

__all__ = ["energy", "all_states", "log_partition", "log_prob", "exact_probs", "conditional",
           "pseudo_log_likelihood", "potts_ring_log_partition", "checkerboard_potts",
           "chromatic_gibbs"]


def energy(unary, edges, tables, X):
    """E(x) = -(sum_i unary[i, x_i] + sum_e tables[e, x_u, x_v]) per row, by loops."""
    X = np.asarray(X)
    out = np.empty(len(X))
    for r, x in enumerate(X):
        s = 0.0
        for i in range(len(x)):
            s += unary[i, x[i]]
        for e, (u, v) in enumerate(edges):
            s += tables[e][x[u], x[v]]
        out[r] = -s
    return out


def all_states(d, C):
    """Every state of {0..C-1}^d, shape (C**d, d), row-major (site 0 slowest)."""
    return np.array(list(itertools.product(range(C), repeat=d)), dtype=np.int64).reshape(-1, d)


def _energies_all(unary, edges, tables):
    d, C = np.shape(unary)
    S = all_states(d, C)
    E = -np.asarray(unary)[np.arange(d), S].sum(1)
    for e, (u, v) in enumerate(edges):
        E -= np.asarray(tables[e])[S[:, u], S[:, v]]
    return S, E


def log_partition(unary, edges, tables):
    """log Z by listing every state (vectorised over states, loops over edges)."""
    _, E = _energies_all(unary, edges, tables)
    m = (-E).max()
    return float(m + np.log(np.sum(np.exp(-E - m))))


def log_prob(unary, edges, tables, X):
    """Exact log P(x) per row."""
    return -energy(unary, edges, tables, X) - log_partition(unary, edges, tables)


def exact_probs(unary, edges, tables):
    """(states (C**d, d), probabilities (C**d,)) of the whole joint."""
    S, E = _energies_all(unary, edges, tables)
    p = np.exp(-(E - E.min()))
    return S, p / p.sum()


def conditional(unary, edges, tables, x, i):
    """P(x_i = k | x_-i) for k = 0..C-1, by changing x_i and comparing energies."""
    C = np.shape(unary)[1]
    Xs = np.repeat(np.asarray(x)[None], C, 0)
    Xs[:, i] = np.arange(C)
    lp = -energy(unary, edges, tables, Xs)
    lp -= lp.max()
    p = np.exp(lp)
    return p / p.sum()


def pseudo_log_likelihood(unary, edges, tables, X):
    """sum_i log P(x_i | x_-i) per row (from :func:`conditional`)."""
    X = np.asarray(X)
    return np.array([sum(np.log(conditional(unary, edges, tables, x, i)[x[i]]) for i in range(len(x)))
                     for x in X])


def potts_ring_log_partition(N, q, beta):
    """log Z of the periodic Potts ring (N >= 3): Z = (e^b + q - 1)^N + (q - 1)(e^b - 1)^N."""
    return float(np.log((np.exp(beta) + q - 1) ** N + (q - 1) * (np.exp(beta) - 1) ** N))


def checkerboard_potts(state, beta, n_states, n_sweeps, rng):
    """Vectorised numpy checkerboard heat-bath on a periodic (even-sided) Potts lattice.

    Parameters
    ----------
    state : int array (chains, H, W), updated copy returned
    beta : float
    n_states : int
    n_sweeps : int
    rng : numpy Generator
    """
    s = np.array(state)
    _, H, W = s.shape
    ii, jj = np.indices((H, W))
    masks = [((ii + jj) % 2 == c) for c in range(2)]
    ks = np.arange(n_states)
    for _ in range(n_sweeps):
        for m in masks:
            logits = np.zeros(s.shape + (n_states,))
            for nb in (np.roll(s, 1, 1), np.roll(s, -1, 1), np.roll(s, 1, 2), np.roll(s, -1, 2)):
                logits += beta * (nb[..., None] == ks)
            p = np.exp(logits - logits.max(-1, keepdims=True))
            cum = np.cumsum(p, -1)
            u = rng.random(s.shape + (1,)) * cum[..., -1:]
            new = np.minimum((u >= cum).sum(-1), n_states - 1)
            s = np.where(m, new, s)
    return s


def chromatic_gibbs(state, unary, edges, tables, colour, n_sweeps, rng):
    """Vectorised numpy chromatic heat-bath on a general graph.

    Parameters
    ----------
    state : int array (chains, d), updated copy returned
    unary : (d, C); edges : (m, 2); tables : (m, C, C)
    colour : int array (d,), a proper colouring
    n_sweeps : int
    rng : numpy Generator
    """
    x = np.array(state)
    d, C = np.shape(unary)
    edges = np.asarray(edges)
    tables = np.asarray(tables)
    # adjacency entries (site, neighbour, table oriented as [x_nbr, k])
    site = np.concatenate([edges[:, 0], edges[:, 1]])
    nbr = np.concatenate([edges[:, 1], edges[:, 0]])
    otab = np.concatenate([tables.transpose(0, 2, 1), tables])
    plans = []
    for c in range(int(colour.max()) + 1):
        sites = np.flatnonzero(colour == c)
        pos = np.full(d, -1)
        pos[sites] = np.arange(len(sites))
        sel = np.flatnonzero(colour[site] == c)
        sel = sel[np.argsort(pos[site[sel]], kind="stable")]  # entries grouped by site
        p = pos[site[sel]]
        has, starts = np.unique(p, return_index=True)
        plans.append((sites, has, starts, nbr[sel], sel))
    for _ in range(n_sweeps):
        for sites, has, starts, nb, sel in plans:
            logits = np.broadcast_to(unary[sites], (len(x), len(sites), C)).copy()
            if len(sel):
                contrib = otab[sel[None, :], x[:, nb]]  # (chains, entries, C)
                logits[:, has] += np.add.reduceat(contrib, starts, axis=1)
            pr = np.exp(logits - logits.max(-1, keepdims=True))
            cum = np.cumsum(pr, -1)
            u = rng.random((len(x), len(sites), 1)) * cum[..., -1:]
            x[:, sites] = np.minimum((u >= cum).sum(-1), C - 1)
    return x
