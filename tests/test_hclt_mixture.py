"""HCLTMixture: the k best spanning trees against brute force, exact likelihood and marginals
against enumeration over (component, latents), one EM step against exact posteriors, EM
monotonicity, n_trees=1 against HiddenChowLiuTree, G-tests of sample and fill, thread
invariance, save/load and bad parameters."""
import itertools
import math

import numpy as np
import pytest

import fastdgm as fd
from fastdgm._rng import make_key
from fastdgm.models._pair_stats import max_spanning_tree
from fastdgm.models._top_trees import top_spanning_trees, tree_edges
from fastdgm.models.hclt_mixture import HCLTMixture

from gof import ALPHA, g_test_pvalue


# --- the k best spanning trees ------------------------------------------------------------------
def all_spanning_trees(W):
    """Every spanning tree of the complete graph on d vertices: (exact weight, sorted edges)."""
    d = W.shape[0]
    edges = [(a, b) for a in range(d) for b in range(a + 1, d)]
    out = []
    for comb in itertools.combinations(edges, d - 1):
        root = list(range(d))

        def find(x):
            while root[x] != x:
                x = root[x]
            return x
        ok = True
        for a, b in comb:
            ra, rb = find(a), find(b)
            if ra == rb:
                ok = False
                break
            root[ra] = rb
        if ok:
            out.append((math.fsum(W[a, b] for a, b in comb), comb))
    return sorted(out, key=lambda t: -t[0])


@pytest.mark.parametrize("d", [2, 3, 4, 5, 6])
def test_top_trees_are_the_k_best_by_brute_force(d):
    rng = np.random.default_rng(d)
    for rep in range(8):
        A = rng.random((d, d))
        W = A + A.T
        brute = all_spanning_trees(W)
        assert len(brute) == d ** (d - 2)                     # Cayley: 16 for d = 4, 125 for d = 5
        for k in (1, 2, 4, 8, 40, 2000):
            parents, weights = top_spanning_trees(W, k)
            n = min(k, len(brute))
            assert len(parents) == n
            assert weights == [w for w, _ in brute[:n]]       # exactly the k best weights
            found = [tuple(tree_edges(p)) for p in parents]
            assert len(set(found)) == n
            assert set(found) <= {c for _, c in brute}
            for p, w in zip(parents, weights):
                assert p[0] == -1 and (p >= 0).sum() == d - 1
                assert w == math.fsum(W[a, b] for a, b in tree_edges(p))
        np.testing.assert_array_equal(top_spanning_trees(W, 3)[0][0], max_spanning_tree(W, root=0))


def test_top_trees_with_ties_are_distinct_and_in_order():
    W = np.ones((5, 5))                                     # every one of the 125 trees weighs 4
    parents, weights = top_spanning_trees(W, 125)
    assert len({tuple(tree_edges(p)) for p in parents}) == 125 and weights == [4.0] * 125
    with pytest.raises(ValueError, match="weights"):
        top_spanning_trees(np.array([[0.0, np.nan], [np.nan, 0.0]]), 2)


# --- tiny models and their enumeration -----------------------------------------------------------
def random_model(M, d, K, C, seed):
    rng = np.random.default_rng(seed)
    parents = np.stack([[-1] + [int(rng.integers(0, j)) for j in range(1, d)] for _ in range(M)])
    return HCLTMixture(rng.dirichlet(np.ones(M)), parents, rng.dirichlet(np.ones(K), size=M),
                       rng.dirichlet(np.full(K, 0.5), size=(M, d, K)), rng.dirichlet(np.full(C, 0.5), size=(M, d, K)))


def all_states(d, C):
    return np.array(list(itertools.product(range(C), repeat=d)), dtype=np.int64)


def joint(model):
    """P(m, z, x) as an array (M, K^d, C^d) by brute force over every latent z and state x."""
    M, d, K, C = model.n_trees, model.n_dims, model.n_hidden, model.n_states
    Z, Xs = all_states(d, K), all_states(d, C)
    P = np.empty((M, Z.shape[0], Xs.shape[0]))
    for m in range(M):
        par = model.parents[m]
        root = int(np.flatnonzero(par < 0)[0])
        for a, z in enumerate(Z):
            pz = model.weights[m] * model.root_probs[m, z[root]]
            for j in range(d):
                if par[j] >= 0:
                    pz *= model.trans_probs[m, j, z[par[j]], z[j]]
            for b, x in enumerate(Xs):
                P[m, a, b] = pz * np.prod([model.emit_probs[m, j, z[j], x[j]] for j in range(d)])
    return P


