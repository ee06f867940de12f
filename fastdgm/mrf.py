"""Pairwise Markov random fields over discrete states: exact quantities, fitting, sampling.

P(x) ∝ exp(sum_i unary[i, x_i] + sum_e pairwise[e, x_u, x_v]) for x in {0..C-1}^d and
edges e = (u, v). The energy is E(x) = -(that exponent). Hot paths live in
:mod:`fastdgm._gibbs_kernels`; the slow references in :mod:`fastdgm.slow.gibbs`.
"""
from __future__ import annotations

import math

import numpy as np

from ._model import Model, register_model
from ._progress import Progress
from ._validation import _pos, as_float_array, check_positive_int, check_states, first_bad

__all__ = ["PairwiseMRF", "ENUM_LIMIT"]

ENUM_LIMIT = 2 ** 24
"""Largest C**d for which :meth:`PairwiseMRF.log_partition` enumerates (about 1 s of work)."""


def _finite(a: np.ndarray, name: str) -> None:
    idx = first_bad(~np.isfinite(a))
    if idx is not None:
        raise ValueError(f"{name} must be finite: {name}{_pos(idx)} = {a[idx]}")


def _check_edges(edges, d: int) -> np.ndarray:
    try:
        e = np.asarray(edges)
    except Exception as exc:
        raise TypeError(f"edges must be an integer array of shape (m, 2): {exc}") from None
    if e.size == 0:
        e = e.reshape(0, 2).astype(np.int64)
    if e.dtype.kind not in "iu":
        raise TypeError(f"edges must have an integer dtype, got {e.dtype}")
    if e.ndim != 2 or e.shape[1] != 2:
        raise ValueError(f"edges must have shape (m, 2), got {e.shape}")
    idx = first_bad((e < 0) | (e >= d))
    if idx is not None:
        raise ValueError(f"edges must hold site indices in [0, d={d}): edges{_pos(idx)} = {e[idx]}")
    e = np.ascontiguousarray(e, dtype=np.int64)
    loops = np.flatnonzero(e[:, 0] == e[:, 1])
    if loops.size:
        k = loops[0]
        raise ValueError(f"edges must not contain self-loops: edges[{k}] = ({e[k, 0]}, {e[k, 1]})")
    if e.shape[0] > 1:
        lo = np.minimum(e[:, 0], e[:, 1])
        hi = np.maximum(e[:, 0], e[:, 1])
        code = lo * d + hi
        order = np.argsort(code, kind="stable")
        dup = np.flatnonzero(code[order][1:] == code[order][:-1])
        if dup.size:
            # report the later of the first duplicated pair, in edge order
            cands = [(max(order[j], order[j + 1]), min(order[j], order[j + 1])) for j in dup]
            k, k0 = min(cands)
            raise ValueError(f"edges must not repeat a pair (in either orientation): edges[{k}] = "
                             f"({e[k, 0]}, {e[k, 1]}) duplicates edges[{k0}] = ({e[k0, 0]}, {e[k0, 1]})")
    return e


def _grid_axis_colours(L: int, periodic: bool) -> np.ndarray:
    """Proper colouring of a path (open) or cycle (periodic, L >= 3) with values in {0, 1, 2}."""
    a = np.arange(L) % 2
    if periodic and L >= 3 and L % 2 == 1:
        a[-1] = 2
    return a


