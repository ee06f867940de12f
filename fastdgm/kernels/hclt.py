"""Numba kernels of the hidden Chow-Liu tree (:class:`fastdgm.hclt.HiddenChowLiuTree`).

Model: a latent Z_j with K states behind every X_j, the latents joined in a tree
(``parent``, breadth-first ``order`` with the root first). Tables as the kernels take them:

- ``prior`` (K,)       P(Z_root = k)
- ``T``  (d, K, K)     T[j, u, v] = P(Z_j = v | Z_parent(j) = u)  (row of the root unused)
- ``Tt`` (d, K, K)     T transposed per node: Tt[j, v, u] = T[j, u, v]
- ``E``  (d, C, K)     E[j, x, k] = P(X_j = x | Z_j = k)  (emission, latent state last)

Everything here trusts its inputs (checked by :mod:`fastdgm.models.hclt`).

Upward pass (one block of B rows at a time, node by node so each node's K x K table is
reused for the B rows): ``lam[j, b]`` starts as the emission E[j, x_bj] (1 where x_bj is
missing), children multiply their messages m_c(z_j) = sum_v T[c, z_j, v] lam_c(v) into it;
when node j is complete, lam_j is divided by its maximum (so every entry is <= 1 and no
message underflows), the logs of those maxima are the row's log-scale, and
log P(x) = log-scale + log sum_k prior[k] lam_root(k).

Downward pass (EM): q_j = P(Z_j | x), the root's from prior * lam_root, then for a child c of
j the exact pair posterior P(Z_j = u, Z_c = v | x) = r(u) T[c, u, v] lam_c(v) with
r(u) = q_j(u) / m_c(u) (0 where m_c(u) = 0: that pair has probability 0 whatever r is), and
q_c(v) = lam_c(v) sum_u r(u) T[c, u, v]. The expected pair counts are accumulated as
G_c[u, v] += w r(u) lam_c(v) (four rows at a time, rows ascending) and multiplied by T[c] once at the end (T is fixed in an E-step).

Kernels use ``error_model="numpy"`` (no zero-division checks, so the divisions vectorise);
every divisor is checked positive where zero is possible.

Determinism: rows are cut into blocks of ``B`` rows (a function of the shape only); block
``t`` belongs to lane ``t % L`` (L also a function of the shape only); each lane sums its
blocks in order into its own partial statistics and the caller adds the lanes in order. So
every result is bit-identical for any number of threads, and the serial twin gives the same
bits. Randomness: ``uniform(substream(key, 0), i * d + j)`` for the latent Z_ij and
``uniform(key, i * d + j)`` for X_ij.

Slow references: :mod:`fastdgm.slow.hclt` (enumeration over z).
"""
from __future__ import annotations

import numpy as np
from numba import prange

from .levels import threshold_levels, threshold_weights
from .likelihood import SERIAL_WORK
from .parallel import parallel_kernel, serial_kernel
from .rng import substream, uniform

__all__ = ["block_rows", "n_lanes", "log_prob", "em_stats", "fill", "sample"]

_TINY = 1e-100     # a row's scale factor below this is logged at once
_FLUSH = 1e-200    # the running product of scale factors is logged when it falls below this
_RESCALE = 1e-150  # a partially multiplied lam is renormalised when its maximum falls below this