def slow_em_step(model, X, alpha, w):
    """The MAP-EM step by enumeration: expected counts of (m), (m, z_pa, z_j), (m, z_j, x_j)."""
    M, d, K, C = model.n_trees, model.n_dims, model.n_hidden, model.n_states
    P = joint(model)
    Z = all_states(d, K)
    codes = np.ravel_multi_index(X.T, (C,) * d)
    post = P[:, :, codes] / P[:, :, codes].sum(axis=(0, 1))          # (M, K^d, n)
    nm = post.sum(axis=1) @ w
    pair = np.zeros((M, d, K, K))
    emit = np.zeros((M, d, K, C))
    for m in range(M):
        par = model.parents[m]
        for a, z in enumerate(Z):
            pw = post[m, a] * w
            for j in range(d):
                if par[j] >= 0:
                    pair[m, j, z[par[j]], z[j]] += pw.sum()
                np.add.at(emit[m, j, z[j]], X[:, j], pw)
    roots = [int(np.flatnonzero(model.parents[m] < 0)[0]) for m in range(M)]
    root_probs = np.stack([emit[m, roots[m]].sum(axis=1) for m in range(M)]) + alpha
    trans = pair + alpha
    for m in range(M):
        trans[m, roots[m]] = 1.0
    ll = float(w @ np.log(P[:, :, codes].sum(axis=(0, 1)))) / w.sum()
    norm = lambda a: a / a.sum(axis=-1, keepdims=True)                # noqa: E731
    return norm(nm + alpha), norm(root_probs), norm(trans), norm(emit + alpha), ll


SHAPES = [(1, 3, 2, 2), (2, 3, 2, 3), (2, 4, 3, 2), (3, 3, 3, 2), (3, 4, 2, 3)]


@pytest.mark.parametrize("M,d,K,C", SHAPES)
def test_log_prob_matches_enumeration_and_sums_to_one(M, d, K, C):
    m = random_model(M, d, K, C, seed=M * 1000 + d * 100 + K * 10 + C)
    lp = m.log_prob(all_states(d, C))
    assert lp.shape == (C ** d,) and lp.dtype == np.float64
    assert np.exp(lp).sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(lp, np.log(joint(m).sum(axis=(0, 1))), rtol=1e-12, atol=1e-12)
    assert (m.n_trees, m.n_dims, m.n_hidden, m.n_states) == (M, d, K, C)


