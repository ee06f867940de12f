"""Factorized, Mixture and ChowLiuTree: fits against closed forms, EM monotonicity and
recovery, Chow-Liu structure recovery, exact likelihoods/entropies against enumeration,
G-tests of the samplers against exact probabilities, thread invariance, bad input."""
import itertools

import numpy as np
import pytest

import fastdgm as fd
from fastdgm.slow import likelihood as slow

from gof import ALPHA, g_test_pvalue


def joint_counts(S, C):
    d = S.shape[1]
    idx = np.zeros(S.shape[0], dtype=np.int64)
    for j in range(d):
        idx = idx * C + S[:, j]
    return np.bincount(idx, minlength=C ** d)


def random_tree_model(d, C, seed, strength=3.0):
    rng = np.random.default_rng(seed)
    parent = np.array([-1] + [int(rng.integers(0, j)) for j in range(1, d)])
    probs = np.empty((d, C, C))
    for j in range(d):
        for u in range(C):
            a = np.ones(C)
            a[u] += strength * C        # child tends to copy its parent
            probs[j, u] = rng.dirichlet(a)
    return fd.ChowLiuTree(parent, probs)


# ---------------------------------------------------------------------------------------
# Factorized
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int64])
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_factorized_fit_closed_form(dtype, alpha):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 5, size=(300, 7)).astype(dtype)
    X[:, 3] = 2                                       # states never seen in one column
    m = fd.Factorized.fit(X, n_states=5, alpha=alpha)
    counts = np.stack([np.bincount(X[:, j].astype(np.int64), minlength=5) for j in range(7)])
    np.testing.assert_allclose(m.probs, (counts + alpha) / (300 + 5 * alpha), rtol=1e-14)
    assert m.n_dims == 7 and m.n_states == 5
    lp = m.log_prob(X)
    assert lp.dtype == np.float64 and lp.shape == (300,)
    np.testing.assert_array_equal(lp, slow.factorized_log_prob(X, m.log_probs))
    assert m.score(X) == pytest.approx(lp.mean())


def test_factorized_sample_weight_equals_repeated_rows():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 3, size=(50, 4))
    reps = rng.integers(0, 4, size=50)
    m_w = fd.Factorized.fit(X, 3, alpha=0.7, sample_weight=reps)
    m_r = fd.Factorized.fit(np.repeat(X, reps, axis=0), 3, alpha=0.7)
    np.testing.assert_allclose(m_w.probs, m_r.probs, rtol=1e-13)


def test_factorized_alpha_zero_minus_inf_never_nan():
    X = np.array([[0, 1], [0, 1], [1, 1]])
    m = fd.Factorized.fit(X, n_states=3, alpha=0.0)
    lp = m.log_prob(np.array([[0, 1], [2, 1], [0, 0]]))
    assert lp[0] == pytest.approx(np.log(2 / 3))
    assert np.isneginf(lp[1]) and np.isneginf(lp[2])
    h = m.entropy()
    assert np.isfinite(h) and h == pytest.approx(-(2 / 3) * np.log(2 / 3) - (1 / 3) * np.log(1 / 3))
    assert not np.any(m.sample(1000, rng=0)[:, 0] == 2)


def test_factorized_logits_and_entropy_by_enumeration():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(3, 4))
    logits[1, 2] = -np.inf
    m = fd.Factorized(logits=logits)
    p = slow.joint_probs(m)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    nz = p > 0
    assert m.entropy() == pytest.approx(-np.sum(p[nz] * np.log(p[nz])), rel=1e-12)
    m2 = fd.Factorized(np.exp(logits))
    np.testing.assert_allclose(m2.log_probs, m.log_probs, rtol=1e-12)


