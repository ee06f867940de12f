"""BayesianNetwork: exact likelihood and sampler against enumeration, the structure search's
scores against a numpy twin (and pgmpy when installed), local optimality of the climb, files,
threads, and missing values by variable elimination against enumeration."""
import itertools
import warnings

import numpy as np
import pytest
from scipy.special import gammaln
from scipy.stats import chi2

import fastdgm as fd
from fastdgm.models import _structure_search as ss
from fastdgm.models._bn_inference import MAX_FACTOR_CELLS


def random_network(d, C, max_pa, seed):
    """A random DAG (parents among earlier nodes of a random permutation) with random tables."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(d)
    parents, tables = [[] for _ in range(d)], [None] * d
    for t, j in enumerate(perm):
        k = int(rng.integers(0, min(max_pa, t) + 1))
        pa = [int(p) for p in rng.choice(perm[:t], size=k, replace=False)] if k else []
        parents[j] = pa
        tables[j] = rng.dirichlet(np.full(C, 0.7), size=C ** k)
    return fd.BayesianNetwork(parents, tables)


def joint_slow(m):
    """(all states (C^d, d), P of each) by the product of table lookups, in Python."""
    d, C = m.n_dims, m.n_states
    E = np.array(list(itertools.product(range(C), repeat=d)))
    P = np.ones(len(E))
    for j, (pa, tab) in enumerate(zip(m.parents, m.tables)):
        row = np.zeros(len(E), np.int64)
        for p in pa:
            row = row * C + E[:, p]
        P *= tab[row, E[:, j]]
    return E, P


def g_test(S, E, P):
    """p-value of the G-test of the rows of S against the joint P over the states E."""
    C = int(E.max()) + 1
    code = np.ravel_multi_index(S.T.astype(np.int64), (C,) * S.shape[1])
    obs = np.bincount(code, minlength=len(P))
    exp = P * len(S)
    keep = exp > 0
    assert obs[~keep].sum() == 0
    g = 2 * np.sum(np.where(obs[keep] > 0, obs[keep] * np.log(np.maximum(obs[keep], 1) / exp[keep]), 0))
    return chi2.sf(g, keep.sum() - 1)


SHAPES = [(4, 2, 2, 0), (5, 3, 2, 1), (4, 4, 3, 2), (6, 2, 3, 3)]


@pytest.mark.parametrize("d,C,max_pa,seed", SHAPES)
def test_log_prob_exact(d, C, max_pa, seed):
    m = random_network(d, C, max_pa, seed)
    E, P = joint_slow(m)
    lp = m.log_prob(E)
    np.testing.assert_allclose(lp, np.log(P), rtol=1e-12, atol=1e-12)
    assert abs(np.exp(lp).sum() - 1) < 1e-12


@pytest.mark.parametrize("d,C,max_pa,seed", SHAPES)
def test_samples_follow_the_joint(d, C, max_pa, seed):
    m = random_network(d, C, max_pa, seed)
    E, P = joint_slow(m)
    S = m.sample(60_000, rng=seed + 100)
    assert g_test(S, E, P) > 1e-3
    key = np.uint64(12345)
    whole = m.sample_rows(key, 0, 1000)
    np.testing.assert_array_equal(whole[300:700], m.sample_rows(key, 300, 400))


def test_sampler_detects_a_wrong_table():
    m = random_network(4, 3, 2, 7)
    E, P = joint_slow(m)
    tabs = m.tables
    tabs[0] = np.roll(tabs[0], 1, axis=1)
    bad = fd.BayesianNetwork(m.parents, tabs)
    assert g_test(bad.sample(60_000, rng=1), E, P) < 1e-6


def score_slow(X, parents, kind, ess=10.0, w=None):
    """The network score from np.unique counts (pgmpy's definitions), in numpy."""
    n, d = X.shape
    w = np.ones(n) if w is None else w
    card = [np.unique(X[:, j]).size for j in range(d)]
    total = 0.0
    for y, pa in enumerate(parents):
        pa = sorted(pa)
        cfg = np.unique(X[:, pa], axis=0, return_inverse=True)[1].reshape(-1) if pa else np.zeros(n, int)
        yy = np.unique(X[:, y], return_inverse=True)[1].reshape(-1)
        N = np.zeros((cfg.max() + 1, card[y]))
        np.add.at(N, (cfg, yy), w)
        q = float(np.prod([card[p] for p in pa]))
        r = card[y]
        Nj = N.sum(axis=1)
        if kind == "bic":
            with np.errstate(divide="ignore", invalid="ignore"):
                ll = np.where(N > 0, N * np.log(N / Nj[:, None]), 0).sum()
            total += ll - 0.5 * np.log(w.sum()) * q * (r - 1)
        else:
            a, b = ess / q, ess / (q * r)
            total += np.sum(gammaln(a) - gammaln(Nj + a)) + np.sum(gammaln(N + b) - gammaln(b))
    return total


@pytest.mark.parametrize("kind", ["bic", "bdeu"])
@pytest.mark.parametrize("weighted", [False, True])
def test_score_matches_numpy_twin(kind, weighted):
    m = random_network(6, 3, 3, 11)
    X = m.sample(3000, rng=2)
    X[:, 2] = np.minimum(X[:, 2], 1)            # a column that shows only 2 of 3 states
    w = np.random.default_rng(0).random(3000) * 2 if weighted else None
    data = ss.SearchData(X, np.empty(0) if w is None else w, kind, 10.0)
    for net in (m, random_network(6, 3, 3, 12), random_network(6, 3, 0, 1)):
        parents = [p.tolist() for p in net.parents]
        got = ss.network_score(data, parents)
        np.testing.assert_allclose(got, score_slow(X, parents, kind, 10.0, w), rtol=1e-10)


def moves(parents):
    """Every DAG one add / delete / reversal away."""
    d = len(parents)
    edges = {(p, c) for c, pa in enumerate(parents) for p in pa}
    for x, y in itertools.permutations(range(d), 2):
        if (x, y) in edges:
            cand = [edges - {(x, y)}, (edges - {(x, y)}) | {(y, x)}]
        elif (y, x) not in edges:
            cand = [edges | {(x, y)}]
        else:
            continue
        for e in cand:
            pa = [sorted(p for p, c in e if c == j) for j in range(d)]
            try:
                fd.BayesianNetwork([list(p) for p in pa], [np.ones((2 ** len(p), 2)) for p in pa])
            except ValueError:
                continue
            yield pa


@pytest.mark.parametrize("kind", ["bic", "bdeu"])
def test_climb_ends_at_a_local_optimum(kind):
    truth = random_network(6, 2, 3, 5)
    X = truth.sample(2000, rng=4)
    m = fd.BayesianNetwork.fit(X, 2, score=kind, tabu=0, rng=0)
    parents = [sorted(p.tolist()) for p in m.parents]
    best = score_slow(X, parents, kind)
    np.testing.assert_allclose(m.score_, best, rtol=1e-10)
    for nb in moves(parents):
        assert score_slow(X, nb, kind) < best + 1e-4
    assert best > score_slow(X, [[]] * 6, kind)


def test_fit_tables_are_smoothed_counts_and_weights_repeat_rows():
    truth = random_network(5, 3, 2, 3)
    X = truth.sample(500, rng=5)
    m = fd.BayesianNetwork.fit(X, 3, alpha=0.5, rng=0)
    for j, (pa, tab) in enumerate(zip(m.parents, m.tables)):
        row = np.zeros(len(X), np.int64)
        for p in pa:
            row = row * 3 + X[:, p]
        N = np.zeros((3 ** len(pa), 3))
        np.add.at(N, (row, X[:, j]), 1)
        np.testing.assert_allclose(tab, (N + 0.5) / (N.sum(1, keepdims=True) + 1.5), rtol=1e-12)
    w = np.random.default_rng(1).integers(0, 4, 500)
    a = fd.BayesianNetwork.fit(X, 3, sample_weight=w.astype(float), rng=0)
    b = fd.BayesianNetwork.fit(np.repeat(X, w, axis=0), 3, rng=0)
    np.testing.assert_array_equal(a.edges, b.edges)
    np.testing.assert_allclose(a.log_cpt, b.log_cpt, rtol=1e-12)
    assert fd.BayesianNetwork.fit(X, 3, max_parents=1, rng=0).parent_ptr.max() <= 5
    assert np.diff(fd.BayesianNetwork.fit(X, 3, max_parents=1, rng=0).parent_ptr).max() <= 1


def test_statistics_of_blocks_add_up():
    m = random_network(5, 3, 2, 8)
    X = m.sample(1000, rng=1)
    pa = [p.tolist() for p in m.parents]
    s1 = fd.BayesianNetwork.sufficient_statistics(X[:400], 3, parents=pa)
    s2 = fd.BayesianNetwork.sufficient_statistics(X[400:], 3, parents=pa)
    whole = fd.BayesianNetwork.sufficient_statistics(X, 3, parents=pa)
    np.testing.assert_array_equal(s1["counts"] + s2["counts"], whole["counts"])
    summed = dict(whole, counts=s1["counts"] + s2["counts"], total=s1["total"] + s2["total"])
    a = fd.BayesianNetwork.from_statistics(summed, 1.0, parents=pa)
    np.testing.assert_array_equal(a.log_cpt, fd.BayesianNetwork.from_statistics(whole, 1.0, parents=pa).log_cpt)


def test_restarts_never_lower_the_score():
    X = random_network(7, 2, 3, 9).sample(1500, rng=3)
    a = fd.BayesianNetwork.fit(X, 2, restarts=0, rng=0)
    b = fd.BayesianNetwork.fit(X, 2, restarts=4, perturb=3, rng=0)
    assert b.score_ >= a.score_
    c = fd.BayesianNetwork.fit(X, 2, restarts=4, perturb=3, rng=0)
    np.testing.assert_array_equal(b.edges, c.edges)
    # the default search with a seed: the same DAG every time, and at least the plain climb's score
    d1, d2 = fd.BayesianNetwork.fit(X, 2, rng=5), fd.BayesianNetwork.fit(X, 2, rng=5)
    np.testing.assert_array_equal(d1.edges, d2.edges)
    assert d1.score_ >= a.score_


def test_fit_arguments_are_checked():
    X = np.zeros((10, 3), int)
    with pytest.raises(ValueError, match="score"):
        fd.BayesianNetwork.fit(X, score="aic")
    with pytest.raises(ValueError, match="max_parents"):
        fd.BayesianNetwork.fit(X, max_parents=-1)
    with pytest.raises(ValueError, match="equivalent_sample_size"):
        fd.BayesianNetwork.fit(X, score="bdeu", equivalent_sample_size=0)
    with pytest.raises(TypeError, match="classmethod"):
        fd.BayesianNetwork.fit(X).fit(X)


def test_same_results_on_one_and_two_threads():
    truth = random_network(8, 3, 3, 21)
    X = truth.sample(20_000, rng=1)
    out = []
    for t in (1, 2):
        with fd.threads(t):
            m = fd.BayesianNetwork.fit(X, 3, rng=0)
            out.append((m.edges, m.log_cpt, m.score_, m.sample(30_000, rng=5), m.log_prob(X)))
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)


