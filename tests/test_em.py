"""The one EM engine (fastdgm.models.em): the E-step statistics of every EM model against
brute-force posterior sums on tiny models, additivity over blocks, the one stop rule, one set
of defaults and one trace."""
import itertools

import numpy as np
import pytest

import fastdgm as fd
from fastdgm.models import em
from fastdgm.models._treemix_em import binary_tables

EM_MODELS = [fd.Mixture, fd.TreeMixture, fd.HiddenChowLiuTree]


def all_states(d, C):
    return np.array(list(itertools.product(range(C), repeat=d)), dtype=np.int64)


def random_tree(d, rng):
    return np.array([-1] + [int(rng.integers(0, j)) for j in range(1, d)])


def tiny_data(C, rng, n=40, d=4):
    X = rng.integers(0, C, size=(n, d)).astype(np.uint8)
    return X, rng.random(n) * 2


# --- brute force ---------------------------------------------------------------------------
def mixture_brute(m, X, w):
    """counts[k, j, x] = sum_i w_i P(k | x_i) [x_ij = x], nk, loglik by direct products."""
    P = np.exp(m.log_components)                               # (K, d, C)
    joint = np.array([[np.exp(m.log_weights[k]) * np.prod(P[k, np.arange(X.shape[1]), x]) for k in range(len(P))]
                      for x in X])                             # (n, K)
    px = joint.sum(axis=1)
    r = joint / px[:, None] * w[:, None]
    counts = np.zeros(m.log_components.shape)
    for i, x in enumerate(X):
        for j, v in enumerate(x):
            counts[:, j, v] += r[i]
    return {"counts": counts, "nk": r.sum(axis=0), "loglik": float(w @ np.log(px)), "total": w.sum()}


def treemix_brute(m, X, w):
    """Pair counts N[k, a, b, u, v] = sum_i w_i P(k | x_i) [x_ia = u, x_ib = v]."""
    K, d, C = m.n_components, m.n_dims, m.n_states
    joint = np.zeros((len(X), K))
    for k in range(K):
        t = m.component(k)
        joint[:, k] = np.exp(m.log_weights[k]) * np.exp(t.log_prob(X))
    px = joint.sum(axis=1)
    r = joint / px[:, None] * w[:, None]
    N = np.zeros((K, d, d, C, C))
    for i, x in enumerate(X):
        for a in range(d):
            for b in range(d):
                N[:, a, b, x[a], x[b]] += r[i]
    return N, r.sum(axis=0), float(w @ np.log(px))


def hclt_brute(m, X, w):
    """pair[j, u, v] = sum_i w_i P(z_pa(j) = u, z_j = v | x_i) (root: 0),
    emit[j, x, k] = sum_i w_i P(z_j = k | x_i) [x_ij = x], by enumerating the K^d latents."""
    d, K, C = m.n_dims, m.n_hidden, m.n_states
    Z = all_states(d, K)
    pz = m.root_probs[Z[:, m.root]].copy()
    for j in range(d):
        if j != m.root:
            pz *= m.trans_probs[j, Z[:, m.parent[j]], Z[:, j]]
    pair = np.zeros((d, K, K))
    emit = np.zeros((d, C, K))
    loglik = 0.0
    for i, x in enumerate(X):
        pj = pz * np.prod(m.emit_probs[np.arange(d), Z, x], axis=1)
        px = pj.sum()
        post = pj / px * w[i]
        loglik += w[i] * np.log(px)
        for j in range(d):
            np.add.at(emit[j, x[j]], Z[:, j], post)
            if j != m.root:
                np.add.at(pair[j], (Z[:, m.parent[j]], Z[:, j]), post)
    return pair, emit, loglik


def tiny_model(cls, C, rng):
    d, K = 4, 3
    if cls is fd.Mixture:
        return fd.Mixture(rng.random(K) + 0.1, rng.dirichlet(np.ones(C), size=(K, d)))
    if cls is fd.TreeMixture:
        return fd.TreeMixture(rng.random(K) + 0.1, np.stack([random_tree(d, rng) for _ in range(K)]),
                              rng.dirichlet(np.ones(C), size=(K, d, C)))
    return fd.HiddenChowLiuTree(random_tree(d, rng), rng.dirichlet(np.ones(K)), rng.dirichlet(np.ones(K), size=(d, K)),
                                rng.dirichlet(np.ones(C), size=(d, K)))


