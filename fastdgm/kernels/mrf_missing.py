"""Numba kernels of missing values in a pairwise MRF (:meth:`fastdgm.PairwiseMRF.fill`).

Inputs are trusted: X (n, d) states in [0, C) (0 at a missing entry), M (n, d) bool (True =
missing), the site-ordered adjacency of :func:`fastdgm.models._gibbs_plan.build_adjacency`
(``ptr``, ``nbr``, ``tab``, ``otab``). Only the terms of -E(x) that touch a missing site change
with the completion: its unary term, the edges to observed neighbours, and half of each edge
to another missing site (counted once from each end).

- :func:`missing_scores` enumerates the C**m completions of each row (m = its missing count,
  at most ``limit`` completions): log of the sum of exp(score) per row, and, with
  ``draw``, one completion drawn by thresholding the exact conditional with
  ``uniform(substream(key, r), 0)``;
- :func:`missing_gibbs` runs ``n_sweeps`` Gibbs sweeps over the missing sites of each row
  (observed sites clamped), each update a thresholding of the site's full conditional with
  ``uniform(substream(key, r), sweep * m + t)``, from the state the caller gives.

Each row depends only on its own index: the same bits on any number of threads.
"""
from __future__ import annotations

import numpy as np

from .levels import threshold_weights
from .mrf_exact import _conditional_logits
from .parallel import chunked_kernel, serial_kernel
from .rng import substream, uniform

__all__ = ["missing_scores", "missing_gibbs"]


@serial_kernel(inline="always")
def _missing_sites(M, r, sites):
    """The missing sites of row r in ``sites[:m]``; returns m."""
    # np.int64(0), not 0: numba types the counter Literal[int](0) in an early pass and would compile
    # _completion_score once more for that literal
    m = np.int64(0)
    for j in range(M.shape[1]):
        if M[r, j]:
            sites[m] = j
            m += 1
    return m


@serial_kernel
def _completion_score(x, Mr, sites, m, unary, ptr, nbr, tab, otab):
    """The part of -E(x) that involves the missing sites ``sites[:m]`` of the row."""
    s = 0.0
    for t in range(m):
        i = sites[t]
        k = np.int64(x[i])
        s += unary[i, k]
        for a in range(ptr[i], ptr[i + 1]):
            j = nbr[a]
            v = otab[tab[a], np.int64(x[j]), k]
            s += 0.5 * v if Mr[j] else v
    return s


ROWS = 16   # rows per chunk: a row's enumeration can be long, so chunks are short


@chunked_kernel(items="X.shape[0]", chunk=ROWS)
def missing_scores(c, start, stop, X, M, n_states, unary, ptr, nbr, tab, otab, limit, key, draw, out, log_sum, base):
    """Enumerate each row's completions: ``log_sum[r]`` = log sum exp(score) and ``base[r]`` the
    score of X[r] as given; with ``draw``, ``out[r]`` = X[r] with one completion drawn from the
    exact conditional. Rows with more than ``limit`` completions get NaN (the caller decides)."""
    d = X.shape[1]
    for r in range(start, stop):
        x = out[r]
        for j in range(d):
            x[j] = X[r, j]
        sites = np.empty(d, dtype=np.int64)
        m = _missing_sites(M, r, sites)
        base[r] = _completion_score(x, M[r], sites, m, unary, ptr, nbr, tab, otab)
        total = 1
        for t in range(m):
            total *= n_states
            if total > limit:
                break
        if total > limit:
            log_sum[r] = np.nan
            continue
        scores = np.empty(total)
        best = -np.inf
        for c in range(total):
            code = c
            for t in range(m - 1, -1, -1):          # the last missing site varies fastest
                x[sites[t]] = code % n_states
                code //= n_states
            sc = _completion_score(x, M[r], sites, m, unary, ptr, nbr, tab, otab)
            scores[c] = sc
            if sc > best:
                best = sc
        acc = 0.0
        for c in range(total):
            scores[c] = np.exp(scores[c] - best)
            acc += scores[c]
        log_sum[r] = best + np.log(acc)
        if draw:
            code = threshold_weights(scores, total, acc, uniform(substream(key, r), 0))
            for t in range(m - 1, -1, -1):
                x[sites[t]] = code % n_states
                code //= n_states


@chunked_kernel(items="out.shape[0]", chunk=ROWS)
def missing_gibbs(c, start, stop, M, n_states, unary, ptr, nbr, tab, otab, key, n_sweeps, out):
    """``n_sweeps`` Gibbs sweeps over the missing sites of each row of ``out`` (in place; the
    observed sites stay as they are)."""
    d = out.shape[1]
    for r in range(start, stop):
        x = out[r]
        sites = np.empty(d, dtype=np.int64)
        m = _missing_sites(M, r, sites)
        logit = np.empty(n_states)
        w = np.empty(n_states)
        rk = substream(key, r)
        for s in range(n_sweeps):
            for t in range(m):
                i = sites[t]
                lse = _conditional_logits(x, i, n_states, unary, ptr, nbr, tab, otab, logit)
                acc = 0.0
                for k in range(n_states):
                    w[k] = np.exp(logit[k] - lse)
                    acc += w[k]
                x[i] = threshold_weights(w, n_states, acc, uniform(rk, s * m + t))
