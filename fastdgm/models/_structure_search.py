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
``d_add[y, x] + d_del[x, y]``; an addition that would close a cycle is not computed until it
becomes legal. Acyclicity: a reachability matrix, updated in place after an addition, and after
a deletion or reversal for the tail's ancestors only (the rows that can change). Restarts and
the tabu phase return to an earlier DAG by copying its saved caches.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from .._progress import Progress
from ..kernels import bayesnet as _b

__all__ = ["SearchData", "hill_climb", "network_score", "MEMO_FLOATS"]

MEMO_FLOATS = 20_000_000
"""Most floats (8 bytes each) the search keeps of the delta columns of parent sets seen."""


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
        # v log v for integer counts (BIC looks them up): unweighted data, or whole weights
        whole = not w.size or (bool(np.all(w == np.round(w))) and self.total <= 1e8)
        self.xlx = np.empty(0)
        if self.kind == _b.BIC and whole:
            v = np.arange(int(round(self.total)) + 1, dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                self.xlx = np.where(v > 0, v * np.log(v), 0.0)

    def codes(self, parents) -> tuple[np.ndarray, int, float]:
        """(dense codes (n,), observed configurations m, all configurations q) of a parent set."""
        pa = np.asarray(sorted(parents), dtype=np.int64)
        code, m = _b.dense_codes(self.XT, pa, self.card)
        return code, int(m), float(np.prod(self.card[pa].astype(np.float64)))

    def family(self, y: int, parents) -> float:
        """Score of node y with the given parents."""
        code, m, q = self.codes(parents)
        return float(_b.family_score(self.XT, code, m, y, self.card, q, self.kind, self.total,
                                     self.ess, self.w, self.xlx))

    def without(self, y: int, parents) -> np.ndarray:
        """Scores of y with the parents (sorted) minus each one in turn."""
        pa = np.asarray(sorted(parents), dtype=np.int64)
        out = np.empty(pa.shape[0])
        _b.family_scores_without(self.XT, pa, y, self.card, self.kind, self.total, self.ess, self.w,
                                 self.xlx, out)
        return out

    def extended(self, y: int, parents, cands: np.ndarray, codes=None) -> np.ndarray:
        """Scores of y with parents + {x} for each x of ``cands`` (in parallel); ``codes``:
        :meth:`codes` of the parents when already known."""
        code, m, q = self.codes(parents) if codes is None else codes
        out = np.empty(cands.shape[0])
        _b.family_scores(self.XT, code, m, y, np.ascontiguousarray(cands, dtype=np.int64),
                         self.card, q, self.kind, self.total, self.ess, self.w, self.xlx, out)
        return out


def network_score(data: SearchData, parents) -> float:
    """Sum of the family scores of the DAG ``parents`` (a list of d parent collections)."""
    return float(sum(data.family(y, pa) for y, pa in enumerate(parents)))


class _Climber:
    """Hill climbing state: the DAG, its family scores and the cached move deltas.

    ``d_add[x, y]`` is NaN (not computed) while x is a descendant of y but not its child: the
    addition is illegal and no reversal needs it; it is computed when it becomes legal.
    """

    def __init__(self, data: SearchData, max_parents: int, n_states: int = 0,
                 max_cells: float = np.inf) -> None:
        d = data.XT.shape[0]
        self.data, self.d, self.max_parents = data, d, max_parents
        # the model stores node j's table as C^(k_j + 1) cells: moves past max_cells are not made
        self.C = float(n_states or (int(data.card.max()) if d else 1))
        self.max_cells = float(max_cells)
        self.adj = np.zeros((d, d), np.bool_)
        self.reach = np.zeros((d, d), np.bool_)
        self.indeg = np.zeros(d, np.int64)
        self.d_add = np.full((d, d), -np.inf)
        self.d_del = np.full((d, d), -np.inf)
        self.local = np.empty(d)
        self._memo: dict = {}              # (y, parents) -> (local, d_add column, d_del column)
        self._memo_room = MEMO_FLOATS
        for y in range(d):
            self._refresh(y)

    def parents(self, y: int) -> list[int]:
        return np.flatnonzero(self.adj[:, y]).tolist()

    def _refresh(self, y: int) -> None:
        """Set y's family score and its columns of d_add and d_del for its current parents:
        from the memo when this parent set was seen before (restarts revisit them), computing
        only the additions that were illegal then and are needed now."""
        data, pa = self.data, self.parents(y)
        key = (y, tuple(pa))
        hit = self._memo.get(key)
        if hit is not None:
            self.local[y] = hit[0]
            self.d_add[:, y] = hit[1]
            self.d_del[:, y] = hit[2]
            self._fill([y])
            return
        codes = data.codes(pa)
        code, m, q = codes
        self.local[y] = _b.family_score(data.XT, code, m, y, data.card, q, data.kind, data.total, data.ess,
                                        data.w, data.xlx)
        self.d_add[:, y] = -np.inf
        self.d_del[:, y] = -np.inf
        if len(pa) < self.max_parents:
            free = ~self.adj[:, y]
            free[y] = False
            need = free & (~self.reach[y] | self.adj[y])
            cands = np.flatnonzero(need)
            self.d_add[free & ~need, y] = np.nan
            if cands.size:
                self.d_add[cands, y] = data.extended(y, pa, cands, codes) - self.local[y]
        if pa:
            self.d_del[pa, y] = data.without(y, pa) - self.local[y]
        if self._memo_room >= 2 * self.d:
            self._memo[key] = (self.local[y], self.d_add[:, y].copy(), self.d_del[:, y].copy())
            self._memo_room -= 2 * self.d

    def _fill(self, ys) -> None:
        """Compute the NaN entries of d_add in the columns ``ys`` that became needed."""
        for y in ys:
            need = np.isnan(self.d_add[:, y]) & (~self.reach[y] | self.adj[y])
            xs = np.flatnonzero(need)
            if xs.size:
                pa = self.parents(y)
                self.d_add[xs, y] = self.data.extended(y, pa, xs) - self.local[y]
                hit = self._memo.get((y, tuple(pa)))
                if hit is not None:
                    hit[1][xs] = self.d_add[xs, y]

    def apply(self, kind: int, x: int, y: int) -> None:
        """Apply move ``kind`` (0 add, 1 delete, 2 reverse) of edge x -> y and update caches."""
        if kind != 0:
            self.adj[x, y] = False
            self.indeg[y] -= 1
            _b.drop_reach(self.adj, self.reach, x)
        if kind == 1:
            self._refresh(y)
        else:
            a, b = (x, y) if kind == 0 else (y, x)        # the new edge a -> b
            self.adj[a, b] = True
            self.indeg[b] += 1
            rows = self.reach[:, a].copy()
            rows[a] = True
            self.reach[rows] |= self.reach[b]
            self.reach[rows, b] = True
            self._refresh(b)
            if kind == 2:
                self._refresh(a)
            self._fill([a])                # b is now a's child: reversing a -> b needs d_add[b, a]
        if kind != 0:
            # descendants lost by x and its ancestors: their additions may have become legal
            stale = np.isnan(self.d_add) & (~self.reach.T | self.adj.T)
            self._fill(np.flatnonzero(stale.any(axis=0)))

    def cells(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(cells a parent more adds to each node's table, cells a parent less removes, the
        cells a move may still add)."""
        size = self.C ** (self.indeg.astype(np.float64) + 1.0)
        return size * (self.C - 1.0), size - size / self.C, self.max_cells - float(size.sum())

    @property
    def score(self) -> float:
        return float(self.local.sum())

    def snapshot(self) -> tuple:
        """A copy of the whole state (DAG and caches), for :meth:`restore`."""
        return tuple(a.copy() for a in (self.adj, self.reach, self.indeg, self.d_add, self.d_del, self.local))

    def restore(self, state: tuple) -> None:
        for dst, src in zip((self.adj, self.reach, self.indeg, self.d_add, self.d_del, self.local), state):
            dst[...] = src

    def climb(self, max_iter: int, tabu_len: int, epsilon: float, patience: int, bar) -> int:
        """Greedy moves while one improves by ``epsilon``; then up to ``patience`` best
        non-improving moves in a row looking for a better DAG (tabu search), ending at the
        best DAG seen. Returns the number of moves."""
        d = self.d
        tabu = np.zeros((3, d, d), np.int64)
        recent: deque = deque()
        moves = stall = 0
        best, best_state = self.score, None
        while moves < max_iter:
            kind, x, y, delta = _b.best_move(self.d_add, self.d_del, self.adj, self.reach,
                                             self.indeg, self.max_parents, tabu, *self.cells())
            if kind < 0 or (not delta >= epsilon and stall >= patience):
                break
            if best_state is None and not delta >= epsilon:
                best_state = self.snapshot()      # leaving the first local optimum
            self.apply(kind, x, y)
            moves += 1
            bar.update(1)
            if self.score > best + epsilon:
                best, stall = self.score, 0
                if best_state is not None:
                    best_state = self.snapshot()
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
        if best_state is not None and self.score < best:
            self.restore(best_state)
        return moves

    def perturb(self, n_moves: int, rng: np.random.Generator) -> None:
        """Reverse (or, when that is illegal, delete) ``n_moves`` random edges of the DAG:
        local optima of the climb mostly differ from better DAGs in edge orientations."""
        for _ in range(n_moves):
            xs, ys = np.nonzero(self.adj)
            if xs.size == 0:
                return
            t = int(rng.integers(xs.size))
            x, y = int(xs[t]), int(ys[t])
            self.apply(2 if self._reversible(x, y) else 1, x, y)

    def _reversible(self, x: int, y: int) -> bool:
        grow, shrink, room = self.cells()
        if self.indeg[x] >= self.max_parents or grow[x] - shrink[y] > room:
            return False
        kids = np.flatnonzero(self.adj[x])
        return not any(self.reach[c, y] for c in kids if c != y)


def hill_climb(data: SearchData, *, max_parents: int, max_iter: int, tabu: int,
               epsilon: float, patience: int, restarts: int, perturb: int, rng: np.random.Generator | None,
               progress: bool, n_states: int = 0, max_cells: float = np.inf) -> tuple[list[list[int]], float, int]:
    """Hill climbing from the empty DAG (with ``patience`` moves of tabu exploration), then
    ``restarts`` perturbed greedy climbs (no exploration) from the best DAG, then a plain greedy climb (no tabu list) so that the result is a local optimum.
    No move makes the tables, sum_j n_states^(k_j + 1) cells, exceed ``max_cells``.

    Returns
    -------
    parents : list of d sorted lists of int
    score : float
        The score of that DAG.
    moves : int
        Moves made in all.
    """
    climber = _Climber(data, max_parents, n_states, max_cells)
    with Progress(max_iter, unit="moves", enabled=progress, desc="bn search") as bar:
        moves = climber.climb(max_iter, tabu, epsilon, patience, bar)
        best, best_score = climber.snapshot(), climber.score
        for _ in range(restarts):
            climber.perturb(perturb, rng)  # type: ignore[arg-type]  # rng is set when restarts > 0
            moves += climber.climb(max_iter, tabu, epsilon, 0, bar)     # plain greedy: cheap restarts
            if climber.score > best_score + epsilon:
                best, best_score = climber.snapshot(), climber.score
            else:
                climber.restore(best)
        climber.restore(best)
        moves += climber.climb(max_iter, 0, epsilon, 0, bar)
    adj = climber.adj
    parents = [np.flatnonzero(adj[:, y]).tolist() for y in range(data.XT.shape[0])]
    return parents, climber.score, moves
