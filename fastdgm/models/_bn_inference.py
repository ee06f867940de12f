"""Exact inference in a Bayesian network with missing entries: variable elimination.

One elimination order serves every row: the greedy min-fill order of the moral graph (ties:
fewest states of the new factor, then the smallest node). Each row's evidence enters as one
indicator factor per variable (1 at the observed state, or everywhere when missing), so a block
of rows is eliminated at once, the factors carrying a leading row axis (``numpy.einsum``), each
intermediate factor rescaled per row by its maximum (the log scales are summed: no underflow).

- :func:`log_prob_missing`: log P(x_obs) = the log of what is left after eliminating all.
- :func:`fill`: forward filtering, backward sampling. Eliminating v multiplies the factors that
  hold v into psi_v(v, S_v) (S_v: its neighbours, eliminated later) before summing v out; in the
  reverse order each v is then drawn from psi_v(., s_v) given the states s_v already drawn,
  which is exactly P(x_v | x_{S_v}, x_obs): one joint draw of the missing entries from
  P(x_mis | x_obs). Entry (i, j) uses ``uniform(key, i * d + j)`` (row i of X).

Cost per row: the sum over eliminated v of C^(|S_v| + 1); the elimination width is
max |S_v|. A network whose largest factor would exceed :data:`MAX_FACTOR_CELLS` entries is
refused with a ValueError naming the width (exact inference there is out of reach).
"""
from __future__ import annotations

import numpy as np

from .._rng import make_key
from ..kernels import bayesnet as _b
from ._missing import check_missing, fill_result

__all__ = ["MAX_FACTOR_CELLS", "elimination_order", "log_prob_missing", "fill"]

MAX_FACTOR_CELLS = 1 << 20
"""Largest factor (C^(width + 1) entries per row) that variable elimination accepts."""

_BLOCK_CELLS = 1 << 22      # row block: rows x largest factor stays below this


def elimination_order(model) -> tuple[list[int], list[list[int]]]:
    """Greedy min-fill elimination order of the model's moral graph.

    Parameters
    ----------
    model : BayesianNetwork

    Returns
    -------
    order : list of int
        Every node, in elimination order.
    scopes : list of list of int
        ``scopes[t]``: the neighbours S_v of ``order[t]`` when it is eliminated.
    """
    d = model.n_dims
    nb: list[set[int]] = [set() for _ in range(d)]
    for j, pa in enumerate(model.parents):
        fam = [int(p) for p in pa] + [j]
        for a in fam:
            nb[a].update(b for b in fam if b != a)
    left = set(range(d))
    order, scopes = [], []
    while left:
        def cost(v):
            ns = list(nb[v])
            fill = sum(1 for i, a in enumerate(ns) for b in ns[i + 1:] if b not in nb[a])
            return fill, len(ns), v
        v = min(left, key=cost)
        ns = sorted(nb[v])
        for a in ns:
            nb[a].discard(v)
            nb[a].update(b for b in ns if b != a)
        left.discard(v)
        order.append(v)
        scopes.append(ns)
    return order, scopes


def _plan(model):
    """Cached (order, scopes, width) of the model, ValueError above MAX_FACTOR_CELLS."""
    plan = getattr(model, "_elim_plan", None)
    if plan is None:
        order, scopes = elimination_order(model)
        width = max(len(s) for s in scopes)
        plan = (order, scopes, width)
        model._elim_plan = plan
    C = model.n_states
    width = plan[2]
    if width > 40 or C ** (width + 1) > MAX_FACTOR_CELLS:
        raise ValueError(f"exact inference with missing values needs factors of C^(width + 1) = "
                         f"{C}^{width + 1} entries per row (elimination width {width}), above the "
                         f"limit of {MAX_FACTOR_CELLS} (fastdgm.models._bn_inference.MAX_FACTOR_CELLS)")
    return plan