@pytest.mark.parametrize("M,d,K,C", SHAPES[1:])
def test_marginal_and_posterior_with_missing(M, d, K, C):
    m = random_model(M, d, K, C, seed=7 + d + M)
    rng = np.random.default_rng(d)
    X = rng.integers(0, C, size=(30, d))
    miss = rng.random((30, d)) < 0.4
    miss[0] = True
    lp = m.log_prob(X, missing=miss)
    post = m.predict_proba(X, missing=miss)
    P = joint(m).sum(axis=1).reshape((M,) + (C,) * d)                  # P(m, x)
    for i in range(30):
        idx = (slice(None),) + tuple(slice(None) if miss[i, j] else X[i, j] for j in range(d))
        pm = P[idx].reshape(M, -1).sum(axis=1)
        assert lp[i] == pytest.approx(np.log(pm.sum()), rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(post[i], pm / pm.sum(), rtol=1e-10, atol=1e-14)
    assert abs(lp[0]) < 1e-12
    np.testing.assert_array_equal(m.log_prob(np.where(miss, (X + 1) % C, X), missing=miss), lp)


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_one_em_step_matches_exact_posteriors(alpha):
    for M, d, K, C in [(2, 3, 2, 2), (3, 3, 2, 3), (2, 4, 3, 2)]:
        m = random_model(M, d, K, C, seed=11 + d + M)
        rng = np.random.default_rng(5)
        X = rng.integers(0, C, size=(60, d))
        w = rng.random(60)
        new, ll = m.em_step(X, alpha=alpha, sample_weight=w)
        wts, root, T, E, ll_ref = slow_em_step(m, X, alpha, w)
        assert ll == pytest.approx(ll_ref, rel=1e-12)
        np.testing.assert_allclose(new.weights, wts, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(new.root_probs, root, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(new.trans_probs, T, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(new.emit_probs, E, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(new.parents, m.parents)


@pytest.mark.parametrize("init", ["random", "mixture"])
def test_fit_objective_never_decreases_on_the_top_trees(init):
    X = random_model(2, 7, 3, 2, seed=3).sample(2000, rng=1)
    for alpha in (0.0, 0.5):
        m = HCLTMixture.fit(X, n_trees=3, n_hidden=3, alpha=alpha, rng=0, max_iter=15, tol=0, init=init)
        obj = np.array(m.objective_history_)
        assert obj.shape == (15,) and m.n_iter_ == 15 and not m.converged_
        assert np.all(np.diff(obj) >= -1e-12 * np.abs(obj[:-1])), np.diff(obj).min()
        assert obj[-1] > obj[0]
        # the objective is the model's own: mean log-likelihood plus the prior
        assert m.log_likelihood_history_[-1] == pytest.approx(m.score(X), rel=1e-12)
    clt = fd.ChowLiuTree.fit(X)
    parents, weights = top_spanning_trees(clt.mutual_info_, 3)
    np.testing.assert_array_equal(m.parents, np.stack(parents))
    np.testing.assert_allclose(m.tree_weights_, weights, rtol=1e-12)    # MI of the distinct rows, weighted
    np.testing.assert_array_equal(m.parents[0], clt.parent)
    assert len({tuple(tree_edges(p)) for p in m.parents}) == 3


@pytest.mark.parametrize("init", ["random", "mixture"])
def test_one_tree_is_the_hidden_chow_liu_tree(init):
    X = random_model(2, 6, 3, 3, seed=8).sample(1500, rng=2)
    w = np.random.default_rng(0).random(1500)
    for kw in ({}, {"soften": 0.01, "alpha": 0.2, "sample_weight": w}, {"n_init": 2}):
        h = fd.HiddenChowLiuTree.fit(X, n_hidden=3, rng=5, max_iter=8, init=init, **kw)
        m = HCLTMixture.fit(X, n_trees=1, n_hidden=3, rng=5, max_iter=8, init=init, **kw)
        np.testing.assert_array_equal(m.weights, [1.0])
        for k in ("parent", "root_probs", "trans_probs", "emit_probs"):
            np.testing.assert_array_equal(getattr(m, k if k != "parent" else "parents")[0], getattr(h, k), err_msg=k)
        assert m.objective_history_ == h.objective_history_
        assert m.log_likelihood_history_ == h.log_likelihood_history_
        np.testing.assert_array_equal(m.log_prob(X), h.log_prob(X))


def test_few_trees_repeat_and_seeds():
    X = np.random.default_rng(0).integers(0, 2, size=(300, 3))
    m = HCLTMixture.fit(X, n_trees=5, n_hidden=2, rng=1, max_iter=3)       # K_3 has 3 spanning trees
    assert m.n_trees == 5 and len({tuple(tree_edges(p)) for p in m.parents}) == 3
    np.testing.assert_array_equal(m.parents[3:], m.parents[:2])
    a = HCLTMixture.fit(X, n_trees=2, n_hidden=2, rng=3, max_iter=3)
    b = HCLTMixture.fit(X, n_trees=2, n_hidden=2, rng=3, max_iter=3)
    c = HCLTMixture.fit(X, n_trees=2, n_hidden=2, rng=4, max_iter=3)
    np.testing.assert_array_equal(a.emit_probs, b.emit_probs)
    assert not np.array_equal(a.emit_probs, c.emit_probs)
    with pytest.raises(ValueError, match="n_trees"):
        HCLTMixture.fit(X, n_trees=0)
    with pytest.raises(ValueError, match="init"):
        HCLTMixture.fit(X, init="kmeans")


def test_sample_weight_equals_repeated_rows():
    X = random_model(2, 5, 2, 2, seed=4).sample(400, rng=0)
    reps = np.random.default_rng(1).integers(1, 4, size=400)
    a = HCLTMixture.fit(X, n_trees=2, n_hidden=2, rng=4, max_iter=6, tol=0, init="random", sample_weight=reps)
    b = HCLTMixture.fit(np.repeat(X, reps, axis=0), n_trees=2, n_hidden=2, rng=4, max_iter=6, tol=0, init="random")
    np.testing.assert_array_equal(a.parents, b.parents)
    np.testing.assert_allclose(a.emit_probs, b.emit_probs, rtol=1e-9)
    np.testing.assert_allclose(a.objective_history_, b.objective_history_, rtol=1e-11)


# --- sampling and fill ------------------------------------------------------------------------------
@pytest.mark.parametrize("M,d,K,C,seed", [(2, 3, 2, 2, 0), (3, 4, 2, 3, 1), (2, 5, 3, 2, 2), (4, 3, 3, 3, 3)])
def test_sample_g_test(M, d, K, C, seed):
    m = random_model(M, d, K, C, seed=seed)
    S = m.sample(60_000, rng=seed)
    assert S.shape == (60_000, d) and S.dtype == np.uint8
    counts = np.bincount(np.ravel_multi_index(S.T.astype(np.int64), (C,) * d), minlength=C ** d)
    p = g_test_pvalue(counts, np.exp(m.log_prob(all_states(d, C))))
    assert p > ALPHA, p
    np.testing.assert_array_equal(m.sample_rows(make_key(seed), 1000, 500), S[1000:1500])


def test_a_component_of_weight_zero_is_never_drawn():
    m = random_model(2, 3, 2, 2, seed=6)
    p = m.get_params()
    m0 = HCLTMixture(np.array([0.0, 1.0]), p["parents"], p["root_probs"], p["trans_probs"], p["emit_probs"])
    S = m0.sample(20_000, rng=0)
    counts = np.bincount(np.ravel_multi_index(S.T.astype(np.int64), (2,) * 3), minlength=8)
    assert g_test_pvalue(counts, np.exp(m0.components[1].log_prob(all_states(3, 2)))) > ALPHA
    np.testing.assert_allclose(m0.log_prob(all_states(3, 2)), m0.components[1].log_prob(all_states(3, 2)))


@pytest.mark.parametrize("M,d,K,C,seed", [(2, 4, 2, 2, 0), (3, 4, 3, 3, 1)])
def test_fill_g_test_against_exact_conditional(M, d, K, C, seed):
    m = random_model(M, d, K, C, seed=seed)
    row = np.random.default_rng(seed).integers(0, C, size=d)
    miss = np.zeros(d, dtype=bool)
    miss[[0, d - 1]] = True
    n = 30_000
    Xr, Mk = np.repeat(row[None], n, axis=0), np.repeat(miss[None], n, axis=0)
    f = m.fill(Xr, Mk, rng=11)
    np.testing.assert_array_equal(f[:, ~miss], Xr[:, ~miss])
    allx = all_states(d, C)
    keep = np.all(allx[:, ~miss] == row[~miss], axis=1)
    probs = np.zeros(C * C)
    probs[allx[keep][:, 0] * C + allx[keep][:, -1]] = np.exp(m.log_prob(allx[keep]))
    assert g_test_pvalue(np.bincount(f[:, 0].astype(np.int64) * C + f[:, -1], minlength=C * C), probs) > ALPHA
    np.testing.assert_array_equal(m.fill(Xr[:100], Mk[:100], rng=11), f[:100])


def test_fill_impossible_row_raises():
    p = random_model(2, 2, 1, 2, seed=0).get_params()
    emit = np.array([[[[1.0, 0.0]], [[0.5, 0.5]]]] * 2)
    m = HCLTMixture(p["weights"], p["parents"], p["root_probs"], p["trans_probs"], emit)
    with pytest.raises(ValueError, match="probability zero"):
        m.fill(np.array([[1, 0]]), missing=np.array([[False, True]]), rng=0)


def test_threads_bit_identical():
    X = random_model(2, 10, 3, 2, seed=9).sample(8000, rng=0)
    miss = np.zeros(X.shape, dtype=bool)
    miss[::3, 2] = True
    res = []
    for t in (1, 2):
        with fd.threads(t):
            m = HCLTMixture.fit(X, n_trees=3, n_hidden=4, rng=1, max_iter=4, tol=0, dedupe=False)
            res.append((m.emit_probs, m.trans_probs, m.weights, m.objective_history_, m.log_prob(X),
                        m.sample(20_000, rng=5), m.fill(X, miss, rng=6), m.log_prob(X, missing=miss)))
    for a, b in zip(*res):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# --- files and parameters ---------------------------------------------------------------------------
def test_save_load_round_trip(tmp_path):
    m = random_model(3, 5, 3, 3, seed=1)
    m.save(tmp_path / "h.npz")
    back = fd.load(tmp_path / "h.npz")
    assert isinstance(back, HCLTMixture)
    for k, v in m.get_params().items():
        np.testing.assert_array_equal(getattr(back, k), v)
    X = all_states(5, 3)[::7]
    np.testing.assert_array_equal(back.log_prob(X), m.log_prob(X))
    np.testing.assert_array_equal(back.sample(100, rng=0), m.sample(100, rng=0))
    assert "n_trees=3" in repr(m)


def test_bad_parameters_name_the_array(tmp_path):
    p = random_model(2, 3, 2, 2, seed=0).get_params()
    good = {k: np.array(v) for k, v in p.items()}

    def with_(**kw):
        return {**good, **kw}
    tp, ep = good["trans_probs"], good["emit_probs"]
    bad = [
        (with_(weights=good["weights"] * 2), "weights"),
        (with_(weights=np.array([0.5, np.nan])), "weights"),
        (with_(weights=np.array([1.5, -0.5])), "weights"),
        (with_(weights=np.array([[0.5, 0.5]])), "weights"),
        (with_(parents=np.array([[-1, 0, 1], [-1, 2, 1]])), r"parents\[1\].*cycle"),
        (with_(parents=np.array([[-1, 0, 1], [-1, -1, 1]])), r"parents\[1\].*root"),
        (with_(parents=np.array([[-1, 0, 7], [-1, 0, 1]])), r"parents\[0\]"),
        (with_(parents=np.array([-1, 0, 1])), "parents"),
        (with_(parents=np.array([[-1, 0], [-1, 0]])), "trans_probs"),
        (with_(root_probs=good["root_probs"][:1]), "root_probs"),
        (with_(root_probs=-good["root_probs"]), "root_probs"),
        (with_(trans_probs=tp[:, :, :1]), "trans_probs"),
        (with_(trans_probs=np.where(tp > 0.5, np.nan, tp)), "trans_probs"),
        (with_(emit_probs=ep * 1.001), "emit_probs"),
        (with_(emit_probs=ep[0]), "emit_probs"),
        (with_(emit_probs=-ep), "emit_probs"),
    ]
    for params, match in bad:
        with pytest.raises(ValueError, match=match):
            HCLTMixture.from_params(params)
    with pytest.raises(TypeError, match="parents"):
        HCLTMixture.from_params(with_(parents=good["parents"].astype(float)))
    with pytest.raises(ValueError, match="emit_probs"):
        HCLTMixture.from_params({k: v for k, v in good.items() if k != "emit_probs"})
    np.savez(tmp_path / "bad.npz", __model__=np.asarray("HCLTMixture"), **with_(emit_probs=ep * 3))
    with pytest.raises(ValueError, match="emit_probs"):
        fd.load(tmp_path / "bad.npz")
    with pytest.raises(NotImplementedError, match="entropy_estimate"):
        HCLTMixture.from_params(good).entropy()


def test_trace_is_the_exact_map_objective_and_mini_batch_runs():
    X = random_model(2, 5, 2, 3, seed=12).sample(600, rng=3)
    w = np.random.default_rng(1).random(600) + 0.5
    alpha = 0.4
    m = HCLTMixture.fit(X, n_trees=2, n_hidden=2, alpha=alpha, rng=2, max_iter=6, tol=0, sample_weight=w)
    prior = alpha * np.log(m.weights).sum()
    for c in range(2):
        children = m.parents[c] >= 0
        prior += alpha * (np.log(m.root_probs[c]).sum() + np.log(m.trans_probs[c, children]).sum()
                          + np.log(m.emit_probs[c]).sum())
    ll = float(w @ np.log(np.exp(m.log_prob(all_states(5, 3)))[np.ravel_multi_index(X.T.astype(np.int64), (3,) * 5)]))
    assert m.objective_history_[-1] == pytest.approx((ll + prior) / w.sum(), rel=1e-10)
    mb = HCLTMixture.fit(X, n_trees=2, n_hidden=2, alpha=alpha, rng=2, max_iter=4, batch_size=150)
    assert mb.n_iter_ == 4 and np.isfinite(mb.objective_history_).all()
    assert mb.score(X) > fd.Factorized.fit(X).score(X)


def test_oversized_fits_are_refused_naming_the_culprit():
    X = np.random.default_rng(0).integers(0, 2, size=(200, 6))
    with pytest.raises(ValueError, match="n_trees"):
        HCLTMixture.fit(X, n_trees=10 ** 9, n_hidden=2)
    with pytest.raises(ValueError, match="n_hidden"):
        HCLTMixture.fit(X, n_trees=2, n_hidden=10 ** 9)
