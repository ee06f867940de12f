"""Thresholding kernels vs numpy/scipy: one distribution, batches, threads.

Full size: ``FASTDGM_BENCH_FULL=1 pytest benchmarks/bench_sampling.py --benchmark-enable``.
``extra_info['speedup*']`` holds baseline median / fastdgm median, measured in the same run.
"""
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.slow import sampling as slow
from conftest import pick

C_SINGLE = [2, 4, 16, 256, 4096, 65536]
BATCHES = [(10**6, 4), (10**6, 32), (10**5, 256)]


def _p(C):
    return np.random.default_rng(C).random(C) + 0.01


@pytest.mark.parametrize("C", C_SINGLE)
def test_single_distribution(compare, full_size, C):
    """One distribution, n draws, one thread: vs Generator.choice and scipy's guide/alias."""
    from scipy.stats import sampling as ss

    n = pick(full_size, 5 * 10**6, 10**4)
    p = _p(C)
    pn = p / p.sum()
    rng = np.random.default_rng(0)
    others = {
        "scipy_guide": lambda: ss.DiscreteGuideTable(pn, random_state=rng).rvs(n),
        "scipy_alias": lambda: ss.DiscreteAliasUrn(pn, random_state=rng).rvs(n),
    }
    with fd.threads(1):
        compare(lambda: fd.categorical(p, size=n, rng=1), lambda: slow.choice(p, n, rng),
                others=others, C=C, n=n, kernel="categorical-single")


@pytest.mark.parametrize("method", ["scan", "bisect", "guide", "alias"])
@pytest.mark.parametrize("C", [16, 256, 4096])
def test_single_methods(compare, full_size, C, method):
    """The four searches on one distribution (for the choice made by method='auto')."""
    n = pick(full_size, 2 * 10**6, 10**4)
    p = _p(C)
    with fd.threads(1):
        compare(lambda: fd.categorical(p, size=n, rng=1, method=method), C=C, n=n, method=method,
                kernel="categorical-method")


@pytest.mark.parametrize("n, C", BATCHES)
def test_batched(compare, full_size, n, C):
    """One draw per row of P (n, C): vs the numpy idiom, and vs numpy's P.sum() alone."""
    if not full_size:
        n = 1000
    P = np.random.default_rng(0).random((n, C))
    u = np.random.default_rng(1).random(n)
    with fd.threads(1):
        compare(lambda: fd.categorical(P, rng=1), lambda: slow.categorical_rows(P, u),
                others={"sum": lambda: P.sum()}, C=C, n=n, kernel="categorical-batched")


@pytest.mark.parametrize("n, C", [(10**5, 256)])
def test_batched_logits(compare, full_size, n, C):
    if not full_size:
        n = 1000
    L = np.random.default_rng(0).standard_normal((n, C))
    u = np.random.default_rng(1).random(n)

    def numpy_logits():
        e = np.exp(L - L.max(axis=1, keepdims=True))
        return slow.categorical_rows(e, u)

    with fd.threads(1):
        compare(lambda: fd.categorical(logits=L, rng=1), numpy_logits, C=C, n=n,
                kernel="categorical-batched-logits")


@pytest.mark.parametrize("threads", [1, 2])
def test_threads_single(compare, full_size, threads):
    """10^7 draws of one distribution (C = 256) on 1 and 2 threads."""
    n = pick(full_size, 10**7, 10**4)
    p = _p(256)
    with fd.threads(threads):
        compare(lambda: fd.categorical(p, size=n, rng=1), C=256, n=n, kernel="categorical-threads",
                nthreads=threads)


@pytest.mark.parametrize("threads", [1, 2])
def test_threads_batched(compare, full_size, threads):
    n = pick(full_size, 10**6, 1000)
    P = np.random.default_rng(0).random((n, 32))
    with fd.threads(threads):
        compare(lambda: fd.categorical(P, rng=1), C=32, n=n, kernel="categorical-batched-threads",
                nthreads=threads)


@pytest.mark.parametrize("d", [2, 4, 6, 8, 10])
def test_joint_grows_exponentially(compare, full_size, d):
    """The direct O(C^d) sampler (C = 4): cost grows as C^d — why Gibbs exists."""
    if not full_size and d > 6:
        d = 6
    table = np.random.default_rng(d).random((4,) * d)
    compare(lambda: fd.sample_joint(table, size=1000, rng=0), C=4, d=d, kernel="sample-joint")


@pytest.mark.parametrize("C", [64, 4096])
def test_density(compare, full_size, C):
    n = pick(full_size, 10**6, 1000)
    grid = np.linspace(-4, 4, C)
    dens = np.exp(-grid**2 / 2)
    rng = np.random.default_rng(0)

    def numpy_inverse():   # numpy's interp of the tabulated CDF (approximate, for scale only)
        cdf = np.concatenate([[0], np.cumsum(np.diff(grid) * (dens[1:] + dens[:-1]) / 2)])
        return np.interp(rng.random(n), cdf / cdf[-1], grid)

    with fd.threads(1):
        compare(lambda: fd.sample_density(grid, dens, size=n, rng=0), numpy_inverse, C=C, n=n,
                kernel="sample-density")
