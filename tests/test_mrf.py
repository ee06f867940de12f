"""PairwiseMRF: exact quantities vs slow references, validation, persistence, PLL fitting."""
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.models.mrf import PairwiseMRF
from fastdgm.slow import gibbs as slow


def _tables(m):
    return np.broadcast_to(m._tables[m._etab], (len(m.edges), m.n_states, m.n_states))


def _random_graph_model(d=7, C=3, m=10, seed=0, shared=False):
    gen = np.random.default_rng(seed)
    pairs = set()
    while len(pairs) < m:
        u, v = gen.integers(0, d, 2)
        if u != v and (v, u) not in pairs:
            pairs.add((int(u), int(v)))
    edges = np.array(sorted(pairs))
    pw = gen.normal(size=(C, C)) if shared else gen.normal(size=(m, C, C))
    return PairwiseMRF(gen.normal(size=(d, C)), edges, pw)


MODELS = {
    "ising3x3_field": lambda: PairwiseMRF.grid((3, 3), 2, 0.7, field=np.random.default_rng(1).normal(size=(9, 2))),
    "potts2x4_q3": lambda: PairwiseMRF.grid((2, 4), 3, -0.4),
    "graph_tables": lambda: _random_graph_model(),
    "graph_shared": lambda: _random_graph_model(d=6, C=4, m=8, seed=3, shared=True),
    "grid_matrix": lambda: PairwiseMRF.grid((2, 3), 3, np.random.default_rng(2).normal(size=(3, 3)),
                                            periodic=False),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_exact_quantities_match_slow(name):
    m = MODELS[name]()
    T = _tables(m)
    X = np.random.default_rng(5).integers(0, m.n_states, (20, m.n_dims))
    np.testing.assert_allclose(m.energy(X), slow.energy(m.unary, m.edges, T, X), rtol=0, atol=1e-12)
    lz = slow.log_partition(m.unary, m.edges, T)
    assert abs(m.log_partition() - lz) <= 1e-8 * max(1.0, abs(lz))
    np.testing.assert_allclose(m.log_prob(X), slow.log_prob(m.unary, m.edges, T, X), rtol=0, atol=1e-8)
    np.testing.assert_allclose(m.pseudo_log_likelihood(X), slow.pseudo_log_likelihood(m.unary, m.edges, T, X),
                               rtol=0, atol=1e-10)
    # probabilities of all states sum to one; exact entropy
    S, p = slow.exact_probs(m.unary, m.edges, T)
    assert abs(m.entropy() - float(-(p * np.log(p)).sum())) < 1e-9
    np.testing.assert_allclose(np.exp(m.log_prob(S)), p, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("N,q,beta", [(12, 3, 0.7), (8, 4, -0.5), (7, 2, 1.3), (3, 5, 0.2)])
def test_potts_ring_transfer_matrix(N, q, beta):
    m = PairwiseMRF.grid((N,), q, beta)
    assert len(m.edges) == N
    assert abs(m.log_partition() - slow.potts_ring_log_partition(N, q, beta)) < 1e-8


def test_enumeration_is_thread_invariant_and_limited():
    m = PairwiseMRF.grid((4, 5), 2, 0.3, field=np.random.default_rng(0).normal(size=(20, 2)))
    with fd.threads(1):
        a = PairwiseMRF.from_params(m.get_params()).log_partition()
    with fd.threads(2):
        b = PairwiseMRF.from_params(m.get_params()).log_partition()
    assert a == b
    with pytest.raises(ValueError, match="2\\*\\*24"):
        PairwiseMRF.grid((5, 5), 2, 0.3).log_partition()
    with pytest.raises(ValueError, match="exceeds"):
        PairwiseMRF.grid((40,), 3, 0.3).log_prob(np.zeros((1, 40), int))


def test_grid_edges_no_duplicates():
    assert len(PairwiseMRF.grid((4, 4), 2, 1.0).edges) == 32
    assert len(PairwiseMRF.grid((4, 4), 2, 1.0, periodic=False).edges) == 24
    # a periodic side of length 2 gives each pair once, of length 1 none
    assert len(PairwiseMRF.grid((2, 4), 2, 1.0).edges) == 4 + 8
    assert len(PairwiseMRF.grid((1, 5), 2, 1.0).edges) == 5
    assert len(PairwiseMRF.grid((2,), 2, 1.0).edges) == 1
    assert len(PairwiseMRF.grid((3, 3), 2, 1.0, periodic=(True, False)).edges) == 9 + 6
    m = PairwiseMRF.grid((3, 5), 2, 1.0)
    g = m.gibbs_plan
    col = g.colour
    assert col.max() == 2  # odd periodic sides need three colours
    assert np.all(col[m.edges[:, 0]] != col[m.edges[:, 1]])
    assert g.grid is None
    assert PairwiseMRF.grid((4, 6), 5, 1.0).gibbs_plan.grid is not None


def test_greedy_colouring_is_proper():
    m = _random_graph_model(d=40, C=2, m=100, seed=4)
    g = m.gibbs_plan
    assert np.all(g.colour[m.edges[:, 0]] != g.colour[m.edges[:, 1]])
    assert np.array_equal(np.sort(g.order), np.arange(40))


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(edges=[[0, 5]]), ValueError, r"edges\[0, 1\] = 5"),
    (dict(edges=[[0, -1]]), ValueError, r"edges\[0, 1\] = -1"),
    (dict(edges=[[0, 1], [2, 2]]), ValueError, r"self-loops: edges\[1\]"),
    (dict(edges=[[0, 1], [1, 2], [1, 0]]), ValueError, r"edges\[2\] = \(1, 0\) duplicates edges\[0\]"),
    (dict(edges=[[0, 1], [0, 1]]), ValueError, "duplicates"),
    (dict(edges=[[0.0, 1.0]]), TypeError, "integer dtype"),
    (dict(edges=[[0, 1, 2]]), ValueError, r"shape \(m, 2\)"),
    (dict(pairwise=np.zeros((2, 2))), ValueError, r"\(3, 3\)"),
    (dict(pairwise=np.zeros((2, 3, 3))), ValueError, r"\(1, 3, 3\)"),
    (dict(pairwise=np.full((3, 3), np.nan)), ValueError, r"pairwise must be finite: pairwise\[0, 0\] = nan"),
    (dict(unary=np.array([[0, 0, np.inf]] * 4)), ValueError, r"unary must be finite: unary\[0, 2\] = inf"),
    (dict(unary=np.zeros(4)), ValueError, "2-dimensional"),
])
def test_bad_models_rejected(kwargs, exc, match):
    args = dict(unary=np.zeros((4, 3)), edges=[[0, 1]], pairwise=np.eye(3))
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        PairwiseMRF(**args)