def test_factorized_sampler_g_test_joint_and_marginals():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(3), size=3)
    probs[2, 1] = 0.0
    m = fd.Factorized(probs)
    S = m.sample(60_000, rng=4)
    assert S.dtype == np.uint8 and S.shape == (60_000, 3)
    assert g_test_pvalue(joint_counts(S, 3), slow.joint_probs(m)) > ALPHA
    for j in range(3):
        assert g_test_pvalue(np.bincount(S[:, j], minlength=3), m.probs[j]) > ALPHA
    # the same test rejects a sampler with the columns' tables swapped
    wrong = fd.Factorized(probs[[1, 0, 2]]).sample(60_000, rng=4)
    assert g_test_pvalue(joint_counts(wrong, 3), slow.joint_probs(m)) < ALPHA


def test_factorized_wide_dtype():
    m = fd.Factorized(np.ones((2, 300)))
    S = m.sample(10, rng=0)
    assert S.dtype == np.uint16
    np.testing.assert_allclose(m.log_prob(S), 2 * np.log(1 / 300))


# ---------------------------------------------------------------------------------------
# Mixture
# ---------------------------------------------------------------------------------------
def planted_mixture(seed=0, K=3, d=16, C=2):
    rng = np.random.default_rng(seed)
    comps = np.empty((K, d, C))
    for k in range(K):
        # well-separated components: each one prefers its own states
        a = np.full((d, C), 0.3)
        a[np.arange(d), rng.integers(0, C, size=d)] = 6.0
        comps[k] = a / a.sum(axis=1, keepdims=True)
    weights = np.array([0.5, 0.3, 0.2])[:K]
    return fd.Mixture(weights, comps)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_mixture_em_objective_never_decreases(alpha, weighted):
    true = planted_mixture(1)
    X = true.sample(2000, rng=2)
    w = np.random.default_rng(3).random(2000) if weighted else None
    m = fd.Mixture.fit(X, n_components=4, n_states=2, rng=0, max_iter=60, tol=0.0, alpha=alpha, sample_weight=w)
    obj = np.array(m.objective_history_)
    assert m.n_iter_ == len(obj) and (len(obj) == 60 or m.converged_)   # tol=0: stops at a fixed point
    assert len(obj) > 20
    assert np.all(np.diff(obj) >= -1e-12 * np.abs(obj[1:])), np.diff(obj).min()
    assert obj[-1] > obj[0]
    # the recorded last entry is the objective of the returned parameters
    lp = m.log_prob(X)
    ww = np.ones(2000) if w is None else w
    prior = alpha * m.log_components.sum() if alpha > 0 else 0.0
    assert obj[-1] == pytest.approx((np.sum(ww * lp) + prior) / ww.sum(), rel=1e-10)
    assert m.log_likelihood_history_[-1] == pytest.approx(np.sum(ww * lp) / ww.sum(), rel=1e-10)
    if alpha == 0:
        np.testing.assert_allclose(m.log_likelihood_history_, obj)


def test_mixture_recovers_planted_components():
    true = planted_mixture(5)
    X = true.sample(6000, rng=6)
    m = fd.Mixture.fit(X, n_components=3, n_states=2, rng=1, n_init=3, alpha=0.1)
    assert m.converged_
    best = min(itertools.permutations(range(3)),
               key=lambda p: np.abs(m.components[list(p)] - true.components).max())
    assert np.abs(m.components[list(best)] - true.components).max() < 0.08
    np.testing.assert_allclose(m.weights[list(best)], true.weights, atol=0.03)
    # and the fitted model is about as good as the truth on held-out data
    Y = true.sample(6000, rng=7)
    assert m.score(Y) > true.score(Y) - 0.02


def test_mixture_log_prob_predict_proba_and_normalisation():
    rng = np.random.default_rng(8)
    m = fd.Mixture(rng.random(3), rng.random((3, 4, 3)))
    Xall = slow.all_states(4, 3)
    assert np.exp(m.log_prob(Xall)).sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(m.log_prob(Xall), slow.mixture_log_prob(Xall, m.log_weights,
                                                                       m.log_components), rtol=1e-12)
    r = m.predict_proba(Xall)
    np.testing.assert_allclose(r, slow.mixture_responsibilities(Xall, m.log_weights, m.log_components)[0],
                               rtol=1e-10)
    with pytest.raises(NotImplementedError, match="entropy_estimate"):
        m.entropy()
    est = m.entropy_estimate(20_000, rng=0)
    p = np.exp(m.log_prob(Xall))
    exact = -np.sum(p * np.log(p))
    assert abs(est - exact) < 4 * est.stderr


