"""TreeMixture: exact probabilities, sampling, EM against a slow numpy twin, reproducibility,
persistence and validation of untrusted parameters."""
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.slow import treemix as slow
from fastdgm.slow.likelihood import all_states
from fastdgm._rng import make_key, substream_ref
from gof import g_test


def random_parents(d, rng):
    """A random tree on d variables: a random root, each next variable of a random
    permutation attached to an earlier one."""
    perm = rng.permutation(d)
    parent = -np.ones(d, dtype=np.int64)
    for t in range(1, d):
        parent[perm[t]] = perm[rng.integers(t)]
    return parent


def random_tree_mixture(K, d, C, rng, zeros=False):
    parents = np.stack([random_parents(d, rng) for _ in range(K)])
    probs = rng.dirichlet(np.ones(C), size=(K, d, C))
    if zeros:   # some zero-probability cells (never a whole row)
        z = rng.random(probs.shape) < 0.2
        z[..., 0] = False
        probs = np.where(z, 0.0, probs)
    return fd.TreeMixture(rng.dirichlet(np.ones(K)), parents, probs)


SHAPES = [(1, 1, 2), (1, 4, 3), (3, 5, 2), (2, 4, 3), (4, 3, 2)]


@pytest.mark.parametrize("K,d,C", SHAPES)
@pytest.mark.parametrize("zeros", [False, True])
def test_log_prob_exact(K, d, C, zeros):
    m = random_tree_mixture(K, d, C, np.random.default_rng(K * 100 + d * 10 + C), zeros)
    S = all_states(d, C)
    lp = m.log_prob(S)
    assert np.exp(lp).sum() == pytest.approx(1.0, abs=1e-12)
    ref = slow.mixture_log_prob(S, m.log_weights, m.parents, m.log_cond)
    np.testing.assert_allclose(lp, ref, rtol=1e-12, atol=1e-12)
    # the components and marginals agree with the mixture
    comp = np.stack([m.component(k).log_prob(S) for k in range(K)], axis=1)
    np.testing.assert_allclose(np.exp(comp) @ m.weights, np.exp(lp), atol=1e-14)
    marg = np.stack([np.bincount(S[:, j], weights=np.exp(lp), minlength=C) for j in range(d)])
    np.testing.assert_allclose(m.marginals(), marg, atol=1e-12)
    post = m.predict_proba(S)
    pos = lp > -np.inf
    np.testing.assert_allclose(post[pos], np.exp(comp[pos] + m.log_weights - lp[pos, None]), atol=1e-12)
    assert np.all(post[~pos] == 0)


@pytest.mark.parametrize("K,d,C", [(3, 4, 3), (2, 5, 2), (1, 3, 3)])
def test_sample_g_test(K, d, C):
    m = random_tree_mixture(K, d, C, np.random.default_rng(7 + d), zeros=True)
    X = m.sample(30_000, rng=11)
    assert X.dtype == np.uint8 and X.shape == (30_000, d)
    idx = (X.astype(np.int64) * C ** np.arange(d - 1, -1, -1)).sum(axis=1)
    g_test(np.bincount(idx, minlength=C ** d), np.exp(m.log_prob(all_states(d, C))))


def test_sample_matches_slow_reference():
    m = random_tree_mixture(3, 5, 3, np.random.default_rng(3))
    key = make_key(5)
    np.testing.assert_array_equal(m.sample(200, rng=5),
                                  slow.sample(m.log_weights, m.parents, m.log_cond, key, 200))


@pytest.mark.parametrize("C,alpha,weighted,shrink", [(2, 1.0, False, 0.0), (2, 0.0, True, 0.0), (3, 0.5, False, 0.0),
                                                     (3, 0.0, False, 0.0), (2, 3.0, True, 0.0),
                                                     (2, 0.1, False, 20.0), (3, 0.5, True, 5.0), (2, 0.0, True, 1.0)])
