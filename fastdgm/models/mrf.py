"""Pairwise Markov random fields over discrete states: exact quantities, fitting, sampling.

P(x) ∝ exp(sum_i unary[i, x_i] + sum_e pairwise[e, x_u, x_v]) for x in {0..C-1}^d and
edges e = (u, v). The energy is E(x) = -(that exponent). Gibbs sweeps run from the model's
:class:`~fastdgm.models._gibbs_plan.GibbsPlan` (:mod:`fastdgm.mcmc`); exact reductions in
:mod:`fastdgm.kernels.mrf_exact`; the pseudo-likelihood fit in :mod:`._mrf_fit`.
"""
from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Mapping, Sequence

import numpy as np

from .._validation import (
    as_float_array,
    check_edges,
    check_log_potential,
    check_positive_int,
    check_states,
    param,
)
from ..kernels.mrf_exact import energy_rows, enum_log_partition, pll_rows
from ._lattice import check_grid, check_lattice, grid_edges, potts_tables
from ._gibbs_plan import Adjacency, GibbsPlan, build_adjacency, build_gibbs_plan
from ._mrf_fit import fit_pseudo_likelihood
from .base import Model, classonlymethod, register_model
from .._typing import ArrayLike, FloatArray, IntArray, Seed

__all__ = ["PairwiseMRF", "ENUM_LIMIT"]

