"""Gibbs sampler: exactness against enumeration, reproducibility, resume, checkpoints, errors."""
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.mcmc import GibbsResult, gibbs
from fastdgm.models.mrf import PairwiseMRF
from fastdgm.slow import gibbs as slow


def _tables(m):
    return np.broadcast_to(m._tables[m._etab], (len(m.edges), m.n_states, m.n_states))


def _irregular(C, potts, field, seed=0):
    gen = np.random.default_rng(seed)
    # a small irregular graph: a 4-cycle with a chord, a triangle, a pendant site and a hub
    edges = np.array([(0, 1), (1, 2), (2, 3), (3, 0), (0, 2), (4, 5), (5, 6), (6, 4), (7, 0), (7, 4),
                      (7, 5)])
    d = 8
    unary = gen.normal(size=(d, C)) if field else np.zeros((d, C))
    if potts:
        pw = gen.uniform(-0.5, 1.2, size=len(edges))[:, None, None] * np.eye(C)[None]
    else:
        pw = gen.normal(scale=0.8, size=(len(edges), C, C))
    return PairwiseMRF(unary, edges, pw)


CASES = {
    # name: (model factory, schedule, kernel path exercised)
    "ising_4x4_grid": (lambda: PairwiseMRF.grid((4, 4), 2, 0.6), "chromatic"),  # grid fast path, C=2
    "ising_3x4_open_grid": (lambda: PairwiseMRF.grid((3, 4), 2, -0.7, periodic=False), "chromatic"),
    "potts_2x4_q5_grid": (lambda: PairwiseMRF.grid((2, 4), 5, 0.9), "chromatic"),  # grid fast path, C>2
    "potts_4x3_q3_open": (lambda: PairwiseMRF.grid((4, 3), 3, 1.0, periodic=False), "chromatic"),  # interior
    "potts_ring6_q4": (lambda: PairwiseMRF.grid((6,), 4, 1.1), "chromatic"),  # 1-D grid fast path
    "potts_3x3_q3_field": (lambda: PairwiseMRF.grid((3, 3), 3, 0.5, field=np.random.default_rng(1).normal(
        size=(9, 3))), "chromatic"),  # 3 colours, Potts with field
    "potts_3x3_q3_nofield": (lambda: PairwiseMRF.grid((3, 3), 3, 0.8), "chromatic"),  # 3 colours, O(degree)
    "graph_tables": (lambda: _irregular(3, False, True), "chromatic"),
    "graph_potts_nofield": (lambda: _irregular(4, True, False), "chromatic"),
    "graph_potts_field": (lambda: _irregular(3, True, True), "chromatic"),
    "graph_tables_sequential": (lambda: _irregular(3, False, True, seed=2), "sequential"),
    "graph_tables_random": (lambda: _irregular(3, False, True, seed=3), "random"),
    "ising_grid_random": (lambda: PairwiseMRF.grid((3, 3), 2, 0.6), "random"),
}


def _stats(model, X):
    """Indicator statistics per sample: [x_i == k] for all (i, k) and [x_u == x_v] per edge."""
    C = model.n_states
    site = (X[:, :, None] == np.arange(C)).reshape(len(X), -1)
    agree = X[:, model.edges[:, 0]] == X[:, model.edges[:, 1]]
    return np.concatenate([site, agree], 1).astype(np.float64)


@pytest.mark.parametrize("name", sorted(CASES))
def test_marginals_match_enumeration(name):
    factory, schedule = CASES[name]
    model = factory()
    K = 60000
    res = gibbs(model, K, 1, burn_in=40, rng=12345, schedule=schedule)
    X = res.samples[0]  # one draw per independent chain: iid samples of the chain's law
    S, p = slow.exact_probs(model.unary, model.edges, _tables(model))
    exact = p @ _stats(model, S)
    emp = _stats(model, X).mean(0)
    var = exact * (1 - exact)
    keep = var > 0
    z = (emp[keep] - exact[keep]) / np.sqrt(var[keep] / K)
    # ~20-70 statistics; |z| > 5 has probability < 1e-4 in total for a correct sampler
    assert np.max(np.abs(z)) < 5.0, (name, np.round(z, 2))
    assert np.all(emp[~keep] == exact[~keep])
    # the energy trace is the exact energy of the kept states
    np.testing.assert_allclose(res.energy[-1], model.energy(X), rtol=0, atol=1e-9)