def test_mixture_sampler_g_test():
    rng = np.random.default_rng(9)
    m = fd.Mixture([0.6, 0.4], rng.dirichlet(np.ones(3) * 0.7, size=(2, 3)))
    S = m.sample(60_000, rng=10)
    assert g_test_pvalue(joint_counts(S, 3), slow.joint_probs(m)) > ALPHA


# ---------------------------------------------------------------------------------------
# Chow-Liu
# ---------------------------------------------------------------------------------------
def _undirected(parent):
    return {frozenset((int(p), j)) for j, p in enumerate(parent) if p >= 0}


@pytest.mark.parametrize("seed", [0, 1])
def test_chow_liu_recovers_planted_tree(seed):
    true = random_tree_model(8, 3, seed)
    X = true.sample(20_000, rng=seed + 100)
    m = fd.ChowLiuTree.fit(X, n_states=3, alpha=0.0)
    assert _undirected(m.parent) == _undirected(true.parent)
    f = fd.Factorized.fit(X, n_states=3, alpha=0.0)
    assert m.score(X) > f.score(X)
    # exact identity of the ML tree: mean loglik = sum_j H_hat(x_j) ... = -sum H + sum MI(edges)
    mi_edges = sum(m.mutual_info_[p, j] for j, p in enumerate(m.parent) if p >= 0)
    assert m.score(X) == pytest.approx(f.score(X) + mi_edges, rel=1e-10)


def test_chow_liu_train_loglik_never_below_factorized():
    rng = np.random.default_rng(11)
    for trial in range(5):
        X = rng.integers(0, 3, size=(200, 6))
        X[:, 2] = np.where(rng.random(200) < 0.5, X[:, 1], X[:, 2])
        w = rng.random(200) if trial % 2 else None
        m = fd.ChowLiuTree.fit(X, n_states=3, alpha=0.0, sample_weight=w)
        f = fd.Factorized.fit(X, n_states=3, alpha=0.0, sample_weight=w)
        ww = np.ones(200) if w is None else w
        assert np.sum(ww * m.log_prob(X)) >= np.sum(ww * f.log_prob(X)) - 1e-9


def test_chow_liu_exact_log_prob_entropy_marginals():
    m = random_tree_model(5, 3, 12)
    Xall = slow.all_states(5, 3)
    lp = m.log_prob(Xall)
    np.testing.assert_allclose(lp, slow.tree_log_prob(Xall, m.log_cond[m.root, 0], m.log_cond,
                                                      m.parent, m.root), rtol=1e-13)
    p = np.exp(lp)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert m.entropy() == pytest.approx(-np.sum(p * np.log(p)), rel=1e-12)
    marg = np.stack([np.bincount(Xall[:, j], weights=p, minlength=3) for j in range(5)])
    np.testing.assert_allclose(m.marginals(), marg, atol=1e-13)


def test_chow_liu_sampler_g_test_and_wrong_conditional_fails():
    m = random_tree_model(4, 3, 13, strength=1.0)
    S = m.sample(80_000, rng=14)
    assert S.dtype == np.uint8
    assert g_test_pvalue(joint_counts(S, 3), slow.joint_probs(m)) > ALPHA
    # a sampler that used the wrong parent state (off by one) is detected
    probs = np.exp(m.log_cond)
    child = int(m.order[1])
    probs[child] = np.roll(probs[child], 1, axis=0)
    bad = fd.ChowLiuTree(m.parent, probs).sample(80_000, rng=14)
    assert g_test_pvalue(joint_counts(bad, 3), slow.joint_probs(m)) < ALPHA


