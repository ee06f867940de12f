"""Numba kernels of the exact pairwise-MRF reductions: energies, log Z by enumeration,
pseudo-log-likelihood and its gradient. Inputs are checked by :mod:`fastdgm.models.mrf`.
"""
import numpy as np
from numba import prange

from .levels import logsumexp
from .parallel import chunked_kernel, parallel_kernel, serial_kernel


# --- exact reductions ---------------------------------------------------------------------
ROWS = 64   # rows per chunk of the row kernels: a few thousand rows still go to many cores


@chunked_kernel(items="X.shape[0]", chunk=ROWS)
def energy_rows(c, start, stop, X, unary, edges, etab, tables, out):
    """out[r] = -(sum_i unary[i, x_i] + sum_e tables[etab[e], x_u, x_v]) for each row of X.

    Each row's terms are added in that order (sites, then edges); rows go in blocks of four
    whose four sums advance together, so the four add chains overlap instead of waiting on one
    another's latency (same bits as one row at a time); the last rows of a chunk go one by one.
    """
    d = X.shape[1]
    m = edges.shape[0]
    r = start
    while r + 4 <= stop:
        x0 = X[r]
        x1 = X[r + 1]
        x2 = X[r + 2]
        x3 = X[r + 3]
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        for i in range(d):
            s0 += unary[i, np.int64(x0[i])]
            s1 += unary[i, np.int64(x1[i])]
            s2 += unary[i, np.int64(x2[i])]
            s3 += unary[i, np.int64(x3[i])]
        for e in range(m):
            a = edges[e, 0]
            b = edges[e, 1]
            t = etab[e]
            s0 += tables[t, np.int64(x0[a]), np.int64(x0[b])]
            s1 += tables[t, np.int64(x1[a]), np.int64(x1[b])]
            s2 += tables[t, np.int64(x2[a]), np.int64(x2[b])]
            s3 += tables[t, np.int64(x3[a]), np.int64(x3[b])]
        out[r] = -s0
        out[r + 1] = -s1
        out[r + 2] = -s2
        out[r + 3] = -s3
        r += 4
    while r < stop:
        out[r] = row_energy(X[r], unary, edges, etab, tables)
        r += 1


@serial_kernel
def row_energy(x, unary, edges, etab, tables):
    """-(sum_i unary[i, x_i] + sum_e tables[etab[e], x_u, x_v]) of one state x (d,), the terms
    added in that order: the bits of :func:`energy_rows`."""
    s = 0.0
    for i in range(x.shape[0]):
        s += unary[i, np.int64(x[i])]
    for e in range(edges.shape[0]):
        s += tables[etab[e], np.int64(x[edges[e, 0]]), np.int64(x[edges[e, 1]])]
    return -s


ENUM_BLOCK = 4096  # states per enumeration work item (fixed: thread-count invariant)


@parallel_kernel
def enum_log_partition(unary, edges, etab, tables, n_states, d, total):
    """(log Z, E_p[-E]) over all ``total`` = C**d states (row-major, site 0 slowest).

    log Z = log sum_x exp(-E(x)); the second value, the mean of log of the unnormalised
    probability under P, gives the entropy H = log Z - E_p[-E].
    """
    m = edges.shape[0]
    n_blocks = (total + ENUM_BLOCK - 1) // ENUM_BLOCK
    bmax = np.empty(n_blocks)
    bsum = np.empty(n_blocks)
    bmom = np.empty(n_blocks)
    for b in prange(n_blocks):
        x = np.zeros(d, dtype=np.int64)
        start = b * ENUM_BLOCK
        rem = start
        for i in range(d - 1, -1, -1):
            x[i] = rem % n_states
            rem //= n_states
        stop = min(start + ENUM_BLOCK, total)
        mx = -np.inf
        sm = 0.0
        sv = 0.0  # sum of exp(v - mx) * v
        for _ in range(start, stop):
            v = 0.0
            for i in range(d):
                v += unary[i, x[i]]
            for e in range(m):
                v += tables[etab[e], x[edges[e, 0]], x[edges[e, 1]]]
            if v > mx:
                r = np.exp(mx - v)
                sm = sm * r + 1.0
                sv = sv * r + v
                mx = v
            else:
                ev = np.exp(v - mx)
                sm += ev
                sv += ev * v
            # next state in row-major order
            i = d - 1
            while i >= 0:
                x[i] += 1
                if x[i] < n_states:
                    break
                x[i] = 0
                i -= 1
        bmax[b] = mx
        bsum[b] = sm
        bmom[b] = sv
    mx = -np.inf
    for b in range(n_blocks):
        if bmax[b] > mx:
            mx = bmax[b]
    sm = 0.0
    sv = 0.0
    for b in range(n_blocks):
        r = np.exp(bmax[b] - mx)
        sm += bsum[b] * r
        sv += bmom[b] * r
    return mx + np.log(sm), sv / sm


@serial_kernel(inline="always")
def _conditional_logits(x, i, n_states, unary, ptr, nbr, tab, otab, logit):
    for k in range(n_states):
        logit[k] = unary[i, k]
    for a in range(ptr[i], ptr[i + 1]):
        row = otab[tab[a], np.int64(x[nbr[a]])]
        for k in range(n_states):
            logit[k] += row[k]
    return logsumexp(logit, n_states)


@chunked_kernel(items="X.shape[0]", chunk=ROWS)
def pll_rows(c, start, stop, X, n_states, unary, ptr, nbr, tab, otab, out):
    """out[r] = sum_i log P(x_i | x_-i) for each row of X (exact)."""
    d = X.shape[1]
    for r in range(start, stop):
        x = X[r]
        logit = np.empty(n_states)
        s = 0.0
        for i in range(d):
            lse = _conditional_logits(x, i, n_states, unary, ptr, nbr, tab, otab, logit)
            s += logit[np.int64(x[i])] - lse
        out[r] = s


@chunked_kernel(items="X.shape[1]")
def pll_grad(c, start, stop, X, n_states, unary, ptr, nbr, tab, otab, value, g_unary, g_adj):
    """Sum over rows of the PLL and its gradient, parallel over sites (deterministic), one site
    per chunk.

    value (d,): sum_r log P(x_ri | x_r,-i); g_unary (d, C): d/d unary[i, k];
    g_adj (2m, C, C): d/d otab-entry of adjacency entry a, indexed [x_nbr, k].
    """
    n = X.shape[0]
    for i in range(start, stop):
        logit = np.empty(n_states)
        v = 0.0
        for k in range(n_states):
            g_unary[i, k] = 0.0
        for a in range(ptr[i], ptr[i + 1]):
            for s in range(n_states):
                for k in range(n_states):
                    g_adj[a, s, k] = 0.0
        for r in range(n):
            x = X[r]
            lse = _conditional_logits(x, i, n_states, unary, ptr, nbr, tab, otab, logit)
            xi = np.int64(x[i])
            v += logit[xi] - lse
            for k in range(n_states):
                logit[k] = -np.exp(logit[k] - lse)
            logit[xi] += 1.0
            for k in range(n_states):
                g_unary[i, k] += logit[k]
            for a in range(ptr[i], ptr[i + 1]):
                s = np.int64(x[nbr[a]])
                for k in range(n_states):
                    g_adj[a, s, k] += logit[k]
        value[i] = v
