"""Edge pruning of the M-step of :class:`fastdgm.TreeMixture` (Meila & Jordan's mixtures of
*forests*): each component drops the edges whose penalised gain is not positive.

A dropped edge parent -> j makes x_j independent of its parent in that component; it is stored
without changing the kernels, as a table whose every row is the child's smoothed marginal in
the component, (N_k(v) + s Q(v) + alpha) / (n_k + s + alpha C), exactly as a root's table (the
same likelihood as the forest). The MAP objective counts such a table once, like a root's
(its row 0 in the prior), and subtracts ``penalty`` per kept edge. Given the tree, each
child's choice is independent: keep the edge when its MAP score minus ``penalty`` exceeds the
score of the marginal; with alpha = 0 and no shrinkage the gain is n_k times the component's
mutual information of the edge (the BIC rule for ``prune`` = 1). ``prune`` = inf drops every
edge: each component is factorized, the tables are those of :class:`fastdgm.Mixture` with the
same alpha, and EM is the Mixture's EM.
"""
from __future__ import annotations

import numpy as np

__all__ = ["edge_penalty", "prune_tree"]


def edge_penalty(prune: float, C: int, total: float) -> float:
    """The penalty (nats) of one kept edge: prune * (C - 1)^2 * log(max(total, 2)) / 2, the
    BIC penalty of a conditional table's (C - 1)^2 extra parameters scaled by ``prune``
    (``total``: the data's total weight); inf for ``prune`` = inf."""
    if np.isinf(prune):
        return np.inf
    return float(prune) * (C - 1) ** 2 * np.log(max(float(total), 2.0)) / 2.0


def _weighted_log(weight: np.ndarray, lp: np.ndarray, axes) -> np.ndarray:
    """sum of weight * lp over ``axes``, cells of zero weight skipped (0 * log 0 = 0)."""
    with np.errstate(invalid="ignore"):
        return np.where(weight > 0, weight * lp, 0.0).sum(axis=axes)