def test_save_load_round_trip(tmp_path):
    m = fd.BayesianNetwork.fit(random_network(6, 3, 2, 4).sample(800, rng=0), 3)
    m.save(tmp_path / "bn.npz")
    r = fd.load(tmp_path / "bn.npz")
    assert type(r) is fd.BayesianNetwork
    for k, v in m.get_params().items():
        np.testing.assert_array_equal(r.get_params()[k], v)
    X = m.sample(100, rng=1)
    np.testing.assert_array_equal(r.log_prob(X), m.log_prob(X))


def _params(**over):
    p = dict(parent_ptr=np.array([0, 0, 1, 3]), parent_idx=np.array([0, 0, 1]),
             log_cpt=np.log(np.full((1 + 2 + 4, 2), 0.5)))
    p.update(over)
    return p


@pytest.mark.parametrize("over,match", [
    (dict(parent_idx=np.array([2, 0, 1])), "cycle"),
    (dict(parent_idx=np.array([0, 2, 1])), "own parent"),
    (dict(parent_idx=np.array([0, 0, 0])), "more than once"),
    (dict(parent_idx=np.array([0, 0, 7])), "out of range"),
    (dict(parent_ptr=np.array([0, 2, 1, 3])), "rise"),
    (dict(parent_ptr=np.array([0, 0, 1, 4])), "rise"),
    (dict(parent_idx=np.array([0.0, 0, 1])), "integer"),
    (dict(log_cpt=np.log(np.full((6, 2), 0.5))), "rows"),
    (dict(log_cpt=np.full((7, 2), np.nan)), "log_cpt"),
    (dict(log_cpt=np.log(np.full((7, 2), 0.4))), "normalised"),
    (dict(log_cpt=np.zeros((7,))), "shape"),
])
def test_crafted_files_raise(tmp_path, over, match):
    with pytest.raises(ValueError, match=match):
        fd.BayesianNetwork.from_params(_params(**over))
    np.savez(tmp_path / "bad.npz", __model__=np.asarray("BayesianNetwork"), **_params(**over))
    with pytest.raises(ValueError):
        fd.load(tmp_path / "bad.npz")