def test_wrong_conditional_would_fail():
    """The marginal test has power: a sampler for beta = 0.66 fails against the beta = 0.6 law."""
    wrong = PairwiseMRF.grid((4, 4), 2, 0.66)
    right = PairwiseMRF.grid((4, 4), 2, 0.6)
    K = 60000
    X = gibbs(wrong, K, 1, burn_in=40, rng=1).samples[0]
    S, p = slow.exact_probs(right.unary, right.edges, _tables(right))
    exact = p @ _stats(right, S)
    z = (_stats(right, X).mean(0) - exact) / np.sqrt(exact * (1 - exact) / K)
    assert np.max(np.abs(z)) > 5.0


def _big_models():
    gen = np.random.default_rng(0)
    return {
        "grid_ising": PairwiseMRF.grid((64, 66), 2, 0.8),
        "grid_potts": PairwiseMRF.grid((64, 64), 7, 0.9, periodic=False),
        "graph_potts_field": PairwiseMRF.grid((33, 64), 4, 0.7, field=gen.normal(size=(33 * 64, 4))),
        "graph_tables": PairwiseMRF.grid((40, 103), 3, gen.normal(size=(3, 3))),
        "graph_potts": PairwiseMRF.grid((45, 91), 5, 1.0),
    }


@pytest.mark.parametrize("name", sorted(_big_models()))
def test_thread_and_layout_invariance(name):
    model = _big_models()[name]
    runs = []
    for threads, layout in [(1, "chains"), (2, "chains"), (2, "sites"), (1, "sites")]:
        with fd.threads(threads):
            runs.append(gibbs(model, 3, 5, burn_in=2, thin=2, rng=7, _layout=layout))
    for r in runs[1:]:
        np.testing.assert_array_equal(r.samples, runs[0].samples)
        np.testing.assert_array_equal(r.energy, runs[0].energy)
        np.testing.assert_array_equal(r.state, runs[0].state)
    # energy tracked incrementally stays the exact energy
    np.testing.assert_allclose(runs[0].energy[-1], model.energy(runs[0].state), rtol=1e-12, atol=1e-8)


@pytest.mark.parametrize("schedule", ["sequential", "random"])
def test_thread_invariance_other_schedules(schedule):
    model = _big_models()["graph_tables"]
    out = []
    for t in (1, 2):
        with fd.threads(t):
            out.append(gibbs(model, 4, 3, rng=3, schedule=schedule))
    np.testing.assert_array_equal(out[0].samples, out[1].samples)
    np.testing.assert_array_equal(out[0].energy, out[1].energy)


@pytest.mark.parametrize("schedule", ["chromatic", "random"])
def test_resume_equals_uninterrupted(schedule):
    model = PairwiseMRF.grid((6, 8), 3, 0.7)
    full = gibbs(model, 5, 10, burn_in=5, thin=2, rng=42, schedule=schedule)
    a = gibbs(model, 5, 4, burn_in=5, thin=2, rng=42, schedule=schedule)
    b = gibbs(model, 5, 6, thin=2, resume=a)
    np.testing.assert_array_equal(np.concatenate([a.samples, b.samples]), full.samples)
    np.testing.assert_array_equal(np.concatenate([a.energy, b.energy]), full.energy)
    np.testing.assert_array_equal(b.state, full.state)
    assert b.sweep == full.sweep == 15 and b.schedule == schedule
    # chunked: resume sweep by sweep
    r = gibbs(model, 5, 0, burn_in=5, rng=42, schedule=schedule)
    parts = []
    for _ in range(10):
        r = gibbs(model, 5, 1, resume=r)
        parts.append(r.energy)
    np.testing.assert_array_equal(np.concatenate(parts), full.energy)


