"""fastdgm.dask on a LocalCluster with 2 worker processes: same seed, same result as one machine."""
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import dask.array as da  # noqa: E402

import fastdgm as fd  # noqa: E402
import fastdgm.dask as fdd  # noqa: E402
from test_blockfit import max_rel  # noqa: E402

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fd.__file__)))


@pytest.fixture(scope="module")
def client():
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = _ROOT + (os.pathsep + old if old else "")   # workers import this fastdgm
    try:
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster) as c:
            yield c
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 4, size=(1500, 10)).astype(np.uint8)
    X[:, 1] = (X[:, 0] + (rng.random(1500) < 0.2)) % 4
    return X


@pytest.fixture(scope="module")
def models(data):
    return [fd.Factorized.fit(data, n_states=4), fd.ChowLiuTree.fit(data, n_states=4),
            fd.Mixture.fit(data, n_components=3, n_states=4, rng=0)]


def test_import_fastdgm_does_not_import_dask():
    code = ("import sys, fastdgm, fastdgm.cli; fastdgm.Factorized; "
            "assert not any(m == 'dask' or m.startswith('dask.') for m in sys.modules), 'dask imported'")
    env = dict(os.environ, PYTHONPATH=_ROOT)
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=_ROOT)


def test_log_prob_and_score(client, data, models):
    Xd = da.from_array(data, chunks=(333, 5))        # uneven row blocks, split columns
    for m in models:
        lp = fdd.log_prob(m, Xd).compute()
        np.testing.assert_array_equal(lp, m.log_prob(data))
        assert fdd.score(m, Xd).compute() == pytest.approx(m.score(data), rel=1e-13)
    with pytest.raises(ValueError, match="columns"):
        fdd.log_prob(models[0], da.zeros((4, 3), dtype=np.uint8, chunks=2))


@pytest.mark.parametrize("chunks", [1000, [1, 998, 1001, 500]])
def test_sample_blocks_equal_one_machine(client, models, chunks):
    n = 2500
    for m in models:
        s = fdd.sample(m, n, chunks=chunks, rng=42)
        assert s.shape == (n, m.n_dims)
        np.testing.assert_array_equal(s.compute(), m.sample(n, rng=42))
    cat = fd.Categorical([0.1, 0.0, 0.2, 0.7])
    np.testing.assert_array_equal(fdd.sample(cat, n, chunks=chunks, rng=3).compute(), cat.sample(n, rng=3))
    big = fd.Categorical(np.arange(1, 301, dtype=float))          # bisect/guide chosen by block size
    np.testing.assert_array_equal(fdd.sample(big, n, chunks=chunks, rng=4).compute(),
                                  big.sample(n, rng=4))


def test_sample_rejects_bad_chunks(models):
    with pytest.raises(ValueError, match="chunks"):
        fdd.sample(models[0], 10, chunks=[3, 3], rng=0)


def test_gibbs_over_workers(client):
    m = fd.PairwiseMRF.grid((6, 6), n_states=3, coupling=0.6)
    ref = fd.gibbs(m, 5, 20, burn_in=3, thin=2, rng=7)
    res = fdd.gibbs(m, 5, 20, burn_in=3, thin=2, rng=7, client=client, chains_per_task=2)
    np.testing.assert_array_equal(res.samples, ref.samples)
    np.testing.assert_array_equal(res.energy, ref.energy)
    np.testing.assert_array_equal(res.state, ref.state)
    for schedule in ("random", "sequential"):
        ref = fd.gibbs(m, 5, 6, rng=9, schedule=schedule)
        res = fdd.gibbs(m, 5, 6, rng=9, schedule=schedule, client=client, chains_per_task=2)
        np.testing.assert_array_equal(res.samples, ref.samples)
    init = np.random.default_rng(1).integers(0, 3, size=(5, 36))
    ref = fd.gibbs(m, 5, 4, init=init, rng=8)
    res = fdd.gibbs(m, 5, 4, init=init, rng=8, client=client, chains_per_task=3)
    np.testing.assert_array_equal(res.samples, ref.samples)


def test_threaded_scheduler_reductions_and_samples(data, models):
    """dask's threaded scheduler runs blocks concurrently in one process: same bits."""
    big = np.tile(data, (40, 1))                        # 60000 rows: the parallel kernels
    Xd = da.from_array(big, chunks=(7000, -1))
    for m in models:
        np.testing.assert_array_equal(fdd.log_prob(m, Xd).compute(scheduler="threads"), m.log_prob(big))
        np.testing.assert_array_equal(fdd.sample(m, 50_000, chunks=6000, rng=1).compute(scheduler="threads"),
                                      m.sample(50_000, rng=1))