def test_bad_inputs_rejected():
    m = PairwiseMRF.grid((2, 2), 3, 0.5)
    with pytest.raises(ValueError, match=r"X\[1, 2\] = 3"):
        m.energy([[0, 0, 0, 0], [0, 1, 3, 0]])
    with pytest.raises(ValueError, match="4 columns"):
        m.pseudo_log_likelihood(np.zeros((2, 3), int))
    with pytest.raises(TypeError):
        m.energy(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="field"):
        PairwiseMRF.grid((2, 2), 3, 0.5, field=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="coupling"):
        PairwiseMRF.grid((2, 2), 3, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="coupling must be finite"):
        PairwiseMRF.grid((2, 2), 3, np.inf)


def test_properties_and_save_load(tmp_path):
    m = PairwiseMRF.grid((4, 4), 3, 0.5)
    assert m.n_dims == 16 and m.n_states == 3 and m.pairwise.shape == (3, 3) and m.grid_shape == (4, 4)
    m.save(tmp_path / "m.npz")
    m2 = fd.load(tmp_path / "m.npz")
    assert isinstance(m2, PairwiseMRF) and m2.grid_shape == (4, 4)
    assert m2.gibbs_plan.grid is not None
    X = np.random.default_rng(0).integers(0, 3, (5, 16))
    np.testing.assert_array_equal(m.energy(X), m2.energy(X))
    g = _random_graph_model()
    g.save(tmp_path / "g.npz")
    g2 = fd.load(tmp_path / "g.npz")
    assert g2.pairwise.shape == (10, 3, 3)
    np.testing.assert_array_equal(g.pairwise, g2.pairwise)
    assert g.log_partition() == g2.log_partition()


def test_pll_gradient_matches_finite_differences():
    from fastdgm.kernels.mrf_exact import pll_grad

    m = _random_graph_model(d=5, C=3, m=6, seed=7)
    g = m.adjacency
    X = np.random.default_rng(1).integers(0, 3, (30, 5)).astype(np.uint8)
    value = np.empty(5)
    gu = np.empty((5, 3))
    ga = np.empty((12, 3, 3))
    pll_grad(X, 3, m.unary, g.ptr, g.nbr, g.tab, g.otab, value, gu, ga)
    assert abs(value.sum() - m.pseudo_log_likelihood(X).sum()) < 1e-9
    G = ga[g.pos_u].transpose(0, 2, 1) + ga[g.pos_v]
    T = m.pairwise.copy()
    U = m.unary.copy()
    eps = 1e-6
    for (e, a, b) in [(0, 0, 1), (3, 2, 2), (5, 1, 0)]:
        Tp, Tm = T.copy(), T.copy()
        Tp[e, a, b] += eps
        Tm[e, a, b] -= eps
        fd_ = (PairwiseMRF(U, m.edges, Tp).pseudo_log_likelihood(X).sum()
               - PairwiseMRF(U, m.edges, Tm).pseudo_log_likelihood(X).sum()) / (2 * eps)
        assert abs(fd_ - G[e, a, b]) < 1e-5
    Up, Um = U.copy(), U.copy()
    Up[2, 1] += eps
    Um[2, 1] -= eps
    fd_ = (PairwiseMRF(Up, m.edges, T).pseudo_log_likelihood(X).sum()
           - PairwiseMRF(Um, m.edges, T).pseudo_log_likelihood(X).sum()) / (2 * eps)
    assert abs(fd_ - gu[2, 1]) < 1e-5