def test_checkpoint_resume(tmp_path, monkeypatch):
    import fastdgm.mcmc as G

    model = PairwiseMRF.grid((8, 8), 4, 0.9)
    full = gibbs(model, 3, 12, burn_in=3, thin=3, rng=5)
    ck = tmp_path / "ck.npz"
    # a complete checkpoint continues like a result
    done = gibbs(model, 3, 6, burn_in=3, thin=3, rng=5, checkpoint=ck)
    assert GibbsResult.load(ck).complete
    more = gibbs(model, 3, 6, thin=3, resume=ck)
    np.testing.assert_array_equal(np.concatenate([done.samples, more.samples]), full.samples)
    np.testing.assert_array_equal(more.state, full.state)

    # an interrupted run: kill it after a few chunks, then finish it from the checkpoint file
    class Killer(G.Progress):
        calls = 0

        def update(self, n=1):
            super().update(n)
            Killer.calls += 1
            if Killer.calls == 4:
                raise KeyboardInterrupt

    ck2 = tmp_path / "ck2.npz"
    monkeypatch.setattr(G, "Progress", Killer)
    with pytest.raises(KeyboardInterrupt):
        gibbs(model, 3, 12, burn_in=3, thin=3, rng=5, checkpoint=ck2, checkpoint_every=0.0)
    monkeypatch.undo()
    part = GibbsResult.load(ck2)
    assert not part.complete and 0 < part.sweeps_done < 15
    with pytest.raises(ValueError, match="unfinished run"):
        gibbs(model, 3, 11, burn_in=3, thin=3, resume=ck2)
    fin = gibbs(model, 3, 12, burn_in=3, thin=3, resume=ck2, checkpoint=ck2)
    np.testing.assert_array_equal(fin.samples, full.samples)
    np.testing.assert_array_equal(fin.energy, full.energy)
    np.testing.assert_array_equal(fin.state, full.state)
    assert GibbsResult.load(ck2).complete


def test_result_shapes_dtypes_and_init():
    m = PairwiseMRF.grid((3, 4), 2, 0.5)
    r = gibbs(m, 4, 7, burn_in=2, thin=3, rng=0)
    assert r.samples.shape == (2, 4, 12) and r.samples.dtype == np.uint8
    assert r.energy.shape == (7, 4) and r.state.shape == (4, 12)
    np.testing.assert_array_equal(r.samples[-1], gibbs(m, 4, 6, burn_in=2, rng=0).state)
    big = PairwiseMRF.grid((2, 3), 300, 0.5)
    assert gibbs(big, 2, 1, rng=0).samples.dtype == np.uint16
    init = np.arange(48).reshape(4, 12) % 2
    a = gibbs(m, 4, 0, init=init, rng=0)
    np.testing.assert_array_equal(a.state, init)
    np.testing.assert_array_equal(a.final_energy, m.energy(init))
    b = gibbs(m, 4, 3, init="random", rng=0)
    np.testing.assert_array_equal(b.samples, gibbs(m, 4, 3, rng=0).samples)
    assert not np.array_equal(b.samples, gibbs(m, 4, 3, rng=1).samples)
    # random initial states are uniform
    st = gibbs(PairwiseMRF.grid((10, 10), 3, 0.0), 100, 0, rng=4).state
    counts = np.bincount(st.ravel(), minlength=3)
    assert np.all(np.abs(counts - 10000 / 3) < 5 * np.sqrt(10000 * 2 / 9))
    # model.sample
    s = m.sample(5, rng=0, burn_in=3)
    assert s.shape == (5, 12) and s.dtype == np.uint8


