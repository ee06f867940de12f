"""HiddenChowLiuTree: exact likelihood and marginals against enumeration over the latents,
one EM step against exact posteriors, EM monotonicity, G-tests of sample and fill against
exact probabilities, thread invariance, save/load and bad parameters."""
import itertools

import numba
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.models.hclt import HiddenChowLiuTree
from fastdgm.models._hclt_regularise import softened
from fastdgm.slow import hclt as slow

from gof import ALPHA, g_test_pvalue


def random_model(d, K, C, seed, parent=None):
    rng = np.random.default_rng(seed)
    if parent is None:
        parent = np.array([-1] + [int(rng.integers(0, j)) for j in range(1, d)])
    return HiddenChowLiuTree(parent, rng.dirichlet(np.ones(K)),
                             rng.dirichlet(np.full(K, 0.5), size=(d, K)),
                             rng.dirichlet(np.full(C, 0.5), size=(d, K)))


def all_states(d, C):
    return np.array(list(itertools.product(range(C), repeat=d)), dtype=np.int64)


def state_index(S, C):
    idx = np.zeros(S.shape[0], dtype=np.int64)
    for j in range(S.shape[1]):
        idx = idx * C + S[:, j]
    return idx


SHAPES = [(1, 2, 2), (3, 2, 3), (4, 3, 2), (5, 2, 2), (4, 3, 3)]


@pytest.mark.parametrize("d,K,C", SHAPES)
def test_log_prob_matches_enumeration_and_sums_to_one(d, K, C):
    m = random_model(d, K, C, seed=d * 100 + K * 10 + C)
    X = all_states(d, C)
    lp = m.log_prob(X)
    assert lp.shape == (C ** d,) and lp.dtype == np.float64
    assert np.exp(lp).sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(lp, np.log(slow.joint_zx(m).ravel()), rtol=1e-12, atol=1e-12)
    assert m.n_dims == d and m.n_states == C and m.n_hidden == K


@pytest.mark.parametrize("d,K,C", SHAPES[1:])
def test_marginal_log_prob_with_missing(d, K, C):
    m = random_model(d, K, C, seed=7 + d)
    rng = np.random.default_rng(d)
    X = rng.integers(0, C, size=(40, d))
    miss = rng.random((40, d)) < 0.4
    miss[0] = True                                      # all missing: log 1 = 0
    lp = m.log_prob(X, missing=miss)
    P = slow.joint_zx(m)
    for i in range(40):
        idx = tuple(slice(None) if miss[i, j] else X[i, j] for j in range(d))
        assert lp[i] == pytest.approx(np.log(P[idx].sum()), rel=1e-12, abs=1e-12)
    assert abs(lp[0]) < 1e-12
    np.testing.assert_allclose(lp, slow.log_prob(m, X, miss), rtol=1e-12, atol=1e-13)
    # entries under the mask are ignored
    X2 = np.where(miss, (X + 1) % C, X)
    np.testing.assert_array_equal(m.log_prob(X2, missing=miss), lp)


def test_deep_and_wide_trees_do_not_underflow():
    d, K, C = 400, 3, 2
    rng = np.random.default_rng(0)
    for parent in (np.arange(-1, d - 1), np.r_[-1, np.zeros(d - 1, dtype=np.int64)]):  # chain, star
        m = random_model(d, K, C, seed=1, parent=parent)
        X = rng.integers(0, C, size=(20, d))
        lp = m.log_prob(X)
        assert np.all(np.isfinite(lp)) and np.all(lp < -50)
        # chain rule: log P(x) = log P(x_1..x_{d-1}) + log P(x_d | ...) with a marginal
        miss = np.zeros_like(X, dtype=bool)
        miss[:, -1] = True
        lm = m.log_prob(X, missing=miss)
        other = X.copy()
        other[:, -1] = 1 - X[:, -1]
        np.testing.assert_allclose(np.logaddexp(lp, m.log_prob(other)), lm, rtol=1e-12)


