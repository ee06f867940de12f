"""Numba Gibbs sweeps of Potts/Ising grids without a field (checkerboard, 2-colourable).

Neighbours come from index arithmetic, not an adjacency list; an update costs O(4) whatever
the number of states q (Potts) and the Ising case compares integer hashes with a
precomputed table. Same random-number contract, layouts and energy bookkeeping as
:mod:`fastdgm.kernels.gibbs_graph`.
"""
import numpy as np
from numba import prange

from .gibbs_common import copy_state, setup_chain
from .gibbs_rng import site_bits, site_uniform, sweep_key
from .gibbs_torus import (from_split, ising_row, potts4_draw, potts_row, split_size, thresholds, to_split,
                          torus_split_ok, torus_sweep_ising, torus_sweep_potts)
from .parallel import chunked_kernel, parallel_kernel, serial_kernel


# --- 2-colourable grids: neighbours by index arithmetic ---------------------------------
# ``geom`` = (H, W, periodic_h, periodic_w) with periodic_* already 0 for sides < 3, so a
# side of length 1 or 2 gives each neighbour pair once. Colour of (r, j) = (r + j) % 2.
# ``ising`` (C == 2, no field): table[n1 * 5 + n0] = P(x = 0 | n0 neighbours in 0, n1 in 1).
# ``ising_int[n1]`` = min(ceil(table[n1 * 5 + 4 - n1] * 2**32), 2**32 - 1) for interior sites.
# ``expb`` (C > 2): expb[n] = exp(beta * n - shift), n = 0..4, shift = max(0, 4 * beta).
@serial_kernel(inline="always")
def _push(s, lst, cnt, nd):
    """Add neighbour state s (-1: no neighbour) to the distinct list with counts."""
    if s < 0:
        return nd
    for a in range(nd):
        if lst[a] == s:
            cnt[a] += 1
            return nd
    lst[nd] = s
    cnt[nd] = 1
    return nd + 1


@serial_kernel(inline="always")
def _potts_site(x, i, old, s0, s1, s2, s3, u, n_states, expb, lst, cnt):
    """Potts heat-bath without field from <= 4 neighbour states (-1: none), O(4) whatever C."""
    nd = _push(s0, lst, cnt, 0)
    nd = _push(s1, lst, cnt, nd)
    nd = _push(s2, lst, cnt, nd)
    nd = _push(s3, lst, cnt, nd)
    agree_old = 0
    total = 0.0
    for a in range(nd):
        if lst[a] == old:
            agree_old = cnt[a]
        total += expb[cnt[a]]
    n_other = n_states - nd
    w0 = expb[0]  # weight of each state absent among the neighbours
    total += n_other * w0
    target = u * total
    cum = 0.0
    for a in range(nd):
        cum += expb[cnt[a]]
        if target < cum:
            x[i] = lst[a]
            return agree_old - cnt[a]
    if n_other == 0 or w0 == 0.0:
        x[i] = lst[nd - 1]
        return agree_old - cnt[nd - 1]
    rr = np.int64((target - cum) / w0)
    if rr >= n_other:
        rr = n_other - 1
    if rr < 0:
        rr = 0
    # the rr-th state (ascending) absent among the neighbours: sort the <= 4 present ones
    for a in range(1, nd):
        v = lst[a]
        b = a - 1
        while b >= 0 and lst[b] > v:
            lst[b + 1] = lst[b]
            b -= 1
        lst[b + 1] = v
    new = rr
    for a in range(nd):
        if lst[a] <= new:
            new += 1
    x[i] = new
    return agree_old


@serial_kernel(inline="always")
def _potts4(x, i, old, s0, s1, s2, s3, u, n_states, expb):
    """Potts heat-bath without field for an interior site (4 neighbours): :func:`potts4_draw`
    (the same law as :func:`_potts_site`, branch-free); return agree_old - agree_new."""
    new, delta = potts4_draw(s0, s1, s2, s3, old, u, n_states, expb[0], expb[1], expb[2], expb[3], expb[4])
    x[i] = new
    return delta


@serial_kernel
def _grid_site(x, i, s0, s1, s2, s3, u, n_states, ising, expb, lst, cnt):
    """Heat-bath update of site i from its (up to 4) neighbour states; return agree_old - agree_new."""
    old = np.int64(x[i])
    if n_states == 2:
        n1 = 0
        deg = 0
        if s0 >= 0:
            n1 += s0
            deg += 1
        if s1 >= 0:
            n1 += s1
            deg += 1
        if s2 >= 0:
            n1 += s2
            deg += 1
        if s3 >= 0:
            n1 += s3
            deg += 1
        new = 0 if u < ising[n1 * 5 + deg - n1] else 1
        x[i] = new
        return (old - new) * (2 * n1 - deg)
    return _potts_site(x, i, old, s0, s1, s2, s3, u, n_states, expb, lst, cnt)