def test_constructor_checks():
    with pytest.raises(ValueError, match="cycle"):
        fd.BayesianNetwork([[1], [0]], [np.ones((2, 2))] * 2)
    with pytest.raises(ValueError, match="shape"):
        fd.BayesianNetwork([[], [0]], [np.ones((1, 2)), np.ones((3, 2))])
    with pytest.raises(ValueError):
        fd.BayesianNetwork([[], [0]], [np.ones((1, 2)), -np.ones((2, 2))])
    with pytest.raises(ValueError, match="MAX_TABLE_CELLS"):
        fd.BayesianNetwork([[], [0]], [np.ones((1, 1 << 15)), np.ones((1, 1))])


@pytest.mark.parametrize("d,C,max_pa,seed", SHAPES[1:])
def test_missing_log_prob_and_fill_are_exact(d, C, max_pa, seed):
    m = random_network(d, C, max_pa, seed)
    E, P = joint_slow(m)
    rng = np.random.default_rng(seed)
    X = m.sample(40, rng=seed).astype(np.int64)
    M = rng.random(X.shape) < 0.5
    M[0] = True
    X[M] = 99                                        # ignored
    ref = [np.log(P[np.all((E == x) | mk, axis=1)].sum()) for x, mk in zip(X, M)]
    np.testing.assert_allclose(m.log_prob(X, missing=M), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m.log_prob(m.fill(X, M, rng=0), missing=np.zeros_like(M)),
                               m.log_prob(m.fill(X, M, rng=0)))
    i = 1 if M[1].any() else 0
    x, mk = X[i], M[i]
    F = m.fill(np.repeat(X[i:i + 1], 30_000, 0), np.repeat(M[i:i + 1], 30_000, 0), rng=seed)
    np.testing.assert_array_equal(F[:, ~mk], np.broadcast_to(x[~mk], (30_000, (~mk).sum())))
    sel = np.all((E == x) | mk, axis=1)
    assert g_test(F, E, np.where(sel, P, 0) / P[sel].sum()) > 1e-3


