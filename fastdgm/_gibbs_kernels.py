"""Numba kernels of the Gibbs sampler and of the exact pairwise-MRF reductions.

Everything here trusts its inputs (checked in :mod:`fastdgm.mrf` / :mod:`fastdgm.gibbs`).

Random numbers: the uniform of the update of ``site`` in absolute sweep ``sweep`` of
``chain`` is ``uniform(chain_key, sweep * d + site)`` with ``chain_key = substream(key,
chain)``. Random-scan site choices use ``substream(chain_key, 1)`` with the same counter
(``sweep * d + step``), random initial states ``substream(chain_key, 0)`` with counter
``site``. Nothing depends on the thread that runs the update, so results are
bit-identical for any thread count and for either parallel layout:

- *chain layout* (``*_chains``): one ``prange`` over chains running all sweeps;
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

from ._jit import parallel_kernel, serial_kernel
from ._numba_rng import mix64, substream, uniform
from ._numba_threshold import logsumexp, softmax_weights, threshold_weights

MODE_TABLE = 0
MODE_POTTS_FIELD = 1
MODE_POTTS = 2
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # as in _numba_rng.uniform
_ONE = np.uint64(1)
_S11 = np.uint64(11)
BLOCK = 256  # sites per work item of the site layout and per energy partial sum (fixed)


# --- keys and initial states -----------------------------------------------------------
@serial_kernel
def chain_keys(key, first, n):
    """Keys of chains ``first .. first+n-1``: ``substream(key, chain)``, uint64 (n,)."""
    out = np.empty(n, dtype=np.uint64)
    for c in range(n):
        out[c] = substream(key, first + c)
    return out


@parallel_kernel
def random_init(keys, out, n_states):
    """Fill ``out`` (chains, d) with uniform states from ``substream(chain_key, 0)``."""
    n_chains, d = out.shape
    for c in prange(n_chains):
        k0 = substream(keys[c], 0)
        for i in range(d):
            s = np.int64(uniform(k0, i) * n_states)
            if s >= n_states:
                s = n_states - 1
            out[c, i] = s


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


@serial_kernel(inline="always")
def graph_update(x, i, u, mode, n_states, unary, ptr, nbr, tab, otab, beta, eunary, eotab, ebeta, logit, w, acc,
                 mark, lst):
    """Redraw x[i] from its full conditional with uniform u; return the energy change."""
    old = np.int64(x[i])
    if mode == MODE_POTTS:
        nd = 0
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
    # weights as products of exp-potentials (no exp per update); eunary/eotab rows have max 1
    for k in range(n_states):
        w[k] = eunary[i, k]
    if mode == MODE_POTTS_FIELD:
        for a in range(ptr[i], ptr[i + 1]):
            w[np.int64(x[nbr[a]])] *= ebeta[a]
    else:
        for a in range(ptr[i], ptr[i + 1]):
            row = eotab[tab[a], np.int64(x[nbr[a]])]
            for k in range(n_states):
                w[k] *= row[k]
    total = 0.0
    for k in range(n_states):
        total += w[k]
    if not (total > 1e-300 and total < 1e300):
        # products under/overflowed (huge degree x potentials): redo in the log domain
        for k in range(n_states):
            logit[k] = unary[i, k]
        if mode == MODE_POTTS_FIELD:
            for a in range(ptr[i], ptr[i + 1]):
                logit[np.int64(x[nbr[a]])] += beta[a]
        else:
            for a in range(ptr[i], ptr[i + 1]):
                row = otab[tab[a], np.int64(x[nbr[a]])]
                for k in range(n_states):
                    logit[k] += row[k]
        total = softmax_weights(logit, n_states, w)
    new = threshold_weights(w, n_states, total, u)
    x[i] = new
    if new == old:
        return 0.0
    wo = w[old]
    if wo > 1e-300 and mode == MODE_TABLE:
        # E_new - E_old = logit[old] - logit[new] = log(w[old] / w[new]): no second pass over
        # the (large) per-edge tables
        return np.log(wo / w[new])
    # energy change, additively from the log-potentials
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
            row = otab[tab[a], np.int64(x[nbr[a]])]
            delta += row[old] - row[new]
    return delta


@serial_kernel
def _graph_block(x, key, base, visit, site_of, p, q, mode, n_states, unary, ptr, nbr, tab, otab, beta,
                 eunary, eotab, ebeta, logit, w, acc, mark, lst):
    """Update positions visit[p:q] of a relabelled chain; site_of gives the uniform's counter."""
    part = 0.0
    for r in range(p, q):
        t = visit[r]
        part += graph_update(x, t, uniform(key, base + site_of[t]), mode, n_states, unary, ptr, nbr, tab,
                             otab, beta, eunary, eotab, ebeta, logit, w, acc, mark, lst)
    return part


