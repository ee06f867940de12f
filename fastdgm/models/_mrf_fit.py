"""Maximum pseudo-likelihood fit of a pairwise MRF (scipy's L-BFGS-B on the exact gradient)."""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from .._progress import Progress
from .._validation import check_edges, check_scalar, check_states
from ..kernels.mrf_exact import pll_grad
from ._gibbs_plan import build_adjacency, oriented_tables

__all__ = ["fit_pseudo_likelihood"]


def fit_pseudo_likelihood(cls, X, edges, n_states=None, *, method="pll", l2=1e-2, pairwise="full",
                          periodic=True, max_iter=500, tol=1e-7, progress=False):
    """Minimise -mean_r PLL(x_r) + l2/2 ||params||^2; see :meth:`PairwiseMRF.fit`."""
    if method != "pll":
        raise ValueError(f"method must be 'pll', got {method!r}")
    if pairwise not in ("full", "shared", "potts"):
        raise ValueError(f"pairwise must be 'full', 'shared' or 'potts', got {pairwise!r}")
    l2 = check_scalar(l2, "l2", minimum=0.0)
    X, C = check_states(X, "X", n_states=n_states)
    n, d = X.shape
    C = max(C, 1)
    if np.ndim(edges) == 1 or isinstance(edges, (int, np.integer)):
        shape = (edges,) if np.ndim(edges) == 0 else tuple(edges)
        tmpl = cls.grid(shape, C, 0.0, periodic=periodic)
        if tmpl.n_dims != d:
            raise ValueError(f"edges: lattice shape {shape} has {tmpl.n_dims} sites but X has d = {d} "
                             f"columns")
        grid = tmpl._grid
        e = tmpl._edges
    else:
        e = check_edges(edges, d)
        grid = None
    m = e.shape[0]
    K = {"full": m, "shared": 1, "potts": 1}[pairwise]
    etab = np.arange(m, dtype=np.int64) if pairwise == "full" else np.zeros(m, np.int64)
    counts = np.stack([np.bincount(X[:, j], minlength=C) for j in range(d)]).astype(np.float64)
    unary0 = np.log((counts + 1.0) / (n + C))
    unary0 -= unary0.mean(1, keepdims=True)
    n_tab = {"full": m * C * C, "shared": C * C, "potts": 1}[pairwise]
    theta0 = np.concatenate([unary0.ravel(), np.zeros(n_tab)])

    def unpack(theta):
        u = theta[: d * C].reshape(d, C)
        t = theta[d * C:]
        if pairwise == "potts":
            T = (t[0] * np.eye(C))[None]
        else:
            T = t.reshape(K, C, C)
        return u, T

    value = np.empty(d)
    g_unary = np.empty((d, C))
    g_adj = np.empty((2 * m, C, C))
    adj = build_adjacency(d, e, etab, np.zeros((max(K, 1), C, C)))
    pos_u, pos_v, ptr, nbr, tab = adj.pos_u, adj.pos_v, adj.ptr, adj.nbr, adj.tab

    def objective(theta):
        u, T = unpack(theta)
        pll_grad(X, C, np.ascontiguousarray(u), ptr, nbr, tab, oriented_tables(T), value, g_unary, g_adj)
        G = g_adj[pos_u].transpose(0, 2, 1) + g_adj[pos_v]  # (m, C, C) d/d pairwise[e]
        if pairwise == "full":
            gt = G.ravel()
        elif pairwise == "shared":
            gt = G.sum(0).ravel()
        else:
            gt = np.array([np.einsum("eii->", G)])
        f = -value.sum() / n + 0.5 * l2 * float(theta @ theta)
        grad = -np.concatenate([g_unary.ravel(), gt]) / n + l2 * theta
        return f, grad

    with Progress(max_iter, unit="evals", enabled=progress, desc="fit PairwiseMRF") as bar:
        def tracked(theta):
            bar.update(1)
            return objective(theta)

        theta = minimize(tracked, theta0, jac=True, method="L-BFGS-B",
                         options=dict(maxiter=max_iter, gtol=tol, ftol=1e-12, maxcor=20)).x
    u, T = unpack(theta)
    self = cls.__new__(cls)
    if pairwise == "full":
        self._per_edge = True
        self._init(np.ascontiguousarray(u), e, np.ascontiguousarray(T), etab, None)
    else:
        if grid is not None:
            grid = dict(grid, beta=float(T[0, 0, 0]) if pairwise == "potts" else None)
        self._init(np.ascontiguousarray(u), e, np.ascontiguousarray(T), etab, grid)
    return self
