"""The fast paths of the grid Gibbs sweeps on a torus with even sides: colours split, Ising
and Potts rows.

Layout: ``S[c]`` (H, W2 + 2) with W2 = W // 2 holds the sites of colour c, plus one halo
column at each end: ``S[c, r, 1 + k]`` is site (r, 2k + off), off = (r + c) & 1, and
``S[c, r, 0] = S[c, r, W2]``, ``S[c, r, W2 + 1] = S[c, r, 1]`` (the row wraps around). The
neighbours of ``S[c, r, 1 + k]`` are ``S[1 - c]`` at (r -+ 1, 1 + k) and (r, k + off),
(r, k + 1 + off): contiguous loads and no special case at the row ends, so a row is one loop
LLVM vectorises whole, hash included (the halos are refreshed after each row update).

The chains of a kernel are one flat uint8 array ``F``; chain c's layout starts at
``c * 2 * H * (W2 + 2)``. Rows are addressed by unsigned offsets, never by views: a view
costs an atomic reference-count update, and a signed index a wrap-around test per load.

Ising site update: the site takes 0 when ``bits < t[n1]``, with ``bits`` its 32-bit site
uniform (:mod:`fastdgm.kernels.gibbs_rng`, counter r * W + j), n1 its neighbours in state 1
and ``t[n1] = min(ceil(P(0 | n1) * 2**32), 2**32 - 1)`` (``GridTables.ising_int``): the
probability applied is within 2**-32 of the exact one. All in 32-bit arithmetic (16 lanes
per AVX-512 instruction). Potts site update: :func:`potts4_draw`, branch-free, so its rows
vectorise too. Same counters and per-row energy sums in both parallel layouts.
"""
import numpy as np

from .gibbs_rng import site_bits, site_uniform
from .parallel import serial_kernel

_U1 = np.uint64(1)


@serial_kernel
def torus_split_ok(H, W, ph, pw):
    """True when the split-colour path applies (torus, even sides >= 4)."""
    return ph and pw and H >= 4 and W >= 4 and H % 2 == 0 and W % 2 == 0