@serial_kernel
def _grid_edge_site(x, r, j, H, W, ph, pw, k0, k1, n_states, ising, expb, lst, cnt):
    """Update of (r, j) with every boundary case (open sides, wrap-around)."""
    rw = r * W
    i = rw + j
    s0 = np.int64(x[i - W]) if r > 0 else (np.int64(x[(H - 1) * W + j]) if ph else -1)
    s1 = np.int64(x[i + W]) if r < H - 1 else (np.int64(x[j]) if ph else -1)
    s2 = np.int64(x[i - 1]) if j > 0 else (np.int64(x[rw + W - 1]) if pw else -1)
    s3 = np.int64(x[i + 1]) if j < W - 1 else (np.int64(x[rw]) if pw else -1)
    return _grid_site(x, i, s0, s1, s2, s3, site_uniform(k0, k1, i), n_states, ising, expb, lst, cnt)


@serial_kernel(inline="always")
def _ising4(x, rw, up, dn, j, jl, jr, k0, k1, ising_int):
    """Ising update of (row offset rw, column j) with 4 neighbours; return agree_old - agree_new.

    u < P(0 | n1) is tested on integers, (hash >> 11) < ceil(P * 2**53): the same test as
    site_uniform(k0, k1, i) < P without the float conversion.
    """
    i = rw + j
    n1 = np.int64(x[up + j]) + np.int64(x[dn + j]) + np.int64(x[rw + jl]) + np.int64(x[rw + jr])
    old = np.int64(x[i])
    h = site_bits(k0, k1, i)
    new = 0 if h < ising_int[n1] else 1
    x[i] = new
    return (old - new) * (2 * n1 - 4)


@serial_kernel
def _grid_row(x, r, col, H, W, ph, pw, beta, ising, ising_int, n_states, expb, lst, cnt, k0, k1):
    """Update the sites of colour ``col`` in row r; return the row's energy change."""
    rw = r * W
    full = (0 < r < H - 1) or (ph and H >= 3)
    up = ((r - 1) % H) * W
    dn = ((r + 1) % H) * W
    acc = 0
    j = (col + r) & 1
    if full and pw and n_states == 2 and W >= 3:
        # torus row: the wrapped ends, then a branch-free interior loop
        if j == 0:
            acc += _ising4(x, rw, up, dn, 0, W - 1, 1, k0, k1, ising_int)
            j = 2
        while j < W - 1:
            acc += _ising4(x, rw, up, dn, j, j - 1, j + 1, k0, k1, ising_int)
            j += 2
        if j == W - 1:
            acc += _ising4(x, rw, up, dn, j, j - 1, 0, k0, k1, ising_int)
        return beta * acc
    if j == 0:
        # np.int64(0), not the literal 0: numba would compile a second specialisation of the site update
        acc += _grid_edge_site(x, r, np.int64(0), H, W, ph, pw, k0, k1, n_states, ising, expb, lst, cnt)
        j = 2
    if full and n_states == 2:
        while j < W - 1:
            acc += _ising4(x, rw, up, dn, j, j - 1, j + 1, k0, k1, ising_int)
            j += 2
    elif full:
        while j < W - 1:
            i = rw + j
            acc += _potts4(x, i, np.int64(x[i]), np.int64(x[up + j]), np.int64(x[dn + j]),
                           np.int64(x[i - 1]), np.int64(x[i + 1]), site_uniform(k0, k1, i), n_states, expb)
            j += 2
    else:
        while j < W - 1:
            acc += _grid_edge_site(x, r, j, H, W, ph, pw, k0, k1, n_states, ising, expb, lst, cnt)
            j += 2
    if j == W - 1:
        acc += _grid_edge_site(x, r, j, H, W, ph, pw, k0, k1, n_states, ising, expb, lst, cnt)
    return beta * acc


