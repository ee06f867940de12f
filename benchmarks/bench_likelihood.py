"""Log-likelihood reductions and fitting vs the numpy idioms: Factorized, Mixture, Chow-Liu.

Full size: ``pytest benchmarks/bench_likelihood.py --benchmark-enable``. Each case is one
pytest-benchmark group of implementations (``impl``: ``fastdgm``, ``numpy``, ``torch``, and
``floor_read``, one pass that just sums X); ``benchmarks/report.py`` gives the ratios.
The numpy baselines of the mixture use BLAS, limited to one thread like fastdgm
(threadpoolctl, the ``bench`` extra; without it set ``OPENBLAS_NUM_THREADS=1``).
"""
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.bench import cases
from fastdgm.slow import baselines as base
from fastdgm.slow import likelihood as slow
from conftest import blas_threads_1, pick, torch_threads_1
import floors

FACTORIZED = [(10**6, 64, 2, np.uint8), (10**5, 784, 256, np.uint8), (10**6, 16, 1000, np.uint16)]


def _data(n, d, C, dtype, seed=0):
    return np.random.default_rng(seed).integers(0, C, size=(n, d)).astype(dtype)


@pytest.mark.parametrize("impl", ["fastdgm", "numpy", "torch", "floor_read"])
@pytest.mark.parametrize("n, d, C, dtype", FACTORIZED, ids=lambda v: getattr(v, "__name__", str(v)))
def test_factorized_log_prob(measure, full_size, n, d, C, dtype, impl):
    """Factorized.log_prob, one thread: vs the column-gather idiom, torch gather, and one read of X."""
    n = pick(full_size, n, 1000)
    case = cases.setup("factorized-logprob", n=n, d=d, C=C, dtype=dtype)   # fastdgm and numpy: fastdgm bench's case
    X, m = case.data["X"], case.data["model"]
    fns = {**case.fns, "floor_read": floors.read(X)}
    if impl == "torch":
        torch = torch_threads_1()
        Xt, lpt = torch.from_numpy(X.astype(np.int64)), torch.from_numpy(m.log_probs)
        fns["torch"] = lambda: base.torch_factorized_log_prob(Xt, lpt)
    with fd.threads(1):
        measure(f"factorized-log_prob-{n:.0e}x{d}-C{C}", impl, fns, n=n, d=d, C=C,
                dtype=np.dtype(dtype).name, kernel="factorized-logprob", items=case.items)


@pytest.mark.parametrize("impl", ["fastdgm", "numpy", "floor_read"])
def test_mixture_log_prob(measure, full_size, impl):
    """Mixture.log_prob, K = 10, (10^5, 64, 4), one thread: vs one-hot matmul + logsumexp."""
    n, d, C, K = pick(full_size, 10**5, 1000), 64, 4, 10
    case = cases.setup("mixture-logprob", n=n, K=K, d=d, C=C)    # fastdgm and numpy: fastdgm bench's case
    fns = {**case.fns, "floor_read": floors.read(case.data["X"])}
    with fd.threads(1), blas_threads_1():
        measure("mixture-log_prob", impl, fns, n=n, d=d, C=C, K=K, kernel="mixture-logprob", items=case.items)


@pytest.mark.parametrize("impl", ["fastdgm", "fastdgm_1estep", "numpy"])
@pytest.mark.parametrize("n, d, K", [(10**4, 16, 5), (10**5, 16, 5), (10**5, 64, 5), (10**5, 64, 20)])
def test_mixture_em_iteration(measure, full_size, n, d, K, impl):
    """Mixture.fit (one thread; C = 4) with 1 + 5 E-steps (``fastdgm``) and with 1 E-step
    (``fastdgm_1estep``), vs 5 numpy EM iterations (one-hot products) on the same data; the
    report derives seconds per iteration = (fastdgm - fastdgm_1estep) / 5."""
    n = pick(full_size, n, 500)
    C, iters = 4, 5
    X = _data(n, d, C, np.uint8, seed=3)
    m0 = fd.Mixture(np.ones(K), np.random.default_rng(4).random((K, d, C)) + 0.1)
    onehot = np.zeros((n, d * C))
    onehot[np.arange(n)[:, None], np.arange(d) * C + X] = 1.0

    def fit(e_steps=iters + 1):
        return fd.Mixture.fit(X, n_components=K, n_states=C, rng=0, max_iter=e_steps, tol=0.0)

    def numpy_iters():
        lw, lc = m0.log_weights, m0.log_components
        for _ in range(iters):
            lw, lc, _ = slow.mixture_em_step_numpy(X, lw, lc, onehot)

    with fd.threads(1), blas_threads_1():
        measure(f"mixture-fit-{n:.0e}x{d}-K{K}", impl, {"fastdgm": fit, "fastdgm_1estep": lambda: fit(1),
                                                         "numpy": numpy_iters},
                n=n, d=d, C=C, K=K, iterations=iters, kernel="mixture-fit")


@pytest.mark.parametrize("impl", ["fastdgm", "numpy"])
@pytest.mark.parametrize("n, d", [(10**4, 16), (10**5, 16), (10**5, 64)])
def test_chow_liu_fit(measure, full_size, n, d, impl):
    """Seconds per ChowLiuTree.fit (one thread; C = 4) vs the numpy bincount-per-pair
    mutual-information matrix alone."""
    n = pick(full_size, n, 500)
    C = 4
    X = _data(n, d, C, np.uint8, seed=5)
    X[:, 1::2] = (X[:, ::2] + (np.random.default_rng(6).random((n, d // 2)) < 0.3)) % C
    with fd.threads(1):
        measure(f"chowliu-fit-{n:.0e}x{d}", impl, {"fastdgm": lambda: fd.ChowLiuTree.fit(X, C),
                                                   "numpy": lambda: slow.mutual_info_matrix_numpy(X, C)},
                n=n, d=d, C=C, kernel="chowliu-fit")


@pytest.mark.parametrize("impl", ["fastdgm", "fastdgm_1thread"])
@pytest.mark.parametrize("what", ["factorized-log_prob", "mixture-log_prob", "factorized-fit", "factorized-sample"])
def test_two_threads(measure_threads, full_size, what, impl):
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

    def run(t):
        def f():
            with fd.threads(t):
                return fn()
        return f

    measure_threads(f"threads-{what}", impl, run, n=n, d=d, C=C, kernel=f"threads-{what}")