def test_missing_width_limit():
    d, C = 12, 4
    parents = [list(range(j)) if j < 11 else list(range(11)) for j in range(d)]
    parents = [p[-2:] for p in parents]              # a chain of width 2: fine
    m = fd.BayesianNetwork(parents, [np.ones((C ** len(p), C)) for p in parents])
    X = np.zeros((3, d), int)
    assert np.all(np.isfinite(m.log_prob(X, missing=np.ones((3, d), bool))))
    k = 10                                           # a node with 10 parents: width >= 10
    dense = [[] for _ in range(k)] + [list(range(k))]
    big = fd.BayesianNetwork(dense, [np.ones((1, C))] * k + [np.ones((C ** k, C))])
    assert C ** (k + 1) > MAX_FACTOR_CELLS
    with pytest.raises(ValueError, match="width 10"):
        big.log_prob(np.zeros((2, k + 1), int), missing=np.ones((2, k + 1), bool))


def test_fill_rejects_impossible_evidence():
    m = fd.BayesianNetwork([[], [0]], [[1.0, 0.0], [[0.5, 0.5], [0.5, 0.5]]])
    with pytest.raises(ValueError, match="probability 0"):
        m.fill([[1, 0]], np.array([[False, True]]))
    assert m.log_prob([[1, 0]], missing=np.array([[False, True]]))[0] == -np.inf


def test_scores_and_search_against_pgmpy():
    pytest.importorskip("pgmpy")
    pd = pytest.importorskip("pandas")
    from pgmpy.base import DAG
    from pgmpy.estimators import BDeu, BIC, HillClimbSearch

    truth = random_network(7, 3, 2, 31)
    X = truth.sample(3000, rng=6)
    names = [f"v{j}" for j in range(7)]
    df = pd.DataFrame(X.astype(np.int64), columns=names).astype("category")
    for kind, scorer, method in (("bic", BIC(df), "bic-d"), ("bdeu", BDeu(df), "bdeu")):
        m = fd.BayesianNetwork.fit(X, 3, score=kind, rng=0)
        g = DAG()
        g.add_nodes_from(names)
        g.add_edges_from((names[p], names[c]) for p, c in m.edges)
        np.testing.assert_allclose(scorer.score(g), m.score_, rtol=1e-9)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            est = HillClimbSearch(df).estimate(scoring_method=method, show_progress=False)
        assert m.score_ >= scorer.score(est) - 1e-6