@serial_kernel
def _record_relabelled(dst, x, site_of):
    for t in range(x.shape[0]):
        dst[site_of[t]] = x[t]


@parallel_kernel
def graph_sweeps_chains(X, keys, sweep0, n_sweeps, thin, record, samples, energies, e_now,
                        visit, site_of, cptr, mode, n_states, unary, ptr, nbr, tab, otab, beta,
                        eunary, eotab, ebeta):
    """Chromatic/sequential sweeps in the chain layout (see module docstring).

    The chains are relabelled: position t holds site ``site_of[t]`` (colour classes are
    contiguous, so the adjacency and tables stream through memory); ``visit`` is the order of
    positions in a sweep, cut into colour classes by ``cptr``. Samples are written back in
    site order.
    """
    n_chains, d = X.shape
    n_col = cptr.shape[0] - 1
    for c in prange(n_chains):
        x = X[c]
        logit = np.empty(n_states)
        w = np.empty(n_states)
        acc = np.zeros(n_states)
        mark = np.zeros(n_states, dtype=np.uint8)
        lst = np.empty(n_states, dtype=np.int64)
        key = keys[c]
        e = e_now[c]
        for s in range(n_sweeps):
            base = (sweep0 + s) * d
            for col in range(n_col):
                p = cptr[col]
                end = cptr[col + 1]
                while p < end:
                    q = min(p + BLOCK, end)
                    e += _graph_block(x, key, base, visit, site_of, p, q, mode, n_states, unary, ptr, nbr,
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
        base = (sweep0 + s) * d
        for col in range(n_col):
            nb = bptr[col + 1] - bptr[col]
            for item in prange(n_chains * nb):
                c = item // nb
                b = item - c * nb
                p = cptr[col] + b * BLOCK
                q = min(p + BLOCK, cptr[col + 1])
                logit = np.empty(n_states)
                w = np.empty(n_states)
                acc = np.zeros(n_states)
                mark = np.zeros(n_states, dtype=np.uint8)
                lst = np.empty(n_states, dtype=np.int64)
                partial[c, bptr[col] + b] = _graph_block(
                    X[c], keys[c], base, visit, site_of, p, q, mode, n_states, unary, ptr, nbr, tab, otab,
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


@parallel_kernel
def graph_sweeps_random(X, keys, sweep0, n_sweeps, thin, record, samples, energies, e_now,
                        pos, site_of, mode, n_states, unary, ptr, nbr, tab, otab, beta, eunary, eotab, ebeta):
    """Random-scan sweeps: d updates of uniformly chosen sites per sweep (chain layout).

    Chains relabelled as in :func:`graph_sweeps_chains`; site i sits at position pos[i].
    """
    n_chains, d = X.shape
    for c in prange(n_chains):
        x = X[c]
        logit = np.empty(n_states)
        w = np.empty(n_states)
        acc = np.zeros(n_states)
        mark = np.zeros(n_states, dtype=np.uint8)
        lst = np.empty(n_states, dtype=np.int64)
        key = keys[c]
        site_key = substream(key, 1)
        e = e_now[c]
        for s in range(n_sweeps):
            base = (sweep0 + s) * d
            part = 0.0
            for t in range(d):
                i = np.int64(uniform(site_key, base + t) * d)
                if i >= d:
                    i = d - 1
                part += graph_update(x, pos[i], uniform(key, base + t), mode, n_states, unary, ptr, nbr,
                                     tab, otab, beta, eunary, eotab, ebeta, logit, w, acc, mark, lst)
            e += part
            if record:
                energies[s, c] = e
                if (s + 1) % thin == 0:
                    _record_relabelled(samples[(s + 1) // thin - 1, c], x, site_of)
        e_now[c] = e


# --- 2-colourable grids: neighbours by index arithmetic ---------------------------------
# ``geom`` = (H, W, periodic_h, periodic_w) with periodic_* already 0 for sides < 3, so a
# side of length 1 or 2 gives each neighbour pair once. Colour of (r, j) = (r + j) % 2.
# ``ising`` (C == 2, no field): table[n1 * 5 + n0] = P(x = 0 | n0 neighbours in 0, n1 in 1).
# ``ising_int[n1]`` = ceil(table[n1 * 5 + 4 - n1] * 2**53) (uint64) for interior sites.
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
    """Potts heat-bath without field for an interior site (4 neighbours), nearly branch-free.

    Same law as :func:`_potts_site`: weight expb[count] for each distinct neighbour state,
    expb[0] for each of the other C - n_distinct states. Data-dependent branches would be
    mispredicted on almost every update, so counts and selections are arithmetic.
    """
    c0 = 1 + (s0 == s1) + (s0 == s2) + (s0 == s3)
    c1 = 1 + (s1 == s0) + (s1 == s2) + (s1 == s3)
    c2 = 1 + (s2 == s0) + (s2 == s1) + (s2 == s3)
    c3 = 1 + (s3 == s0) + (s3 == s1) + (s3 == s2)
    f1 = np.int64(s1 != s0)
    f2 = np.int64((s2 != s0) & (s2 != s1))
    f3 = np.int64((s3 != s0) & (s3 != s1) & (s3 != s2))
    nd = 1 + f1 + f2 + f3
    w0 = expb[0]
    cum0 = expb[c0]
    cum1 = cum0 + f1 * expb[c1]
    cum2 = cum1 + f2 * expb[c2]
    cum3 = cum2 + f3 * expb[c3]
    n_other = n_states - nd
    total = cum3 + n_other * w0
    target = u * total
    agree_old = np.int64(s0 == old) + (s1 == old) + (s2 == old) + (s3 == old)
    if target < cum3 or n_other == 0 or w0 == 0.0:
        k = np.int64(target >= cum0) + (target >= cum1) + (target >= cum2)
        new = s0 if k == 0 else (s1 if k == 1 else (s2 if k == 2 else s3))
        agree_new = np.int64(s0 == new) + (s1 == new) + (s2 == new) + (s3 == new)
    else:
        rr = np.int64((target - cum3) / w0)
        rr = min(max(rr, 0), n_other - 1)
        # rr-th state absent among the neighbours: fixed point of new = rr + #{present <= new}
        new = rr
        for _ in range(4):
            new = rr + np.int64(s0 <= new) + f1 * (s1 <= new) + f2 * (s2 <= new) + f3 * (s3 <= new)
        agree_new = 0
    x[i] = new
    return agree_old - agree_new


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
def _grid_edge_site(x, r, j, H, W, ph, pw, key, base, n_states, ising, expb, lst, cnt):
    """Update of (r, j) with every boundary case (open sides, wrap-around)."""
    rw = r * W
    i = rw + j
    s0 = np.int64(x[i - W]) if r > 0 else (np.int64(x[(H - 1) * W + j]) if ph else -1)
    s1 = np.int64(x[i + W]) if r < H - 1 else (np.int64(x[j]) if ph else -1)
    s2 = np.int64(x[i - 1]) if j > 0 else (np.int64(x[rw + W - 1]) if pw else -1)
    s3 = np.int64(x[i + 1]) if j < W - 1 else (np.int64(x[rw]) if pw else -1)
    return _grid_site(x, i, s0, s1, s2, s3, uniform(key, base + i), n_states, ising, expb, lst, cnt)


@serial_kernel(inline="always")
def _ising4(x, rw, up, dn, j, jl, jr, key, base, ising_int):
    """Ising update of (row offset rw, column j) with 4 neighbours; return agree_old - agree_new.

    u < P(0 | n1) is tested on integers, (hash >> 11) < ceil(P * 2**53): the same test as
    uniform(key, base + i) < P without the float conversion.
    """
    i = rw + j
    n1 = np.int64(x[up + j]) + np.int64(x[dn + j]) + np.int64(x[rw + jl]) + np.int64(x[rw + jr])
    old = np.int64(x[i])
    h = mix64(key + (np.uint64(base + i) + _ONE) * _GOLDEN) >> _S11
    new = 0 if h < ising_int[n1] else 1
    x[i] = new
    return (old - new) * (2 * n1 - 4)


@serial_kernel
def _grid_row(x, r, col, H, W, ph, pw, beta, ising, ising_int, n_states, expb, lst, cnt, key, base):
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
            acc += _ising4(x, rw, up, dn, 0, W - 1, 1, key, base, ising_int)
            j = 2
        while j < W - 1:
            acc += _ising4(x, rw, up, dn, j, j - 1, j + 1, key, base, ising_int)
            j += 2
        if j == W - 1:
            acc += _ising4(x, rw, up, dn, j, j - 1, 0, key, base, ising_int)
        return beta * acc
    if j == 0:
        acc += _grid_edge_site(x, r, 0, H, W, ph, pw, key, base, n_states, ising, expb, lst, cnt)
        j = 2
    if full and n_states == 2:
        while j < W - 1:
            i = rw + j
            n1 = np.int64(x[up + j]) + np.int64(x[dn + j]) + np.int64(x[i - 1]) + np.int64(x[i + 1])
            old = np.int64(x[i])
            # u < P(0 | n1) as integers: (hash >> 11) < ceil(P * 2**53), the same test as
            # uniform(key, base + i) < P without the float conversion
            h = mix64(key + (np.uint64(base + i) + _ONE) * _GOLDEN) >> _S11
            new = 0 if h < ising_int[n1] else 1
            x[i] = new
            acc += (old - new) * (2 * n1 - 4)
            j += 2
    elif full:
        while j < W - 1:
            i = rw + j
            acc += _potts4(x, i, np.int64(x[i]), np.int64(x[up + j]), np.int64(x[dn + j]),
                           np.int64(x[i - 1]), np.int64(x[i + 1]), uniform(key, base + i), n_states, expb)
            j += 2
    else:
        while j < W - 1:
            acc += _grid_edge_site(x, r, j, H, W, ph, pw, key, base, n_states, ising, expb, lst, cnt)
            j += 2
    if j == W - 1:
        acc += _grid_edge_site(x, r, j, H, W, ph, pw, key, base, n_states, ising, expb, lst, cnt)
    return beta * acc


@parallel_kernel
def grid_sweeps_chains(X, keys, sweep0, n_sweeps, thin, record, samples, energies, e_now,
                       geom, beta, ising, ising_int, expb, n_states):
    """Checkerboard sweeps of a Potts grid without field, chain layout."""
    n_chains, d = X.shape
    H = geom[0]
    W = geom[1]
    ph = geom[2] != 0
    pw = geom[3] != 0
    for c in prange(n_chains):
        x = X[c]
        lst = np.zeros(4, dtype=np.int64)
        cnt = np.zeros(4, dtype=np.int64)
        key = keys[c]
        e = e_now[c]
        for s in range(n_sweeps):
            base = (sweep0 + s) * d
            for col in range(2):
                for r in range(H):
                    e += _grid_row(x, r, col, H, W, ph, pw, beta, ising, ising_int, n_states, expb, lst, cnt,
                                   key, base)
            if record:
                energies[s, c] = e
                if (s + 1) % thin == 0:
                    samples[(s + 1) // thin - 1, c, :] = x
        e_now[c] = e


@parallel_kernel
def grid_sweeps_sites(X, keys, sweep0, n_sweeps, thin, record, samples, energies, e_now,
                      geom, beta, ising, ising_int, expb, n_states):
    """Checkerboard sweeps of a Potts grid without field, site layout (rows in parallel)."""
    n_chains, d = X.shape
    H = geom[0]
    W = geom[1]
    ph = geom[2] != 0
    pw = geom[3] != 0
    partial = np.zeros((n_chains, 2 * H))
    for s in range(n_sweeps):
        base = (sweep0 + s) * d
        for col in range(2):
            for item in prange(n_chains * H):
                c = item // H
                r = item - c * H
                lst = np.zeros(4, dtype=np.int64)
                cnt = np.zeros(4, dtype=np.int64)
                partial[c, col * H + r] = _grid_row(X[c], r, col, H, W, ph, pw, beta, ising, ising_int, n_states,
                                                    expb, lst, cnt, keys[c], base)
        for c in range(n_chains):
            e = e_now[c]
            for b in range(2 * H):
                e += partial[c, b]
            e_now[c] = e
            if record:
                energies[s, c] = e
                if (s + 1) % thin == 0:
                    samples[(s + 1) // thin - 1, c, :] = X[c]


# --- exact reductions ---------------------------------------------------------------------
@parallel_kernel
def energy_rows(X, unary, edges, etab, tables, out):
    """out[r] = -(sum_i unary[i, x_i] + sum_e tables[etab[e], x_u, x_v]) for each row of X."""
    n, d = X.shape
    m = edges.shape[0]
    for r in prange(n):
        x = X[r]
        s = 0.0
        for i in range(d):
            s += unary[i, np.int64(x[i])]
        for e in range(m):
            s += tables[etab[e], np.int64(x[edges[e, 0]]), np.int64(x[edges[e, 1]])]
        out[r] = -s


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


@parallel_kernel
def pll_rows(X, n_states, unary, ptr, nbr, tab, otab, out):
    """out[r] = sum_i log P(x_i | x_-i) for each row of X (exact)."""
    n, d = X.shape
    for r in prange(n):
        x = X[r]
        logit = np.empty(n_states)
        s = 0.0
        for i in range(d):
            lse = _conditional_logits(x, i, n_states, unary, ptr, nbr, tab, otab, logit)
            s += logit[np.int64(x[i])] - lse
        out[r] = s


@parallel_kernel
def pll_grad(X, n_states, unary, ptr, nbr, tab, otab, value, g_unary, g_adj):
    """Sum over rows of the PLL and its gradient, parallel over sites (deterministic).

    value (d,): sum_r log P(x_ri | x_r,-i); g_unary (d, C): d/d unary[i, k];
    g_adj (2m, C, C): d/d otab-entry of adjacency entry a, indexed [x_nbr, k].
    """
    n, d = X.shape
    for i in prange(d):
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


@serial_kernel
def greedy_colouring(ptr, nbr):
    """Greedy proper colouring in site order: smallest colour unused by earlier neighbours."""
    d = ptr.shape[0] - 1
    colour = np.full(d, -1, dtype=np.int64)
    used = np.full(d + 1, -1, dtype=np.int64)
    for i in range(d):
        for a in range(ptr[i], ptr[i + 1]):
            cj = colour[nbr[a]]
            if cj >= 0:
                used[cj] = i
        c = 0
        while used[c] == i:
            c += 1
        colour[i] = c
    return colour
