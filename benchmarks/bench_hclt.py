"""HiddenChowLiuTree: log_prob vs the numpy upward pass (one BLAS product per node), and one
EM iteration (E-step upward + downward passes and M-step).

``extra_info['speedup']`` = numpy median / fastdgm median, measured in the same run. The
numpy baseline's BLAS runs on one thread like fastdgm (threadpoolctl, the ``bench`` extra;
else set ``OPENBLAS_NUM_THREADS=1``).
"""
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.models.hclt import HiddenChowLiuTree
from fastdgm.slow import hclt as slow
from conftest import blas_threads_1, pick, timed


def _model(d, K, C, seed=0):
    rng = np.random.default_rng(seed)
    parent = np.array([-1] + [int(rng.integers(0, j)) for j in range(1, d)])
    return HiddenChowLiuTree(parent, rng.dirichlet(np.ones(K)), rng.dirichlet(np.ones(K), size=(d, K)),
                             rng.dirichlet(np.ones(C), size=(d, K)))


@pytest.mark.parametrize("impl", ["fastdgm", "numpy"])
@pytest.mark.parametrize("n, d, K", [(20_000, 111, 16), (20_000, 64, 32), (5_000, 910, 8)])
def test_hclt_log_prob(measure, full_size, n, d, K, impl):
    """HiddenChowLiuTree.log_prob, one thread, binary X: vs the numpy upward pass."""
    n = pick(full_size, n, 200)
    m = _model(d, K, 2)
    X = m.sample(n, rng=1)
    with fd.threads(1), blas_threads_1():
        measure(f"hclt-log_prob-{n}x{d}-K{K}", impl,
                {"fastdgm": lambda: m.log_prob(X), "numpy": lambda: slow.log_prob_numpy(m, X)},
                n=n, d=d, K=K, C=2, kernel="hclt-log_prob")


@pytest.mark.parametrize("threads", [1, 2])
def test_hclt_em_iteration(benchmark, full_size, threads):
    """One EM iteration (E-step + M-step) of HiddenChowLiuTree, (n, d, K) = (10^4, 111, 16)."""
    n, d, K = pick(full_size, 10_000, 200), 111, 16
    m = _model(d, K, 2)
    X = m.sample(n, rng=1)
    m.em_step(X)
    with fd.threads(threads):
        benchmark.extra_info.update(n=n, d=d, K=K, threads=threads, kernel="hclt-em_step")
        timed(benchmark, lambda: m.em_step(X, alpha=0.5))