def test_em_matches_slow_twin(C, alpha, weighted, shrink):
    rng = np.random.default_rng(int(C * 10 + alpha * 3 + weighted))
    truth = random_tree_mixture(3, 5, C, rng)
    X = truth.sample(80, rng=rng)
    w = rng.random(80) * 2 if weighted else None
    K, n_iter = 3, 4
    m = fd.TreeMixture.fit(X, n_components=K, n_states=C, alpha=alpha, rng=42, max_iter=n_iter, tol=0.0,
                           sample_weight=w, shrink=shrink)
    assert m.n_iter_ == n_iter and not m.converged_
    ref = slow.em(X, C, K, substream_ref(int(make_key(42)), 0), alpha, n_iter, w, shrink)
    np.testing.assert_allclose(m.objective_history_, [r[3] for r in ref], rtol=1e-10)
    logw, parents, logcond, _ = ref[-1]
    np.testing.assert_array_equal(m.parents, parents)
    np.testing.assert_allclose(m.log_weights, logw, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(m.log_cond, logcond, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("alpha,shrink", [(0.0, 0.0), (0.5, 0.0), (2.0, 0.0), (0.0, 30.0), (0.5, 100.0)])
def test_em_never_decreases_objective(alpha, shrink):
    rng = np.random.default_rng(int(alpha * 10))
    X = random_tree_mixture(4, 8, 3, rng).sample(600, rng=1)
    for seed in range(3):
        m = fd.TreeMixture.fit(X, n_components=4, n_states=3, alpha=alpha, rng=seed, max_iter=40, tol=0.0,
                               shrink=shrink)
        obj = np.asarray(m.objective_history_)
        assert np.all(np.diff(obj) >= -1e-12 * np.abs(obj[:-1])), np.diff(obj).min()
        assert obj[-1] > obj[0]
        if alpha == 0 and shrink == 0:
            np.testing.assert_allclose(obj, m.log_likelihood_history_, rtol=0, atol=0)
        # the recorded final objective is the returned model's
        ll = m.score(X)
        assert ll == pytest.approx(m.log_likelihood_history_[-1], rel=1e-12)


@pytest.mark.parametrize("C", [2, 3])
def test_single_component_is_chow_liu(C):
    # K = 1 in the selection grid: a Chow-Liu tree, so selection is never worse on valid
    rng = np.random.default_rng(5)
    X = random_tree_mixture(1, 7, C, rng).sample(2000, rng=2)
    for alpha in (0.0, 0.01, 1.0):
        tm = fd.TreeMixture.fit(X, n_components=1, alpha=alpha, rng=0, max_iter=3)
        cl = fd.ChowLiuTree.fit(X, alpha=alpha)
        np.testing.assert_array_equal(tm.parents[0], cl.parent)
        np.testing.assert_allclose(tm.log_cond[0], cl.log_cond, rtol=1e-12)
        np.testing.assert_allclose(tm.log_prob(X), cl.log_prob(X), rtol=1e-12)
        assert tm.converged_


def test_shrink_tables_by_hand():
    # d = 2 binary, two components with given responsibilities: the only tree is 0 -> 1;
    # counts, pooled pair distribution Q and the MAP tables written out by hand
    from fastdgm.models._treemix_em import PairCounter, pair_statistics

    X = np.array([[0, 0], [0, 1], [1, 1], [1, 1], [0, 0]], dtype=np.uint8)
    R = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [0.25, 0.75], [1.0, 0.0]])
    stats = {**pair_statistics(PairCounter(X, 2), R, np.ones(5)), "total": 5.0}
    a, s = 0.5, 2.0
    m = fd.TreeMixture.from_statistics(stats, alpha=a, shrink=s)
    # Q(x0, x1) = (2, 1, 0, 2) / 5 over (00, 01, 10, 11): Q(x0) = (3, 2) / 5,
    # Q(x1 | x0 = 0) = (2, 1) / 3, Q(x1 | x0 = 1) = (0, 1)
    q_root, q_cond = np.array([3, 2]) / 5, np.array([[2 / 3, 1 / 3], [0.0, 1.0]])
    # component 0: rows weighted 1, .5, 0, .25, 1: n0 = 2.75; N0(x0, x1): (0,0) 2, (0,1) .5, (1,1) .25
    root0 = np.array([2.5 + s * 3 / 5 + a, 0.25 + s * 2 / 5 + a]) / (2.75 + s + 2 * a)
    cond0 = np.array([[2 + s * 2 / 3 + a, 0.5 + s * 1 / 3 + a],
                      [0 + s * 0 + a, 0.25 + s * 1 + a]])
    cond0 /= np.array([[2.5 + s + 2 * a], [0.25 + s + 2 * a]])
    # component 1: rows weighted 0, .5, 1, .75, 0: n1 = 2.25; N1: (0,1) .5, (1,1) 1.75
    root1 = np.array([0.5 + s * 3 / 5 + a, 1.75 + s * 2 / 5 + a]) / (2.25 + s + 2 * a)
    cond1 = np.array([[0 + s * 2 / 3 + a, 0.5 + s * 1 / 3 + a],
                      [0 + s * 0 + a, 1.75 + s * 1 + a]])
    cond1 /= np.array([[0.5 + s + 2 * a], [1.75 + s + 2 * a]])
    np.testing.assert_array_equal(m.parents, [[-1, 0], [-1, 0]])
    np.testing.assert_allclose(m.weights, [2.75 / 5, 2.25 / 5], rtol=1e-14)
    for k, (root, cond) in enumerate([(root0, cond0), (root1, cond1)]):
        np.testing.assert_allclose(cond.sum(axis=1), 1.0, rtol=1e-14)
        np.testing.assert_allclose(np.exp(m.log_cond[k, 0, 0]), root, rtol=1e-13)
        np.testing.assert_allclose(np.exp(m.log_cond[k, 1]), cond, rtol=1e-13)
    # the prior of the objective: alpha on every used cell, plus s * Q(v | u) log P(v | u)
    prior = sum(a * (np.log(r).sum() + np.log(c).sum()) + s * (q_root * np.log(r)).sum()
                + s * (q_cond[0] * np.log(c[0])).sum() + s * np.log(c[1, 1])
                for r, c in [(root0, cond0), (root1, cond1)])
    assert m._log_prior(a) == pytest.approx(prior, rel=1e-13)


