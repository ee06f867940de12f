"""Numba kernels of the Gibbs sampler and of the exact pairwise-MRF reductions.

Everything here trusts its inputs (checked in :mod:`fastdgm.models.mrf` / :mod:`fastdgm.mcmc`).

Random numbers: the uniform of the update of ``site`` in absolute sweep ``sweep`` of
``chain`` is ``site_uniform(*sweep_key(chain_key, sweep), site)`` (32 bits, see
:mod:`fastdgm.kernels.gibbs_rng`) with ``chain_key = substream(key, chain)``. Random scan:
the update of step t uses counter t in place of the site, and the site itself is
``uniform(substream(chain_key, 1), sweep * d + t) * d`` (53 bits); random initial states use
``uniform(substream(chain_key, 0), site)``. Nothing depends on the thread that runs the update, so results are
bit-identical for any thread count and for either parallel layout:

- *chain layout* (``*_chains``): chains handed out dynamically (one per chunk of
  :func:`~fastdgm.kernels.parallel.chunked_kernel`), each running all sweeps;
- *site layout* (``*_sites``): per sweep and colour, one ``prange`` over (chain, block)
  pairs, for few chains on large graphs.

Energies are tracked incrementally: per (chain, colour, block) partial sums of the
update deltas, added to the chain's running energy in (colour, block) order in both
layouts, so the energy trace is also bit-identical.

Graph representation (built by :class:`fastdgm.mrf.PairwiseMRF`): CSR adjacency
``ptr`` (d+1), ``nbr`` (2m) with per-entry oriented table index ``tab`` into ``otab``
(2K, C, C), where ``otab[tab[a], x_nbr, k]`` is the log-potential the edge adds when
the site takes state k; ``beta`` (2m) is the entry's Potts coupling in Potts mode.
Visiting order ``order`` (d) groups sites by colour, ``cptr`` (n_colours+1) bounds.

Update modes: 0 = general tables, O(degree * C); 1 = Potts with a field, O(degree + C);
2 = Potts without a field, O(degree) whatever C. Modes 0 and 1 multiply precomputed
exp-potentials (``eunary`` (d, C), ``eotab`` like ``otab``, ``ebeta`` like ``beta``; rows
scaled to a maximum of 1) and fall back to the log domain if the product under/overflows.
"""
import numpy as np
from numba import prange

from .gibbs_common import BLOCK
from .gibbs_rng import site_uniform, sweep_key
from .levels import softmax_weights, threshold_weights
from .parallel import chunked_kernel, parallel_kernel, serial_kernel
from .rng import substream, uniform

MODE_TABLE = 0
MODE_POTTS_FIELD = 1
MODE_POTTS = 2
# by_step of _graph_block, as booleans that are not literals (the literals True and False, and a
# literal 0 for p, made numba compile _graph_block once per kernel instead of once)
BY_SITE = np.bool_(False)
BY_STEP = np.bool_(True)


# --- one site update on a general graph ------------------------------------------------
@serial_kernel
def _sort_small(lst, n):
    for a in range(1, n):
        v = lst[a]
        b = a - 1
        while b >= 0 and lst[b] > v:
            lst[b + 1] = lst[b]
            b -= 1
        lst[b + 1] = v


@serial_kernel
def _potts_nofield_pick(acc, lst, nd, n_states, u, scratch):
    """Draw k with weight exp(acc[k]) for listed states, exp(0) for the others; O(nd)."""
    m = 0.0
    for a in range(nd):
        if acc[lst[a]] > m:
            m = acc[lst[a]]
    total = (n_states - nd) * np.exp(-m)
    for a in range(nd):
        w = np.exp(acc[lst[a]] - m)
        scratch[a] = w
        total += w
    target = u * total
    cum = 0.0
    for a in range(nd):
        cum += scratch[a]
        if target < cum:
            return lst[a]
    n_other = n_states - nd
    w0 = np.exp(-m)
    if n_other == 0 or w0 == 0.0:
        return lst[nd - 1]
    r = np.int64((target - cum) / w0)
    if r >= n_other:
        r = n_other - 1
    if r < 0:
        r = 0
    # r-th state (ascending) not in lst
    _sort_small(lst, nd)
    k = r
    for a in range(nd):
        if lst[a] <= k:
            k += 1
    return k


@serial_kernel
def _potts_update(x, i, u, n_states, ptr, nbr, beta, acc, mark, lst, w):
    """Potts without field (MODE_POTTS): redraw x[i] in O(degree); return the energy change."""
    old = np.int64(x[i])
    nd = np.int64(0)   # not 0: a Literal[int](0) counter makes numba compile _potts_nofield_pick twice
    for a in range(ptr[i], ptr[i + 1]):
        s = np.int64(x[nbr[a]])
        if mark[s] == 0:
            mark[s] = 1
            acc[s] = 0.0
            lst[nd] = s
            nd += 1
        acc[s] += beta[a]
    new = _potts_nofield_pick(acc, lst, nd, n_states, u, w) if nd > 0 else min(
        np.int64(u * n_states), n_states - 1)
    gain_new = acc[new] if mark[new] == 1 else 0.0
    gain_old = acc[old] if mark[old] == 1 else 0.0
    for a in range(nd):
        mark[lst[a]] = 0
    x[i] = new
    return gain_old - gain_new