def test_chow_liu_alpha_zero_unseen_parent_state_and_sample_weight():
    X = np.array([[0, 0], [0, 0], [1, 1], [1, 1]] * 5)
    m = fd.ChowLiuTree.fit(X, n_states=3, alpha=0.0)
    assert not np.isnan(m.log_cond).any()
    lp = m.log_prob(np.array([[0, 0], [2, 2], [0, 1]]))
    assert lp[0] == pytest.approx(np.log(0.5)) and np.isneginf(lp[1]) and np.isneginf(lp[2])
    assert np.isfinite(m.entropy()) and m.entropy() == pytest.approx(np.log(2))
    w = np.arange(20, dtype=float) + 1
    mw = fd.ChowLiuTree.fit(X, 3, alpha=1.0, sample_weight=w)
    mr = fd.ChowLiuTree.fit(np.repeat(X, w.astype(int), axis=0), 3, alpha=1.0)
    np.testing.assert_allclose(mw.log_cond, mr.log_cond, rtol=1e-12)


def test_chow_liu_single_column_and_constructor_checks():
    m = fd.ChowLiuTree.fit(np.array([[0], [1], [1]]), alpha=0.0)
    np.testing.assert_allclose(np.exp(m.log_prob(np.array([[0], [1]]))), [1 / 3, 2 / 3])
    with pytest.raises(ValueError, match="exactly one root"):
        fd.ChowLiuTree([-1, -1], np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="cycle"):
        fd.ChowLiuTree([-1, 2, 1], np.ones((3, 2, 2)))
    with pytest.raises(ValueError, match=r"parent\[1\] = 1"):
        fd.ChowLiuTree([-1, 1], np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="shape"):
        fd.ChowLiuTree([-1, 0], np.ones((2, 2, 3)))


def test_max_spanning_tree_deterministic_ties():
    from fastdgm.models import max_spanning_tree

    W = np.ones((4, 4))
    np.testing.assert_array_equal(max_spanning_tree(W), [-1, 0, 0, 0])
    W = np.array([[0, 1, 5, 1], [1, 0, 2, 9], [5, 2, 0, 3], [1, 9, 3, 0]], float)
    np.testing.assert_array_equal(max_spanning_tree(W), [-1, 3, 0, 2])


# ---------------------------------------------------------------------------------------
# MLE == KL minimisation
# ---------------------------------------------------------------------------------------
def test_mle_minimises_kl_rate():
    """Exact KL(true || fitted) -> 0 like d (C - 1) / (2 n) (the chi-square / 2n law)."""
    rng = np.random.default_rng(15)
    d, C = 6, 4
    true = fd.Factorized(rng.dirichlet(np.full(C, 8.0), size=d))
    means = []
    for n in (300, 3000, 30000):
        kls = [fd.kl_divergence(true, fd.Factorized.fit(true.sample(n, rng=1000 * n + r), C, alpha=0.0))
               for r in range(40)]
        means.append(np.mean(kls))
        ratio = np.mean(kls) / (d * (C - 1) / (2 * n))
        assert 0.75 < ratio < 1.35, (n, ratio)
    assert means[0] > means[1] > means[2]


# ---------------------------------------------------------------------------------------
# reproducibility: threads, save/load
# ---------------------------------------------------------------------------------------
def test_thread_invariance_bit_identical():
    true = planted_mixture(16, d=12)
    X = true.sample(40_000, rng=17)          # ~10 chunks of rows: the parallel kernels run
    res = {}
    for nt in (1, 2):
        with fd.threads(nt):
            f = fd.Factorized.fit(X, 2)
            mx = fd.Mixture.fit(X, n_components=3, n_states=2, rng=3, max_iter=5)
            t = fd.ChowLiuTree.fit(X, 2)
            res[nt] = (f.log_prob(X).sum(), f.sample(30_000, rng=1), mx.log_components, mx.log_prob(X),
                       mx.objective_history_, mx.sample(30_000, rng=2), mx.predict_proba(X),
                       t.log_cond, t.parent, t.log_prob(X), t.sample(30_000, rng=4), t.mutual_info_)
    for a, b in zip(res[1], res[2]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["factorized", "mixture", "chowliu"])