def test_large_shrink_gives_the_pooled_conditionals():
    rng = np.random.default_rng(3)
    X = random_tree_mixture(3, 6, 2, rng).sample(500, rng=4)
    m = fd.TreeMixture.fit(X, n_components=3, alpha=0.0, rng=0, max_iter=5, shrink=1e9)
    for k in range(3):
        for j, p in enumerate(m.parents[k]):
            if p < 0:
                ref = np.bincount(X[:, j], minlength=2) / len(X)
                np.testing.assert_allclose(np.exp(m.log_cond[k, j, 0]), ref, rtol=1e-6)
            else:
                joint = np.zeros((2, 2))
                np.add.at(joint, (X[:, p], X[:, j]), 1.0)
                np.testing.assert_allclose(np.exp(m.log_cond[k, j]), joint / joint.sum(axis=1, keepdims=True),
                                           rtol=1e-6)


def test_fit_recovers_and_stops():
    rng = np.random.default_rng(9)
    truth = random_tree_mixture(2, 10, 2, rng)
    X = truth.sample(20_000, rng=3)
    m = fd.TreeMixture.fit(X, n_components=2, rng=0, n_init=2, max_iter=200, tol=1e-7)
    assert m.converged_
    Xt = truth.sample(20_000, rng=4)
    assert m.score(Xt) > truth.score(Xt) - 0.01
    obj = m.objective_history_
    assert obj[-1] - obj[-2] <= 1e-7 * abs(obj[-2])


def test_fit_deterministic_and_restarts():
    X = random_tree_mixture(3, 6, 2, np.random.default_rng(1)).sample(500, rng=0)
    a = fd.TreeMixture.fit(X, n_components=3, rng=4, n_init=3, max_iter=20)
    b = fd.TreeMixture.fit(X, n_components=3, rng=4, n_init=3, max_iter=20)
    np.testing.assert_array_equal(a.log_cond, b.log_cond)
    best = max(fd.TreeMixture.fit(X, n_components=3, rng=4, n_init=r + 1, max_iter=20).objective_history_[-1]
               for r in range(3))
    assert a.objective_history_[-1] == best


@pytest.mark.parametrize("C", [2, 3, 9])   # 3: SYRK counts, 9: per-pair kernel
def test_threads_bit_identical(C):
    truth = random_tree_mixture(3, 8, C, np.random.default_rng(2))
    X = truth.sample(12_000, rng=1)
    res = []
    for nt in (1, 2):
        with fd.threads(nt):
            m = fd.TreeMixture.fit(X, n_components=3, n_states=C, rng=0, max_iter=5)
            res.append((m.log_cond, m.log_weights, m.objective_history_, m.log_prob(X),
                        m.sample(30_000, rng=2), m.predict_proba(X)))
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)