def reach_slow(adj):
    """Reachability (paths of length >= 1) by repeated boolean matrix products, in numpy."""
    a = adj.astype(np.int64)
    r = a.copy()
    for _ in range(adj.shape[0]):
        r = ((r + r @ a) > 0).astype(np.int64)
    return r.astype(bool)


def test_reachability_after_deletions_matches_the_slow_twin():
    from fastdgm.kernels import bayesnet as _b

    rng = np.random.default_rng(3)
    for trial in range(20):
        d = int(rng.integers(2, 12))
        adj = np.triu(rng.random((d, d)) < 0.4, 1)
        perm = rng.permutation(d)
        adj = adj[np.ix_(perm, perm)]
        reach = np.zeros((d, d), np.bool_)
        assert _b.closure(adj, reach)
        np.testing.assert_array_equal(reach, reach_slow(adj))
        for x, y in zip(*np.nonzero(adj.copy())):
            if rng.random() < 0.5:
                adj[x, y] = False
                _b.drop_reach(adj, reach, x)
                np.testing.assert_array_equal(reach, reach_slow(adj))
    cyc = np.array([[0, 1], [1, 0]], np.bool_)
    assert not _b.closure(cyc, np.zeros((2, 2), np.bool_))


@pytest.mark.parametrize("max_parents", [2, 5])
def test_cached_deltas_match_fresh_scores_along_random_moves(max_parents):
    """After every move of random walks and climbs: family scores, deletion and addition deltas
    equal freshly computed ones; an addition is left uncomputed (NaN) only while it would close
    a cycle and no reversal needs it; reachability is the closure of the DAG."""
    from fastdgm.kernels import bayesnet as _b

    X = random_network(8, 3, 3, 41).sample(1500, rng=2)
    climber = ss._Climber(ss.SearchData(X, np.empty(0), "bic", 10.0), max_parents)

    def check():
        reach = np.zeros_like(climber.reach)
        assert _b.closure(climber.adj, reach)
        np.testing.assert_array_equal(climber.reach, reach)
        for y in range(8):
            pa = climber.parents(y)
            np.testing.assert_allclose(climber.local[y], climber.data.family(y, pa), rtol=1e-12)
            for x in range(8):
                if x == y:
                    continue
                if climber.adj[x, y]:
                    want = climber.data.family(y, [p for p in pa if p != x]) - climber.local[y]
                    np.testing.assert_allclose(climber.d_del[x, y], want, rtol=1e-9, atol=1e-9)
                elif len(pa) < max_parents:
                    v = climber.d_add[x, y]
                    if np.isnan(v):
                        assert climber.reach[y, x] and not climber.adj[y, x]
                    else:
                        want = climber.data.family(y, pa + [x]) - climber.local[y]
                        np.testing.assert_allclose(v, want, rtol=1e-9, atol=1e-9)
                else:
                    assert climber.d_add[x, y] == -np.inf

    rng = np.random.default_rng(0)
    check()
    for step in range(40):
        x, y = (int(v) for v in rng.choice(8, 2, replace=False))
        if climber.adj[x, y]:
            climber.apply(2 if climber._reversible(x, y) and step % 2 else 1, x, y)
        elif not climber.adj[y, x] and not climber.reach[y, x] and climber.indeg[y] < max_parents:
            climber.apply(0, x, y)
        check()
    state = climber.snapshot()
    climber.perturb(3, rng)
    climber.restore(state)
    check()


