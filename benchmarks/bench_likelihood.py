"""Log-likelihood reductions and fitting vs the numpy idioms: Factorized, Mixture, Chow-Liu.

Full size: ``FASTDGM_BENCH_FULL=1 pytest benchmarks/bench_likelihood.py --benchmark-enable``.
``extra_info['speedup']`` = numpy idiom median / fastdgm median, measured in the same run;
``speedup_read_X`` = (time of one pass that just sums X) / (time of log_prob): the fraction of
the memory bandwidth of reading X once that log_prob reaches.
The numpy baselines of the mixture use BLAS: run with ``OPENBLAS_NUM_THREADS=1`` for the
one-thread comparisons (numpy is then faster on a loaded machine, and the comparison fair).
"""
import numba
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.slow import likelihood as slow
from conftest import median_time, pick

FACTORIZED = [(10**6, 64, 2, np.uint8), (10**5, 784, 256, np.uint8), (10**6, 16, 1000, np.uint16)]


@numba.njit(nogil=True, cache=True)
def _sum_x(X):
    """One pass over X (the 'read X once' bandwidth reference), vectorised by LLVM."""
    flat = X.reshape(-1)
    s = np.uint64(0)
    for k in range(flat.shape[0]):
        s += flat[k]
    return s


def _data(n, d, C, dtype, seed=0):
    return np.random.default_rng(seed).integers(0, C, size=(n, d)).astype(dtype)


@pytest.mark.parametrize("n, d, C, dtype", FACTORIZED, ids=lambda v: getattr(v, "__name__", str(v)))
def test_factorized_log_prob(compare, full_size, n, d, C, dtype):
    """Factorized.log_prob, one thread: vs the column-gather idiom and vs one read of X."""
    n = pick(full_size, n, 1000)
    X = _data(n, d, C, dtype)
    m = fd.Factorized(np.random.default_rng(1).random((d, C)) + 0.01)
    with fd.threads(1):
        compare(lambda: m.log_prob(X), lambda: slow.factorized_log_prob_numpy(X, m.log_probs),
                others={"read_X": lambda: _sum_x(X)}, n=n, d=d, C=C, dtype=np.dtype(dtype).name,
                kernel="factorized-log_prob")


def test_mixture_log_prob(compare, full_size):
    """Mixture.log_prob, K = 10, (10^5, 64, 4), one thread: vs one-hot matmul + logsumexp."""
    n, d, C, K = pick(full_size, 10**5, 1000), 64, 4, 10
    X = _data(n, d, C, np.uint8)
    rng = np.random.default_rng(2)
    m = fd.Mixture(rng.random(K) + 0.1, rng.random((K, d, C)) + 0.01)
    with fd.threads(1):
        compare(lambda: m.log_prob(X), lambda: slow.mixture_log_prob_numpy(X, m.log_weights, m.log_components),
                n=n, d=d, C=C, K=K, kernel="mixture-log_prob")


@pytest.mark.parametrize("n, d, K", [(10**4, 16, 5), (10**5, 16, 5), (10**5, 64, 5), (10**5, 64, 20)])
def test_mixture_em_iteration(compare, benchmark, full_size, n, d, K):
    """Mixture.fit (one thread; C = 4) with 1 + 5 E-steps, vs 5 numpy EM iterations (one-hot
    products) on the same data. ``s_per_iter`` = (fit with 6 E-steps - fit with 1) / 5 and
    ``speedup_per_iter`` = numpy seconds per iteration / s_per_iter."""
    n = pick(full_size, n, 500)
    C, iters = 4, 5
    X = _data(n, d, C, np.uint8, seed=3)
    m0 = fd.Mixture(np.ones(K), np.random.default_rng(4).random((K, d, C)) + 0.1)
    onehot = np.zeros((n, d * C))
    onehot[np.arange(n)[:, None], np.arange(d) * C + X] = 1.0

    def fit(e_steps=iters + 1):
        return fd.Mixture.fit(X, K, C, rng=0, max_iter=e_steps, tol=0.0)

    def numpy_iters():
        lw, lc = m0.log_weights, m0.log_components
        for _ in range(iters):
            lw, lc, _ = slow.mixture_em_step_numpy(X, lw, lc, onehot)

    with fd.threads(1):
        compare(fit, numpy_iters, n=n, d=d, C=C, K=K, iterations=iters, kernel="mixture-fit")
        if full_size and benchmark.enabled:
            one = median_time(lambda: fit(1))
            per_iter = (benchmark.stats.stats.median - one) / iters
            benchmark.extra_info["fit_1_estep_s"] = one
            benchmark.extra_info["s_per_iter"] = per_iter
            benchmark.extra_info["speedup_per_iter"] = benchmark.extra_info["baseline_s"] / iters / per_iter


@pytest.mark.parametrize("n, d", [(10**4, 16), (10**5, 16), (10**5, 64)])
def test_chow_liu_fit(compare, full_size, n, d):
    """Seconds per ChowLiuTree.fit (one thread; C = 4) vs the numpy bincount-per-pair
    mutual-information matrix alone."""
    n = pick(full_size, n, 500)
    C = 4
    X = _data(n, d, C, np.uint8, seed=5)
    X[:, 1::2] = (X[:, ::2] + (np.random.default_rng(6).random((n, d // 2)) < 0.3)) % C
    with fd.threads(1):
        compare(lambda: fd.ChowLiuTree.fit(X, C), lambda: slow.mutual_info_matrix_numpy(X, C),
                n=n, d=d, C=C, kernel="chowliu-fit")


@pytest.mark.parametrize("what", ["factorized-log_prob", "mixture-log_prob", "factorized-fit", "factorized-sample"])
def test_two_threads(compare, full_size, what):
    """2 threads vs 1 thread at n = 10^6 (speedup = one-thread median / two-thread median)."""
    n = pick(full_size, 10**6, 2000)
    d, C, K = 64, 4, 10
    X = _data(n, d, C, np.uint8, seed=7)
    rng = np.random.default_rng(8)
    f = fd.Factorized(rng.random((d, C)) + 0.01)
    mx = fd.Mixture(rng.random(K) + 0.1, rng.random((K, d, C)) + 0.01)
    fn = {"factorized-log_prob": lambda: f.log_prob(X),
          "mixture-log_prob": lambda: mx.log_prob(X),
          "factorized-fit": lambda: fd.Factorized.fit(X, C),
          "factorized-sample": lambda: f.sample(n, rng=1)}[what]

    def one_thread():
        with fd.threads(1):
            return fn()

    with fd.threads(2):
        compare(fn, one_thread, n=n, d=d, C=C, kernel=f"threads-{what}")