def test_save_load_roundtrip(tmp_path, kind):
    X = np.random.default_rng(18).integers(0, 3, size=(100, 4))
    m = {"factorized": lambda: fd.Factorized.fit(X, 3),
         "mixture": lambda: fd.Mixture.fit(X, n_components=2, n_states=3, rng=0, max_iter=5),
         "chowliu": lambda: fd.ChowLiuTree.fit(X, 3)}[kind]()
    m.save(tmp_path / "m.npz")
    m2 = fd.load(tmp_path / "m.npz")
    assert type(m2) is type(m)
    np.testing.assert_array_equal(m2.log_prob(X), m.log_prob(X))
    np.testing.assert_array_equal(m2.sample(50, rng=1), m.sample(50, rng=1))


# ---------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ["Factorized", "Mixture", "ChowLiuTree"])
def test_bad_data_errors(cls):
    rng = np.random.default_rng(19)
    X = rng.integers(0, 3, size=(20, 4))
    model = {"Factorized": lambda: fd.Factorized.fit(X, 3),
             "Mixture": lambda: fd.Mixture.fit(X, n_components=2, n_states=3, rng=0, max_iter=3),
             "ChowLiuTree": lambda: fd.ChowLiuTree.fit(X, 3)}[cls]()
    fit = {"Factorized": lambda Y, **kw: fd.Factorized.fit(Y, 3, **kw),
           "Mixture": lambda Y, **kw: fd.Mixture.fit(Y, n_components=2, n_states=3, rng=0, **kw),
           "ChowLiuTree": lambda Y, **kw: fd.ChowLiuTree.fit(Y, 3, **kw)}[cls]
    bad = X.copy()
    bad[5, 2] = 3
    for f in (model.log_prob, fit):
        with pytest.raises(ValueError, match=r"X\[5, 2\] = 3"):
            f(bad)
    big = np.zeros((5000, 4), dtype=np.uint8)              # compact fast path (parallel scan)
    big[4321, 1] = 7
    with pytest.raises(ValueError, match=r"X\[4321, 1\] = 7"):
        model.log_prob(big)
    neg = X.copy()
    neg[1, 3] = -1
    with pytest.raises(ValueError, match=r"X\[1, 3\] = -1"):
        model.log_prob(neg)
    with pytest.raises(ValueError, match="4 columns"):
        model.log_prob(X[:, :3])
    with pytest.raises(TypeError, match="integer dtype"):
        model.log_prob(X.astype(float))
    with pytest.raises(ValueError, match="empty"):
        model.log_prob(np.zeros((0, 4), dtype=int))
    with pytest.raises(ValueError, match="empty"):
        fit(np.zeros((0, 4), dtype=int))
    w = np.ones(20)
    w[7] = np.nan
    with pytest.raises(ValueError, match=r"sample_weight\[7\] = nan"):
        fit(X, sample_weight=w)
    w[7] = -1
    with pytest.raises(ValueError, match=r"sample_weight\[7\] = -1"):
        fit(X, sample_weight=w)
    with pytest.raises(ValueError, match="one entry per row"):
        fit(X, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="alpha"):
        fit(X, alpha=-1.0)
    with pytest.raises(ValueError, match="size"):
        model.sample(-1)
    with pytest.raises(TypeError, match="size"):
        model.sample(2.5)