def block_rows(d: int, K: int) -> int:
    """Rows per block: scratch of about 2**16 doubles per (d, B, K) array, 1 <= B <= 32."""
    return int(max(1, min(32, (1 << 16) // max(1, d * K))))


def n_lanes(n_blocks: int, cells: int, budget: int = 1 << 23) -> int:
    """Lanes of partial statistics (``cells`` doubles each) within ``budget`` doubles, <= 32."""
    return int(max(1, min(n_blocks, 32, budget // max(1, cells))))


@serial_kernel(inline="always", error_model="numpy")
def _matvec4(Tt, j, A, M):
    """M[q, u] = sum_v Tt[j, v, u] A[q, v] for the four rows q (one load of Tt[j, v, u]
    serves the four rows). Full indexing, no views of the shared tables: a view costs an
    atomic reference count that two threads would fight over."""
    K = A.shape[1]
    for u in range(K):
        M[0, u] = 0.0
        M[1, u] = 0.0
        M[2, u] = 0.0
        M[3, u] = 0.0
    for v in range(K):
        a0 = A[0, v]
        a1 = A[1, v]
        a2 = A[2, v]
        a3 = A[3, v]
        for u in range(K):
            x = Tt[j, v, u]
            M[0, u] += x * a0
            M[1, u] += x * a1
            M[2, u] += x * a2
            M[3, u] += x * a3


@serial_kernel(inline="always", error_model="numpy")
def _down4(T, c, R, WR, A, H, G, lane):
    """For four rows q: H[q, v] = sum_u R[q, u] T[c, u, v] and
    G[lane, c, u, v] += sum_q WR[q, u] A[q, v] (q ascending)."""
    K = A.shape[1]
    for v in range(K):
        H[0, v] = 0.0
        H[1, v] = 0.0
        H[2, v] = 0.0
        H[3, v] = 0.0
    for u in range(K):
        r0 = R[0, u]
        r1 = R[1, u]
        r2 = R[2, u]
        r3 = R[3, u]
        w0 = WR[0, u]
        w1 = WR[1, u]
        w2 = WR[2, u]
        w3 = WR[3, u]
        for v in range(K):
            x = T[c, u, v]
            H[0, v] += r0 * x
            H[1, v] += r1 * x
            H[2, v] += r2 * x
            H[3, v] += r3 * x
            G[lane, c, u, v] += w0 * A[0, v] + w1 * A[1, v] + w2 * A[2, v] + w3 * A[3, v]


# ---------------------------------------------------------------------------------------
# the upward pass
# ---------------------------------------------------------------------------------------
@serial_kernel(inline="always", error_model="numpy")
def _emit(X, miss, i0, nb, E, lam):
    """lam[j, b] = E[j, x_{i0+b, j}] (1 where the entry is missing) for every node j."""
    d = lam.shape[0]
    K = lam.shape[2]
    has_miss = miss.shape[0] > 0
    for j in range(d):
        for b in range(nb):
            i = i0 + b
            if has_miss and miss[i, j] != 0:
                for k in range(K):
                    lam[j, b, k] = 1.0
            else:
                x = X[i, j]
                for k in range(K):
                    lam[j, b, k] = E[j, x, k]


@serial_kernel(inline="always", error_model="numpy")
def _scale(lam, j, b, logs, prod):
    """Divide the complete lam[j, b] by its maximum; its log goes to the row's log-scale
    (logs[b] at once when tiny, else through the running product prod[b])."""
    K = lam.shape[2]
    mx = 0.0
    for k in range(K):
        mx = max(mx, lam[j, b, k])
    if mx > 0.0:
        inv = 1.0 / mx
        for k in range(K):
            lam[j, b, k] *= inv
        if mx < _TINY:
            logs[b] += np.log(mx)
        else:
            prod[b] *= mx
            if prod[b] < _FLUSH:
                logs[b] += np.log(prod[b])
                prod[b] = 1.0


@serial_kernel(inline="always", error_model="numpy")
def _absorb(lam, msg, j, p, b, logs):
    """lam[p, b] *= msg[j, b] (the message of child j), renormalised when it gets tiny."""
    K = lam.shape[2]
    mp = 0.0
    for u in range(K):
        lam[p, b, u] *= msg[j, b, u]
        mp = max(mp, lam[p, b, u])
    if 0.0 < mp < _RESCALE:
        inv = 1.0 / mp
        for u in range(K):
            lam[p, b, u] *= inv
        logs[b] += np.log(mp)


@serial_kernel(inline="always", error_model="numpy")
def _root_ll(prior, lam, root, nb, logs, prod, ll):
    """ll[b] = log-scale + log sum_k prior[k] lam_root(k) (-inf for probability zero)."""
    K = prior.shape[0]
    for b in range(nb):
        s = 0.0
        for k in range(K):
            s += prior[k] * lam[root, b, k]
        ll[b] = logs[b] + np.log(prod[b]) + np.log(s) if s > 0.0 else -np.inf


@serial_kernel(inline="always", error_model="numpy")
def _upward(X, miss, i0, nb, order, parent, prior, Tt, E, lam, msg, ll, A, M, logs, prod):
    """Upward pass over rows i0 .. i0+nb-1 (nb <= B).

    On return lam[j, b] holds the max-normalised lam_j of row i0+b, msg[j, b] the message
    m_j(z_parent) computed from it (the root's msg is unused) and ll[b] = log P(x_{i0+b})
    (-inf for a row of probability zero). ``miss`` (n, d) uint8 or shape (0, 0) for none.
    A, M (4, K), logs, prod (B,) are scratch.
    """
    d = order.shape[0]
    K = prior.shape[0]
    for b in range(nb):
        logs[b] = 0.0
        prod[b] = 1.0
    _emit(X, miss, i0, nb, E, lam)
    for t in range(d - 1, 0, -1):
        j = order[t]
        p = parent[j]
        for b0 in range(0, nb, 4):
            nq = min(4, nb - b0)
            for q in range(4):
                if q >= nq:
                    for k in range(K):
                        A[q, k] = 0.0
                    continue
                b = b0 + q
                _scale(lam, j, b, logs, prod)
                for k in range(K):
                    A[q, k] = lam[j, b, k]
            _matvec4(Tt, j, A, M)
            for q in range(nq):
                b = b0 + q
                for u in range(K):
                    msg[j, b, u] = M[q, u]
                _absorb(lam, msg, j, p, b, logs)
    _root_ll(prior, lam, order[0], nb, logs, prod, ll)


@parallel_kernel(serial_below=SERIAL_WORK, error_model="numpy")
def log_prob(X, miss, order, parent, prior, Tt, E, B, out):
    """out[i] = log P(x_i) (marginal over the entries flagged in ``miss``)."""
    n = X.shape[0]
    d = order.shape[0]
    K = prior.shape[0]
    CB = 64                                   # blocks per task (scratch allocated per task)
    nblk = (n + B - 1) // B
    ntask = (nblk + CB - 1) // CB
    for task in prange(ntask):
        lam = np.empty((d, B, K))
        msg = np.empty((d, B, K))
        ll = np.empty(B)
        A = np.empty((4, K))
        M = np.empty((4, K))
        logs = np.empty(B)
        prod = np.empty(B)
        for t in range(task * CB, min(nblk, (task + 1) * CB)):
            i0 = t * B
            nb = min(n, i0 + B) - i0
            _upward(X, miss, i0, nb, order, parent, prior, Tt, E, lam, msg, ll, A, M, logs, prod)
            for b in range(nb):
                out[i0 + b] = ll[b]
    return out


# ---------------------------------------------------------------------------------------
# EM statistics
# ---------------------------------------------------------------------------------------
@serial_kernel(inline="always", error_model="numpy")
def _root_posteriors(X, w, i0, nb, root, prior, lam, lb, wb, S, lane, acc):
    """After the upward pass of a block: wb[b] = the row's weight (0 for a row of weight 0 or
    probability 0: it adds nothing below), lam[root, b] = P(Z_root | x) and its emission
    counts into S[lane]; returns acc + sum_b w_b ll_b (rows ascending)."""
    K = prior.shape[0]
    has_w = w.shape[0] > 0
    for b in range(nb):
        wi = w[i0 + b] if has_w else 1.0
        if wi != 0.0:
            acc += wi * lb[b]
        if lb[b] == -np.inf:
            wi = 0.0
        wb[b] = wi
        if wi == 0.0:
            continue
        s = 0.0
        for k in range(K):
            lam[root, b, k] *= prior[k]
            s += lam[root, b, k]
        inv = 1.0 / s
        x = X[i0 + b, root]
        for k in range(K):
            lam[root, b, k] *= inv
            S[lane, root, x, k] += wi * lam[root, b, k]
    return acc


@serial_kernel(inline="always", error_model="numpy")
def _ratio(lam, msg, p, c, b, wi, R, WR, q):
    """R[q, u] = q_p(u) / m_c(u) (0 where m_c(u) = 0, which implies q_p(u) = 0), WR = wi R."""
    K = lam.shape[2]
    for u in range(K):
        mc = msg[c, b, u]
        r = lam[p, b, u] / (mc if mc > 0.0 else 1.0)
        R[q, u] = r
        WR[q, u] = wi * r


@serial_kernel(inline="always", error_model="numpy")
def _posterior(X, i0, lam, H, q, c, b, wi, S, lane):
    """lam[c, b] *= H[q] normalised: P(Z_c | x) of row i0+b; its emission counts into S[lane]."""
    K = lam.shape[2]
    s = 0.0
    for v in range(K):
        lam[c, b, v] *= H[q, v]
        s += lam[c, b, v]
    inv = 1.0 / s
    x = X[i0 + b, c]
    for v in range(K):
        lam[c, b, v] *= inv
        S[lane, c, x, v] += wi * lam[c, b, v]


@serial_kernel(inline="always", error_model="numpy")
def _zero_lane(G, S, lane):
    for j in range(G.shape[1]):
        for u in range(G.shape[2]):
            for v in range(G.shape[3]):
                G[lane, j, u, v] = 0.0
        for x in range(S.shape[2]):
            for v in range(S.shape[3]):
                S[lane, j, x, v] = 0.0


@parallel_kernel(serial_below=SERIAL_WORK, error_model="numpy")
def em_stats(X, w, order, parent, prior, T, Tt, E, B, G, S, ll):
    """E-step statistics, per lane l (blocks l, l+L, l+2L, ... of B rows, in order):

    G[l, c, u, v] = sum_i w_i r_ic(u) lam_ic(v)   (times T[c, u, v]: expected pair counts
                    of (Z_parent(c) = u, Z_c = v); the root's slot stays 0)
    S[l, j, x, k] = sum_i w_i [x_ij = x] P(Z_j = k | x_i)
    ll[l]         = sum_i w_i log P(x_i)

    ``w`` (n,) float64 or empty for all ones. Rows of weight 0 add nothing.
    """
    n, d = X.shape
    K = prior.shape[0]
    L = G.shape[0]
    nblk = (n + B - 1) // B
    nomiss = np.zeros((0, 0), dtype=np.uint8)
    root = order[0]
    for lane in prange(L):
        _zero_lane(G, S, lane)
        lam = np.empty((d, B, K))
        msg = np.empty((d, B, K))
        lb = np.empty(B)
        wb = np.empty(B)
        R = np.empty((4, K))
        WR = np.empty((4, K))
        A = np.empty((4, K))
        H = np.empty((4, K))
        logs = np.empty(B)
        prod = np.empty(B)
        acc = 0.0
        for t in range(lane, nblk, L):
            i0 = t * B
            nb = min(n, i0 + B) - i0
            _upward(X, nomiss, i0, nb, order, parent, prior, Tt, E, lam, msg, lb, A, H, logs, prod)
            acc = _root_posteriors(X, w, i0, nb, root, prior, lam, lb, wb, S, lane, acc)
            for tt in range(1, d):
                c = order[tt]
                p = parent[c]
                for b0 in range(0, nb, 4):
                    nq = min(4, nb - b0)
                    for q in range(4):
                        b = b0 + q
                        if q >= nq or wb[b] == 0.0:
                            for k in range(K):
                                R[q, k] = 0.0
                                WR[q, k] = 0.0
                                A[q, k] = 0.0
                            continue
                        _ratio(lam, msg, p, c, b, wb[b], R, WR, q)
                        for u in range(K):
                            A[q, u] = lam[c, b, u]
                    _down4(T, c, R, WR, A, H, G, lane)
                    for q in range(nq):
                        b = b0 + q
                        if wb[b] != 0.0:
                            _posterior(X, i0, lam, H, q, c, b, wb[b], S, lane)
        ll[lane] = acc
    return G


# ---------------------------------------------------------------------------------------
# sampling
# ---------------------------------------------------------------------------------------
@parallel_kernel(serial_below=SERIAL_WORK, error_model="numpy")
def fill(X, miss, order, parent, prior, T, Tt, E, Elev, B, key, out, ll):
    """Exact conditional draws of the missing entries: upward pass with the missing
    emissions set to 1, then Z drawn down the tree from P(Z_c | Z_parent, x_observed)
    proportional to T[c, z_parent, v] lam_c(v), and each missing X_ij from Elev[j, z_j].
    ``out`` is a copy of X; ll[i] = log P(observed part of x_i) (-inf: nothing drawn)."""
    n, d = X.shape
    K = prior.shape[0]
    nblk = (n + B - 1) // B
    zkey = substream(key, 0)
    for t in prange(nblk):
        i0 = t * B
        nb = min(n, i0 + B) - i0
        lam = np.empty((d, B, K))
        msg = np.empty((d, B, K))
        lb = np.empty(B)
        wts = np.empty(K)
        z = np.empty(d, dtype=np.int64)
        _upward(X, miss, i0, nb, order, parent, prior, Tt, E, lam, msg, lb,
                np.empty((4, K)), np.empty((4, K)), np.empty(B), np.empty(B))
        for b in range(nb):
            i = i0 + b
            ll[i] = lb[b]
            if lb[b] == -np.inf:
                continue
            for tt in range(d):
                c = order[tt]
                s = 0.0
                if tt == 0:
                    for v in range(K):
                        wts[v] = prior[v] * lam[c, b, v]
                        s += wts[v]
                else:
                    zp = z[parent[c]]
                    for v in range(K):
                        wts[v] = T[c, zp, v] * lam[c, b, v]
                        s += wts[v]
                zc = threshold_weights(wts, K, s, uniform(zkey, i * d + c))
                z[c] = zc
                if miss[i, c] != 0:
                    out[i, c] = threshold_levels(Elev[c, zc], uniform(key, i * d + c))
    return out


@parallel_kernel(serial_below=SERIAL_WORK, error_model="numpy")
def sample(order, parent, plev, Tlev, Elev, key, row0, out):
    """Ancestral sampling of rows row0.. of a sample: Z_root from plev (K,), Z_c from
    Tlev[c, z_parent] (d, K, K), X_j from Elev[j, z_j] (d, K, C); levels are cumulative, last
    level 1.0. Element (i, c) uses uniform(substream(key, 0), i*d + c) for z and
    uniform(key, i*d + c) for x, i the row in the whole sample."""
    n, d = out.shape
    zkey = substream(key, 0)
    CH = 4096
    nc = (n + CH - 1) // CH
    for t in prange(nc):
        z = np.empty(d, dtype=np.int64)
        for i in range(t * CH, min(n, (t + 1) * CH)):
            for tt in range(d):
                c = order[tt]
                uz = uniform(zkey, (row0 + i) * d + c)
                if tt == 0:
                    zc = threshold_levels(plev, uz)
                else:
                    zc = threshold_levels(Tlev[c, z[parent[c]]], uz)
                z[c] = zc
                out[i, c] = threshold_levels(Elev[c, zc], uniform(key, (row0 + i) * d + c))
    return out


