"""Score-based structure search for Bayesian networks: greedy hill climbing over DAGs.

The moves are those of pgmpy's ``HillClimbSearch`` (Koller & Friedman 2009, 18.4.3): add,
delete or reverse one edge, the best legal one each step, stopping when no move improves the
score by ``epsilon`` or more; a tabu list of the last ``tabu`` moves' inverses forbids undoing a
recent move. Optional random restarts perturb the best DAG found by a few random moves and
climb again (bnlearn's ``hc(restart=, perturb=)``), keeping the best.

Scores are decomposable, sum over nodes of a family score, computed as pgmpy computes them so
the numbers are comparable: each column counts the states it shows in the data (``card[j]``,
pgmpy's ``state_names`` from the data), a parent set has q = prod card[parents] configurations:

- BIC: sum_jk N_jk log(N_jk / N_j) - 0.5 log(n) q (r - 1);
- BDeu (equivalent sample size ess): sum over configurations j of
  lgamma(a) - lgamma(N_j + a) + sum_k lgamma(N_jk + b) - lgamma(b), a = ess / q, b = ess / (q r).

Caching: ``d_add[x, y]`` (score change of adding x to y's parents) and ``d_del[x, y]`` (of
removing it) depend only on y's parent set; a move changes one or two parent sets, and only
those nodes' columns are recomputed (all candidate families of a node at once, in parallel,
from the dense codes of its current parent configurations). A reversal's change is
``d_add[y, x] + d_del[x, y]``. Acyclicity: a reachability matrix, updated in place after an
addition and rebuilt (transitive closure in topological order) after a deletion or reversal.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from .._progress import Progress
from ..kernels import bayesnet as _b

__all__ = ["SearchData", "hill_climb", "network_score"]


class SearchData:
    """The data as the search sees it: columns re-coded to their observed states.

    Parameters
    ----------
    X : ndarray of unsigned int, shape (n, d)
        Validated states.
    w : ndarray of float64, shape (n,) or (0,)
        Row weights (empty: all ones).
    score : {"bic", "bdeu"}
    ess : float
        Equivalent sample size of BDeu.
    """

    def __init__(self, X: np.ndarray, w: np.ndarray, score: str, ess: float) -> None:
        n, d = X.shape
        XT = np.empty((d, n), dtype=X.dtype)
        card = np.empty(d, np.int64)
        for j in range(d):
            vals, inv = np.unique(X[:, j], return_inverse=True)
            XT[j] = inv.reshape(-1)
            card[j] = vals.size
        self.XT, self.card, self.w = XT, card, w
        self.kind = _b.BIC if score == "bic" else _b.BDEU
        self.total = float(w.sum()) if w.size else float(n)
        self.ess = float(ess)

    def codes(self, parents) -> tuple[np.ndarray, int, float]:
        """(dense codes (n,), observed configurations m, all configurations q) of a parent set."""
        pa = np.asarray(sorted(parents), dtype=np.int64)
        code, m = _b.dense_codes(self.XT, pa, self.card)
        return code, int(m), float(np.prod(self.card[pa].astype(np.float64)))

    def family(self, y: int, parents) -> float:
        """Score of node y with the given parents."""
        code, m, q = self.codes(parents)
        return float(_b.family_score(self.XT, code, m, y, self.card, q, self.kind, self.total,
                                     self.ess, self.w))

    def extended(self, y: int, parents, cands: np.ndarray) -> np.ndarray:
        """Scores of y with parents + {x} for each x of ``cands`` (in parallel)."""
        code, m, q = self.codes(parents)
        out = np.empty(cands.shape[0])
        _b.family_scores(self.XT, code, m, y, np.ascontiguousarray(cands, dtype=np.int64),
                         self.card, q, self.kind, self.total, self.ess, self.w, out)
        return out


def network_score(data: SearchData, parents) -> float:
    """Sum of the family scores of the DAG ``parents`` (a list of d parent collections)."""
    return float(sum(data.family(y, pa) for y, pa in enumerate(parents)))


class _Climber:
    """Hill climbing state: the DAG, its family scores and the cached move deltas."""

    def __init__(self, data: SearchData, max_parents: int) -> None:
        d = data.XT.shape[0]
        self.data, self.d, self.max_parents = data, d, max_parents
        self.adj = np.zeros((d, d), np.bool_)
        self.reach = np.zeros((d, d), np.bool_)
        self.indeg = np.zeros(d, np.int64)
        self.d_add = np.full((d, d), -np.inf)
        self.d_del = np.full((d, d), -np.inf)
        self.local = np.empty(d)
        for y in range(d):
            self._refresh(y)

    def parents(self, y: int) -> list[int]:
        return np.flatnonzero(self.adj[:, y]).tolist()

    def _refresh(self, y: int) -> None:
        """Recompute y's family score and its columns of d_add and d_del."""
        data, pa = self.data, self.parents(y)
        self.local[y] = data.family(y, pa)
        self.d_add[:, y] = -np.inf
        self.d_del[:, y] = -np.inf
        if len(pa) < self.max_parents:
            cands = np.flatnonzero(~self.adj[:, y] & (np.arange(self.d) != y))
            if cands.size:
                self.d_add[cands, y] = data.extended(y, pa, cands) - self.local[y]
        for x in pa:
            self.d_del[x, y] = data.family(y, [p for p in pa if p != x]) - self.local[y]

    def apply(self, kind: int, x: int, y: int) -> None:
        """Apply move ``kind`` (0 add, 1 delete, 2 reverse) of edge x -> y and update caches."""
        if kind == 0:
            self.adj[x, y] = True
            self.indeg[y] += 1
            rows = self.reach[:, x].copy()
            rows[x] = True
            self.reach[rows] |= self.reach[y]
            self.reach[rows, y] = True
            self._refresh(y)
            return
        self.adj[x, y] = False
        self.indeg[y] -= 1
        if kind == 2:
            self.adj[y, x] = True
            self.indeg[x] += 1
        _b.closure(self.adj, self.reach)
        self._refresh(y)
        if kind == 2:
            self._refresh(x)

    @property
    def score(self) -> float:
        return float(self.local.sum())

    def snapshot(self) -> np.ndarray:
        return self.adj.copy()

    def climb(self, max_iter: int, tabu_len: int, epsilon: float, patience: int, bar) -> int:
        """Greedy moves while one improves by ``epsilon``; then up to ``patience`` best
        non-improving moves in a row looking for a better DAG (tabu search), ending at the
        best DAG seen. Returns the number of moves."""
        d = self.d
        tabu = np.zeros((3, d, d), np.int64)
        recent: deque = deque()
        moves = stall = 0
        best, best_adj = self.score, None
        while moves < max_iter:
            kind, x, y, delta = _b.best_move(self.d_add, self.d_del, self.adj, self.reach,
                                             self.indeg, self.max_parents, tabu)
            if kind < 0 or (not delta >= epsilon and stall >= patience):
                break
            if best_adj is None and not delta >= epsilon:
                best_adj = self.snapshot()      # leaving the first local optimum
            self.apply(kind, x, y)
            moves += 1
            bar.update(1)
            if self.score > best + epsilon:
                best, stall = self.score, 0
                if best_adj is not None:
                    best_adj = self.snapshot()
            else:
                stall += 1
            # the inverse move becomes tabu: delete after add, add after delete, and the new
            # edge y -> x may not be reversed back after a reversal
            inv = {0: (1, x, y), 1: (0, x, y), 2: (2, x, y)}[kind]
            if tabu_len > 0:
                recent.append(inv)
                tabu[inv] += 1
                if len(recent) > tabu_len:
                    tabu[recent.popleft()] -= 1
        if best_adj is not None and self.score < best:
            self.restore(best_adj)
        return moves

    def perturb(self, n_moves: int, rng: np.random.Generator) -> None:
        """Apply ``n_moves`` random legal moves (add, delete or reverse)."""
        d = self.d
        for _ in range(n_moves):
            for _attempt in range(100):
                x, y = (int(v) for v in rng.choice(d, size=2, replace=False))
                if self.adj[x, y]:
                    kind = int(rng.integers(1, 3))
                    if kind == 2 and not self._reversible(x, y):
                        kind = 1
                    self.apply(kind, x, y)
                    break
                if (not self.adj[y, x] and not self.reach[y, x]
                        and self.indeg[y] < self.max_parents):
                    self.apply(0, x, y)
                    break

    def _reversible(self, x: int, y: int) -> bool:
        if self.indeg[x] >= self.max_parents:
            return False
        kids = np.flatnonzero(self.adj[x])
        return not any(self.reach[c, y] for c in kids if c != y)

    def restore(self, adj: np.ndarray) -> None:
        """Set the DAG to ``adj`` and recompute every cache."""
        self.adj[:] = adj
        self.indeg[:] = adj.sum(axis=0)
        _b.closure(self.adj, self.reach)
        for y in range(self.d):
            self._refresh(y)


def hill_climb(data: SearchData, *, max_parents: int, max_iter: int, tabu: int,
               epsilon: float, patience: int, restarts: int, perturb: int, rng: np.random.Generator | None,
               progress: bool) -> tuple[list[list[int]], float, int]:
    """Hill climbing from the empty DAG, then ``restarts`` perturbed climbs from the best DAG.

    Returns
    -------
    parents : list of d sorted lists of int
    score : float
        The score of that DAG.
    moves : int
        Moves made in all.
    """
    climber = _Climber(data, max_parents)
    with Progress(max_iter, unit="moves", enabled=progress, desc="bn search") as bar:
        moves = climber.climb(max_iter, tabu, epsilon, patience, bar)
        best, best_score = climber.snapshot(), climber.score
        for _ in range(restarts):
            climber.perturb(perturb, rng)  # type: ignore[arg-type]  # rng is set when restarts > 0
            moves += climber.climb(max_iter, tabu, epsilon, patience, bar)
            if climber.score > best_score + epsilon:
                best, best_score = climber.snapshot(), climber.score
            else:
                climber.restore(best)
    parents = [np.flatnonzero(best[:, y]).tolist() for y in range(data.XT.shape[0])]
    return parents, best_score, moves