def test_bad_parameter_errors():
    with pytest.raises(ValueError, match=r"probs\[1, 0\] = -0.5"):
        fd.Factorized([[0.5, 0.5], [-0.5, 1.0]])
    with pytest.raises(ValueError, match=r"probs\[0, 1\] = nan"):
        fd.Factorized([[0.5, np.nan]])
    with pytest.raises(ValueError, match=r"shape \(d, C\)"):
        fd.Factorized([0.5, 0.5])
    with pytest.raises(ValueError, match="row of zeros"):
        fd.Factorized([[0.0, 0.0]])
    with pytest.raises(TypeError, match="exactly one"):
        fd.Factorized()
    with pytest.raises(ValueError, match=r"logits\[0, 0\]"):
        fd.Factorized(logits=[[np.inf, 0.0]])
    with pytest.raises(ValueError, match="must match"):
        fd.Mixture([0.5, 0.5], np.ones((3, 2, 2)))
    with pytest.raises(ValueError, match=r"weights\[1\] = inf"):
        fd.Mixture([0.5, np.inf], np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match=r"components\[0, 1, 0\] = -1"):
        fd.Mixture([1.0], [[[1.0, 1.0], [-1.0, 2.0]]])
    X = np.zeros((5, 2), dtype=int)
    with pytest.raises(ValueError, match="n_components"):
        fd.Mixture.fit(X, n_components=0)
    with pytest.raises(ValueError, match="tol"):
        fd.Mixture.fit(X, n_components=2, tol=np.nan)


@pytest.mark.parametrize("d, C", [(7, 3), (9, 2), (5, 20)])
def test_mixture_packed_groups_match_reference(d, C):
    from fastdgm.models import _packing

    rng = np.random.default_rng(20)
    comps = rng.dirichlet(np.ones(C), size=(3, d))
    comps[1, 2, 0] = 0.0                                  # a -inf entry inside a group
    m = fd.Mixture([0.2, 0.3, 0.5], comps)
    X = rng.integers(0, C, size=(3000, d))
    g = _packing.pack_width(C, d)
    assert (g > 1) == (C <= 16) and C ** g <= 256
    lp = m.log_prob(X)
    ref = slow.mixture_log_prob(X, m.log_weights, m.log_components)
    np.testing.assert_array_equal(np.isneginf(lp), np.isneginf(ref))
    np.testing.assert_allclose(lp, ref, rtol=1e-12)
    np.testing.assert_allclose(m.predict_proba(X),
                               slow.mixture_responsibilities(X, m.log_weights, m.log_components)[0],
                               rtol=1e-9, atol=1e-14)


def test_mixture_em_packed_equals_unpacked(monkeypatch):
    from fastdgm.models import _packing

    true = planted_mixture(21, d=11)
    X = true.sample(3000, rng=22)
    a = fd.Mixture.fit(X, n_components=3, n_states=2, rng=5, max_iter=30, tol=0.0, alpha=0.5)
    monkeypatch.setattr(_packing, "_PACK_LIMIT", 1)
    assert _packing.pack_width(2, 11) == 1
    b = fd.Mixture.fit(X, n_components=3, n_states=2, rng=5, max_iter=30, tol=0.0, alpha=0.5)
    k = min(len(a.objective_history_), len(b.objective_history_))   # tol=0 stops on rounding noise
    assert k >= 10
    np.testing.assert_allclose(a.objective_history_[:k], b.objective_history_[:k], rtol=1e-10)
    np.testing.assert_allclose(a.log_components, b.log_components, rtol=1e-6, atol=1e-8)


def test_full_range_dtype_skips_the_value_scan_but_keeps_shape_checks():
    m = fd.Factorized(np.ones((3, 256)))
    X = np.random.default_rng(23).integers(0, 256, size=(10, 3)).astype(np.uint8)
    np.testing.assert_allclose(m.log_prob(X), 3 * np.log(1 / 256))
    np.testing.assert_array_equal(m.log_prob(X), m.log_prob(X.astype(np.int64)))
    with pytest.raises(ValueError, match="3 columns"):
        m.log_prob(X[:, :2])
    with pytest.raises(ValueError, match="empty"):
        m.log_prob(X[:0])
    np.testing.assert_array_equal(m.log_prob(np.asfortranarray(X)), m.log_prob(X))