@pytest.mark.parametrize("twin", ["parallel", "serial"])
def test_chain_setup_matches_references(twin):
    """The fused set-up kernel (random initial states and initial energies, one parallel region)
    against the Python counter generator and the loop energy, both twins, on a graph with
    per-edge tables; with fill=False it keeps the given states."""
    from fastdgm._rng import substream_ref, uniform_ref
    from fastdgm.kernels.gibbs_common import chain_keys, chain_setup

    gen = np.random.default_rng(5)
    d, C, n = 7, 3, 5
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6], [0, 6], [1, 4]])
    m = PairwiseMRF(gen.normal(size=(d, C)), edges, gen.normal(size=(len(edges), C, C)))
    keys = chain_keys(np.uint64(99), 3, n)
    kern = getattr(chain_setup, twin)
    X = np.empty((n, d), np.uint8)
    e = np.empty(n)
    kern(keys, X, True, C, m._unary, m._edges, m._etab, m._tables, e)
    ref = np.array([[min(int(uniform_ref(substream_ref(int(k), 0), i) * C), C - 1) for i in range(d)]
                    for k in keys])
    np.testing.assert_array_equal(X, ref)
    T = np.broadcast_to(m.pairwise, (len(edges), C, C))
    np.testing.assert_allclose(e, slow.energy(m.unary, edges, T, X), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(e, m.energy(X))        # the bits gibbs tracks from
    Y = gen.integers(0, C, (n, d)).astype(np.uint8)
    Y0 = Y.copy()
    kern(keys, Y, False, C, m._unary, m._edges, m._etab, m._tables, e)
    np.testing.assert_array_equal(Y, Y0)
    np.testing.assert_array_equal(e, m.energy(Y))


def test_bad_arguments():
    m = PairwiseMRF.grid((3, 3), 3, 0.5)
    with pytest.raises(ValueError, match=r"init must hold states in \[0, n_states=3\): init\[1, 4\] = 3"):
        gibbs(m, 2, 1, init=[[0] * 9, [0, 0, 0, 0, 3, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match=r"init must have shape \(n_chains, d\)"):
        gibbs(m, 3, 1, init=np.zeros((2, 9), int))
    with pytest.raises(ValueError, match="9 columns"):
        gibbs(m, 2, 1, init=np.zeros((2, 8), int))
    with pytest.raises(ValueError, match=r"init\[0, 0\] = -1"):
        gibbs(m, 1, 1, init=-np.ones((1, 9), int))
    with pytest.raises(TypeError, match="integer dtype"):
        gibbs(m, 1, 1, init=np.zeros((1, 9)))
    with pytest.raises(ValueError, match="init must be None, 'random'"):
        gibbs(m, 1, 1, init="zeros")
    with pytest.raises(ValueError, match="schedule"):
        gibbs(m, 1, 1, schedule="metropolis")
    with pytest.raises(ValueError, match="n_chains"):
        gibbs(m, 0, 1)
    with pytest.raises(ValueError, match="thin"):
        gibbs(m, 1, 1, thin=0)
    with pytest.raises(TypeError, match="PairwiseMRF"):
        gibbs(object(), 1, 1)
    r = gibbs(m, 2, 1, rng=0)
    with pytest.raises(ValueError, match="rng must be None with resume"):
        gibbs(m, 2, 1, rng=0, resume=r)
    with pytest.raises(ValueError, match="n_chains must equal"):
        gibbs(m, 3, 1, resume=r)
    with pytest.raises(ValueError, match="different model"):
        gibbs(PairwiseMRF.grid((3, 3), 3, 0.6), 2, 1, resume=r)


def test_progress_bar(capsys):
    m = PairwiseMRF.grid((4, 4), 2, 0.5)
    gibbs(m, 2, 20, burn_in=5, rng=0, progress=True)
    err = capsys.readouterr().err
    assert "25/25 sweeps" in err and "sweeps/s" in err


def test_uniform_shortcut_matches_site_uniform():
    """The integer threshold in the Ising kernel is the test site_uniform < p (32 bits)."""
    import math

    from fastdgm._gibbs_rng import site_bits_ref, site_uniform_ref

    gen = np.random.default_rng(0)
    for _ in range(2000):
        key, sweep, site = int(gen.integers(0, 2 ** 63)), int(gen.integers(0, 2 ** 40)), int(gen.integers(0, 2 ** 32))
        p = float(gen.random())
        u = site_uniform_ref(key, sweep, site)
        bits = site_bits_ref(key, sweep, site)
        assert u == bits * 2.0 ** -32 and 0 <= bits < 2 ** 32
        assert (u < p) == (bits < math.ceil(p * 2.0 ** 32))


def test_site_uniforms_match_reference_and_are_uniform():
    """The numba site uniforms equal the pure-Python reference bit for bit; distinct sites of a
    sweep get distinct bits, and the bits pass a chi-square test on 256 bins (by top and bottom byte)."""
    import numba

    from fastdgm._gibbs_rng import site_bits_ref
    from fastdgm.kernels.gibbs_rng import site_bits, sweep_key

    @numba.njit
    def bits_of(chain_key, sweep, sites):
        k0, k1 = sweep_key(chain_key, sweep)
        out = np.empty(sites.shape[0], dtype=np.uint64)
        for j in range(sites.shape[0]):
            out[j] = site_bits(k0, k1, sites[j])
        return out

    gen = np.random.default_rng(1)
    for _ in range(50):
        key, sweep = int(gen.integers(0, 2 ** 64, dtype=np.uint64)), int(gen.integers(0, 2 ** 40))
        sites = gen.integers(0, 2 ** 32, 20)
        got = bits_of(np.uint64(key), sweep, sites)
        assert [int(b) for b in got] == [site_bits_ref(key, sweep, int(i)) for i in sites]
    b = bits_of(np.uint64(12345), 7, np.arange(1 << 18))
    assert len(np.unique(b)) == 1 << 18
    from scipy import stats

    for byte in (b >> np.uint64(24), b & np.uint64(255)):
        counts = np.bincount(byte.astype(np.int64), minlength=256)
        assert stats.chisquare(counts).pvalue > 1e-4


def test_potts_grid_conditionals_by_inversion():
    """The O(4) Potts updates map u in [0, 1) to states with exactly the conditional law."""
    import numba

    from fastdgm.kernels.gibbs_grid import _potts4, _potts_site

    @numba.njit
    def masses(s, n_states, expb, n_u, interior):
        out = np.zeros(n_states)
        x = np.zeros(1, dtype=np.int64)
        lst = np.zeros(4, dtype=np.int64)
        cnt = np.zeros(4, dtype=np.int64)
        for t in range(n_u):
            u = (t + 0.5) / n_u
            if interior:
                _potts4(x, 0, 0, s[0], s[1], s[2], s[3], u, n_states, expb)
            else:
                _potts_site(x, 0, 0, s[0], s[1], s[2], s[3], u, n_states, expb, lst, cnt)
            out[x[0]] += 1.0
        return out / n_u

    gen = np.random.default_rng(0)
    for C in (2, 3, 5, 12):
        for beta in (0.9, -0.7):
            expb = np.exp(beta * np.arange(5) - max(0.0, 4 * beta))
            for _ in range(25):
                s = gen.integers(0, min(C, 4) if gen.random() < 0.5 else C, 4)
                for interior in (True, False):
                    nb = s.copy()
                    if not interior:
                        nb[gen.random(4) < 0.4] = -1
                    logit = beta * np.array([(nb == k).sum() for k in range(C)], float)
                    p = np.exp(logit - logit.max())
                    p /= p.sum()
                    got = masses(nb, C, expb, 200000, interior)
                    np.testing.assert_allclose(got, p, atol=2e-5, err_msg=f"{C} {beta} {nb} {interior}")