@serial_kernel
def _log_weights(x, i, mode, n_states, unary, ptr, nbr, tab, otab, beta, logit, w):
    """The weights of :func:`_product_weights` from the log-potentials, when the products
    under/overflow (huge degree x potentials); return their sum."""
    for k in range(n_states):
        logit[k] = unary[i, k]
    if mode == MODE_POTTS_FIELD:
        for a in range(ptr[i], ptr[i + 1]):
            logit[np.int64(x[nbr[a]])] += beta[a]
    else:
        for a in range(ptr[i], ptr[i + 1]):
            ta = tab[a]
            xa = np.int64(x[nbr[a]])
            for k in range(n_states):
                logit[k] += otab[ta, xa, k]
    return softmax_weights(logit, n_states, w)


@serial_kernel
def _additive_delta(x, i, old, new, mode, unary, ptr, nbr, tab, otab, beta):
    """E_new - E_old of x[i]: old -> new (neighbours unchanged), from the log-potentials."""
    delta = unary[i, old] - unary[i, new]
    if mode == MODE_POTTS_FIELD:
        for a in range(ptr[i], ptr[i + 1]):
            s = np.int64(x[nbr[a]])
            if s == old:
                delta += beta[a]
            elif s == new:
                delta -= beta[a]
    else:
        for a in range(ptr[i], ptr[i + 1]):
            ta = tab[a]
            xa = np.int64(x[nbr[a]])
            delta += otab[ta, xa, old] - otab[ta, xa, new]
    return delta


@serial_kernel(inline="always")
def _block_workspace(n_states):
    """Scratch arrays of :func:`_graph_block`, each (n_states,): logit, w, acc (float64),
    mark (uint8), lst (int64)."""
    return (np.empty(n_states), np.empty(n_states), np.zeros(n_states), np.zeros(n_states, dtype=np.uint8),
            np.empty(n_states, dtype=np.int64))


@serial_kernel
def _graph_block(x, k0, k1, visit, site_of, by_step, p, q, mode, n_states, unary, ptr, nbr, tab, otab, beta,
                 eunary, eotab, ebeta, logit, w, acc, mark, lst):
    """Update positions visit[p:q] of a relabelled chain in order; return the energy change.

    Update r redraws position t = visit[r] with ``site_uniform(k0, k1, c)``, c = site_of[t]
    (the site's index) or c = r when ``by_step`` (random scan). Modes 0 and 1 multiply
    precomputed exp-potentials (no exp per update), written out in this loop: a helper
    taking arrays, inlined or not, would cost atomic reference-count updates per call, more
    than an update. Only rare cases call out (under/overflowing products, tiny weights).
    """
    part = 0.0
    prod = 1.0
    for r in range(p, q):
        i = visit[r]
        u = site_uniform(k0, k1, r if by_step else site_of[i])
        if mode == MODE_POTTS:
            part += _potts_update(x, i, u, n_states, ptr, nbr, beta, acc, mark, lst, w)
            continue
        old = np.int64(x[i])
        for k in range(n_states):
            w[k] = eunary[i, k]
        if mode == MODE_POTTS_FIELD:
            for a in range(ptr[i], ptr[i + 1]):
                w[np.int64(x[nbr[a]])] *= ebeta[a]
        else:
            for a in range(ptr[i], ptr[i + 1]):
                ta = tab[a]
                xa = np.int64(x[nbr[a]])
                for k in range(n_states):
                    w[k] *= eotab[ta, xa, k]
        total = 0.0
        for k in range(n_states):
            total += w[k]
        if not (total > 1e-300 and total < 1e300):
            total = _log_weights(x, i, mode, n_states, unary, ptr, nbr, tab, otab, beta, logit, w)
        # threshold_weights without its data-dependent exit (one misprediction per update):
        # the count of cumulative sums <= u * total. Same index unless that index has weight 0
        # (rounding at the top end), where threshold_weights decides.
        target = u * total
        cum = 0.0
        new = 0
        for k in range(n_states - 1):
            cum += w[k]
            new += np.int64(target >= cum)
        if w[new] == 0.0:
            new = threshold_weights(w, n_states, total, u)
        x[i] = new
        if new != old:
            wo = w[old]
            wn = w[new]
            ratio = wo / wn if (wo > 1e-300 and wn > 1e-300) else 0.0
            if 1e-100 < ratio < 1e100:
                # E_new - E_old = logit[old] - logit[new] = log(w[old] / w[new]); the ratios are
                # multiplied and their product's log taken once per block (or when it leaves
                # [1e-150, 1e150]): one log per block instead of one per update
                prod *= ratio
                if not (1e-150 < prod < 1e150):
                    part += np.log(prod)
                    prod = 1.0
            elif ratio > 0.0:
                part += np.log(ratio)
            else:
                part += _additive_delta(x, i, old, new, mode, unary, ptr, nbr, tab, otab, beta)
    return part + np.log(prod)