def prune_tree(Nt: np.ndarray, parent: np.ndarray, lc: np.ndarray, alpha: float, penalty: float,
               pseudo: np.ndarray | None, Q: np.ndarray | None, shrink: float):
    """The forest of the tree ``parent`` with the best penalised MAP score.

    Parameters
    ----------
    Nt : ndarray, float64, shape (d, C, d, C)
        The component's weighted counts, Nt[a, u, b, v].
    parent : ndarray, int64, shape (d,)
        The tree (-1 at its root).
    lc : ndarray, float64, shape (d, C, C)
        Its MAP tables (from the counts plus ``pseudo``); the pruned children's are replaced.
    alpha : float
        Dirichlet smoothing.
    penalty : float
        Nats per kept edge (:func:`edge_penalty`), may be inf.
    pseudo : ndarray, float64, shape (d, C, C), or None
        The shrinkage pseudo-counts of the tree's cells (``shrink_cells``); the pruned
        children's are replaced by s Q(x_j) in row 0, as a root's.
    Q : ndarray, float64, shape (d, d, C, C), or None
        The pooled pair distribution (with ``shrink`` > 0).
    shrink : float

    Returns
    -------
    lc : ndarray, float64, shape (d, C, C)
        The forest's tables.
    pseudo : ndarray or None
        The forest's pseudo-counts.
    delta : float
        Change of the MAP score of the tables (sum over cells of (count + pseudo + alpha) *
        log-probability) minus ``penalty`` times the number of kept edges.
    extra : float
        The correction of the prior term alpha * (every cell of every table, a root's row 0
        once): minus alpha times the rows 1.. of each pruned table (counted once, as a root),
        minus ``penalty`` times the number of kept edges.
    forest : ndarray, int64, shape (d,)
        ``parent`` with -1 for every pruned child: two trees with the same forest give the same
        model (and the same score up to rounding).
    """
    d, C, _ = lc.shape
    ch = np.flatnonzero(parent >= 0)
    if ch.size == 0:
        return lc, pseudo, 0.0, 0.0, parent
    edge = Nt[parent[ch], :, ch, :]                                   # (m, C, C)
    marg = np.diagonal(Nt[ch, :, ch, :], axis1=1, axis2=2).copy()     # (m, C)
    mpseudo = None
    if pseudo is not None and Q is not None:
        mpseudo = shrink * np.diagonal(Q[ch, ch], axis1=1, axis2=2)     # s Q(x_j), (m, C)
        edge = edge + pseudo[ch]
        marg = marg + mpseudo
    edge_score = _weighted_log(edge + alpha, lc[ch], (1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        tot = marg.sum(axis=1, keepdims=True) + alpha * C
        lm = np.log(np.where(tot > 0, (marg + alpha) / tot, 1.0 / C))
    marg_score = _weighted_log(marg + alpha, lm, 1)
    drop = ~(edge_score - penalty > marg_score)
    kept = int(ch.size - drop.sum())
    paid = penalty * kept if kept else 0.0
    if not drop.any():
        return lc, pseudo, -paid, -paid, parent
    out = lc.copy()
    gone = ch[drop]
    out[gone] = lm[drop][:, None, :]
    if pseudo is not None and mpseudo is not None:
        pseudo = pseudo.copy()
        pseudo[gone] = 0.0
        pseudo[gone, 0] = mpseudo[drop]
    delta = float((marg_score[drop] - edge_score[drop]).sum()) - paid
    extra = -alpha * float(out[gone, 1:].sum()) - paid
    forest = parent.copy()
    forest[gone] = -1
    return out, pseudo, delta, extra, forest


def mixture_start(cls, data, key, restart: int, alpha: float, setup: dict, n_components: int, shrink: float,
                  prune: float):
    """The start of a ``TreeMixture`` restart from :class:`fastdgm.Mixture`'s EM: the Mixture
    fitted on ``data`` from the same restart key (so from the same random responsibilities as
    ``Mixture.fit`` with the same ``rng``), with its default ``max_iter`` and ``tol``, as a
    tree mixture whose every edge is pruned (each tree a star from variable 0 whose tables hold
    the component's marginals in every row): the same likelihood and objective. Its first
    TreeMixture M-step then grows the edges that pay their penalty. The objective's extra terms
    (``_extra_prior``) are those of such a forest: each table's prior once, the shrinkage
    term s Q(x_j) log P_k(x_j) of each table."""
    from .._progress import Progress
    from . import em
    from .mixture import Mixture

    msetup = Mixture._em_setup(data, alpha=alpha, n_components=n_components)
    mix = Mixture._em_start(data, key, restart, alpha, msetup, n_components=n_components)
    with Progress(1, enabled=False) as bar:
        mix = em._iterate(mix, data, alpha, em.MAX_ITER, em.TOL, msetup.get("context", {}), bar)[0]
    K, d, C = mix.log_components.shape
    parents = np.zeros((K, d), dtype=np.int64)
    parents[:, 0] = -1
    lc = np.repeat(mix.log_components[:, :, None, :], C, axis=2)
    self = cls._from_log(mix.log_weights, parents, lc)
    # the prior counts each child's marginal once, as a root's (no edge kept: no penalty); the
    # shrinkage term of each table is s Q(x_j = v) log P_k(x_j = v), Q the data's marginals
    extra = -alpha * float(lc[:, 1:, 1:].sum()) if alpha > 0 else 0.0
    if shrink > 0:
        from .factorized import Factorized

        stats = data.reduce(("suff", Factorized, {"n_states": C, "weighted": True}))
        q = stats["counts"] / float(stats["total"])                                   # (d, C)
        with np.errstate(invalid="ignore"):
            extra += shrink * float(np.where(q[None] > 0, q[None] * mix.log_components, 0.0).sum())
    self._shrink, self._prune, self._extra_prior = shrink, prune, extra
    return self
