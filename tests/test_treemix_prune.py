"""TreeMixture's edge pruning (mixtures of forests): EM against the slow numpy twin, prune = inf
is the Mixture, the objective never decreases, validation, and selection from the grid."""
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.slow import treemix as slow
from fastdgm._rng import make_key, substream_ref
from fastdgm.models._treemix_prune import edge_penalty
from test_treemix import random_tree_mixture


def forest(parents, log_cond):
    """The parents of the kept edges, -1 for the roots and the pruned children (tables whose
    rows are all equal)."""
    flat = np.all(np.abs(log_cond - log_cond[:, :, :1, :]) <= 1e-12, axis=(2, 3))
    return np.where(flat, -1, parents)


@pytest.mark.parametrize("C,alpha,weighted,shrink,prune", [
    (2, 0.1, False, 0.0, 0.5), (2, 0.0, True, 0.0, 1.0), (3, 0.5, False, 0.0, 0.3), (3, 0.0, False, 0.0, 2.0),
    (2, 0.1, False, 20.0, 0.5), (3, 0.5, True, 5.0, 0.2), (2, 1.0, True, 0.0, np.inf), (3, 0.1, False, 3.0, 1e-6)])
def test_em_with_pruning_matches_slow_twin(C, alpha, weighted, shrink, prune):
    rng = np.random.default_rng(int(C * 10 + alpha * 3 + weighted + 7 * shrink))
    truth = random_tree_mixture(3, 5, C, rng)
    X = truth.sample(80, rng=rng)
    w = rng.random(80) * 2 if weighted else None
    K, n_iter = 3, 4
    m = fd.TreeMixture.fit(X, n_components=K, n_states=C, alpha=alpha, rng=42, max_iter=n_iter, tol=0.0,
                           sample_weight=w, shrink=shrink, prune=prune)
    assert m.n_iter_ == n_iter and not m.converged_
    ref = slow.em(X, C, K, substream_ref(int(make_key(42)), 0), alpha, n_iter, w, shrink, prune)
    np.testing.assert_allclose(m.objective_history_, [r[3] for r in ref], rtol=1e-10)
    logw, parents, logcond, _ = ref[-1]
    # the forests must agree; the trees under them may differ where two trees give the same
    # forest (equal scores, decided by rounding)
    np.testing.assert_array_equal(forest(m.parents, m.log_cond), forest(parents, logcond))
    np.testing.assert_allclose(m.log_weights, logw, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(m.log_cond, logcond, rtol=1e-10, atol=1e-12)


def test_pruning_prunes_some_edges_and_not_others():
    # the twin test above must see forests, not just trees or factorized components
    rng = np.random.default_rng(3)
    X = random_tree_mixture(2, 8, 2, rng).sample(400, rng=1)
    m = fd.TreeMixture.fit(X, n_components=2, alpha=0.1, rng=0, max_iter=10, prune=1.0)
    kept = forest(m.parents, m.log_cond) >= 0
    children = m.parents >= 0
    assert (kept & children).any() and (~kept & children).any()


@pytest.mark.parametrize("C,alpha,weighted", [(2, 0.1, False), (3, 0.0, True), (4, 1.0, False)])
def test_infinite_prune_is_the_mixture(C, alpha, weighted):
    # same random start (Dirichlet responsibilities of the same key), same M-step: every EM
    # iterate is the Mixture's
    rng = np.random.default_rng(C)
    X = random_tree_mixture(3, 6, C, rng).sample(500, rng=2)
    w = rng.random(500) + 0.5 if weighted else None
    kw = dict(n_components=3, n_states=C, alpha=alpha, rng=4, max_iter=15, tol=0.0, sample_weight=w)
    mix = fd.Mixture.fit(X, **kw)
    tm = fd.TreeMixture.fit(X, prune=np.inf, **kw)
    np.testing.assert_allclose(tm.objective_history_, mix.objective_history_, rtol=1e-11)
    np.testing.assert_allclose(tm.log_prob(X), mix.log_prob(X), rtol=1e-11)
    np.testing.assert_allclose(tm.log_weights, mix.log_weights, rtol=1e-11, atol=1e-13)
    for k in range(3):
        np.testing.assert_allclose(tm.log_cond[k, :, 0, :], mix.log_components[k], rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("alpha,shrink,prune", [(0.0, 0.0, 0.5), (0.5, 0.0, 1.0), (0.1, 30.0, 0.5), (0.0, 10.0, 3.0)])
def test_em_with_pruning_never_decreases_objective(alpha, shrink, prune):
    rng = np.random.default_rng(int(alpha * 10 + prune))
    X = random_tree_mixture(4, 8, 3, rng).sample(600, rng=1)
    for seed in range(2):
        m = fd.TreeMixture.fit(X, n_components=4, n_states=3, alpha=alpha, rng=seed, max_iter=30, tol=0.0,
                               shrink=shrink, prune=prune)
        obj = np.asarray(m.objective_history_)
        assert np.all(np.diff(obj) >= -1e-12 * np.abs(obj[:-1])), np.diff(obj).min()
        assert m.score(X) == pytest.approx(m.log_likelihood_history_[-1], rel=1e-12)


def test_edge_penalty():
    assert edge_penalty(1.0, 2, 1000.0) == pytest.approx(np.log(1000.0) / 2, rel=1e-15)
    assert edge_penalty(2.0, 3, 50.0) == pytest.approx(2.0 * 4 * np.log(50.0) / 2, rel=1e-15)
    assert edge_penalty(1.0, 2, 0.5) == pytest.approx(np.log(2.0) / 2, rel=1e-15)
    assert edge_penalty(np.inf, 2, 10.0) == np.inf


def test_prune_validation():
    X = np.zeros((10, 3), dtype=int)
    for bad, exc in [(-1.0, ValueError), (np.nan, ValueError), (-np.inf, ValueError), ("a", TypeError),
                     (True, TypeError), (None, TypeError)]:
        with pytest.raises(exc, match="prune"):
            fd.TreeMixture.fit(X, n_components=2, prune=bad)
    with pytest.raises(ValueError, match="prune"):
        fd.TreeMixture.from_statistics({}, prune=-2.0)


def test_select_picks_from_the_prune_grid():
    rng = np.random.default_rng(1)
    X = random_tree_mixture(3, 10, 2, rng).sample(600, rng=3)
    grid = [{"n_components": [3], "prune": [0.0, 1.0, np.inf]}]
    sel = fd.select(fd.TreeMixture, X[:400], X[400:], grid, rng=0, max_iter=10, alpha=0.1)
    assert [r["params"]["prune"] for r in sel.table] == [0.0, 1.0, np.inf]
    assert sel.best_params == sel.table[int(np.argmax([r["valid"] for r in sel.table]))]["params"]
    assert sel.best.score(X[400:]) == max(r["valid"] for r in sel.table)
    # prune = inf scores as the Mixture with the same start
    mix = fd.Mixture.fit(X[:400], n_components=3, rng=0, max_iter=10, alpha=0.1)
    assert sel.table[2]["valid"] == pytest.approx(mix.score(X[400:]), rel=1e-11)


@pytest.mark.parametrize("C,alpha,prune,shrink", [(2, 0.1, np.inf, 0.0), (3, 0.5, 1.0, 0.0), (2, 0.0, 0.0, 0.0),
                                                  (2, 0.1, 1.0, 20.0), (3, 0.0, 0.5, 5.0)])
def test_mixture_start(C, alpha, prune, shrink):
    # init="mixture": the Mixture of the same rng, as edgeless forests: the first objective is
    # the Mixture's last, and EM only climbs from there
    rng = np.random.default_rng(10 + C)
    X = random_tree_mixture(3, 7, C, rng).sample(400, rng=5)
    mix = fd.Mixture.fit(X, n_components=3, n_states=C, alpha=alpha, rng=9)
    tm = fd.TreeMixture.fit(X, n_components=3, n_states=C, alpha=alpha, rng=9, max_iter=6, tol=0.0, prune=prune,
                            init="mixture", shrink=shrink)
    # the start's objective: the Mixture's plus the shrinkage term s Q(x_j = v) log P_k(x_j = v)
    q = np.stack([np.bincount(X[:, j], minlength=C) for j in range(7)]) / X.shape[0]
    term = shrink * float((q[None] * mix.log_components).sum()) / X.shape[0]
    assert tm.objective_history_[0] == pytest.approx(mix.objective_history_[-1] + term, rel=1e-12)
    obj = np.asarray(tm.objective_history_)
    assert np.all(np.diff(obj) >= -1e-12 * np.abs(obj[:-1]))
    if prune == np.inf:   # every iterate stays a mixture of product components
        flat = np.all(np.abs(tm.log_cond - tm.log_cond[:, :, :1, :]) <= 1e-12, axis=(2, 3))
        assert flat.all()
    else:
        assert obj[-1] > obj[0]
    with pytest.raises(ValueError, match="init"):
        fd.TreeMixture.fit(X, n_components=2, init="kmeans")