def check_against_brute(m, X, w, stats):
    if isinstance(m, fd.Mixture):
        ref = mixture_brute(m, X, w)
        for k in ("counts", "nk"):
            np.testing.assert_allclose(stats[k], ref[k], rtol=1e-10, atol=1e-12)
        assert float(stats["loglik"]) == pytest.approx(ref["loglik"], rel=1e-12)
    elif isinstance(m, fd.TreeMixture):
        N, nk, loglik = treemix_brute(m, X, w)
        pairs = stats["pairs"]
        if pairs.ndim == 3:                                    # binary: co-occurrences, expanded
            pairs = binary_tables(pairs, stats["pair_total"], stats["flip"])
        np.testing.assert_allclose(pairs, N, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(stats["nk"], nk, rtol=1e-10)
        assert float(stats["loglik"]) == pytest.approx(loglik, rel=1e-12)
    else:
        pair, emit, loglik = hclt_brute(m, X, w)
        ch = m.order[1:]
        np.testing.assert_allclose(stats["pair"][ch], pair[ch], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(stats["emit"], emit, rtol=1e-10, atol=1e-12)
        assert float(stats["loglik"]) == pytest.approx(loglik, rel=1e-12)
    assert float(stats["total"]) == pytest.approx(w.sum(), rel=1e-14)


@pytest.mark.parametrize("C", [2, 3])
@pytest.mark.parametrize("cls", EM_MODELS)
def test_e_step_statistics_equal_brute_force_posterior_sums(cls, C):
    """One block and two blocks summed: the same brute-force posterior sums."""
    rng = np.random.default_rng(C * 7 + EM_MODELS.index(cls))
    m = tiny_model(cls, C, rng)
    X, w = tiny_data(C, rng)
    context = {}
    if cls is fd.TreeMixture and C == 2:                       # the flips of the whole data
        context = {"flip": X.mean(axis=0) > 0.5}
    whole = m.em_statistics(X, w, context=context)
    check_against_brute(m, X, w, whole)
    parts = em.add_statistics([m.em_statistics(X[:17], w[:17], context=context),
                               m.em_statistics(X[17:], w[17:], context=context)])
    check_against_brute(m, X, w, parts)


@pytest.mark.parametrize("C", [2, 3])
@pytest.mark.parametrize("cls", [fd.Mixture, fd.TreeMixture])
def test_initial_statistics_add_up_over_blocks(cls, C):
    """The random start of rows [a, b) depends on (key, a): two blocks sum to the whole."""
    rng = np.random.default_rng(C)
    X, w = tiny_data(C, rng, n=300, d=5)
    context = {"flip": X.mean(axis=0) > 0.5} if cls is fd.TreeMixture and C == 2 else {}
    one = cls.initial_statistics(X, C, 99, 0, w, context=context, n_components=3)
    two = em.add_statistics([cls.initial_statistics(X[:123], C, 99, 0, w[:123], context=context, n_components=3),
                             cls.initial_statistics(X[123:], C, 99, 123, w[123:], context=context, n_components=3)])
    for k, v in one.items():
        np.testing.assert_allclose(two[k], v, rtol=1e-13, atol=1e-12)
    assert float(one["total"]) == pytest.approx(w.sum())
    np.testing.assert_allclose(one["nk"].sum(), w.sum(), rtol=1e-12)     # responsibilities sum to 1


def brute_objective(m, X, w, alpha):
    """(sum_i w_i log P(x_i) + log prior) / sum w, P by enumeration of the model's table."""
    S = all_states(m.n_dims, m.n_states)
    table = m.log_prob(S)
    assert np.exp(table).sum() == pytest.approx(1.0, rel=1e-10)
    idx = (X.astype(np.int64) * m.n_states ** np.arange(m.n_dims - 1, -1, -1)).sum(axis=1)
    return (float(w @ table[idx]) + m._log_prior(alpha)) / w.sum()


@pytest.mark.parametrize("alpha", [0.0, 0.7])
@pytest.mark.parametrize("cls", EM_MODELS)
def test_trace_is_the_exact_objective_and_never_decreases(cls, alpha):
    rng = np.random.default_rng(3)
    truth = tiny_model(cls, 3, rng)
    X = truth.sample(400, rng=1)
    w = rng.random(400) + 0.5
    size = {"n_hidden": 2} if cls is fd.HiddenChowLiuTree else {"n_components": 2}
    m = cls.fit(X, n_states=3, rng=5, max_iter=15, tol=0.0, alpha=alpha, sample_weight=w, **size)
    obj = np.asarray(m.objective_history_)
    assert len(obj) == m.n_iter_ == len(m.log_likelihood_history_)
    assert np.all(np.diff(obj) >= -1e-12 * np.abs(obj[:-1])), np.diff(obj).min()
    # the last entry is the returned model's own MAP objective and log-likelihood
    assert obj[-1] == pytest.approx(brute_objective(m, X, w, alpha), rel=1e-10)
    assert m.log_likelihood_history_[-1] == pytest.approx(np.average(m.log_prob(X), weights=w), rel=1e-10)
    if alpha == 0:
        np.testing.assert_array_equal(obj, m.log_likelihood_history_)


def test_one_stop_rule():
    assert not em.stopped([-3.0], 1.0)
    assert em.stopped([-3.0, -3.0], 0.0)                     # tol = 0: no improvement stops
    assert not em.stopped([-3.0, -2.9], 0.0)
    assert em.stopped([-3.0, -3.0 + 2.9e-5], 1e-5)            # improvement <= tol * |obj_{t-1}|
    assert not em.stopped([-3.0, -3.0 + 3.1e-5], 1e-5)
    rng = np.random.default_rng(0)
    X = (rng.random((3000, 8)) < np.linspace(0.1, 0.9, 8)).astype(np.uint8)
    X[:, 1] ^= X[:, 0]
    for cls in EM_MODELS:
        size = {"n_hidden": 3} if cls is fd.HiddenChowLiuTree else {"n_components": 3}
        tol = 1e-4
        m = cls.fit(X, rng=0, max_iter=200, tol=tol, **size)
        obj = m.objective_history_
        assert m.converged_ and m.n_iter_ < 200, cls
        # it stopped at the first iteration where the rule held, not before
        assert em.stopped(obj, tol)
        assert not any(em.stopped(obj[:t], tol) for t in range(2, len(obj)))


def test_one_set_of_defaults():
    for cls in EM_MODELS:
        kw = em.fit_keywords(cls)
        assert kw["max_iter"] == em.MAX_ITER == 100 and kw["tol"] == em.TOL == 1e-5, cls
        assert kw["n_init"] == 1 and kw["progress"] is False
        assert "em" in cls.capabilities and "statistics" in cls.capabilities
        assert issubclass(cls, em.EMModel)


def test_restarts_return_the_best():
    rng = np.random.default_rng(2)
    X = rng.integers(0, 3, size=(500, 6)).astype(np.uint8)
    X[:, 1] = X[:, 0]
    for cls in EM_MODELS:
        size = {"n_hidden": 2} if cls is fd.HiddenChowLiuTree else {"n_components": 3}
        best = cls.fit(X, rng=4, max_iter=8, n_init=3, **size)
        finals = [cls.fit(X, rng=4, max_iter=8, n_init=r + 1, **size).objective_history_[-1] for r in range(3)]
        assert best.objective_history_[-1] == max(finals)
        assert cls.fit(X, rng=4, max_iter=8, n_init=1, **size).objective_history_[-1] == finals[0]


def test_hclt_old_trace_names_are_deprecated_aliases():
    X = np.random.default_rng(0).integers(0, 2, size=(200, 5))
    m = fd.HiddenChowLiuTree.fit(X, n_hidden=2, rng=0, max_iter=3)
    with pytest.warns(FutureWarning, match="objective_history_"):
        assert m.objective_ == m.objective_history_
    with pytest.warns(FutureWarning, match="log_likelihood_history_"):
        assert m.log_likelihood_ == m.log_likelihood_history_


def test_hclt_mixture_start_runs_through_the_engine():
    """init="mixture" starts from Mixture.fit (same seed, alpha, weights) run by the same engine:
    with every latent copying its parent (INIT_STAY = 1) the start is that mixture."""
    from fastdgm.models import hclt

    rng = np.random.default_rng(5)
    X = rng.integers(0, 3, size=(600, 5)).astype(np.uint8)
    w = rng.random(600)
    data = em.InMemory(X, 3, w)
    setup = fd.HiddenChowLiuTree._em_setup(data, alpha=0.3, n_hidden=3, init="mixture", init_noise=0.0)
    old = hclt.INIT_STAY
    hclt.INIT_STAY = 1.0
    try:
        start = fd.HiddenChowLiuTree._em_start(data, 8, 0, 0.3, setup, n_hidden=3, init="mixture", init_noise=0.0)
    finally:
        hclt.INIT_STAY = old
    mix = fd.Mixture.fit(X, n_components=3, rng=8, alpha=0.3, sample_weight=w)
    np.testing.assert_allclose(start.log_prob(X), mix.log_prob(X), rtol=1e-12)
    np.testing.assert_array_equal(start.parent, fd.ChowLiuTree.fit(X, sample_weight=w).parent)