def test_save_load_round_trip(tmp_path):
    m = random_tree_mixture(3, 5, 3, np.random.default_rng(0), zeros=True)
    p = tmp_path / "tm.npz"
    m.save(p)
    m2 = fd.load(p)
    assert isinstance(m2, fd.TreeMixture)
    S = all_states(5, 3)
    np.testing.assert_array_equal(m.log_prob(S), m2.log_prob(S))
    np.testing.assert_array_equal(m.sample(100, rng=1), m2.sample(100, rng=1))


def _write(path, **arrays):
    np.savez(path, __model__=np.asarray("TreeMixture"), **arrays)


def test_load_rejects_crafted_files(tmp_path):
    m = random_tree_mixture(2, 4, 2, np.random.default_rng(0))
    good = {"log_weights": m.log_weights, "parents": m.parents, "log_cond": m.log_cond}
    bad_cases = {
        "nan": dict(good, log_cond=np.where(np.arange(2)[None, None, None, :] == 0, np.nan, m.log_cond)),
        "plus_inf": dict(good, log_weights=np.array([np.inf, 0.0])),
        "unnormalised": dict(good, log_cond=m.log_cond + 0.01),
        "weights_unnormalised": dict(good, log_weights=np.log([0.5, 0.6])),
        "cycle": dict(good, parents=np.array([[-1, 2, 3, 1], [-1, 0, 1, 2]])),
        "two_roots": dict(good, parents=np.array([[-1, -1, 0, 0], [-1, 0, 1, 2]])),
        "self_parent": dict(good, parents=np.array([[-1, 1, 0, 0], [-1, 0, 1, 2]])),
        "out_of_range": dict(good, parents=np.array([[-1, 7, 0, 0], [-1, 0, 1, 2]])),
        "float_parents": dict(good, parents=m.parents.astype(float)),
        "K_mismatch": dict(good, log_weights=np.log([0.2, 0.3, 0.5])),
        "d_mismatch": dict(good, parents=np.array([[-1, 0, 0], [-1, 0, 1]])),
        "not_square": dict(good, log_cond=np.log(np.full((2, 4, 3, 2), 0.5))),
        "ndim": dict(good, log_cond=m.log_cond[0]),
        "missing_entry": {"log_weights": m.log_weights, "parents": m.parents},
    }
    for name, arrays in bad_cases.items():
        p = tmp_path / f"{name}.npz"
        _write(p, **arrays)
        with pytest.raises((ValueError, TypeError)):
            fd.load(p)
    p = tmp_path / "good.npz"
    _write(p, **good)
    fd.load(p)


def test_constructor_validation():
    rng = np.random.default_rng(0)
    par = np.stack([random_parents(4, rng) for _ in range(2)])
    probs = rng.dirichlet(np.ones(3), size=(2, 4, 3))
    fd.TreeMixture([1, 1], par, probs)
    with pytest.raises(ValueError, match="weights"):
        fd.TreeMixture([1, 1, 1], par, probs)
    with pytest.raises(ValueError, match="probs"):
        fd.TreeMixture([1, 1], par, probs[:, :3])
    with pytest.raises(ValueError, match="probs"):
        fd.TreeMixture([1, 1], par, probs[:, :, :2])
    with pytest.raises(ValueError):
        fd.TreeMixture([1, 1], par, np.where(probs > 0.5, np.nan, probs))
    with pytest.raises(ValueError):
        fd.TreeMixture([1, -1], par, probs)
    bad = par.copy()
    bad[1] = [1, 2, 0, -1]     # 0 -> 1 -> 2 -> 0 cycle
    with pytest.raises(ValueError, match=r"parents\[1\]"):
        fd.TreeMixture([1, 1], bad, probs)
    with pytest.raises(ValueError):
        fd.TreeMixture([1, 1], par[0], probs)
    with pytest.raises(TypeError):
        fd.TreeMixture([1, 1], par.astype(float), probs)