def test_cli_fit_bn_and_score(tmp_path):
    """``fastdgm fit bn --param max_parents=3`` writes the network the API learns, and
    ``fastdgm score`` prints its mean log-likelihood."""
    import os
    import subprocess
    import sys

    truth = random_network(6, 3, 2, 17)
    X = truth.sample(800, rng=3).astype(np.uint8)
    np.save(tmp_path / "X.npy", X)
    root = os.path.dirname(os.path.dirname(os.path.abspath(fd.__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))

    def run(*args):
        proc = subprocess.run([sys.executable, "-m", "fastdgm", *map(str, args)], capture_output=True,
                              text=True, env=env, timeout=600, cwd=root)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    run("fit", "bn", "--data", tmp_path / "X.npy", "--out", tmp_path / "m.npz", "--param", "max_parents=3",
        "--states", 3, "-q")
    model = fd.load(tmp_path / "m.npz")
    ref = fd.BayesianNetwork.fit(X, 3, max_parents=3, rng=0)
    assert isinstance(model, fd.BayesianNetwork)
    assert 2 <= np.diff(model.parent_ptr).max() <= 3
    np.testing.assert_array_equal(model.edges, ref.edges)
    np.testing.assert_allclose(model.log_cpt, ref.log_cpt, rtol=0, atol=1e-12)
    out = run("score", "--model", tmp_path / "m.npz", "--data", tmp_path / "X.npy")
    mean = float(out.split("log_likelihood")[1].split()[0])
    assert mean == pytest.approx(float(np.mean(ref.log_prob(X))), abs=1e-5)
    # a model fitted with max_parents=1 differs (the option reached the fit)
    run("fit", "bn", "--data", tmp_path / "X.npy", "--out", tmp_path / "m1.npz", "--param", "max_parents=1",
        "--states", 3, "-q")
    assert np.diff(fd.load(tmp_path / "m1.npz").parent_ptr).max() <= 1


def test_memo_of_parent_sets_changes_nothing(monkeypatch):
    """The restarts' memo of delta columns gives the search the same DAG, score and moves as
    recomputing every column."""
    X = random_network(9, 3, 3, 7).sample(3000, rng=8)
    a = fd.BayesianNetwork.fit(X, 3, restarts=15, rng=2)
    monkeypatch.setattr(ss, "MEMO_FLOATS", 0)
    b = fd.BayesianNetwork.fit(X, 3, restarts=15, rng=2)
    np.testing.assert_array_equal(a.edges, b.edges)
    assert (a.score_, a.n_moves_) == (b.score_, b.n_moves_)


def test_block_and_dask_fits_count_the_tables_of_a_given_dag(tmp_path):
    """With parents= the fit is counting: in blocks (weights too) and on dask it equals the
    one-machine fit bit for bit; without parents= a block fit says what it needs."""
    from fastdgm.blockfit import fit_in_blocks

    truth = random_network(7, 3, 3, 31)
    X = truth.sample(3000, rng=2)
    pa = [p.tolist() for p in fd.BayesianNetwork.fit(X[:1000], 3, rng=0, restarts=2).parents]
    w = np.random.default_rng(3).random(3000)
    one = fd.BayesianNetwork.fit(X, 3, parents=pa, alpha=0.3)
    assert one.n_moves_ == 0 and one.score_ == pytest.approx(ss.network_score(
        ss.SearchData(X, np.empty(0), "bic", 10.0), pa), rel=1e-12)
    for k, v in one.get_params().items():
        np.testing.assert_array_equal(fit_in_blocks(fd.BayesianNetwork, X, block_rows=777, parents=pa,
                                                    alpha=0.3).get_params()[k], v)
    onew = fd.BayesianNetwork.fit(X, 3, parents=pa, sample_weight=w)
    blk = fit_in_blocks(fd.BayesianNetwork, X, block_rows=500, parents=pa, sample_weight=w)
    np.testing.assert_allclose(blk.log_cpt, onew.log_cpt, rtol=1e-12, atol=1e-12)
    # the given parent order is the table order (first parent most significant)
    rev = [list(reversed(p)) for p in pa]
    r = fit_in_blocks(fd.BayesianNetwork, X, block_rows=999, parents=rev)
    np.testing.assert_allclose(r.log_prob(X[:200]), fd.BayesianNetwork.fit(X, parents=pa).log_prob(X[:200]),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="parents="):
        fit_in_blocks(fd.BayesianNetwork, X, block_rows=500)
    with pytest.raises(ValueError, match="cycle|parent"):
        fit_in_blocks(fd.BayesianNetwork, X, block_rows=500, parents=[[1], [0]] + [[]] * 5)
    with pytest.raises(ValueError, match="parents"):
        fd.BayesianNetwork.fit(X, parents=[[]] * 6)
    fdd = pytest.importorskip("fastdgm.dask")
    da = pytest.importorskip("dask.array")
    dist = fdd.fit(fd.BayesianNetwork, da.from_array(X, chunks=(640, -1)), n_states=3, parents=pa, alpha=0.3)
    for k, v in one.get_params().items():
        np.testing.assert_array_equal(dist.get_params()[k], v)


def test_cli_block_fit_bn_with_parents(tmp_path):
    """``fastdgm fit bn --block-rows N --parents FILE`` (a saved network, or (parent, child)
    edges) equals the in-memory fit of that DAG; without --parents, a clear error."""
    from fastdgm.cli import main

    truth = random_network(6, 3, 2, 41)
    X = truth.sample(1500, rng=4).astype(np.uint8)
    np.save(tmp_path / "X.npy", X)
    truth.save(tmp_path / "truth.npz")
    np.save(tmp_path / "edges.npy", truth.edges)
    want = fd.BayesianNetwork.fit(X, 3, parents=truth.parents)
    for src in ("truth.npz", "edges.npy"):
        assert main(["fit", "bn", "--data", str(tmp_path / "X.npy"), "--out", str(tmp_path / "b.npz"),
                     "--block-rows", "256", "--parents", str(tmp_path / src), "--quiet"]) == 0
        np.testing.assert_array_equal(fd.load(tmp_path / "b.npz").log_cpt, want.log_cpt)
    assert main(["fit", "bn", "--data", str(tmp_path / "X.npy"), "--out", str(tmp_path / "c.npz"),
                 "--block-rows", "256", "--quiet"]) != 0
    np.save(tmp_path / "bad.npy", np.array([[0, 9]]))
    assert main(["fit", "bn", "--data", str(tmp_path / "X.npy"), "--out", str(tmp_path / "c.npz"),
                 "--parents", str(tmp_path / "bad.npy"), "--quiet"]) != 0


def _wide_data(n=4000, d=30, seed=0):
    """A munin-like case: one 8-state column driven by six binary columns (plus noise) among
    many binary ones, so that the best DAG wants a family of 8^7 cells (C = 8 for every table)."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, size=(n, d))
    X[:, 10] = (X[:, :6] * np.array([1, 2, 3, 1, 2, 3])).sum(axis=1) % 8
    X[:, 10] = np.where(rng.random(n) < 0.1, rng.integers(0, 8, n), X[:, 10])
    for j in range(11, d, 2):                  # a few dependent binary pairs
        X[:, j] = X[:, j - 1] ^ (rng.random(n) < 0.15)
    return X.astype(np.uint8)


def test_search_keeps_the_tables_within_max_table_cells():
    """The search makes no move past max_table_cells (sum_j C^(k_j + 1)): where the unlimited
    search would build a larger table, the capped fit stays within the cap, has a lower score, and
    ends at a local optimum of the moves that fit; a cap below the empty graph is refused."""
    X = _wide_data()
    free = fd.BayesianNetwork.fit(X, 8, restarts=2, rng=0)
    assert free.log_cpt.size > 40_000                  # the cap below binds
    capped = fd.BayesianNetwork.fit(X, 8, restarts=2, rng=0, max_table_cells=40_000)
    assert capped.log_cpt.size <= 40_000 < free.log_cpt.size
    assert capped.score_ < free.score_
    # local optimum among the moves within the cap: no addition that fits improves the score
    data = ss.SearchData(X, np.empty(0), "bic", 10.0)
    pa = [p.tolist() for p in capped.parents]
    cells = sum(8 ** (len(p) + 1) for p in pa)
    closure = np.zeros((30, 30), np.bool_)
    from fastdgm.kernels import bayesnet as _b
    adj = np.zeros((30, 30), np.bool_)
    for y, p in enumerate(pa):
        adj[p, y] = True
    _b.closure(adj, closure)
    for y in range(30):
        base = data.family(y, pa[y])
        for x in range(30):
            if x == y or x in pa[y] or closure[y, x] or cells + 7 * 8 ** (len(pa[y]) + 1) > 40_000:
                continue
            assert data.family(y, pa[y] + [x]) - base < 1e-4, (x, y)
    with pytest.raises(ValueError, match="max_table_cells"):
        fd.BayesianNetwork.fit(X, 8, max_table_cells=100)
    with pytest.raises(ValueError, match="max_table_cells"):
        fd.BayesianNetwork.fit(X, 8, max_table_cells=fd.models.bayesnet.MAX_TABLE_CELLS + 1)


def test_best_move_respects_the_cell_room():
    """The move kernel against a slow twin on random states: the best legal move, where a move
    is legal only if the cells it adds fit in the room."""
    from fastdgm.kernels import bayesnet as _b

    rng = np.random.default_rng(5)
    for trial in range(30):
        d = 6
        perm = rng.permutation(d)
        adj = np.zeros((d, d), np.bool_)
        for a in range(d):
            for b in range(a + 1, d):
                if rng.random() < 0.3:
                    adj[perm[a], perm[b]] = True
        reach = np.zeros_like(adj)
        _b.closure(adj, reach)
        indeg = adj.sum(0).astype(np.int64)
        d_add, d_del = rng.normal(size=(d, d)), rng.normal(size=(d, d))
        tabu = (rng.random((3, d, d)) < 0.1).astype(np.int64)
        C = 3.0
        size = C ** (indeg + 1.0)
        grow, shrink = size * (C - 1), size - size / C
        room = float(rng.choice([0.0, 20.0, 60.0, 1e9]))
        got = _b.best_move(d_add, d_del, adj, reach, indeg, 4, tabu, grow, shrink, room)
        best = (-1, -1, -1, -np.inf)
        for x in range(d):
            for y in range(d):
                if x == y:
                    continue
                moves = []
                if adj[x, y]:
                    moves.append((1, d_del[x, y], tabu[1, x, y] == 0))
                    other = any(adj[x, c] and reach[c, y] for c in range(d) if c != y)
                    moves.append((2, d_add[y, x] + d_del[x, y], tabu[2, x, y] == 0 and tabu[2, y, x] == 0
                                  and indeg[x] < 4 and not other and grow[x] - shrink[y] <= room))
                elif not adj[y, x] and not reach[y, x]:
                    moves.append((0, d_add[x, y], tabu[0, x, y] == 0 and indeg[y] < 4 and grow[y] <= room))
                for kind, delta, legal in moves:
                    if legal and delta > best[3]:
                        best = (kind, x, y, delta)
        assert got[:3] == best[:3], (trial, got, best)
        if best[0] >= 0:
            assert got[3] == best[3]


def test_tables_smooth_over_the_states_a_column_shows():
    """Every table is stored with the widest column's C states. A column that shows fewer states
    gets alpha on each of its own states and alpha^2 / (N + alpha C) on the others (the smoothed
    tables' formula, checked entry by entry), so sparse rows keep their mass on states the column
    has: on a network of binary columns beside one 6-state column, fitted from few rows, the
    exact KL to the truth (enumerated) is well below that of alpha spread over all C states."""
    rng = np.random.default_rng(4)
    C = 6
    parents = [[], [0], [0, 1], [1, 2], [2, 3]]
    tables = []
    for j, pa in enumerate(parents):
        t = np.zeros((C ** len(pa), C))
        k = C if j == 4 else 2                # node 4: six states; the others binary
        t[:, :k] = rng.dirichlet(np.full(k, 0.5), size=C ** len(pa))
        tables.append(t + (t.sum(1, keepdims=True) == 0))   # rows of impossible parents: any
    truth = fd.BayesianNetwork(parents, tables)
    X = truth.sample(150, rng=1)
    assert len(np.unique(X[:, 0])) == 2 and len(np.unique(X[:, 4])) == C
    m = fd.BayesianNetwork.fit(X, C, parents=parents, alpha=1.0)
    for j, pa in enumerate(parents):
        row = np.zeros(len(X), np.int64)
        for p in pa:
            row = row * C + X[:, p]
        N = np.zeros((C ** len(pa), C))
        np.add.at(N, (row, X[:, j]), 1)
        seen = np.bincount(X[:, j], minlength=C) > 0
        a = np.where(seen, 1.0, 1.0 / (len(X) + C))
        np.testing.assert_allclose(m.tables[j], (N + a) / (N + a).sum(1, keepdims=True), rtol=1e-12)
    E, P = joint_slow(truth)
    keep = P > 0

    def kl(model):
        return float(np.sum(P[keep] * (np.log(P[keep]) - model.log_prob(E[keep]))))

    st = fd.BayesianNetwork.sufficient_statistics(X, C, parents=parents)
    N = st["counts"]
    spread = fd.BayesianNetwork._from_arrays(m.parent_ptr, m.parent_idx, np.log((N + 1) / (N.sum(1, keepdims=True) + C)))
    assert kl(m) < 0.8 * kl(spread), (kl(m), kl(spread))
    # where every column shows every state, the rule is plain (N + alpha) / (N_u + alpha C)
    Y = random_network(4, 3, 2, 5).sample(2000, rng=0)
    full = fd.BayesianNetwork.fit(Y, 3, parents=[[], [0], [1], [1, 2]], alpha=0.5)
    Nf = fd.BayesianNetwork.sufficient_statistics(Y, 3, parents=[[], [0], [1], [1, 2]])["counts"]
    np.testing.assert_allclose(full.log_cpt, np.log((Nf + 0.5) / (Nf.sum(1, keepdims=True) + 1.5)), rtol=1e-12)