@pytest.mark.parametrize("d,K,C,seed", [(3, 2, 2, 0), (4, 3, 2, 1), (3, 3, 3, 2)])
def test_sample_g_test(d, K, C, seed):
    m = random_model(d, K, C, seed=seed)
    S = m.sample(40_000, rng=seed)
    assert S.shape == (40_000, d) and S.dtype == np.uint8
    counts = np.bincount(state_index(S.astype(np.int64), C), minlength=C ** d)
    p = g_test_pvalue(counts, slow.joint_zx(m).ravel())
    assert p > ALPHA, p


@pytest.mark.parametrize("d,K,C,seed", [(4, 2, 2, 3), (4, 3, 3, 4)])
def test_fill_g_test_against_exact_conditional(d, K, C, seed):
    m = random_model(d, K, C, seed=seed)
    rng = np.random.default_rng(seed)
    x_obs = rng.integers(0, C, size=d)
    miss_cols = np.array([0, 2])
    miss = np.zeros((30_000, d), dtype=bool)
    miss[:, miss_cols] = True
    X = np.tile(x_obs, (30_000, 1))
    F = m.fill(X, missing=miss, rng=seed)
    obs = np.setdiff1d(np.arange(d), miss_cols)
    np.testing.assert_array_equal(F[:, obs], X[:, obs])           # observed kept
    P = slow.joint_zx(m)
    idx = tuple(slice(None) if j in miss_cols else x_obs[j] for j in range(d))
    cond = P[idx].ravel()
    counts = np.bincount(state_index(F[:, miss_cols].astype(np.int64), C), minlength=C ** 2)
    p = g_test_pvalue(counts, cond / cond.sum())
    assert p > ALPHA, p


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_one_em_step_matches_exact_posteriors(alpha):
    for d, K, C in [(3, 2, 2), (4, 3, 3)]:
        m = random_model(d, K, C, seed=11 + d)
        rng = np.random.default_rng(5)
        X = rng.integers(0, C, size=(60, d))
        w = rng.random(60)
        new, ll = m.em_step(X, alpha=alpha, sample_weight=w)
        r, T, E, ll_ref = slow.em_step(m, X, alpha, w)
        assert ll == pytest.approx(ll_ref, rel=1e-12)
        np.testing.assert_allclose(new.root_probs, r, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(new.trans_probs, T, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(new.emit_probs, E, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("init", ["random", "mixture"])
def test_fit_objective_never_decreases_and_dedupe_is_the_same_estimator(init):
    truth = random_model(6, 3, 2, seed=3)
    X = truth.sample(3000, rng=1)
    for alpha in (0.0, 0.5):
        m = HiddenChowLiuTree.fit(X, n_hidden=3, alpha=alpha, rng=0, max_iter=25, tol=0, init=init)
        obj = np.array(m.objective_history_)
        assert obj.shape == (25,) and m.n_iter_ == 25 and not m.converged_
        assert np.all(np.diff(obj) >= -1e-12 * np.abs(obj[:-1])), np.diff(obj).min()
        if init == "random":   # the mixture start draws its responsibilities per (distinct) row
            m2 = HiddenChowLiuTree.fit(X, n_hidden=3, alpha=alpha, rng=0, max_iter=25, tol=0, dedupe=False,
                                       init=init)
            np.testing.assert_allclose(m2.objective_history_, obj, rtol=1e-9)
            np.testing.assert_allclose(m2.emit_probs, m.emit_probs, rtol=1e-6, atol=1e-9)
    # parent is the Chow-Liu tree of X; tol stops early
    assert np.array_equal(m.parent, fd.ChowLiuTree.fit(X).parent)
    m3 = HiddenChowLiuTree.fit(X, n_hidden=3, rng=0, max_iter=500, tol=1e-3, init=init)
    assert m3.converged_ and m3.n_iter_ < 500
    o = m3.objective_history_
    assert o[-1] - o[-2] < 1e-3 * abs(o[-2])


def test_mixture_start_is_the_mixture_when_latents_copy_their_parent(monkeypatch):
    """With INIT_STAY = 1 the starting HCLT is exactly the fitted mixture (all latents equal)."""
    from fastdgm._rng import make_key
    from fastdgm.models import em, hclt

    X = random_model(7, 3, 3, seed=5).sample(2000, rng=2)
    w = np.random.default_rng(0).random(2000)
    monkeypatch.setattr(hclt, "INIT_STAY", 1.0)
    K, key = 4, make_key(8)
    data = em.InMemory(X, 3, w)
    hyper = {"n_hidden": K, "init": "mixture", "init_noise": 0.0}
    setup = HiddenChowLiuTree._em_setup(data, alpha=0.3, **hyper)
    start = HiddenChowLiuTree._em_start(data, key, 0, 0.3, setup, **hyper)
    mix = fd.Mixture.fit(X, n_components=K, n_states=3, rng=int(key), alpha=0.3, sample_weight=w)
    np.testing.assert_allclose(start.log_prob(X), mix.log_prob(X), rtol=1e-12)
    # and the default start is close to it, EM then improves on the mixture's fit
    monkeypatch.undo()
    m = HiddenChowLiuTree.fit(X, n_hidden=K, alpha=0.3, rng=int(key), sample_weight=w, max_iter=60)
    assert np.average(m.log_prob(X), weights=w) > np.average(mix.log_prob(X), weights=w)


def test_init_must_be_known():
    with pytest.raises(ValueError, match="init"):
        HiddenChowLiuTree.fit(np.zeros((5, 3), dtype=int), n_hidden=2, init="kmeans")


def test_fit_beats_chow_liu_on_latent_data():
    d, K, C = 10, 3, 3                      # a chain of sticky latents seen through noise
    trans = np.full((d, K, K), 0.05) + 0.85 * np.eye(K)
    emit = np.full((d, K, C), 0.15) + 0.55 * np.eye(K, C)
    truth = HiddenChowLiuTree(np.arange(-1, d - 1), np.ones(K) / K, trans, emit)
    X = truth.sample(5000, rng=2)
    Xt = truth.sample(5000, rng=3)
    m = HiddenChowLiuTree.fit(X, n_hidden=3, alpha=0.1, rng=0, max_iter=100)
    clt = fd.ChowLiuTree.fit(X, alpha=0.1)
    assert m.score(Xt) > clt.score(Xt) + 0.05
    assert m.score(Xt) > truth.score(Xt) - 0.05


def test_sample_weight_equals_repeated_rows():
    X = random_model(5, 2, 2, seed=2).sample(300, rng=0)
    reps = np.random.default_rng(0).integers(0, 3, size=300)
    # init="random": the start depends on the marginals only (the mixture start draws random
    # responsibilities per distinct row, so its seeded start depends on how rows are laid out)
    a = HiddenChowLiuTree.fit(X, n_hidden=2, sample_weight=reps, rng=4, max_iter=5, tol=0, init="random")
    b = HiddenChowLiuTree.fit(np.repeat(X, reps, axis=0), n_hidden=2, rng=4, max_iter=5, tol=0, init="random")
    if np.array_equal(a.parent, b.parent):
        np.testing.assert_allclose(a.emit_probs, b.emit_probs, rtol=1e-9)


def test_threads_bit_identical():
    X = random_model(12, 3, 2, seed=9).sample(20_000, rng=0)
    res = []
    for n in (1, 2):
        with fd.threads(n):
            m = HiddenChowLiuTree.fit(X, n_hidden=4, rng=1, max_iter=4, tol=0, dedupe=False)
            lp = m.log_prob(X)
            miss = np.zeros(X.shape, dtype=bool)
            miss[::3, 2] = True
            res.append((m.emit_probs, m.trans_probs, m.objective_history_, lp, m.sample(30_000, rng=5),
                        m.fill(X, missing=miss, rng=6), m.log_prob(X, missing=miss)))
    for a, b in zip(*res):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # same seed, same draws; one call equals two halves where the rows are independent
    assert numba.get_num_threads() >= 1


def test_same_seed_same_fit_different_seed_differs():
    X = random_model(5, 2, 2, seed=4).sample(500, rng=0)
    a = HiddenChowLiuTree.fit(X, n_hidden=3, rng=3, max_iter=3)
    b = HiddenChowLiuTree.fit(X, n_hidden=3, rng=3, max_iter=3)
    c = HiddenChowLiuTree.fit(X, n_hidden=3, rng=4, max_iter=3)
    np.testing.assert_array_equal(a.emit_probs, b.emit_probs)
    assert not np.array_equal(a.emit_probs, c.emit_probs)


def test_save_load_round_trip(tmp_path):
    m = random_model(5, 3, 3, seed=1)
    p = tmp_path / "h.npz"
    m.save(p)
    m2 = fd.load(p)
    assert isinstance(m2, HiddenChowLiuTree)
    X = all_states(5, 3)[::7]
    np.testing.assert_array_equal(m2.log_prob(X), m.log_prob(X))
    np.testing.assert_array_equal(m2.sample(100, rng=0), m.sample(100, rng=0))


def test_entropy_not_implemented_and_estimate():
    m = random_model(4, 2, 2, seed=0)
    with pytest.raises(NotImplementedError, match="entropy_estimate"):
        m.entropy()
    P = slow.joint_zx(m).ravel()
    h = -(P * np.log(P)).sum()
    est = m.entropy_estimate(200_000, rng=0)
    assert abs(est.value - h) < 5 * est.stderr + 1e-9


def test_bad_parameters_raise(tmp_path):
    rng = np.random.default_rng(0)
    d, K, C = 3, 2, 2
    parent = np.array([-1, 0, 1])
    rp = rng.dirichlet(np.ones(K))
    tp = rng.dirichlet(np.ones(K), size=(d, K))
    ep = rng.dirichlet(np.ones(C), size=(d, K))
    HiddenChowLiuTree(parent, rp, tp, ep)
    bad = [
        (np.array([-1, 2, 1]), rp, tp, ep, "cycle"),
        (np.array([-1, -1, 1]), rp, tp, ep, "root"),
        (np.array([-1, 0, 5]), rp, tp, ep, "parent"),
        (parent, rp * 2, tp, ep, "root_probs"),
        (parent, np.r_[rp, 0.0], tp, ep, "emit_probs"),
        (parent, rp, tp[:, :, :1], ep, "trans_probs"),
        (parent, rp, tp[:2], ep, "trans_probs"),
        (parent, rp, np.where(tp > 0.5, np.nan, tp), ep, "finite"),
        (parent, rp, tp, -ep, "non-negative"),
        (parent, rp, tp, ep * 1.001, "normalised"),
        (parent, rp, tp, ep[:, :, None], "emit_probs"),
    ]
    for args in bad:
        with pytest.raises(ValueError, match=args[-1]):
            HiddenChowLiuTree(*args[:-1])
    # a crafted model file goes through the same checks
    m = HiddenChowLiuTree(parent, rp, tp, ep)
    params = m.get_params()
    params["emit_probs"] = ep * 3
    np.savez(tmp_path / "bad.npz", __model__=np.asarray("HiddenChowLiuTree"), **params)
    with pytest.raises(ValueError, match="emit_probs"):
        fd.load(tmp_path / "bad.npz")
    # data and argument checks
    with pytest.raises(ValueError, match="X"):
        m.log_prob(np.array([[0, 1, 2]]))
    with pytest.raises(ValueError, match="missing"):
        m.log_prob(np.zeros((2, 3), dtype=int), missing=np.zeros((2, 2), dtype=bool))
    with pytest.raises(TypeError, match="missing"):
        m.fill(np.zeros((2, 3), dtype=int), missing=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="n_hidden"):
        HiddenChowLiuTree.fit(np.zeros((5, 3), dtype=int), n_hidden=0)
    with pytest.raises(ValueError, match="tol"):
        HiddenChowLiuTree.fit(np.zeros((5, 3), dtype=int), n_hidden=2, tol=-1)


def test_fill_impossible_row_raises():
    d, K, _C = 2, 1, 2
    m = HiddenChowLiuTree([-1, 0], [1.0], np.ones((d, K, K)), [[[1.0, 0.0]], [[0.5, 0.5]]])
    with pytest.raises(ValueError, match="probability zero"):
        m.fill(np.array([[1, 0]]), missing=np.array([[False, True]]), rng=0)
    assert np.isneginf(m.log_prob(np.array([[1, 0]])))[0]


def test_numpy_baseline_matches_kernel():
    m = random_model(30, 4, 3, seed=12)
    X = m.sample(500, rng=0)
    np.testing.assert_allclose(slow.log_prob_numpy(m, X), m.log_prob(X), rtol=1e-12)


def _soft_enumeration(m, X, s, alpha):
    """One EM step on the data softened by s, by enumeration over every latent z and every
    true state x' of each row: (root, trans, emit, mean softened log-likelihood)."""
    d, K, C = m.n_dims, m.n_hidden, m.n_states
    S = np.full((C, C), s / (C - 1))
    np.fill_diagonal(S, 1 - s)
    P, E, ll = np.zeros((d, K, K)), np.zeros((d, K, C)), 0.0
    for x in X:
        weights = {}
        for z in itertools.product(range(K), repeat=d):
            for xt in itertools.product(range(C), repeat=d):
                p = m.root_probs[z[m.root]]
                for j in range(d):
                    if j != m.root:
                        p *= m.trans_probs[j, z[m.parent[j]], z[j]]
                    p *= m.emit_probs[j, z[j], xt[j]] * S[x[j], xt[j]]
                weights[z, xt] = p
        tot = sum(weights.values())
        ll += np.log(tot)
        for (z, xt), p in weights.items():
            for j in range(d):
                E[j, z[j], xt[j]] += p / tot
                if j != m.root:
                    P[j, z[m.parent[j]], z[j]] += p / tot
    root = E[m.root].sum(axis=1) + alpha
    T = (P + alpha) / (P + alpha).sum(axis=2, keepdims=True)
    T[m.root] = 1.0 / K
    return root / root.sum(), T, (E + alpha) / (E + alpha).sum(axis=2, keepdims=True), ll / len(X)


@pytest.mark.parametrize("d,K,C,s", [(3, 2, 2, 0.1), (2, 3, 3, 0.05), (3, 2, 3, 0.3)])
def test_data_softening_matches_enumeration(d, K, C, s):
    m = random_model(d, K, C, seed=d + K + C)
    X = np.random.default_rng(1).integers(0, C, size=(25, d))
    # the softened model's likelihood of x is the model's likelihood of the soft evidence x
    S = np.full((C, C), s / (C - 1))
    np.fill_diagonal(S, 1 - s)
    joint = slow.joint_zx(m)
    ref = [np.log(sum(joint[xt] * np.prod([S[x[j], xt[j]] for j in range(d)])
                      for xt in itertools.product(range(C), repeat=d))) for x in X]
    np.testing.assert_allclose(softened(m, s).log_prob(X), ref, rtol=1e-12)
    # one EM step on the softened data
    m._soften = s
    new, ll = m.em_step(X, alpha=0.2)
    root, T, E, ll_ref = _soft_enumeration(m, X, s, 0.2)
    assert ll == pytest.approx(ll_ref, rel=1e-12)
    np.testing.assert_allclose(new.root_probs, root, rtol=1e-10)
    np.testing.assert_allclose(new.trans_probs, T, rtol=1e-10)
    np.testing.assert_allclose(new.emit_probs, E, rtol=1e-10)


def test_data_softening_fit_is_monotone_and_checked():
    truth = random_model(6, 3, 2, seed=3)
    X = truth.sample(2000, rng=1)
    hard = HiddenChowLiuTree.fit(X, n_hidden=3, alpha=0.1, rng=0, max_iter=25, tol=0.0)
    for s in (1e-3, 0.05):
        m = HiddenChowLiuTree.fit(X, n_hidden=3, alpha=0.1, rng=0, max_iter=25, tol=0.0, soften=s)
        obj = np.asarray(m.objective_history_)
        assert np.all(np.diff(obj) >= -1e-12 * np.abs(obj[:-1])), np.diff(obj).min()
        # the histories are those of the softened data, under the returned model
        assert m.log_likelihood_history_[-1] == pytest.approx(softened(m, s).score(X), rel=1e-10)
        assert m.log_likelihood_history_[-1] != pytest.approx(m.score(X), rel=1e-10)
        assert not np.allclose(m.emit_probs, hard.emit_probs)
    for bad in (-0.1, 0.5, 1.0):
        with pytest.raises(ValueError, match="soften"):
            HiddenChowLiuTree.fit(X, n_hidden=2, soften=bad)