@pytest.fixture(scope="module")
def ising_data():
    true = PairwiseMRF.grid((32, 32), 2, 0.3)
    res = fd.gibbs(true, 300, 1, burn_in=150, rng=11)
    return res.samples[0]


def test_pll_fit_recovers_potts_coupling(ising_data):
    fit = PairwiseMRF.fit(ising_data, edges=(32, 32), n_states=2, pairwise="potts", l2=1e-4)
    beta = fit.pairwise[0, 0]
    assert abs(beta - 0.3) < 0.03 * 0.3, beta  # within 3%
    assert np.abs(fit.unary[:, 1] - fit.unary[:, 0]).mean() < 0.15
    assert fit.grid_shape == (32, 32)


def test_pll_fit_full_tables(ising_data):
    fit = PairwiseMRF.fit(ising_data, edges=(32, 32), n_states=2, l2=1e-2)
    T = fit.pairwise
    assert T.shape == (2048, 2, 2)
    eff = (T[:, 0, 0] + T[:, 1, 1] - T[:, 0, 1] - T[:, 1, 0]) / 2  # = beta for beta * [x_u == x_v]
    assert abs(eff.mean() - 0.3) < 0.03, eff.mean()


def test_fit_errors():
    X = np.zeros((5, 4), int)
    with pytest.raises(ValueError, match="method"):
        PairwiseMRF.fit(X, edges=[[0, 1]], method="ml")
    with pytest.raises(ValueError, match="4 columns|d = 4"):
        PairwiseMRF.fit(X, edges=(3, 3))
    with pytest.raises(ValueError, match="l2"):
        PairwiseMRF.fit(X, edges=[[0, 1]], l2=-1)


def test_pll_fit_is_thread_invariant():
    X = np.random.default_rng(0).integers(0, 3, (200, 12))
    edges = np.array([(i, (i + 1) % 12) for i in range(12)] + [(0, 6)])
    fits = []
    for t in (1, 2):
        with fd.threads(t):
            fits.append(PairwiseMRF.fit(X, edges=edges, n_states=3, l2=0.1))
    np.testing.assert_array_equal(fits[0].pairwise, fits[1].pairwise)
    np.testing.assert_array_equal(fits[0].unary, fits[1].unary)


def _small_field(seed=0, C=3):
    g = np.random.default_rng(seed)
    edges = [[0, 1], [1, 2], [2, 3], [3, 4], [0, 4], [1, 3]]
    return fd.PairwiseMRF(g.normal(size=(5, C)), edges, g.normal(size=(len(edges), C, C)))


def _enumerated(m):
    allx = np.array(np.meshgrid(*[np.arange(m.n_states)] * m.n_dims, indexing="ij")).reshape(m.n_dims, -1).T
    return allx, m.log_prob(allx)


def test_missing_log_prob_matches_enumeration():
    m = _small_field()
    allx, lp = _enumerated(m)
    g = np.random.default_rng(1)
    X = g.integers(0, 3, size=(60, 5))
    M = g.random(X.shape) < 0.4
    M[0], M[1] = True, False
    got = m.log_prob(X, missing=M)
    for i in range(len(X)):
        keep = np.all(allx[:, ~M[i]] == X[i, ~M[i]], axis=1)
        assert got[i] == pytest.approx(np.logaddexp.reduce(lp[keep]), rel=1e-10, abs=1e-12)
    assert got[0] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("gibbs", [False, True])
def test_fill_g_test(gibbs, monkeypatch):
    """fill draws P(x_mis | x_obs): exactly by enumeration, and by Gibbs sweeps with the observed
    sites clamped (forced by a zero enumeration limit; 30 sweeps mix this small field)."""
    import fastdgm.models.mrf as mrf_mod
    from gof import g_test

    if gibbs:
        monkeypatch.setattr(mrf_mod, "FILL_ENUM_LIMIT", 0)
    m = _small_field(2)
    allx, lp = _enumerated(m)
    row = np.array([2, 0, 1, 1, 0])
    miss = np.array([True, False, True, False, True])
    n = 20_000
    X = np.repeat(row[None], n, axis=0)
    M = np.repeat(miss[None], n, axis=0)
    f = m.fill(X, M, rng=3, n_sweeps=30)
    np.testing.assert_array_equal(f[:, ~miss], X[:, ~miss])
    keep = np.all(allx[:, ~miss] == row[~miss], axis=1)
    codes = np.ravel_multi_index(f[:, miss].T.astype(np.int64), (3, 3, 3))
    want = np.zeros(27)
    want[np.ravel_multi_index(allx[keep][:, miss].T, (3, 3, 3))] = np.exp(lp[keep])
    g_test(np.bincount(codes, minlength=27), want)
    with fd.threads(1):
        one = m.fill(X[:500], M[:500], rng=3, n_sweeps=30)
    with fd.threads(2):
        two = m.fill(X[:500], M[:500], rng=3, n_sweeps=30)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, f[:500])