def test_fit_argument_validation():
    X = np.zeros((10, 3), dtype=int)
    for kw, exc in [(dict(n_components=0), ValueError), (dict(n_components=2, tol=-1), ValueError),
                    (dict(n_components=2, alpha=-1), ValueError), (dict(n_components=2, max_iter=0), ValueError),
                    (dict(n_components=2, n_init=0), ValueError), (dict(n_components=1.5), TypeError),
                    (dict(n_components=2, sample_weight=np.ones(3)), ValueError),
                    (dict(n_components=2, shrink=-1.0), ValueError)]:
        with pytest.raises(exc):
            fd.TreeMixture.fit(X, **kw)
    with pytest.raises(ValueError):
        fd.TreeMixture.fit(X - 1, n_components=2)


def test_entropy_estimate():
    m = random_tree_mixture(2, 4, 3, np.random.default_rng(0))
    with pytest.raises(NotImplementedError):
        m.entropy()
    p = np.exp(m.log_prob(all_states(4, 3)))
    exact = -(p * np.log(p)).sum()
    est = m.entropy_estimate(50_000, rng=0)
    assert abs(est.value - exact) < 5 * est.stderr


def test_m_step_keeps_better_previous_tree():
    """With heavy smoothing the mutual-information tree can score lower than the previous
    tree under the MAP objective: the M-step then keeps the previous tree (generalised EM),
    so one EM step from a single-tree model never lowers the objective."""
    from fastdgm.models import _treemix_em as tm
    from fastdgm.models._pair_stats import mutual_information_from_counts

    rng = np.random.default_rng(0)
    kept = 0
    for _ in range(300):
        d, C, alpha = 4, 3, 5.0
        X = rng.integers(0, C, size=(8, d)).astype(np.uint8)
        w = rng.random(8)
        prev = random_parents(d, rng)
        if prev[0] != -1:
            continue
        N = np.ascontiguousarray(tm.PairCounter(X, C)(w[:, None])[0].transpose(0, 2, 1, 3))   # (d, C, d, C)
        lc_prev, _ = tm._tables_and_score(N, prev, alpha)
        before = slow.objective(X, w, np.zeros(1), prev[None], lc_prev[None], alpha)
        R = np.ones((8, 1))
        stats = tm.pair_statistics(tm.PairCounter(X, C), R, w)
        lw, parents, lc, _ = tm.m_step(stats, w.sum(), alpha, prev[None])
        after = slow.objective(X, w, lw, parents, lc, alpha)
        assert after >= before - 1e-12
        mst = fd.models.max_spanning_tree(mutual_information_from_counts(N, w.sum(), True), root=0)
        kept += not np.array_equal(parents[0], mst)
    assert kept > 0


@pytest.mark.parametrize("C,density", [(2, 0.2), (2, 0.8), (3, None)])
def test_pair_counter_matches_slow(C, density):
    from fastdgm.models import _treemix_em as tm

    rng = np.random.default_rng(C)
    n, d = 300, 6
    if C == 2:   # columns of different densities: some get flipped
        X = (rng.random((n, d)) < np.linspace(0.05, density + 0.15, d)).astype(np.uint8)
        X[:, 0] = 1
    else:
        X = rng.integers(0, C, size=(n, d)).astype(np.uint8)
    W = rng.random((n, 3))
    W[::7, 1] = 0.0
    N = tm.PairCounter(X, C)(W)
    for k in range(3):
        np.testing.assert_allclose(N[k], slow._pair_counts(X, C, W[:, k]), rtol=1e-12, atol=1e-10)


def test_numpy_baselines_agree():
    """The numpy idioms of the benchmarks compute the same quantities as the kernels."""
    from fastdgm.models import _treemix_em as tm

    rng = np.random.default_rng(0)
    m = random_tree_mixture(3, 6, 3, rng)
    X = m.sample(200, rng=1)
    np.testing.assert_allclose(slow.treemix_log_prob_numpy(X, m.log_weights, m.parents, m.log_cond),
                               m.log_prob(X), rtol=1e-12)
    M = rng.random(X.shape) < 0.4
    t = m.component(1)
    np.testing.assert_allclose(slow.tree_missing_log_prob_numpy(X, M, t.parent, t.log_cond),
                               t.log_prob(X, missing=M), rtol=1e-12)
    Xb = (rng.random((200, 6)) < 0.3).astype(np.uint8)
    W = rng.random((200, 2))
    np.testing.assert_allclose(slow.weighted_gram_counts_numpy(Xb, W),
                               tm.PairCounter(Xb, 2)(W)[..., 1, 1], rtol=1e-12)