ENUM_LIMIT = 2 ** 24
FILL_ENUM_LIMIT = 2 ** 16
"""Completions of a row's missing entries that :meth:`PairwiseMRF.fill` enumerates exactly."""
"""Largest C**d for which :meth:`PairwiseMRF.log_partition` enumerates (about 1 s of work)."""


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

    kind = "mrf"
    fit_legacy_args = ("edges", "n_states")
    capabilities = frozenset({"missing"})
    example_params = {"edges": [[0, 1], [1, 2], [2, 3], [3, 4]], "max_iter": 30}

    def __init__(self, unary: ArrayLike, edges: ArrayLike, pairwise: ArrayLike) -> None:
        u = as_float_array(unary, "unary", ndim=2).astype(np.float64, copy=False)
        check_log_potential(u, "unary")
        d, C = u.shape
        e = check_edges(edges, d)
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
        check_log_potential(p, "pairwise")
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
        for a in (self._unary, self._edges, self._tables, self._etab):
            a.setflags(write=False)

    @classmethod
    def grid(cls, shape: int | tuple[int, ...], n_states: int, coupling: ArrayLike,
             field: ArrayLike | None = None, periodic: bool | Sequence[bool] = True) -> PairwiseMRF:
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
        lattice, per, C = check_lattice(shape, periodic, n_states)
        unary, table, beta = potts_tables(field, coupling, math.prod(lattice), C, lattice)
        edges = grid_edges(lattice, per)
        self = cls.__new__(cls)
        self._init(np.ascontiguousarray(unary), edges, np.ascontiguousarray(table[None]),
                   np.zeros(len(edges), np.int64), dict(shape=lattice, periodic=per, beta=beta))
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
    def grid_shape(self) -> tuple[int, ...] | None:
        """Lattice shape for models built by :meth:`grid`, else None."""
        return None if self._grid is None else self._grid["shape"]

    def _per_edge_tables(self) -> np.ndarray:
        return self._tables[self._etab]

    # --- derived structures (cached) ----------------------------------------------------
    @functools.cached_property
    def adjacency(self) -> Adjacency:
        """Site-ordered adjacency with oriented tables (derived from the parameters, cached)."""
        return build_adjacency(self.n_dims, self._edges, self._etab, self._tables)

    @functools.cached_property
    def gibbs_plan(self) -> GibbsPlan:
        """Colouring, visiting order and kernel tables of the Gibbs sweeps (cached)."""
        return build_gibbs_plan(self._unary, self._edges, self._etab, self._tables, self._grid, self.adjacency)

    @functools.cached_property
    def fingerprint(self) -> str:
        """SHA-1 of the parameters: identifies the model in Gibbs checkpoints."""
        h = hashlib.sha1()
        for a in (self._unary, self._edges, self._tables, self._etab):
            h.update(str(a.shape).encode())
            h.update(np.ascontiguousarray(a).data)
        return h.hexdigest()

    # --- exact quantities --------------------------------------------------------------
    def _check_X(self, X, name="X"):
        X, _ = check_states(X, name, n_states=self.n_states, n_dims=self.n_dims)
        return X

    def energy(self, X: ArrayLike) -> FloatArray:
        """Energy E(x) = -(sum_i unary[i, x_i] + sum_e pairwise[e, x_u, x_v]) of each row.

        Parameters
        ----------
        X : array_like of int, shape (n, d)

        Returns
        -------
        ndarray of float64, shape (n,)
        """
        Xc = self._check_X(X)
        out = np.empty(Xc.shape[0])
        energy_rows(Xc, self._unary, self._edges, self._etab, self._tables, out)
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

        Returns
        -------
        float
            The entropy.

        Raises
        ------
        ValueError
            If C**d > 2**24.
        """
        self.log_partition()
        return self._entropy

    def _log_prob(self, X: ArrayLike) -> FloatArray:
        """Exact log P(x) = -E(x) - log Z of each row (needs C**d <= 2**24, see log_partition)."""
        logz = self.log_partition()
        return -self.energy(X) - logz

    def _log_prob_missing(self, X, missing) -> FloatArray:
        """Exact by enumeration (log Z, each row's completions), C**d <= 2**24."""
        from ._mrf_missing import log_prob_missing

        return log_prob_missing(self, X, missing, ENUM_LIMIT)

    def fill(self, X, missing, rng=None, *, n_sweeps: int = 1000) -> IntArray:
        """Copy of X with its missing entries drawn given the observed ones (clamped): exactly
        (enumerated) for rows with C**m <= ``FILL_ENUM_LIMIT`` = 2**16 completions of their m
        missing entries, else by ``n_sweeps`` Gibbs sweeps over them from random states (a
        Markov-chain draw, exact in the limit of many sweeps).

        Parameters
        ----------
        X : array_like of int, shape (n, d)
            States where ``missing`` is False; anything (ignored) where it is True.
        missing : array_like of bool, shape (n, d)
            True marks a missing entry.
        rng : SPEC 7 seed
        n_sweeps : int
            Gibbs sweeps of rows with more than 2**16 completions.

        Returns
        -------
        ndarray, shape (n, d)
            X's dtype when it holds every state; the observed entries unchanged.
        """
        from ._mrf_missing import fill

        return fill(self, X, missing, rng, check_positive_int(n_sweeps, "n_sweeps"), FILL_ENUM_LIMIT)

    def pseudo_log_likelihood(self, X: ArrayLike) -> FloatArray:
        """Exact pseudo-log-likelihood ``sum_i log P(x_i | x_-i)`` of each row.

        Parameters
        ----------
        X : array_like of int, shape (n, d)

        Returns
        -------
        ndarray of float64, shape (n,)
        """
        Xc = self._check_X(X)
        a = self.adjacency
        out = np.empty(Xc.shape[0])
        pll_rows(Xc, self.n_states, self._unary, a.ptr, a.nbr, a.tab, a.otab, out)
        return out

    # --- sampling ----------------------------------------------------------------------
    def sample(self, size: int | tuple[int, ...], rng: Seed = None, *, burn_in: int = 1000) -> IntArray:
        """Draw ``size`` approximately independent samples: one Gibbs chain per sample.

        Parameters
        ----------
        size : int or tuple of int
            Number of samples n, or a shape (``(n,)`` is the same as n; see ``Model.sample``).
        rng : SPEC 7 rng
            Seeds the chains.
        burn_in : int
            Chromatic Gibbs sweeps per chain before its final state is returned.

        Returns
        -------
        ndarray
            Shape ``size + (d,)``, smallest unsigned dtype holding C.
        """
        from ..mcmc import gibbs
        from .base import sample_shape

        shape = sample_shape(size)
        n = check_positive_int(int(np.prod(shape, dtype=np.int64)), "size")
        res = gibbs(self, n, 1, burn_in=check_positive_int(burn_in, "burn_in", minimum=0), rng=rng)
        return res.samples[0].reshape(shape + (self.n_dims,))

    # --- fitting -----------------------------------------------------------------------
    @classonlymethod
    def fit(cls, X: ArrayLike, n_states: int | None = None, *, edges: ArrayLike | tuple[int, ...],
            method: str = "pll", l2: float = 1e-2, pairwise: str = "full",
            periodic: bool | Sequence[bool] = True, max_iter: int = 500, tol: float = 1e-7,
            progress: bool = False) -> PairwiseMRF:
        """Maximum pseudo-likelihood fit: minimise -mean_r PLL(x_r) + l2/2 * ||params||^2.

        Parameters
        ----------
        X : array_like of int, shape (n, d)
        edges : array_like of int, shape (m, 2), or tuple of int
            The graph, or a lattice shape (then the edges of :meth:`grid` with ``periodic``).
        n_states : int, optional
            C; ``X.max() + 1`` by default (inferred up to 65536; pass it above).
        method : {"pll"}
        l2 : float
            Ridge penalty on every parameter (also fixes the gauge freedom of the tables).
        pairwise : {"full", "shared", "potts"}
            One (C, C) table per edge, one table shared by all edges, or a single Potts coupling
            beta (tables beta * I). The unary table (d, C) is always per site.
        periodic : bool or sequence of bool
            Only for a lattice shape.
        max_iter, tol : controls of scipy's L-BFGS-B (``maxiter``, ``gtol``).
        progress : bool
            Show a progress bar of objective evaluations on stderr.

        Returns
        -------
        PairwiseMRF
        """
        return fit_pseudo_likelihood(cls, X, edges, n_states, method=method, l2=l2, pairwise=pairwise,
                                     periodic=periodic, max_iter=max_iter, tol=tol, progress=progress)

    # --- persistence -------------------------------------------------------------------
    def get_params(self) -> dict[str, np.ndarray]:
        p = dict(unary=self._unary, edges=self._edges, tables=self._tables, etab=self._etab)
        p["shared"] = np.asarray(self._shared)
        if self._grid is not None:
            p["grid_shape"] = np.array(self._grid["shape"], np.int64)
            p["grid_periodic"] = np.array(self._grid["periodic"], bool)
        return p

    @classmethod
    def from_params(cls, params: Mapping[str, np.ndarray]) -> PairwiseMRF:
        """The model of ``params`` (e.g. read from a file), validated array by array: ``unary``
        (d, C) and ``tables`` (K, C, C) finite, ``edges`` as in the constructor, ``etab`` (m,)
        table indices in [0, K), and a lattice's ``grid_shape``/``grid_periodic`` consistent
        with d and the edges.

        Parameters
        ----------
        params : mapping of str to ndarray
            The arrays of :meth:`get_params` (e.g. read from an untrusted file).

        Returns
        -------
        PairwiseMRF
        """
        name = cls.__name__
        unary = np.array(as_float_array(param(params, "unary", name), "unary", ndim=2),
                         dtype=np.float64, order="C")
        check_log_potential(unary, "unary")
        d, C = unary.shape
        edges = check_edges(param(params, "edges", name), d).copy()
        tables = np.array(as_float_array(param(params, "tables", name), "tables", ndim=3),
                          dtype=np.float64, order="C")
        if tables.shape[1:] != (C, C):
            raise ValueError(f"tables must have shape (K, C, C) = (K, {C}, {C}) to match unary, "
                             f"got {tables.shape}")
        check_log_potential(tables, "tables")
        etab = np.asarray(param(params, "etab", name))
        if etab.dtype.kind not in "iu":
            raise TypeError(f"etab must have an integer dtype, got {etab.dtype}")
        if etab.shape != (edges.shape[0],) or (etab.size and (etab.min() < 0 or etab.max() >= len(tables))):
            raise ValueError(f"etab must hold one table index in [0, {len(tables)}) per edge "
                             f"({edges.shape[0]}), got shape {etab.shape}")
        shared = np.asarray(params.get("shared", tables.shape[0] == 1))
        if shared.shape != () or shared.dtype.kind not in "biu":
            raise ValueError(f"shared must be a boolean scalar, got {shared!r}")
        grid = None
        if "grid_shape" in params:
            grid = check_grid(params, d, edges, tables)
        self = cls.__new__(cls)
        self._per_edge = not bool(shared)
        self._init(unary, edges, tables, np.ascontiguousarray(etab, dtype=np.int64), grid)
        return self

    def __repr__(self) -> str:
        g = "" if self._grid is None else f", grid={self._grid['shape']}"
        return f"PairwiseMRF(n_dims={self.n_dims}, n_states={self.n_states}, n_edges={len(self._edges)}{g})"