def test_gibbs_threaded_scheduler():
    """Local threads call the numba kernels concurrently: serial fallback, same result."""
    m = fd.PairwiseMRF.grid((8, 8), n_states=2, coupling=0.4)
    ref = fd.gibbs(m, 8, 10, rng=3)
    res = fdd.gibbs(m, 8, 10, rng=3, client="threads", chains_per_task=1)
    np.testing.assert_array_equal(res.samples, ref.samples)


def test_fit_over_workers_equals_one_machine(client, data):
    """Factorized and Chow-Liu: bit for bit; the EM models (Mixture, TreeMixture, HCLT): the
    same iterations, to 1e-12 relative (block sums added in another order); one chunk: bit
    for bit."""
    X = np.asarray(data)
    Xd = da.from_array(X, chunks=(337, -1))
    for cls in (fd.Factorized, fd.ChowLiuTree):
        one = cls.fit(X, n_states=4, alpha=0.5)
        dist = fdd.fit(cls, Xd, n_states=4, alpha=0.5)
        for k, v in one.get_params().items():
            np.testing.assert_array_equal(dist.get_params()[k], v)
    em_fits = [(fd.Mixture, {"n_components": 3, "rng": 4, "max_iter": 25}),
               (fd.TreeMixture, {"n_components": 2, "rng": 4, "max_iter": 6, "alpha": 0.5}),
               (fd.TreeMixture, {"n_components": 2, "rng": 4, "max_iter": 4, "alpha": 0.5, "shrink": 5.0,
                                 "prune": 0.5, "init": "mixture"}),
               (fd.HiddenChowLiuTree, {"n_hidden": 2, "rng": 4, "max_iter": 6})]
    for cls, kw in em_fits:
        extra = {"dedupe": False} if cls is fd.HiddenChowLiuTree else {}
        one = cls.fit(X, n_states=4, **kw, **extra)
        dist = fdd.fit(cls, Xd, **kw)
        assert dist.n_iter_ == one.n_iter_, cls
        assert max_rel(dist.objective_history_, one.objective_history_) < 1e-12
        assert max_rel(dist.log_likelihood_history_, one.log_likelihood_history_) < 1e-12
        for k, v in one.get_params().items():
            assert max_rel(dist.get_params()[k], v) < 1e-12, (cls, k)
        whole = fdd.fit(cls, da.from_array(X, chunks=(len(X), -1)), **kw)
        for k, v in one.get_params().items():
            np.testing.assert_array_equal(whole.get_params()[k], v)
    with pytest.raises(TypeError, match="block by block"):
        fdd.fit(fd.PairwiseMRF, Xd)


def test_fit_with_sample_weight_equals_one_machine(client, data):
    """Row weights (numpy or dask, any chunks) travel with their rows: the weighted fit equals
    the one-machine weighted fit to 1e-12 relative (weighted counts are float sums, added per
    block); bad weights raise."""
    X = np.asarray(data)
    w = np.random.default_rng(5).uniform(0.0, 3.0, len(X))
    Xd = da.from_array(X, chunks=(337, -1))
    for weights in (w, da.from_array(w, chunks=500)):
        for cls in (fd.Factorized, fd.ChowLiuTree):
            one = cls.fit(X, n_states=4, alpha=0.5, sample_weight=w)
            dist = fdd.fit(cls, Xd, n_states=4, alpha=0.5, sample_weight=weights)
            for k, v in one.get_params().items():
                assert max_rel(dist.get_params()[k], v) < 1e-12, (cls, k)
        kw = {"n_components": 3, "rng": 4, "max_iter": 10}
        one = fd.Mixture.fit(X, n_states=4, sample_weight=w, **kw)
        dist = fdd.fit(fd.Mixture, Xd, sample_weight=weights, **kw)
        assert dist.n_iter_ == one.n_iter_
        for k, v in one.get_params().items():
            assert max_rel(dist.get_params()[k], v) < 1e-12, k
    unweighted = fd.Factorized.fit(X, n_states=4, alpha=0.5)
    assert not np.array_equal(unweighted.log_probs,
                              fdd.fit(fd.Factorized, Xd, n_states=4, alpha=0.5, sample_weight=w).log_probs)
    with pytest.raises(ValueError, match="sample_weight"):
        fdd.fit(fd.Factorized, Xd, n_states=4, sample_weight=w[:-1])
    with pytest.raises(TypeError, match="sample_weight"):
        fdd.fit(fd.Factorized, Xd, n_states=4, sample_weight=np.array(["a"] * len(X)))
    bad = w.copy()
    bad[700] = -1.0
    with pytest.raises(ValueError, match="sample_weight"):
        fdd.fit(fd.Factorized, Xd, n_states=4, sample_weight=bad)