@serial_kernel
def _record_relabelled(dst, x, site_of):
    for t in range(x.shape[0]):
        dst[site_of[t]] = x[t]


@chunked_kernel(items="X.shape[0]")
def graph_sweeps_chains(c, start, stop, X, keys, sweep0, n_sweeps, thin, record, samples, energies, e_now,
                        visit, site_of, cptr, mode, n_states, unary, ptr, nbr, tab, otab, beta,
                        eunary, eotab, ebeta):
    """Chromatic/sequential sweeps in the chain layout (see module docstring).

    The chains are relabelled: position t holds site ``site_of[t]`` (colour classes are
    contiguous, so the adjacency and tables stream through memory); ``visit`` is the order of
    positions in a sweep, cut into colour classes by ``cptr``. Samples are written back in
    site order. One chain per chunk: chain ``c``.
    """
    n_col = cptr.shape[0] - 1
    x = X[c]
    logit, w, acc, mark, lst = _block_workspace(n_states)
    key = keys[c]
    e = e_now[c]
    for s in range(n_sweeps):
        k0, k1 = sweep_key(key, sweep0 + s)
        for col in range(n_col):
            p = cptr[col]
            end = cptr[col + 1]
            while p < end:
                q = min(p + BLOCK, end)
                e += _graph_block(x, k0, k1, visit, site_of, BY_SITE, p, q, mode, n_states, unary, ptr, nbr,
                                  tab, otab, beta, eunary, eotab, ebeta, logit, w, acc, mark, lst)
                p = q
        if record:
            energies[s, c] = e
            if (s + 1) % thin == 0:
                _record_relabelled(samples[(s + 1) // thin - 1, c], x, site_of)
    e_now[c] = e


@parallel_kernel
def graph_sweeps_sites(X, keys, sweep0, n_sweeps, thin, record, samples, energies, e_now,
                       visit, site_of, cptr, mode, n_states, unary, ptr, nbr, tab, otab, beta,
                       eunary, eotab, ebeta):
    """Chromatic sweeps in the site layout: parallel over (chain, block) within a colour."""
    n_chains, d = X.shape
    n_col = cptr.shape[0] - 1
    bptr = np.zeros(n_col + 1, dtype=np.int64)
    for col in range(n_col):
        bptr[col + 1] = bptr[col] + (cptr[col + 1] - cptr[col] + BLOCK - 1) // BLOCK
    partial = np.zeros((n_chains, bptr[n_col]))
    for s in range(n_sweeps):
        for col in range(n_col):
            nb = bptr[col + 1] - bptr[col]
            for item in prange(n_chains * nb):
                c = item // nb
                b = item - c * nb
                k0, k1 = sweep_key(keys[c], sweep0 + s)
                p = cptr[col] + b * BLOCK
                q = min(p + BLOCK, cptr[col + 1])
                logit, w, acc, mark, lst = _block_workspace(n_states)
                partial[c, bptr[col] + b] = _graph_block(
                    X[c], k0, k1, visit, site_of, BY_SITE, p, q, mode, n_states, unary, ptr, nbr, tab, otab,
                    beta, eunary, eotab, ebeta, logit, w, acc, mark, lst)
        for c in range(n_chains):
            e = e_now[c]
            for b in range(bptr[n_col]):
                e += partial[c, b]
            e_now[c] = e
            if record:
                energies[s, c] = e
                if (s + 1) % thin == 0:
                    _record_relabelled(samples[(s + 1) // thin - 1, c], X[c], site_of)


@chunked_kernel(items="X.shape[0]")
def graph_sweeps_random(c, start, stop, X, keys, sweep0, n_sweeps, thin, record, samples, energies, e_now,
                        pos, site_of, mode, n_states, unary, ptr, nbr, tab, otab, beta, eunary, eotab, ebeta):
    """Random-scan sweeps: d updates of uniformly chosen sites per sweep (chain layout).

    Chains relabelled as in :func:`graph_sweeps_chains`; site i sits at position pos[i].
    One chain per chunk: chain ``c``.
    """
    d = X.shape[1]
    x = X[c]
    logit, w, acc, mark, lst = _block_workspace(n_states)
    steps = np.empty(d, dtype=np.int64)
    key = keys[c]
    site_key = substream(key, 1)
    e = e_now[c]
    for s in range(n_sweeps):
        base = (sweep0 + s) * d
        for t in range(d):   # the positions this sweep visits, then the updates in order
            i = np.int64(uniform(site_key, base + t) * d)
            steps[t] = pos[min(i, d - 1)]
        k0, k1 = sweep_key(key, sweep0 + s)
        e += _graph_block(x, k0, k1, steps, site_of, BY_STEP, np.int64(0), d, mode, n_states, unary, ptr, nbr, tab, otab,
                          beta, eunary, eotab, ebeta, logit, w, acc, mark, lst)
        if record:
            energies[s, c] = e
            if (s + 1) % thin == 0:
                _record_relabelled(samples[(s + 1) // thin - 1, c], x, site_of)
    e_now[c] = e