@register_model
class PairwiseMRF(Model):
    """Pairwise Markov random field with log-potentials on sites and edges.

    P(x) = exp(sum_i unary[i, x_i] + sum_e pairwise[e, x_u, x_v]) / Z, x in {0..C-1}^d.

    Parameters
    ----------
    unary : array_like of float, shape (d, C)
        Site log-potentials (the "field"). Finite.
    edges : array_like of int, shape (m, 2)
        Edges (u, v), u != v, each unordered pair at most once.
    pairwise : array_like of float, shape (m, C, C) or (C, C)
        Edge log-potentials ``pairwise[e, x_u, x_v]``; a (C, C) table is shared by every edge
        (stored once). Finite.

    Notes
    -----
    When every pairwise table is ``beta_e * I`` (Potts), Gibbs updates cost O(degree + C), and
    O(degree) whatever C when the field is constant per site. :meth:`grid` models with a scalar
    coupling and no field use a checkerboard kernel with neighbours by index arithmetic.
    """

    def __init__(self, unary, edges, pairwise):
        u = as_float_array(unary, "unary", ndim=2).astype(np.float64, copy=False)
        _finite(u, "unary")
        d, C = u.shape
        e = _check_edges(edges, d)
        p = as_float_array(pairwise, "pairwise", min_ndim=2).astype(np.float64, copy=False)
        if p.ndim == 2:
            if p.shape != (C, C):
                raise ValueError(f"pairwise of shape (C, C) must be ({C}, {C}) to match unary's C, "
                                 f"got {p.shape}")
            tables = p[None]
            etab = np.zeros(e.shape[0], dtype=np.int64)
        elif p.ndim == 3:
            if p.shape != (e.shape[0], C, C):
                raise ValueError(f"pairwise of shape (m, C, C) must be ({e.shape[0]}, {C}, {C}) to match "
                                 f"edges and unary, got {p.shape}")
            tables = p
            etab = np.arange(e.shape[0], dtype=np.int64)
            self._per_edge = True
        else:
            raise ValueError(f"pairwise must have shape (m, C, C) or (C, C), got {p.shape}")
        _finite(p, "pairwise")
        # own copies: the model is immutable (arrays read-only) without freezing the caller's
        self._init(np.array(u, order="C"), e.copy(), np.array(tables, order="C"), etab, None)

    # --- construction ------------------------------------------------------------------
    def _init(self, unary, edges, tables, etab, grid):
        self._unary = unary
        self._edges = edges
        self._tables = tables
        self._etab = etab
        self._grid = grid  # None or dict(shape=tuple, periodic=tuple of bools as given)
        self._shared = tables.shape[0] == 1 and not (len(etab) == 1 and grid is None and etab[0] == 0
                                                      and getattr(self, "_per_edge", False))
        self._logz = None
        self._graph = None
        self._fp = None  # parameter fingerprint, see fastdgm.mcmc._fingerprint
        for a in (self._unary, self._edges, self._tables, self._etab):
            a.setflags(write=False)

    @classmethod
    def grid(cls, shape, n_states, coupling, field=None, periodic=True):
        """Potts lattice: sites in row-major order, edges between nearest neighbours.

        Parameters
        ----------
        shape : int or tuple of int
            Lattice shape, e.g. ``(H, W)``; d = prod(shape).
        n_states : int
            C >= 2... (C = 1 is allowed and trivial).
        coupling : float or array_like, shape (C, C)
            A scalar beta adds ``beta * [x_i == x_j]`` per edge; a (C, C) table is shared by all edges.
        field : array_like, shape (d, C) or shape + (C,), optional
            Site log-potentials; zero by default.
        periodic : bool or sequence of bool
            Wrap around each axis (all axes for a bool). A periodic side of length 1 has no
            edges and one of length 2 has each neighbour pair once (no duplicated edge).

        Returns
        -------
        PairwiseMRF
        """
        if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
            shape = (shape,)
        try:
            shape = tuple(check_positive_int(s, "shape") for s in shape)
        except TypeError:
            raise TypeError(f"shape must be an int or a tuple of ints, got {shape!r}") from None
        if not shape:
            raise ValueError("shape must have at least one axis")
        C = check_positive_int(n_states, "n_states")
        if isinstance(periodic, (bool, np.bool_)):
            per = (bool(periodic),) * len(shape)
        else:
            per = tuple(bool(p) for p in periodic)
            if len(per) != len(shape):
                raise ValueError(f"periodic must be a bool or have one entry per axis of shape "
                                 f"{shape}, got {periodic!r}")
        d = math.prod(shape)
        if field is None:
            unary = np.zeros((d, C))
        else:
            unary = as_float_array(field, "field").astype(np.float64)
            if unary.shape == tuple(shape) + (C,):
                unary = unary.reshape(d, C)
            if unary.shape != (d, C):
                raise ValueError(f"field must have shape (d, C) = ({d}, {C}), got {unary.shape}")
            _finite(unary, "field")
        if np.ndim(coupling) == 0:
            beta = float(as_float_array(coupling, "coupling"))
            _finite(np.asarray(beta), "coupling")
            table = beta * np.eye(C)
        else:
            beta = None
            table = as_float_array(coupling, "coupling", ndim=2).astype(np.float64)
            if table.shape != (C, C):
                raise ValueError(f"coupling must be a scalar or of shape (C, C) = ({C}, {C}), got "
                                 f"{table.shape}")
            _finite(table, "coupling")
        idx = np.arange(d).reshape(shape)
        edges = []
        for ax, L in enumerate(shape):
            if L < 2:
                continue
            a = np.moveaxis(idx, ax, -1)
            edges.append(np.stack([a[..., :-1].ravel(), a[..., 1:].ravel()], 1))
            if per[ax] and L >= 3:
                edges.append(np.stack([a[..., -1].ravel(), a[..., 0].ravel()], 1))
        edges = np.concatenate(edges) if edges else np.zeros((0, 2), np.int64)
        edges = np.ascontiguousarray(edges, dtype=np.int64)
        self = cls.__new__(cls)
        self._init(np.ascontiguousarray(unary), edges, np.ascontiguousarray(table[None]),
                   np.zeros(len(edges), np.int64), dict(shape=shape, periodic=per, beta=beta))
        return self

    # --- properties --------------------------------------------------------------------
    @property
    def n_dims(self) -> int:
        """d, the number of sites."""
        return self._unary.shape[0]

    @property
    def n_states(self) -> int:
        """C, the number of states per site."""
        return self._unary.shape[1]

    @property
    def unary(self) -> np.ndarray:
        """Site log-potentials, float64 (d, C) (read-only)."""
        return self._unary

    @property
    def edges(self) -> np.ndarray:
        """Edges, int64 (m, 2) (read-only)."""
        return self._edges

    @property
    def pairwise(self) -> np.ndarray:
        """Edge log-potentials: float64 (C, C) if shared by every edge, else (m, C, C)."""
        if self._shared:
            return self._tables[0]
        return self._tables

    @property
    def grid_shape(self):
        """Lattice shape for models built by :meth:`grid`, else None."""
        return None if self._grid is None else self._grid["shape"]

    def _per_edge_tables(self) -> np.ndarray:
        return self._tables[self._etab]

    # --- derived structures (cached) ----------------------------------------------------
    def _structure(self) -> dict:
        """Adjacency, oriented tables, colouring and update mode (see _gibbs_kernels)."""
        if self._graph is not None:
            return self._graph
        from . import _gibbs_kernels as K

        d, C = self._unary.shape
        e = self._edges
        m = e.shape[0]
        T = self._tables
        otab = np.empty((2 * T.shape[0], C, C))
        otab[0::2] = T.transpose(0, 2, 1)
        otab[1::2] = T
        src = np.concatenate([e[:, 0], e[:, 1]])
        dst = np.concatenate([e[:, 1], e[:, 0]])
        tab_all = np.concatenate([2 * self._etab, 2 * self._etab + 1])
        # site-ordered adjacency (PLL, colouring)
        perm = np.argsort(src, kind="stable")
        inv = np.empty_like(perm)
        inv[perm] = np.arange(2 * m)
        ptr = np.zeros(d + 1, np.int64)
        np.cumsum(np.bincount(src, minlength=d), out=ptr[1:])
        nbr = np.ascontiguousarray(dst[perm], dtype=np.int64)
        tab = np.ascontiguousarray(tab_all[perm], dtype=np.int64)
        # Potts tables: b * I
        diag = np.einsum("kii->ki", T)
        offdiag = T - diag[:, :, None] * np.eye(C)[None]
        potts = bool(np.all(offdiag == 0) and np.all(diag == diag[:, :1]))
        beta_t = diag[:, 0].copy()
        nofield = bool(np.all(self._unary == self._unary[:, :1]))
        mode = (K.MODE_POTTS if nofield else K.MODE_POTTS_FIELD) if potts else K.MODE_TABLE
        if self._grid is not None:
            shape, per = self._grid["shape"], self._grid["periodic"]
            axes = [_grid_axis_colours(L, p) for L, p in zip(shape, per)]
            mod = 3 if any(a.max(initial=0) == 2 for a in axes) else 2
            colour = np.zeros(shape, np.int64)
            for ax, a in enumerate(axes):
                colour += a.reshape([-1 if k == ax else 1 for k in range(len(shape))])
            colour = (colour % mod).ravel()
        else:
            colour = K.greedy_colouring(ptr, nbr) if d else np.zeros(0, np.int64)
        order = np.argsort(colour, kind="stable").astype(np.int64)
        n_col = int(colour.max()) + 1 if d else 0
        cptr = np.zeros(n_col + 1, np.int64)
        np.cumsum(np.bincount(colour, minlength=n_col), out=cptr[1:])
        # Gibbs structure relabelled by position (site order[t] at position t): colour classes
        # are contiguous and a chromatic sweep streams through adjacency and tables
        pos = np.empty(d, np.int64)
        pos[order] = np.arange(d)
        psrc = pos[src]
        gperm = np.argsort(psrc, kind="stable")
        g_ptr = np.zeros(d + 1, np.int64)
        np.cumsum(np.bincount(psrc, minlength=d), out=g_ptr[1:])
        g_nbr = np.ascontiguousarray(pos[dst][gperm])
        g_tabt = tab_all[gperm]
        if T.shape[0] > 1:  # per-edge tables, stored in visiting order
            g_otab = np.ascontiguousarray(otab[g_tabt])
            g_tab = np.arange(2 * m, dtype=np.int64)
        else:
            g_otab = otab
            g_tab = np.ascontiguousarray(g_tabt, dtype=np.int64)
        g_beta = np.ascontiguousarray(beta_t[g_tabt // 2]) if potts else np.zeros(2 * m)
        g_unary = np.ascontiguousarray(self._unary[order])
        g = dict(ptr=ptr, nbr=nbr, tab=tab, otab=np.ascontiguousarray(otab), mode=mode,
                 order=order, pos=pos, cptr=cptr, colour=colour, pos_u=inv[:m], pos_v=inv[m:], potts=potts,
                 nofield=nofield,
                 gibbs=(g_unary, g_ptr, g_nbr, g_tab, g_otab, g_beta,
                        np.exp(g_unary - g_unary.max(1, keepdims=True)),
                        np.exp(g_otab - g_otab.max(2, keepdims=True)), np.exp(g_beta)))
        # grid fast path: 1-D or 2-D lattice, scalar Potts coupling, no field, 2 colours
        g["grid_geom"] = None
        if (self._grid is not None and potts and nofield and len(self._grid["shape"]) <= 2
                and mod == 2):
            shape = self._grid["shape"]
            per = self._grid["periodic"]
            if len(shape) == 1:
                shape, per = (1,) + shape, (False,) + per
            H, W = shape
            g["grid_geom"] = np.array([H, W, int(per[0] and H >= 3), int(per[1] and W >= 3)],
                                      np.int64)
            g["grid_beta"] = float(beta_t[0]) if T.shape[0] else 0.0
        self._graph = g
        return g

    # --- exact quantities --------------------------------------------------------------
    def _check_X(self, X, name="X"):
        X, _ = check_states(X, name, n_states=self.n_states, n_dims=self.n_dims)
        return X

    def energy(self, X) -> np.ndarray:
        """Energy E(x) = -(sum_i unary[i, x_i] + sum_e pairwise[e, x_u, x_v]) of each row.

        Parameters
        ----------
        X : array_like of int, shape (n, d)

        Returns
        -------
        ndarray of float64, shape (n,)
        """
        from ._gibbs_kernels import energy_rows

        X = self._check_X(X)
        out = np.empty(X.shape[0])
        energy_rows(X, self._unary, self._edges, self._etab, self._tables, out)
        return out

    def log_partition(self) -> float:
        """log Z by exact parallel enumeration of the C**d states.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            If C**d > ``ENUM_LIMIT`` = 2**24 (about a second of work); there is no exact
            method beyond (use the pseudo-likelihood or Monte Carlo instead).
        """
        if self._logz is None:
            from ._gibbs_kernels import enum_log_partition

            d, C = self.n_dims, self.n_states
            total = C ** d
            if total > ENUM_LIMIT:
                raise ValueError(f"log_partition enumerates C**d states; C**d = {C}**{d} exceeds the "
                                 f"limit 2**24 = {ENUM_LIMIT}")
            logz, mean_logp = enum_log_partition(self._unary, self._edges, self._etab, self._tables,
                                                 C, d, total)
            self._logz = float(logz)
            self._entropy = float(logz - mean_logp)
        return self._logz

    def entropy(self) -> float:
        """Exact entropy in nats, H = log Z - E_P[-E(x)], by the enumeration of :meth:`log_partition`.

        Raises
        ------
        ValueError
            If C**d > 2**24.
        """
        self.log_partition()
        return self._entropy

    def log_prob(self, X) -> np.ndarray:
        """Exact log P(x) = -E(x) - log Z of each row (needs C**d <= 2**24, see log_partition).

        Parameters
        ----------
        X : array_like of int, shape (n, d)

        Returns
        -------
        ndarray of float64, shape (n,)
        """
        logz = self.log_partition()
        return -self.energy(X) - logz

    def pseudo_log_likelihood(self, X) -> np.ndarray:
        """Exact pseudo-log-likelihood sum_i log P(x_i | x_-i) of each row.

        Parameters
        ----------
        X : array_like of int, shape (n, d)

        Returns
        -------
        ndarray of float64, shape (n,)
        """
        from ._gibbs_kernels import pll_rows

        X = self._check_X(X)
        g = self._structure()
        out = np.empty(X.shape[0])
        pll_rows(X, self.n_states, self._unary, g["ptr"], g["nbr"], g["tab"], g["otab"], out)
        return out

    # --- sampling ----------------------------------------------------------------------
    def sample(self, size, rng=None, *, burn_in: int = 1000):
        """Draw ``size`` approximately independent samples: one Gibbs chain per sample.

        Parameters
        ----------
        size : int
        rng : SPEC 7 rng
        burn_in : int
            Chromatic Gibbs sweeps per chain before its final state is returned.

        Returns
        -------
        ndarray, shape (size, d), smallest unsigned dtype holding C
        """
        from .mcmc import gibbs

        n = check_positive_int(size, "size")
        res = gibbs(self, n, 1, burn_in=check_positive_int(burn_in, "burn_in", minimum=0), rng=rng)
        return res.samples[0]

    # --- fitting -----------------------------------------------------------------------
    @classmethod
    def fit(cls, X, edges, n_states=None, *, method="pll", l2=1e-2, pairwise="full", periodic=True,
            max_iter=500, tol=1e-7, progress=False):
        """Maximum pseudo-likelihood fit: minimise -mean_r PLL(x_r) + l2/2 * ||params||^2.

        Parameters
        ----------
        X : array_like of int, shape (n, d)
        edges : array_like of int, shape (m, 2), or tuple of int
            The graph, or a lattice shape (then the edges of :meth:`grid` with ``periodic``).
        n_states : int, optional
            C; ``X.max() + 1`` by default.
        method : {"pll"}
        l2 : float
            Ridge penalty on every parameter (also fixes the gauge freedom of the tables).
        pairwise : {"full", "shared", "potts"}
            One (C, C) table per edge, one table shared by all edges, or a single Potts coupling
            beta (tables beta * I). The unary table (d, C) is always per site.
        periodic : bool or sequence of bool
            Only for a lattice shape.
        max_iter, tol : optimiser controls (L-BFGS; scipy's when installed, else a built-in one).
        progress : bool
            Show a progress bar of objective evaluations on stderr.

        Returns
        -------
        PairwiseMRF
        """
        from ._gibbs_kernels import pll_grad

        if method != "pll":
            raise ValueError(f"method must be 'pll', got {method!r}")
        if pairwise not in ("full", "shared", "potts"):
            raise ValueError(f"pairwise must be 'full', 'shared' or 'potts', got {pairwise!r}")
        l2 = float(l2)
        if not (l2 >= 0 and np.isfinite(l2)):
            raise ValueError(f"l2 must be a finite number >= 0, got {l2}")
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
            e = _check_edges(edges, d)
            grid = None
        m = e.shape[0]
        K = {"full": m, "shared": 1, "potts": 1}[pairwise]
        etab = np.arange(m, dtype=np.int64) if pairwise == "full" else np.zeros(m, np.int64)
        counts = np.stack([np.bincount(X[:, j], minlength=C) for j in range(d)]).astype(np.float64)
        unary0 = np.log((counts + 1.0) / (n + C))
        unary0 -= unary0.mean(1, keepdims=True)
        n_tab = {"full": m * C * C, "shared": C * C, "potts": 1}[pairwise]
        theta0 = np.concatenate([unary0.ravel(), np.zeros(n_tab)])
        proto = cls.__new__(cls)
        proto._init(np.zeros((d, C)), e, np.zeros((max(K, 1), C, C)), etab, grid)

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
        struct = proto._structure()
        pos_u, pos_v = struct["pos_u"], struct["pos_v"]
        ptr, nbr, tab = struct["ptr"], struct["nbr"], struct["tab"]

        def objective(theta):
            u, T = unpack(theta)
            otab = np.empty((2 * T.shape[0], C, C))
            otab[0::2] = T.transpose(0, 2, 1)
            otab[1::2] = T
            pll_grad(X, C, np.ascontiguousarray(u), ptr, nbr, tab, otab, value, g_unary, g_adj)
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

            theta = _minimize(tracked, theta0, max_iter=max_iter, tol=tol)
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

    # --- persistence -------------------------------------------------------------------
    def _get_params(self) -> dict:
        p = dict(unary=self._unary, edges=self._edges, tables=self._tables, etab=self._etab)
        p["shared"] = np.asarray(self._shared)
        if self._grid is not None:
            p["grid_shape"] = np.array(self._grid["shape"], np.int64)
            p["grid_periodic"] = np.array(self._grid["periodic"], bool)
        return p

    @classmethod
    def _from_params(cls, params: dict):
        self = cls.__new__(cls)
        grid = None
        if "grid_shape" in params:
            grid = dict(shape=tuple(int(s) for s in params["grid_shape"]),
                        periodic=tuple(bool(p) for p in params["grid_periodic"]), beta=None)
        unary = np.ascontiguousarray(params["unary"], np.float64)
        edges = _check_edges(params["edges"], unary.shape[0])
        tables = np.ascontiguousarray(params["tables"], np.float64)
        etab = np.ascontiguousarray(params["etab"], np.int64)
        _finite(unary, "unary")
        _finite(tables, "pairwise")
        if etab.shape != (edges.shape[0],) or (etab.size and (etab.min() < 0 or etab.max() >= len(tables))):
            raise ValueError("corrupt PairwiseMRF parameters: bad table index 'etab'")
        self._per_edge = not bool(params.get("shared", tables.shape[0] == 1))
        self._init(unary, edges, tables, etab, grid)
        return self

    def __repr__(self) -> str:
        g = "" if self._grid is None else f", grid={self._grid['shape']}"
        return f"PairwiseMRF(n_dims={self.n_dims}, n_states={self.n_states}, n_edges={len(self._edges)}{g})"


def _minimize(fun, x0, *, max_iter, tol):
    """L-BFGS minimisation of ``fun(x) -> (f, grad)``: scipy's if installed, else built-in."""
    try:
        from scipy.optimize import minimize
    except ImportError:  # pragma: no cover - exercised through _lbfgs directly in tests
        return _lbfgs(fun, x0, max_iter=max_iter, tol=tol)
    res = minimize(fun, x0, jac=True, method="L-BFGS-B",
                   options=dict(maxiter=max_iter, gtol=tol, ftol=1e-12, maxcor=20))
    return res.x


def _lbfgs(fun, x0, *, max_iter=500, tol=1e-7, memory=10):
    """Plain L-BFGS with a backtracking Armijo line search (the no-scipy fallback)."""
    x = np.array(x0, dtype=np.float64)
    f, g = fun(x)
    S, Y = [], []
    for _ in range(max_iter):
        if np.max(np.abs(g)) <= tol:
            break
        q = g.copy()
        alphas = []
        for s, y in zip(reversed(S), reversed(Y)):
            a = (s @ q) / (y @ s)
            alphas.append(a)
            q -= a * y
        if S:
            q *= (S[-1] @ Y[-1]) / (Y[-1] @ Y[-1])
        for (s, y), a in zip(zip(S, Y), reversed(alphas)):
            b = (y @ q) / (y @ s)
            q += (a - b) * s
        p = -q
        slope = g @ p
        if slope >= 0:
            p, slope = -g, -(g @ g)
            S.clear()
            Y.clear()
        t = 1.0
        while True:
            xn = x + t * p
            fn, gn = fun(xn)
            if fn <= f + 1e-4 * t * slope or t < 1e-12:
                break
            t *= 0.5
        s, y = xn - x, gn - g
        if s @ y > 1e-12:
            S.append(s)
            Y.append(y)
            if len(S) > memory:
                S.pop(0)
                Y.pop(0)
        converged = abs(f - fn) <= 1e-14 * max(1.0, abs(f))
        x, f, g = xn, fn, gn
        if converged:
            break
    return x
