"""The Gibbs plan of a pairwise MRF: adjacency, colouring and kernel tables, built once.

A pure function of the model's parameters (:func:`build_adjacency`, :func:`build_gibbs_plan`),
returned as frozen dataclasses that :mod:`fastdgm.mcmc`, the pseudo-likelihood and the tests
read by name. See :mod:`fastdgm.kernels.gibbs_graph` for the layout the kernels expect.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..kernels.gibbs_common import greedy_colouring

__all__ = ["Adjacency", "GridTables", "GibbsPlan", "build_adjacency", "build_gibbs_plan",
           "MODE_TABLE", "MODE_POTTS_FIELD", "MODE_POTTS"]

# update modes of fastdgm.kernels.gibbs_graph._graph_block
MODE_TABLE = 0          # general tables, O(degree * C)
MODE_POTTS_FIELD = 1    # Potts with a field, O(degree + C)
MODE_POTTS = 2          # Potts without a field, O(degree) whatever C


@dataclass(frozen=True)
class Adjacency:
    """Site-ordered CSR adjacency with oriented tables (pseudo-likelihood, colouring).

    Attributes
    ----------
    ptr : int64 (d + 1,)
    nbr : int64 (2m,)
        Neighbours of site i: ``nbr[ptr[i]:ptr[i + 1]]``.
    tab : int64 (2m,)
        Oriented table of each entry: ``otab[tab[a], x_nbr, k]`` is the log-potential the edge
        adds when the site takes state k.
    otab : float64 (2K, C, C)
    pos_u, pos_v : int64 (m,)
        Entry of edge e seen from its first / second site (to fold gradients back to edges).
    src, dst, tab_all : int64 (2m,)
        Both orientations of every edge in edge order (before sorting by site).
    """

    ptr: np.ndarray
    nbr: np.ndarray
    tab: np.ndarray
    otab: np.ndarray
    pos_u: np.ndarray
    pos_v: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    tab_all: np.ndarray


@dataclass(frozen=True)
class GridTables:
    """Checkerboard kernel of a 1-D/2-D Potts lattice without field (2-colourable).

    Attributes
    ----------
    geom : int64 (4,)
        H, W, periodic rows, periodic columns.
    beta : float
    ising : float64 (25,)
        P(x = 0 | n1 neighbours in 1, n0 in 0) at ``ising[5 * n1 + n0]``.
    ising_int : uint64 (5,)
        ``min(ceil(P(0 | n1) * 2**32), 2**32 - 1)`` for 4 neighbours: the integer form of
        ``u < P`` for the 32-bit site uniforms (``bits < t``, see
        :mod:`fastdgm.kernels.gibbs_torus`), within 2**-32 of P.
    expb : float64 (5,)
        ``exp(beta * n - max(0, 4 beta))``.
    """

    geom: np.ndarray
    beta: float
    ising: np.ndarray
    ising_int: np.ndarray
    expb: np.ndarray


@dataclass(frozen=True)
class GibbsPlan:
    """Everything a Gibbs sweep reads, sites relabelled by position in the visiting order.

    Attributes
    ----------
    mode : int
        One of MODE_TABLE, MODE_POTTS_FIELD, MODE_POTTS.
    n_states : int
    colour : int64 (d,)
        Colour of each site (a proper colouring).
    order : int64 (d,)
        Site at each position (colour classes contiguous); ``pos`` is its inverse.
    pos : int64 (d,)
    cptr : int64 (n_colours + 1,)
        Positions of colour c: ``cptr[c]:cptr[c + 1]``.
    unary, ptr, nbr, tab, otab, beta, eunary, eotab, ebeta
        The graph kernels' arrays, by position (``e*``: exp-potentials scaled to max 1).
    grid : GridTables or None
        The checkerboard fast path, when it applies.
    """

    mode: int
    n_states: int
    colour: np.ndarray
    order: np.ndarray
    pos: np.ndarray
    cptr: np.ndarray
    unary: np.ndarray
    ptr: np.ndarray
    nbr: np.ndarray
    tab: np.ndarray
    otab: np.ndarray
    beta: np.ndarray
    eunary: np.ndarray
    eotab: np.ndarray
    ebeta: np.ndarray
    grid: GridTables | None

    def graph_args(self) -> tuple:
        """The trailing arguments of the graph sweep kernels, in their order."""
        return (self.mode, self.n_states, self.unary, self.ptr, self.nbr, self.tab, self.otab,
                self.beta, self.eunary, self.eotab, self.ebeta)


def _grid_axis_colours(L: int, periodic: bool) -> np.ndarray:
    """Proper colouring of a path (open) or cycle (periodic, L >= 3) with values in {0, 1, 2}."""
    a = np.arange(L) % 2
    if periodic and L >= 3 and L % 2 == 1:
        a[-1] = 2
    return a


def oriented_tables(tables: np.ndarray) -> np.ndarray:
    """(K, C, C) edge tables -> (2K, C, C): entry 2k seen from the edge's first site, 2k+1 from
    the second (``otab[o, x_nbr, k]``)."""
    K, C, _ = tables.shape
    otab = np.empty((2 * K, C, C))
    otab[0::2] = tables.transpose(0, 2, 1)
    otab[1::2] = tables
    return otab


def build_adjacency(d: int, edges: np.ndarray, etab: np.ndarray, tables: np.ndarray) -> Adjacency:
    """Site-ordered adjacency of a graph with per-edge table indices ``etab`` into ``tables``."""
    m = edges.shape[0]
    src = np.concatenate([edges[:, 0], edges[:, 1]])
    dst = np.concatenate([edges[:, 1], edges[:, 0]])
    tab_all = np.concatenate([2 * etab, 2 * etab + 1])
    perm = np.argsort(src, kind="stable")
    inv = np.empty_like(perm)
    inv[perm] = np.arange(2 * m)
    ptr = np.zeros(d + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=d), out=ptr[1:])
    return Adjacency(ptr=ptr, nbr=np.ascontiguousarray(dst[perm], dtype=np.int64),
                     tab=np.ascontiguousarray(tab_all[perm], dtype=np.int64),
                     otab=np.ascontiguousarray(oriented_tables(tables)), pos_u=inv[:m], pos_v=inv[m:],
                     src=src, dst=dst, tab_all=tab_all)


def _grid_tables(beta: float, geom: np.ndarray) -> GridTables:
    n = np.arange(5)
    ising = np.zeros(25)
    for n1 in range(5):
        for n0 in range(5 - n1):
            ising[n1 * 5 + n0] = 1.0 / (1.0 + np.exp(beta * (n1 - n0)))
    ising_int = np.array([min(math.ceil(ising[4 * n1 + 4] * 2.0 ** 32), 2 ** 32 - 1) for n1 in range(5)], np.uint64)
    expb = np.exp(beta * n - max(0.0, 4.0 * beta))
    return GridTables(geom=geom, beta=beta, ising=ising, ising_int=ising_int, expb=expb)


def build_gibbs_plan(unary: np.ndarray, edges: np.ndarray, etab: np.ndarray, tables: np.ndarray,
                     grid: dict | None, adj: Adjacency | None = None) -> GibbsPlan:
    """The Gibbs plan of the MRF (unary (d, C), edges (m, 2), etab (m,), tables (K, C, C),
    ``grid`` = dict(shape, periodic) for lattices built by ``PairwiseMRF.grid``)."""
    d, C = unary.shape
    m = edges.shape[0]
    T = tables
    if adj is None:
        adj = build_adjacency(d, edges, etab, tables)
    src, dst, tab_all, otab = adj.src, adj.dst, adj.tab_all, adj.otab
    # Potts tables: b * I
    diag = np.einsum("kii->ki", T)
    offdiag = T - diag[:, :, None] * np.eye(C)[None]
    potts = bool(np.all(offdiag == 0) and np.all(diag == diag[:, :1]))
    beta_t = diag[:, 0].copy()
    nofield = bool(np.all(unary == unary[:, :1]))
    mode = (MODE_POTTS if nofield else MODE_POTTS_FIELD) if potts else MODE_TABLE
    mod = 2
    if grid is not None:
        shape, per = grid["shape"], grid["periodic"]
        axes = [_grid_axis_colours(L, p) for L, p in zip(shape, per)]
        mod = 3 if any(a.max(initial=0) == 2 for a in axes) else 2
        colour = np.zeros(shape, np.int64)
        for ax, a in enumerate(axes):
            colour += a.reshape([-1 if k == ax else 1 for k in range(len(shape))])
        colour = (colour % mod).ravel()
    else:
        colour = greedy_colouring(adj.ptr, adj.nbr) if d else np.zeros(0, np.int64)
    order = np.argsort(colour, kind="stable").astype(np.int64)
    n_col = int(colour.max()) + 1 if d else 0
    cptr = np.zeros(n_col + 1, np.int64)
    np.cumsum(np.bincount(colour, minlength=n_col), out=cptr[1:])
    # relabelled by position (site order[t] at position t): colour classes are contiguous and
    # a chromatic sweep streams through adjacency and tables
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
    g_unary = np.ascontiguousarray(unary[order])
    grid_tables = None
    # grid fast path: 1-D or 2-D lattice, scalar Potts coupling, no field, 2 colours
    if grid is not None and potts and nofield and len(grid["shape"]) <= 2 and mod == 2:
        shape, per = grid["shape"], grid["periodic"]
        if len(shape) == 1:
            shape, per = (1,) + tuple(shape), (False,) + tuple(per)
        H, W = shape
        geom = np.array([H, W, int(per[0] and H >= 3), int(per[1] and W >= 3)], np.int64)
        grid_tables = _grid_tables(float(beta_t[0]) if T.shape[0] else 0.0, geom)
    return GibbsPlan(mode=mode, n_states=C, colour=colour, order=order, pos=pos, cptr=cptr,
                     unary=g_unary, ptr=g_ptr, nbr=g_nbr, tab=g_tab, otab=g_otab, beta=g_beta,
                     eunary=np.exp(g_unary - g_unary.max(1, keepdims=True)),
                     eotab=np.exp(g_otab - g_otab.max(2, keepdims=True)), ebeta=np.exp(g_beta),
                     grid=grid_tables)