# --- the sweep kernels: one per layout and variant --------------------------------------
# Variants: Ising and Potts on a torus with even sides >= 4 (split colours,
# :mod:`fastdgm.kernels.gibbs_torus`; ``torus_split_ok``), and every other grid (``grid_*``).
# A call compiles only the variant it runs: the variant is a function argument of an inlined
# helper, not a run-time branch (compiling every variant into one kernel cost seconds of JIT).
@serial_kernel(inline="always")
def _torus_chain(c, X, keys, sweep0, n_sweeps, thin, record, samples, energies, e_now, setup, run_key, first,
                 unary, edges, etab, tables, geom, beta, ising_int, expb, n_states, sweep):
    """Chain ``c``'s set-up (``setup_chain``) and sweeps in its split layout; ``sweep`` is
    ``torus_sweep_ising`` or ``torus_sweep_potts``."""
    setup_chain(c, setup, run_key, first, keys, X, n_states, unary, edges, etab, tables, e_now)
    H = geom[0]
    W = geom[1]
    x = X[c]
    F = np.empty(split_size(H, W), dtype=X.dtype)
    c0 = np.int64(0)    # not the literal 0: the site layout's signature of to_split / from_split
    to_split(x, F, c0, H, W)
    key = keys[c]
    e = e_now[c]
    for s in range(n_sweeps):
        k0, k1 = sweep_key(key, sweep0 + s)
        e = sweep(F, c0, e, beta, H, W, k0, k1, n_states, ising_int, expb)
        if record:
            energies[s, c] = e
            if (s + 1) % thin == 0:
                from_split(F, c0, samples[(s + 1) // thin - 1, c], H, W)
    from_split(F, c0, x, H, W)
    e_now[c] = e


@chunked_kernel(items="X.shape[0]")
def ising_torus_chains(c, start, stop, X, keys, sweep0, n_sweeps, thin, record, samples, energies, e_now,
                       setup, run_key, first, unary, edges, etab, tables, geom, beta, ising, ising_int, expb,
                       n_states):
    """Checkerboard Ising sweeps (C = 2) of a torus with even sides >= 4, chain layout; one chain per
    chunk: chain ``c``."""
    _torus_chain(c, X, keys, sweep0, n_sweeps, thin, record, samples, energies, e_now, setup, run_key, first,
                 unary, edges, etab, tables, geom, beta, ising_int, expb, n_states, torus_sweep_ising)


@chunked_kernel(items="X.shape[0]")
def potts_torus_chains(c, start, stop, X, keys, sweep0, n_sweeps, thin, record, samples, energies, e_now,
                       setup, run_key, first, unary, edges, etab, tables, geom, beta, ising, ising_int, expb,
                       n_states):
    """Checkerboard Potts sweeps (C > 2) of a torus with even sides >= 4, chain layout; one chain per
    chunk: chain ``c``."""
    _torus_chain(c, X, keys, sweep0, n_sweeps, thin, record, samples, energies, e_now, setup, run_key, first,
                 unary, edges, etab, tables, geom, beta, ising_int, expb, n_states, torus_sweep_potts)


@chunked_kernel(items="X.shape[0]")
def grid_sweeps_chains(c, start, stop, X, keys, sweep0, n_sweeps, thin, record, samples, energies, e_now,
                       setup, run_key, first, unary, edges, etab, tables, geom, beta, ising, ising_int, expb,
                       n_states):
    """Checkerboard sweeps of a Potts grid without field other than an even torus, chain layout;
    one chain per chunk: chain ``c`` (its set-up first, ``setup_chain``)."""
    setup_chain(c, setup, run_key, first, keys, X, n_states, unary, edges, etab, tables, e_now)
    H = geom[0]
    W = geom[1]
    ph = geom[2] != 0
    pw = geom[3] != 0
    x = X[c]
    lst = np.zeros(4, dtype=np.int64)
    cnt = np.zeros(4, dtype=np.int64)
    key = keys[c]
    e = e_now[c]
    for s in range(n_sweeps):
        k0, k1 = sweep_key(key, sweep0 + s)
        for col in range(2):
            for r in range(H):
                e += _grid_row(x, r, col, H, W, ph, pw, beta, ising, ising_int, n_states, expb, lst, cnt, k0, k1)
        if record:
            energies[s, c] = e
            if (s + 1) % thin == 0:
                copy_state(samples[(s + 1) // thin - 1, c], x)
    e_now[c] = e


@serial_kernel(inline="always")
def _add_partials(partial, c, s, thin, record, energies, e_now):
    """Add chain ``c``'s partial sums of sweep ``s`` to its energy in order and record it; return
    True when the sweep's sample is kept."""
    e = e_now[c]
    for b in range(partial.shape[1]):
        e += partial[c, b]
    e_now[c] = e
    if record:
        energies[s, c] = e
        return (s + 1) % thin == 0
    return False


@serial_kernel(inline="always")
def _torus_sites(X, keys, sweep0, n_sweeps, thin, record, samples, energies, e_now, setup, run_key, first,
                 unary, edges, etab, tables, geom, beta, n_states, p0, p1, p2, p3, p4, row):
    """Site layout (rows in parallel) of a torus with even sides >= 4; ``row`` is ``ising_row`` (``p*``
    the thresholds) or ``potts_row`` (``p*`` = ``expb``)."""
    n_chains = X.shape[0]
    H = geom[0]
    W = geom[1]
    partial = np.zeros((n_chains, 2 * H))
    size = split_size(H, W)
    F = np.empty(n_chains * size, dtype=X.dtype)
    for c in prange(n_chains):
        setup_chain(c, setup, run_key, first, keys, X, n_states, unary, edges, etab, tables, e_now)
        to_split(X[c], F, c * size, H, W)
    for s in range(n_sweeps):
        for col in range(2):
            for item in prange(n_chains * H):
                c = item // H
                r = item - c * H
                k0, k1 = sweep_key(keys[c], sweep0 + s)
                partial[c, col * H + r] = beta * row(F, c * size, r, col, H, W, k0, k1, n_states, p0, p1, p2, p3,
                                                     p4)
        for c in range(n_chains):
            if _add_partials(partial, c, s, thin, record, energies, e_now):
                from_split(F, c * size, samples[(s + 1) // thin - 1, c], H, W)
    for c in prange(n_chains):
        from_split(F, c * size, X[c], H, W)


@parallel_kernel
def ising_torus_sites(X, keys, sweep0, n_sweeps, thin, record, samples, energies, e_now,
                      setup, run_key, first, unary, edges, etab, tables, geom, beta, ising, ising_int, expb, n_states):
    """Checkerboard Ising sweeps (C = 2) of a torus with even sides >= 4, site layout (rows in parallel)."""
    t0, t1, t2, t3, t4 = thresholds(ising_int)
    _torus_sites(X, keys, sweep0, n_sweeps, thin, record, samples, energies, e_now, setup, run_key, first,
                 unary, edges, etab, tables, geom, beta, n_states, t0, t1, t2, t3, t4, ising_row)


@parallel_kernel
def potts_torus_sites(X, keys, sweep0, n_sweeps, thin, record, samples, energies, e_now,
                      setup, run_key, first, unary, edges, etab, tables, geom, beta, ising, ising_int, expb, n_states):
    """Checkerboard Potts sweeps (C > 2) of a torus with even sides >= 4, site layout (rows in parallel)."""
    _torus_sites(X, keys, sweep0, n_sweeps, thin, record, samples, energies, e_now, setup, run_key, first,
                 unary, edges, etab, tables, geom, beta, n_states, expb[0], expb[1], expb[2], expb[3], expb[4],
                 potts_row)


@parallel_kernel
def grid_sweeps_sites(X, keys, sweep0, n_sweeps, thin, record, samples, energies, e_now,
                      setup, run_key, first, unary, edges, etab, tables, geom, beta, ising, ising_int, expb, n_states):
    """Checkerboard sweeps of a Potts grid without field other than an even torus, site layout
    (rows in parallel)."""
    n_chains = X.shape[0]
    H = geom[0]
    W = geom[1]
    ph = geom[2] != 0
    pw = geom[3] != 0
    partial = np.zeros((n_chains, 2 * H))
    for c in prange(n_chains):
        setup_chain(c, setup, run_key, first, keys, X, n_states, unary, edges, etab, tables, e_now)
    for s in range(n_sweeps):
        for col in range(2):
            for item in prange(n_chains * H):
                c = item // H
                r = item - c * H
                k0, k1 = sweep_key(keys[c], sweep0 + s)
                lst = np.zeros(4, dtype=np.int64)
                cnt = np.zeros(4, dtype=np.int64)
                partial[c, col * H + r] = _grid_row(X[c], r, col, H, W, ph, pw, beta, ising, ising_int,
                                                    n_states, expb, lst, cnt, k0, k1)
        for c in range(n_chains):
            if _add_partials(partial, c, s, thin, record, energies, e_now):
                copy_state(samples[(s + 1) // thin - 1, c], X[c])


def grid_kernel(geom, n_states, layout):
    """The sweep kernel of a grid (``geom`` as in ``GridTables``) with ``n_states`` states in
    ``layout`` ("chains" or "sites"); plain Python, so choosing compiles nothing."""
    H, W, ph, pw = (int(v) for v in geom)
    if torus_split_ok.py_func(H, W, ph != 0, pw != 0):
        if n_states == 2:
            return ising_torus_sites if layout == "sites" else ising_torus_chains
        return potts_torus_sites if layout == "sites" else potts_torus_chains
    return grid_sweeps_sites if layout == "sites" else grid_sweeps_chains
