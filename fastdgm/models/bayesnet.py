"""The Bayesian network: P(x) = prod_j P(x_j | x_pa(j)) over a DAG, fitted by hill climbing."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .._validation import (
    as_float_array,
    check_alpha,
    check_log_probs,
    check_model_X,
    check_positive_int,
    check_sample_weight,
    check_scalar,
    check_states,
    check_weights,
    param,
    smallest_uint,
)
from ..kernels import bayesnet as _b
from ._dag import MAX_TABLE_CELLS, check_graph as _check_graph, csr as _csr, int_array as _int_array
from ._dag import parent_lists as _parent_lists, table_rows as _table_rows, topological_order as _topological_order
from ._tables import levels
from .base import Model, classonlymethod, fit_data, register_model
from .._typing import ArrayLike, FloatArray, IntArray, Seed

__all__ = ["BayesianNetwork", "MAX_TABLE_CELLS"]


@register_model
class BayesianNetwork(Model):
    """Bayesian network P(x) = prod_j P(x_j | x_pa(j)) over a directed acyclic graph.

    Every variable has the same C states. The table of node j with parents
    ``pa = parents[j]`` (k of them, in the given order) has shape (C^k, C): row
    ``sum_t x_{pa[t]} C^(k - 1 - t)`` (first parent most significant, ``np.ravel_multi_index``
    order) is P(x_j = . | x_pa). :meth:`fit` learns the DAG by hill climbing (see
    :mod:`fastdgm.models._structure_search`).

    Parameters
    ----------
    parents : sequence of d sequences of int
        ``parents[j]``: the parents of node j, distinct, in [0, d), not j; the graph acyclic.
    tables : sequence of d array_like of float
        ``tables[j]`` of shape (C^k, C) or (C,) * k + (C,), non-negative weights normalised
        over the last axis here.

    Attributes
    ----------
    parent_ptr : ndarray int64 (d + 1,)
    parent_idx : ndarray int64 (sum of k_j,)
        CSR form of the parents: those of j are ``parent_idx[parent_ptr[j]:parent_ptr[j + 1]]``.
    log_cpt : ndarray float64 (R, C)
        All conditional log-tables stacked, node j's in rows ``offsets[j]:offsets[j + 1]``.
    offsets : ndarray int64 (d + 1,)
    order : ndarray int64 (d,)
        A topological order (parents before children).

    Examples
    --------
    >>> import fastdgm as fd
    >>> m = fd.BayesianNetwork([[], [0]], [[0.5, 0.5], [[0.9, 0.1], [0.2, 0.8]]])
    >>> float(round(m.log_prob([[1, 1]])[0], 4))
    -0.9163
    """

    kind = "bn"
    example_params = {"rng": 0}
    capabilities = frozenset({"exact_log_prob", "exact_sampler", "missing", "statistics"})
    block_fit_requires = ("parents",)

    @classmethod
    def density_grid(cls, n: int, d: int):
        # O(d^2) candidate families per move: c20ng (d = 910) takes ~100 s a fit idle, 8 min loaded
        return ({"score": ["bic", "bdeu"]}, {"max_parents": 4, "rng": 0}) if d <= 300 else None

    def __init__(self, parents: Sequence[Sequence[int]], tables: Sequence[ArrayLike]) -> None:
        lists = [np.array(pa, dtype=np.int64) for pa in _parent_lists(parents)]
        d = len(lists)
        if d == 0:
            raise ValueError("parents must name the parents of at least one node")
        pptr = np.concatenate([[0], np.cumsum([len(a) for a in lists])]).astype(np.int64)
        pidx = np.concatenate(lists).astype(np.int64) if pptr[-1] else np.empty(0, np.int64)
        _check_graph(pptr, pidx, d, "parents")
        if isinstance(tables, (str, bytes)) or len(tables) != d:
            raise ValueError(f"tables must hold one table per node ({d})")
        first = as_float_array(tables[0], "tables[0]")
        C = first.shape[-1] if first.ndim else 0
        if C < 1:
            raise ValueError(f"tables[0] must have a last axis of C >= 1 states, got shape {first.shape}")
        rows = _table_rows(pptr, C, "tables")
        blocks = []
        for j in range(d):
            t = as_float_array(tables[j], f"tables[{j}]")
            k = int(pptr[j + 1] - pptr[j])
            if t.shape not in ((rows[j], C), (C,) * k + (C,)) or (k == 0 and t.shape not in ((C,), (1, C))):
                raise ValueError(f"tables[{j}] must have shape (C^k, C) = ({rows[j]}, {C}) for its "
                                 f"{k} parents, got {t.shape}")
            t = np.asarray(t, dtype=np.float64).reshape(rows[j], C)
            check_weights(t, f"tables[{j}]")
            with np.errstate(divide="ignore"):
                blocks.append(np.log(t / t.sum(axis=1, keepdims=True)))
        self._set(pptr, pidx, np.concatenate(blocks, axis=0))

    def _set(self, pptr, pidx, log_cpt):
        C = log_cpt.shape[1]
        self.parent_ptr = pptr
        self.parent_idx = pidx
        self.log_cpt = np.ascontiguousarray(log_cpt, dtype=np.float64)
        self.offsets = np.concatenate([[0], np.cumsum(_table_rows(pptr, C, "log_cpt"))]).astype(np.int64)
        self.order = _topological_order(pptr, pidx)
        self._levels = None

    @classmethod
    def _from_arrays(cls, pptr, pidx, log_cpt):
        self = cls.__new__(cls)
        self._set(pptr, pidx, log_cpt)
        return self

    @property
    def n_dims(self) -> int:
        return self.parent_ptr.shape[0] - 1

    @property
    def n_states(self) -> int:
        return self.log_cpt.shape[1]

    @property
    def parents(self) -> list[np.ndarray]:
        """The parents of each node, a list of d int64 arrays (in table order)."""
        return [self.parent_idx[self.parent_ptr[j]:self.parent_ptr[j + 1]] for j in range(self.n_dims)]

    @property
    def tables(self) -> list[np.ndarray]:
        """The conditional probability tables, a list of d float64 arrays of shape (C^k_j, C)."""
        return [np.exp(self.log_cpt[self.offsets[j]:self.offsets[j + 1]]) for j in range(self.n_dims)]

    @property
    def edges(self) -> np.ndarray:
        """(e, 2) int64 array of (parent, child) pairs, children ascending."""
        child = np.repeat(np.arange(self.n_dims), np.diff(self.parent_ptr))
        return np.stack([self.parent_idx, child], axis=1).astype(np.int64)

    @classonlymethod
    def fit(cls, X: ArrayLike, n_states: int | None = None, *, score: str = "bic",
            max_parents: int | None = None, max_iter: int = 1_000_000, tabu: int = 100,
            epsilon: float = 1e-4, patience: int = 10, restarts: int = 50, perturb: int = 10, alpha: float = 1.0,
            equivalent_sample_size: float = 10.0, max_table_cells: int | None = None, parents: Sequence[Sequence[int]] | None = None, rng: Seed = None,
            sample_weight: ArrayLike | None = None, progress: bool = False) -> BayesianNetwork:
        """Learn the DAG by greedy hill climbing on a decomposable score, then smoothed tables.

        From the empty graph, the best legal move (add, delete or reverse one edge, keeping the
        graph acyclic and at most ``max_parents`` parents per node, not undoing one of the last
        ``tabu`` moves) is made while it improves the score by ``epsilon`` or more: the search
        of pgmpy's ``HillClimbSearch`` with the same scores (BIC, or BDeu with
        ``equivalent_sample_size``, each column counting the states it shows in the data), so
        the scores compare. From that local optimum, up to ``patience`` best non-tabu moves
        in a row that do not beat the best score seen explore further (a tabu search, as
        bnlearn's ``tabu``), and the best DAG seen is kept (``patience=0``: pgmpy's search
        exactly, up to ties). Then ``restarts`` times: ``perturb`` random edges of the best DAG
        reversed (deleted when a reversal would close a cycle) and a new greedy climb (without the
        exploration), keeping the best; last a plain climb (no tabu list) from the best DAG, so
        the result is a local optimum. The default (50 restarts of 10 reversals) is seeded: the same data give the same
        DAG. The tables are smoothed counts over the states each column shows in the data
        (:meth:`from_statistics`).

        With ``parents`` given there is no search, only counting (additive over blocks of rows):
        the fit :func:`fastdgm.blockfit.fit_in_blocks`, :func:`fastdgm.dask.fit` and ``fastdgm fit
        bn --block-rows N --parents FILE`` make, bit for bit. The search needs every row in memory
        (learn the DAG on the rows that fit, e.g. ``fit(X[:100_000]).parents``).

        Parameters
        ----------
        X : array_like of int, shape (n, d)
        n_states : int, optional
            C; ``X.max() + 1`` when None.
        score : {"bic", "bdeu"}
        max_parents : int, optional
            Largest in-degree (no limit when None).
        max_table_cells : int, optional
            Largest total size of the tables, sum_j C^(k_j + 1) entries (C: the states of the
            widest column, which every table is stored with): the search makes no move past it
            (it is a legal move no more), so wide networks with many-state columns, e.g. munin
            (1,041 nodes, up to 21 states), are learned within it instead of failing at the
            end. Default and upper limit :data:`MAX_TABLE_CELLS` (2^28: 2 GiB of float64).
        max_iter : int
            Most moves per climb.
        tabu : int >= 0
            Length of the tabu list.
        epsilon : float
            Smallest score improvement that counts.
        patience : int >= 0
            Non-improving moves in a row tried after the first local optimum.
        restarts, perturb : int >= 0
            Random restarts, and random edge reversals per restart.
        alpha : float >= 0
            Dirichlet smoothing of the tables (pseudo-count of each state a column shows).
        equivalent_sample_size : float > 0
            BDeu's prior strength.
        parents : sequence of d sequences of int, optional
            A DAG (as the constructor takes it, e.g. another network's ``parents``): fit its
            tables only (the search's keywords are then unused; ``n_moves_`` is 0).
        rng : SPEC 7 seed
            For the restarts' random reversals (SPEC 7: None draws fresh entropy, an int gives the
            same DAG every time).
        sample_weight : array_like of float, shape (n,), optional
            Row weights (counts become sums of weights; BIC's n is their sum).
        progress : bool
            Show a progress bar of the moves.

        Returns
        -------
        BayesianNetwork
            with ``score_`` (the learned DAG's score) and ``n_moves_``.
        """
        from ._structure_search import SearchData, hill_climb, network_score

        X, C = fit_data(X, n_states)
        if score not in ("bic", "bdeu"):
            raise ValueError(f"score must be 'bic' or 'bdeu', got {score!r}")
        n, d = X.shape
        mp = d - 1 if max_parents is None else min(check_positive_int(max_parents, "max_parents", minimum=0), d - 1)
        max_iter = check_positive_int(max_iter, "max_iter", minimum=0)
        tabu = check_positive_int(tabu, "tabu", minimum=0)
        patience = check_positive_int(patience, "patience", minimum=0)
        restarts = check_positive_int(restarts, "restarts", minimum=0)
        perturb = check_positive_int(perturb, "perturb", minimum=0)
        epsilon = check_scalar(epsilon, "epsilon", minimum=0.0)
        ess = check_scalar(equivalent_sample_size, "equivalent_sample_size", minimum=0.0)
        if ess <= 0:
            raise ValueError(f"equivalent_sample_size must be > 0, got {equivalent_sample_size}")
        alpha = check_alpha(alpha)
        w = check_sample_weight(sample_weight, n)
        data = SearchData(X, w, score, ess)
        cells = MAX_TABLE_CELLS if max_table_cells is None else check_positive_int(max_table_cells, "max_table_cells")
        if not d * C <= cells <= MAX_TABLE_CELLS:
            raise ValueError(f"max_table_cells must be in [d C, MAX_TABLE_CELLS] = [{d * C}, {MAX_TABLE_CELLS}] "
                             f"(the empty graph's tables hold d C entries), got {max_table_cells}")
        moves = 0
        if parents is None:
            parents, best, moves = hill_climb(data, max_parents=mp, max_iter=max_iter, tabu=tabu, epsilon=epsilon,
                                              patience=patience, restarts=restarts, perturb=perturb,
                                              rng=np.random.default_rng(rng), progress=bool(progress), n_states=C,
                                              max_cells=cells)
        parents = _parent_lists(parents)
        model = cls.from_statistics(cls.sufficient_statistics(X, C, w if w.size else None, parents=parents), alpha,
                                    parents=parents)
        model.score_ = best if moves else network_score(data, parents)
        model.n_moves_ = moves
        return model

    @classmethod
    def _statistics_options(cls, **hyper) -> tuple[dict, dict]:
        parents = hyper.get("parents")
        if parents is None:
            raise ValueError("BayesianNetwork block and dask fits need parents=: they count the tables of a "
                             "given DAG; the structure search needs every row in memory. Learn the DAG on the "
                             "rows that fit (BayesianNetwork.fit(X[:m]).parents, a saved network's parents; "
                             "--parents FILE on the command line), then fit its tables over all rows")
        parents = _parent_lists(parents)
        return {"parents": parents}, {"alpha": hyper.get("alpha", 1.0), "parents": parents}

    @staticmethod
    def sufficient_statistics(X, n_states=None, sample_weight=None, *, parents) -> dict:
        """Family counts of a given DAG, additive over blocks of rows (block and dask fits).

        Parameters
        ----------
        X : array_like of int, shape (n, d)
        n_states : int, optional
            C; give it when X is one block of a larger data set.
        sample_weight : array_like of float, shape (n,), optional
        parents : sequence of d sequences of int
            The DAG (as the constructor takes it).

        Returns
        -------
        dict
            ``counts`` float64 (R, C) the (weighted) counts of every family, stacked as
            ``log_cpt``; ``total`` float64 (). Both add up over blocks; the DAG is given again
            to :meth:`from_statistics`.
        """
        X, C = check_states(X, "X", n_states=n_states)
        n, d = X.shape
        w = check_sample_weight(sample_weight, n)
        pptr, pidx = _csr(parents, d)
        rows = _table_rows(pptr, C, "parents")
        offsets = np.concatenate([[0], np.cumsum(rows)]).astype(np.int64)
        counts = np.zeros((int(offsets[-1]), C))
        for j in range(d):
            block = np.zeros(rows[j] * C)
            _b.family_counts(X, pidx, pptr[j], pptr[j + 1], j, C, w, block)
            counts[offsets[j]:offsets[j + 1]] = block.reshape(rows[j], C)
        return {"counts": counts, "total": np.float64(w.sum() if w.size else n)}

    @classmethod
    def from_statistics(cls, stats: dict, alpha=1.0, *, parents) -> BayesianNetwork:
        """The network of summed :meth:`sufficient_statistics` with smoothed tables.

        P(x_j = v | pa = u) = (N_uv + a_jv) / (N_u + sum_v a_jv): the pseudo-count a_jv is
        ``alpha`` for each state v that column j shows in the data (N_jv = sum_u N_uv > 0), and
        ``alpha * alpha / (N_j + alpha C)`` (alpha times the rule-of-succession estimate of an
        unseen state's probability) for a state it never shows. Every table is stored with the
        C states of the widest column: spreading ``alpha`` over all C would put most of a sparse
        row's mass on states its column does not have (munin's columns have 2 to 21 states). Where a
        column shows every state this is (N_uv + alpha) / (N_u + alpha C); ``alpha = 0`` is
        maximum likelihood (uniform for an unseen u).

        Parameters
        ----------
        stats : dict
            ``counts`` (R, C) (``total`` is not used).
        alpha : float >= 0
        parents : sequence of d sequences of int
            The DAG the counts were made for.

        Returns
        -------
        BayesianNetwork
        """
        alpha = check_alpha(alpha)
        N = as_float_array(stats["counts"], "stats['counts']", ndim=2)
        pptr, pidx = _csr(parents)
        C = N.shape[1]
        if N.shape[0] != sum(_table_rows(pptr, C, "parents")):
            raise ValueError(f"stats['counts'] has {N.shape[0]} rows, not the sum_j C^k_j = "
                             f"{sum(_table_rows(pptr, C, 'parents'))} of these parents")
        rows = np.asarray(_table_rows(pptr, C, "parents"))
        marg = np.add.reduceat(N, np.concatenate([[0], np.cumsum(rows)[:-1]]), axis=0)    # (d, C): N_jv
        den = marg.sum(axis=1, keepdims=True) + alpha * C
        unseen = alpha * alpha / np.where(den > 0, den, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            prior = np.where(marg > 0, alpha, unseen)
            A = N + np.repeat(prior, rows, axis=0)
            s = A.sum(axis=1, keepdims=True)
            lc = np.where(s > 0, np.log(A / s), -np.log(C))
        return cls._from_arrays(pptr, pidx, lc)

    def _log_prob_missing(self, X, missing) -> FloatArray:
        """Exact by variable elimination (:func:`fastdgm.models._bn_inference.log_prob_missing`;
        a ValueError names the elimination width when it exceeds the limit)."""
        from ._bn_inference import log_prob_missing

        return log_prob_missing(self, X, missing)

    def _log_prob(self, X: ArrayLike) -> FloatArray:
        """Exact log P(x) of each row, shape (n,), float64."""
        X = check_model_X(X, self.n_states, self.n_dims)
        out = np.empty(X.shape[0])
        _b.bn_log_prob(X.size, X, self.parent_ptr, self.parent_idx, self.offsets, self.log_cpt, out)
        return out

    def _fill(self, X, missing, rng=None) -> np.ndarray:
        """Forward filtering, backward sampling on the variable elimination order
        (:mod:`fastdgm.models._bn_inference`)."""
        from ._bn_inference import fill

        return fill(self, X, missing, rng)

    def sample_rows(self, key: int | np.uint64, start: int, n: int) -> IntArray:
        """Rows ``[start, start + n)`` of the sample of ``key`` by ancestral sampling:
        nodes in topological order, entry (i, j) thresholding its conditional with
        ``uniform(key, i * d + j)``.

        Parameters
        ----------
        key : int or numpy.uint64
        start : int
        n : int

        Returns
        -------
        ndarray
            Shape (n, d), smallest unsigned dtype holding C.
        """
        if self._levels is None:
            self._levels = levels(self.log_cpt)
        out = np.empty((n, self.n_dims), dtype=smallest_uint(self.n_states))
        _b.bn_sample(out.size, self._levels, self.parent_ptr, self.parent_idx, self.offsets,
                     self.order, np.uint64(key), start, out)
        return out

    @classmethod
    def from_pgmpy(cls, model) -> tuple[BayesianNetwork, list, dict]:
        """Convert a pgmpy ``DiscreteBayesianNetwork`` (see :mod:`fastdgm.models._bn_pgmpy`).

        Parameters
        ----------
        model : pgmpy DiscreteBayesianNetwork

        Returns
        -------
        (BayesianNetwork, names, state_names)
            The network, the node of each column and each node's states in index order.
        """
        from ._bn_pgmpy import from_pgmpy

        return from_pgmpy(cls, model)

    def to_pgmpy(self, names=None):
        """This network as a pgmpy ``DiscreteBayesianNetwork`` (pgmpy must be installed).

        Parameters
        ----------
        names : list, optional
            Node names (default ``"x0"``, ``"x1"``, ...).

        Returns
        -------
        pgmpy.models.DiscreteBayesianNetwork
        """
        from ._bn_pgmpy import to_pgmpy

        return to_pgmpy(self, names)

    def get_params(self) -> dict[str, np.ndarray]:
        return {"parent_ptr": self.parent_ptr, "parent_idx": self.parent_idx, "log_cpt": self.log_cpt}

    @classmethod
    def from_params(cls, params: Mapping[str, np.ndarray]) -> BayesianNetwork:
        """The model of ``params`` (e.g. read from a file), validated: ``parent_ptr`` (d + 1,)
        and ``parent_idx`` a DAG in CSR form (increasing pointers, parents in range, distinct,
        no self-loop, no cycle), ``log_cpt`` (R, C) normalised log-tables with R = sum C^k_j.

        Parameters
        ----------
        params : mapping of str to ndarray

        Returns
        -------
        BayesianNetwork
        """
        name = cls.__name__
        pptr = _int_array(param(params, "parent_ptr", name), "parent_ptr")
        pidx = _int_array(param(params, "parent_idx", name), "parent_idx")
        if pptr.shape[0] < 2:
            raise ValueError(f"parent_ptr must have shape (d + 1,) with d >= 1, got {pptr.shape}")
        d = pptr.shape[0] - 1
        if pptr[0] != 0 or pptr[-1] != pidx.shape[0] or np.any(np.diff(pptr) < 0):
            raise ValueError(f"parent_ptr must rise from 0 to len(parent_idx) = {pidx.shape[0]}, "
                             f"got {pptr.tolist() if d < 20 else pptr}")
        _check_graph(pptr, pidx, d, "parent_idx")
        lc = check_log_probs(param(params, "log_cpt", name), "log_cpt", ndim=2, shape_doc="(R, C)")
        rows = _table_rows(pptr, lc.shape[1], "log_cpt")
        if lc.shape[0] != sum(rows):
            raise ValueError(f"log_cpt must have R = sum_j C^k_j = {sum(rows)} rows for C = "
                             f"{lc.shape[1]} and these parents, got shape {lc.shape}")
        return cls._from_arrays(pptr, pidx, lc)