def _eliminate(model, Xc, M, keep):
    """Eliminate every variable for the rows of Xc (missing mask M); returns the log
    probability of each row's evidence and, with ``keep``, psi_v (vars, array) per step."""
    n, d = Xc.shape
    C = model.n_states
    order, scopes, _ = _plan(model)
    cpts = model.tables
    # factors: (vars, array, batched); batched arrays have the row axis first
    factors = []
    for j, pa in enumerate(model.parents):
        vars_ = [int(p) for p in pa] + [j]
        factors.append((vars_, cpts[j].reshape((C,) * len(vars_)), False))
    lam = np.where(M[:, :, None], 1.0, (Xc[:, :, None] == np.arange(C)).astype(np.float64))
    for j in range(d):
        factors.append(([j], lam[:, j, :], True))
    logscale = np.zeros(n)
    psis = []
    for v, scope in zip(order, scopes):
        hold = [f for f in factors if v in f[0]]
        factors = [f for f in factors if v not in f[0]]
        letters = {u: chr(97 + i) for i, u in enumerate([v] + scope)}
        subs = [("Z" if b else "") + "".join(letters[u] for u in vs) for vs, _, b in hold]
        full = "Z" + "".join(letters[u] for u in [v] + scope)
        psi = np.einsum(",".join(subs) + "->" + full, *[a for _, a, _ in hold])
        if keep:
            psis.append(psi)
        msg = psi.sum(axis=1)
        s = msg.reshape(n, -1).max(axis=1)
        ok = s > 0
        logscale += np.where(ok, np.log(np.where(ok, s, 1.0)), -np.inf)
        msg = msg / np.where(ok, s, 1.0).reshape((n,) + (1,) * len(scope))
        factors.append((scope, msg, True))
    total = logscale.copy()
    for vs, a, b in factors:           # scalars left (one per connected component)
        with np.errstate(divide="ignore"):
            total += np.log(a) if b else np.log(np.broadcast_to(a, (n,)))
    return total, psis


def _blocks(model, n):
    """Row blocks [lo, hi) of at most _BLOCK_CELLS / (largest factor) rows."""
    order, scopes, width = _plan(model)
    rows = max(1, _BLOCK_CELLS // (model.n_states ** (width + 1) * 4))
    return [(lo, min(n, lo + rows)) for lo in range(0, n, rows)]


def log_prob_missing(model, X, missing) -> np.ndarray:
    """Exact log P(x_obs) of each row, shape (n,), float64 (-inf where it is 0).

    Parameters
    ----------
    model : BayesianNetwork
    X : array_like of int, shape (n, d)
    missing : array_like of bool, shape (n, d)
        True = missing (summed out).

    Returns
    -------
    ndarray of float64, shape (n,)
    """
    Xc, M, _ = check_missing(X, missing, model.n_states, model.n_dims)
    out = np.empty(Xc.shape[0])
    for lo, hi in _blocks(model, Xc.shape[0]):
        out[lo:hi] = _eliminate(model, Xc[lo:hi], M[lo:hi], False)[0]
    return out


def fill(model, X, missing, rng=None) -> np.ndarray:
    """Copy of X with the missing entries of each row one joint draw from P(x_mis | x_obs).

    Parameters
    ----------
    model : BayesianNetwork
    X : array_like of int, shape (n, d)
    missing : array_like of bool, shape (n, d)
    rng : SPEC 7 seed

    Returns
    -------
    ndarray, shape (n, d)

    Raises
    ------
    ValueError
        If the observed entries of a row have probability 0.
    """
    Xc, M, arr = check_missing(X, missing, model.n_states, model.n_dims)
    key = make_key(rng)
    n, d = Xc.shape
    order, scopes, _ = _plan(model)
    drawn = Xc.astype(np.int64)
    for lo, hi in _blocks(model, n):
        lp, psis = _eliminate(model, Xc[lo:hi], M[lo:hi], True)
        bad = np.flatnonzero(lp == -np.inf)
        if bad.size:
            raise ValueError(f"row {lo + int(bad[0])} of X: its observed entries have probability 0 "
                             f"under the model, there is no conditional to draw the missing entries from")
        rows = np.arange(hi - lo)
        counters = (np.arange(lo, hi, dtype=np.int64) * d)
        for t in range(len(order) - 1, -1, -1):
            v, scope, psi = order[t], scopes[t], psis[t]
            w = psi[(rows, slice(None)) + tuple(drawn[lo:hi, u] for u in scope)]
            col = np.ascontiguousarray(drawn[lo:hi, v])
            _b.draw_weighted(np.ascontiguousarray(w), key, counters + v, col)
            drawn[lo:hi, v] = np.where(M[lo:hi, v], col, drawn[lo:hi, v])
    return fill_result(arr, M, drawn.astype(Xc.dtype), model.n_states)
