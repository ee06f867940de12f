"""Mixtures of trees and missing-value inference vs the numpy idioms.

``pytest benchmarks/bench_treemix.py --benchmark-enable``; ``extra_info['speedup']`` =
numpy median / fastdgm median in the same run. The pair-count baseline uses BLAS, limited to one
thread like fastdgm (threadpoolctl, the ``bench`` extra; else set ``OPENBLAS_NUM_THREADS=1``).
"""
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.bench.internals import PairCounter
from fastdgm.models import pairwise_counts
from fastdgm.slow import treemix as slow
from conftest import blas_threads_1, pick


def _tree_mixture(K, d, C, seed):
    rng = np.random.default_rng(seed)
    parents = []
    for _ in range(K):
        perm = rng.permutation(d)
        p = -np.ones(d, dtype=np.int64)
        for t in range(1, d):
            p[perm[t]] = perm[rng.integers(t)]
        parents.append(p)
    return fd.TreeMixture(rng.random(K) + 0.1, np.stack(parents), rng.dirichlet(np.ones(C), size=(K, d, C)))


@pytest.mark.parametrize("impl", ["fastdgm", "numpy"])
def test_treemix_log_prob(measure, full_size, impl):
    """TreeMixture.log_prob, K = 10, (10^5, 64, 2), one thread: vs per-component gathers + logsumexp."""
    n, d, C, K = pick(full_size, 10**5, 1000), 64, 2, 10
    m = _tree_mixture(K, d, C, 0)
    X = m.sample(n, rng=1)
    with fd.threads(1), blas_threads_1():
        measure("treemix-log_prob", impl, {"fastdgm": lambda: m.log_prob(X),
                                      "numpy": lambda: slow.treemix_log_prob_numpy(X, m.log_weights, m.parents, m.log_cond)},
                n=n, d=d, C=C, K=K, kernel="treemix-log_prob")


@pytest.mark.parametrize("impl", ["fastdgm", "numpy"])
def test_pair_counts_sparse_binary(measure, full_size, impl):
    """M-step pair counts of K = 10 weightings, binary data of density 0.18 (like plants,
    (17412, 69)), one thread: sparse co-occurrences vs the weighted BLAS Gram matrices."""
    n, d, K = pick(full_size, 17412, 500), 69, 10
    rng = np.random.default_rng(2)
    X = (rng.random((n, d)) < 0.18).astype(np.uint8)
    W = rng.dirichlet(np.ones(K), size=n)
    counter = PairCounter(X, 2)
    with fd.threads(1), blas_threads_1():
        measure("treemix-pair-counts", impl, {"fastdgm": lambda: counter(W),
                                      "numpy": lambda: slow.weighted_gram_counts_numpy(X, W)},
                n=n, d=d, C=2, K=K, kernel="treemix-pair-counts")


def _categorical_case(case, full):
    """(X, C, W): the digits (1797, 64), 17 states, or synthetic (5000, 64), 4 states; K = 4."""
    if case == "digits":
        X, _ = fd.load_digits()
        C = 17
    else:
        X = np.random.default_rng(8).integers(0, 4, size=(5000, 64)).astype(np.uint8)
        C = 4
    X = np.ascontiguousarray(X[:pick(full, None, 200)])
    return X, C, np.random.default_rng(9).dirichlet(np.ones(4), size=X.shape[0])


def _per_pair_all(X, C, W):
    """The C > 2 M-step counts before the pipeline (the former ``PairCounter.__call__``): the
    one-weighting per-pair kernel on all d^2 ordered pairs, once per weighting."""
    d, K = X.shape[1], W.shape[1]
    out = np.empty((K, d, d, C, C))
    for k in range(K):
        out[k] = pairwise_counts(X, C, np.ascontiguousarray(W[:, k]))
    return out


@pytest.mark.parametrize("impl", ["fastdgm", "fastdgm_dense", "fastdgm_pairs", "old_per_pair", "numpy"])
@pytest.mark.parametrize("case", ["digits", "synthetic"])
def test_pair_counts_categorical(measure, full_size, case, impl):
    """M-step pair counts (C > 2) of K = 4 weightings, one thread: the pipeline's choice (auto),
    each of its two methods (SYRK of the sqrt-weighted one-hot / per-pair kernel on a <= b),
    the per-pair kernel on all ordered pairs (before) and the numpy idiom
    (O * W[:, k])^T O."""
    X, C, W = _categorical_case(case, full_size)
    counters = {m: PairCounter(X, C, method=m) for m in ("auto", "dense", "pairs")}
    with fd.threads(1), blas_threads_1():
        measure(f"treemix-pair-counts-{case}", impl,
                {"fastdgm": lambda: counters["auto"](W), "fastdgm_dense": lambda: counters["dense"](W),
                 "fastdgm_pairs": lambda: counters["pairs"](W), "old_per_pair": lambda: _per_pair_all(X, C, W),
                 "numpy": lambda: slow.weighted_onehot_counts_numpy(X, C, W)},
                n=X.shape[0], d=X.shape[1], C=C, K=4, kernel="treemix-pair-counts-categorical")


@pytest.mark.parametrize("impl", ["fastdgm", "numpy"])
def test_tree_missing_log_prob(measure, full_size, impl):
    """ChowLiuTree.log_prob(missing=...) with 30% missing, (10^5, 32, 3), one thread:
    vs the upward pass vectorised over rows in numpy."""
    n, d, C = pick(full_size, 10**5, 1000), 32, 3
    m = _tree_mixture(1, d, C, 3).component(0)
    X = m.sample(n, rng=1)
    M = np.random.default_rng(4).random((n, d)) < 0.3
    with fd.threads(1), blas_threads_1():
        measure("tree-missing-log_prob", impl,
                {"fastdgm": lambda: m.log_prob(X, missing=M),
                 "numpy": lambda: slow.tree_missing_log_prob_numpy(X, M, m.parent, m.log_cond)},
                n=n, d=d, C=C, kernel="tree-missing-log_prob")


@pytest.mark.parametrize("impl", ["fastdgm", "numpy"])
def test_treemix_fit(measure, full_size, impl):
    """TreeMixture.fit, K = 10, 10 EM iterations on plants-like binary data, one thread,
    vs 10 numpy M-step pair counts alone (BLAS Gram matrices)."""
    n, d, K = pick(full_size, 17412, 500), 69, 10
    rng = np.random.default_rng(5)
    X = _tree_mixture(3, d, 2, 6).sample(n, rng=7)
    W = rng.dirichlet(np.ones(K), size=n)

    def numpy_counts():
        for _ in range(10):
            slow.weighted_gram_counts_numpy(X, W)

    with fd.threads(1), blas_threads_1():
        measure("treemix-fit", impl,
                {"fastdgm": lambda: fd.TreeMixture.fit(X, n_components=K, rng=0, max_iter=10, tol=0.0), "numpy": numpy_counts},
                n=n, d=d, C=2, K=K, iterations=10, kernel="treemix-fit")