@serial_kernel(inline="always")   # a few loads: no function of its own to compile
def split_size(H, W):
    """Entries of one chain's split layout (with halos)."""
    return 2 * H * (W // 2 + 2)


@serial_kernel(inline="always")
def _row_starts(c0, r, H, W2):
    """Offsets in F of the first site of row r holding the even / odd columns."""
    ev = np.uint64(c0 + ((r & 1) * H + r) * (W2 + 2) + 1)          # colour of the even columns: r & 1
    od = np.uint64(c0 + ((1 - (r & 1)) * H + r) * (W2 + 2) + 1)
    return ev, od


@serial_kernel(inline="always")
def _halo(F, row, W2):
    F[row] = F[row + np.uint64(W2)]
    F[row + np.uint64(W2 + 1)] = F[row + _U1]


@serial_kernel
def to_split(x, F, c0, H, W):
    """Write chain state ``x`` (site order) into its split layout at ``F[c0:]``."""
    W2 = W // 2
    for r in range(H):
        ev, od = _row_starts(c0, r, H, W2)
        rw = np.uint64(r * W)
        for k in range(W2):
            uk = np.uint64(k)
            F[ev + uk] = x[rw + uk + uk]
            F[od + uk] = x[rw + uk + uk + _U1]
        _halo(F, ev - _U1, W2)
        _halo(F, od - _U1, W2)


@serial_kernel
def from_split(F, c0, x, H, W):
    """Write the split layout at ``F[c0:]`` back to a state ``x`` in site order."""
    W2 = W // 2
    for r in range(H):
        ev, od = _row_starts(c0, r, H, W2)
        rw = np.uint64(r * W)
        for k in range(W2):     # unsigned indices: no wrap-around test, the loop vectorises
            uk = np.uint64(k)
            x[rw + uk + uk] = F[ev + uk]
            x[rw + uk + uk + _U1] = F[od + uk]


@serial_kernel(inline="always")
def ising_row(F, c0, r, col, H, W, k0, k1, n_states, t0, t1, t2, t3, t4):
    """Update the colour-``col`` sites of row r; return the row's sum of agree_old - agree_new.

    ``t0 .. t4`` are the thresholds as uint32 (see the module docstring); ``n_states`` (2) is
    unused: the signature of :func:`potts_row`, so either is the ``row`` of :func:`sweep_rows`.
    """
    W2 = W // 2
    Wp = W2 + 2
    off = (r + col) & 1
    other = (1 - col) * H
    a = np.uint64(c0 + (col * H + r) * Wp + 1)
    bu = np.uint64(c0 + (other + (r - 1 if r > 0 else H - 1)) * Wp + 1)     # no integer division
    bd = np.uint64(c0 + (other + (r + 1 if r < H - 1 else 0)) * Wp + 1)
    bl = np.uint64(c0 + (other + r) * Wp + off)         # left neighbour of k: bl + k; right: bl + k + 1
    ctr = r * W + off
    acc = np.int32(0)
    for k in range(W2):
        uk = np.uint64(k)
        n1 = np.int32(np.int32(F[bu + uk]) + np.int32(F[bd + uk]) + np.int32(F[bl + uk])
                      + np.int32(F[bl + uk + _U1]))
        t = np.uint32((n1 == 0) * t0 + (n1 == 1) * t1 + (n1 == 2) * t2 + (n1 == 3) * t3 + (n1 == 4) * t4)
        new = np.uint8(np.uint32(site_bits(k0, k1, ctr + 2 * k)) >= t)
        old = np.int32(F[a + uk])
        F[a + uk] = new
        # (old - new) * (2 n1 - 4) with old, new in {0, 1}: masks, not a (slow) vector multiply
        m = np.int32(2 * n1 - 4)
        acc = np.int32(acc + np.int32((m & -old) - (m & -np.int32(new))))
    _halo(F, a - _U1, W2)
    return np.int64(acc)


@serial_kernel(inline="always")
def _pick5(c, e0, e1, e2, e3, e4):
    """e_c for c in 0..4, by selects (no table load)."""
    return e0 if c == 0 else (e1 if c == 1 else (e2 if c == 2 else (e3 if c == 3 else e4)))


@serial_kernel(inline="always")
def potts4_draw(s0, s1, s2, s3, old, u, n_states, e0, e1, e2, e3, e4):
    """Potts heat-bath without field from 4 neighbour states; return (new, agree_old - agree_new).

    Weight ``e_count`` (``e_n = expb[n]``) for each distinct neighbour state, ``e0`` for each of
    the other C - n_distinct states, threshold ``u * total`` against the cumulative weights
    (distinct neighbour states first, in neighbour order, then the absent states ascending).
    Both outcomes are computed and one is selected: no data-dependent branch, so a row of
    updates vectorises.
    """
    c0 = 1 + np.int64(s0 == s1) + np.int64(s0 == s2) + np.int64(s0 == s3)
    c1 = 1 + np.int64(s1 == s0) + np.int64(s1 == s2) + np.int64(s1 == s3)
    c2 = 1 + np.int64(s2 == s0) + np.int64(s2 == s1) + np.int64(s2 == s3)
    c3 = 1 + np.int64(s3 == s0) + np.int64(s3 == s1) + np.int64(s3 == s2)
    f1 = np.int64(s1 != s0)
    f2 = np.int64((s2 != s0) & (s2 != s1))
    f3 = np.int64((s3 != s0) & (s3 != s1) & (s3 != s2))
    nd = 1 + f1 + f2 + f3
    cum0 = _pick5(c0, e0, e1, e2, e3, e4)
    cum1 = cum0 + f1 * _pick5(c1, e0, e1, e2, e3, e4)
    cum2 = cum1 + f2 * _pick5(c2, e0, e1, e2, e3, e4)
    cum3 = cum2 + f3 * _pick5(c3, e0, e1, e2, e3, e4)
    n_other = n_states - nd
    total = cum3 + n_other * e0
    target = u * total
    agree_old = np.int64(s0 == old) + np.int64(s1 == old) + np.int64(s2 == old) + np.int64(s3 == old)
    # a listed (neighbour) state
    k = np.int64(target >= cum0) + np.int64(target >= cum1) + np.int64(target >= cum2)
    listed = s0 if k == 0 else (s1 if k == 1 else (s2 if k == 2 else s3))
    agree_listed = np.int64(s0 == listed) + np.int64(s1 == listed) + np.int64(s2 == listed) + np.int64(s3 == listed)
    # else the rr-th absent state: fixed point of new = rr + #{present <= new}
    rr = np.int64((target - cum3) / (e0 if e0 > 0.0 else 1.0))
    rr = min(max(rr, 0), max(n_other - 1, 0))
    absent = rr
    for _ in range(4):
        absent = rr + np.int64(s0 <= absent) + f1 * np.int64(s1 <= absent) + f2 * np.int64(s2 <= absent) \
            + f3 * np.int64(s3 <= absent)
    take_listed = (target < cum3) | (n_other == 0) | (e0 == 0.0)
    new = listed if take_listed else absent
    return new, agree_old - (agree_listed if take_listed else 0)


@serial_kernel(inline="always")
def potts_row(F, c0, r, col, H, W, k0, k1, n_states, e0, e1, e2, e3, e4):
    """Update the colour-``col`` Potts sites of row r; return the row's sum of agree_old - agree_new."""
    W2 = W // 2
    Wp = W2 + 2
    off = (r + col) & 1
    other = (1 - col) * H
    a = np.uint64(c0 + (col * H + r) * Wp + 1)
    bu = np.uint64(c0 + (other + (r - 1 if r > 0 else H - 1)) * Wp + 1)     # no integer division
    bd = np.uint64(c0 + (other + (r + 1 if r < H - 1 else 0)) * Wp + 1)
    bl = np.uint64(c0 + (other + r) * Wp + off)
    ctr = r * W + off
    acc = 0
    for k in range(W2):
        uk = np.uint64(k)
        new, delta = potts4_draw(np.int64(F[bu + uk]), np.int64(F[bd + uk]), np.int64(F[bl + uk]),
                                 np.int64(F[bl + uk + _U1]), np.int64(F[a + uk]),
                                 site_uniform(k0, k1, ctr + 2 * k), n_states, e0, e1, e2, e3, e4)
        F[a + uk] = new
        acc += delta
    _halo(F, a - _U1, W2)
    return acc


@serial_kernel(inline="always")
def sweep_rows(F, c0, e, beta, H, W, k0, k1, n_states, p0, p1, p2, p3, p4, row):
    """One sweep of the chain at ``F[c0:]``: return ``e`` plus ``beta`` times each row's sum, row by
    row (the order the site layout adds its per-row partial sums in). ``row`` is
    :func:`ising_row` (``p*`` the thresholds) or :func:`potts_row` (``p*`` = ``expb``): a
    function argument of an inlined helper, so each caller compiles only its own row update."""
    for col in range(2):
        for r in range(H):
            e += beta * row(F, c0, r, col, H, W, k0, k1, n_states, p0, p1, p2, p3, p4)
    return e


@serial_kernel
def torus_sweep_ising(F, c0, e, beta, H, W, k0, k1, n_states, ising_int, expb):
    """One Ising sweep (C = 2) of the chain at ``F[c0:]`` (:func:`sweep_rows` of :func:`ising_row`)."""
    t0, t1, t2, t3, t4 = thresholds(ising_int)
    return sweep_rows(F, c0, e, beta, H, W, k0, k1, n_states, t0, t1, t2, t3, t4, ising_row)


@serial_kernel
def torus_sweep_potts(F, c0, e, beta, H, W, k0, k1, n_states, ising_int, expb):
    """One Potts sweep (C > 2) of the chain at ``F[c0:]`` (:func:`sweep_rows` of :func:`potts_row`)."""
    return sweep_rows(F, c0, e, beta, H, W, k0, k1, n_states, expb[0], expb[1], expb[2], expb[3], expb[4],
                      potts_row)


@serial_kernel(inline="always")   # a few loads: no function of its own to compile
def thresholds(ising_int):
    """``ising_int`` (uint64, 5) as five uint32 scalars."""
    return (np.uint32(ising_int[0]), np.uint32(ising_int[1]), np.uint32(ising_int[2]), np.uint32(ising_int[3]),
            np.uint32(ising_int[4]))
