"""fastdgm.models._pair_stats, the one pair-statistics pipeline of the tree models: weighted pair
counts against np.add.at, mutual information against its direct formula, the spanning tree
against a Kruskal twin, tables against their definition (rows sum to 1)."""
import itertools

import numpy as np
import pytest

import fastdgm as fd
from fastdgm.models import _pair_stats as ps
from fastdgm.models._trees import tree_order
from fastdgm.models._cooccurrence import weighted_count_matrices, weighted_gram
from fastdgm.slow import treemix as slow


def brute_counts(X, C, W):
    """(K, d, C, d, C) sum_i W[i, k] [x_ia = u][x_ib = v] by np.add.at, one row at a time."""
    n, d = X.shape
    K = W.shape[1]
    N = np.zeros((K, d, C, d, C))
    a, b = np.meshgrid(np.arange(d), np.arange(d), indexing="ij")
    for i in range(n):
        for k in range(K):
            np.add.at(N[k], (a, X[i][a], b, X[i][b]), W[i, k])
    return N


def data(n, d, C, seed):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, C, size=(n, d)).astype(np.uint8)
    X[:, 1] = 0                          # a constant column
    W = rng.random((n, 3))
    W[::5, 1] = 0.0                      # rows without weight
    W[:, 2] = rng.integers(0, 3, n)      # integer weights: exact counts
    return X, W


@pytest.mark.parametrize("method", ["dense", "pairs"])
@pytest.mark.parametrize("n,d,C", [(60, 4, 3), (37, 5, 4), (25, 3, 7)])
def test_weighted_counts_match_add_at(method, n, d, C):
    X, W = data(n, d, C, n + d + C)
    N = weighted_count_matrices(X, C, W, method).transpose(0, 1, 3, 2, 4)     # (K, d, C, d, C)
    ref = brute_counts(X, C, W)
    np.testing.assert_allclose(N, ref, rtol=1e-13, atol=1e-12)
    if method == "pairs":       # integer weights: exact (dense: sqrt(w)^2 rounds once per product)
        np.testing.assert_array_equal(N[2], ref[2])
    # cells that no row reaches are exactly zero, the tables are symmetric
    np.testing.assert_array_equal(N[ref == 0], 0.0)
    np.testing.assert_array_equal(N, N.transpose(0, 3, 4, 1, 2))


@pytest.mark.parametrize("twin", ["serial", "parallel", "py_func"])
def test_weighted_pair_tables_twins(twin):
    """The K-weighting per-pair kernel against np.add.at, and weighting k bit for bit the
    one-weighting kernel of pairwise_counts with weights W[:, k]."""
    from fastdgm.kernels.pairwise import weighted_pair_tables
    from fastdgm.models._cooccurrence import pair_counts_blocked

    for n, d, C in ([(30, 3, 3)] if twin == "py_func" else [(1, 2, 2), (200, 5, 4), (500, 4, 11)]):
        X, W = data(n, d, C, n * d)
        Xt = np.ascontiguousarray(X.T)
        a, b = (t.astype(np.int64) for t in np.triu_indices(d))
        out = np.full((3, d, d, C, C), np.nan)
        getattr(weighted_pair_tables, twin)(Xt, W, a, b, out)
        np.testing.assert_allclose(out, brute_counts(X, C, W).transpose(0, 1, 3, 2, 4), rtol=1e-13, atol=1e-12)
        for k in range(3):
            P = pair_counts_blocked(X, C, np.ascontiguousarray(W[:, k]), a, b)
            np.testing.assert_array_equal(out[k, a, b], P)
            np.testing.assert_array_equal(out[k, b, a], P.transpose(0, 2, 1))


def test_pairs_method_thread_invariant():
    X, W = data(300, 7, 5, 11)
    with fd.threads(2):
        two = weighted_count_matrices(X, 5, W, "pairs")
    with fd.threads(1):
        np.testing.assert_array_equal(weighted_count_matrices(X, 5, W, "pairs"), two)


@pytest.mark.parametrize("C,dense", [(2, 0.2), (2, 0.8), (3, None), (5, None)])
def test_pair_counter_matches_add_at(C, dense):
    rng = np.random.default_rng(C)
    n, d = 80, 5
    if C == 2:
        X = (rng.random((n, d)) < np.linspace(0.05, dense + 0.15, d)).astype(np.uint8)
    else:
        X = rng.integers(0, C, size=(n, d)).astype(np.uint8)
    W = rng.random((n, 2))
    ref = brute_counts(X, C, W).transpose(0, 1, 3, 2, 4)          # (K, d, d, C, C)
    for method in (["auto"] if C == 2 else ["auto", "dense", "pairs"]):
        np.testing.assert_allclose(ps.PairCounter(X, C, method=method)(W), ref, rtol=1e-13, atol=1e-12)


def test_dense_counts_reproducible():
    """The same bits on 1 and 2 threads, for any number of weightings and in row chunks
    fixed by the shape (chunks given explicitly change only the summation order)."""
    rng = np.random.default_rng(3)
    X = rng.integers(0, 4, size=(3000, 16)).astype(np.uint8)
    W = rng.random((3000, 4))
    with fd.threads(1):
        one = weighted_gram(X, 4, W)
        chunked = weighted_gram(X, 4, W, chunk_rows=700)
    with fd.threads(2):
        two = weighted_gram(X, 4, W)
        chunked2 = weighted_gram(X, 4, W, chunk_rows=700)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(chunked, chunked2)
    for k in range(4):
        np.testing.assert_array_equal(weighted_gram(X, 4, W[:, k:k + 1])[0], one[k])
    np.testing.assert_allclose(chunked, one, rtol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_mutual_information_direct_formula(weighted):
    rng = np.random.default_rng(5)
    n, d, C = 200, 5, 3
    X = rng.integers(0, C, size=(n, d)).astype(np.uint8)
    X[:, 2] = (X[:, 0] + (rng.random(n) < 0.2)) % C           # dependent on column 0
    X[:, 4] = 1                                                 # constant
    w = rng.random(n) if weighted else np.ones(n)
    N = brute_counts(X, C, w[:, None])[0]
    total = w.sum()
    mi = ps.mutual_information_from_counts(N, total, weighted)
    ref = np.zeros((d, d))
    for a, b in itertools.product(range(d), repeat=2):
        if a != b:
            p = N[a, :, b, :] / total
            pa, pb = p.sum(axis=1), p.sum(axis=0)
            nz = p > 0
            ref[a, b] = (p[nz] * np.log(p[nz] / np.outer(pa, pb)[nz])).sum()
    np.testing.assert_allclose(mi, ref, atol=1e-13)
    assert mi[0, 2] > 0.3 and np.all(np.abs(mi[4]) < 1e-14)
    np.testing.assert_array_equal(mi, mi.T)


def test_max_spanning_tree_matches_kruskal():
    rng = np.random.default_rng(6)
    for d in (2, 3, 5, 9):
        for _ in range(20):
            W = rng.random((d, d))
            W = W + W.T
            parent = ps.max_spanning_tree(W, root=0)
            ref = slow._max_spanning_tree_kruskal(W)
            weight = sum(W[p, j] for j, p in enumerate(parent) if p >= 0)
            ref_weight = sum(W[p, j] for j, p in enumerate(ref) if p >= 0)
            assert parent[0] == -1 and (parent >= 0).sum() == d - 1
            tree_order(parent)                                  # a tree: no cycle
            assert weight == pytest.approx(ref_weight, rel=1e-12)


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_tree_tables_and_score(alpha):
    rng = np.random.default_rng(7)
    n, d, C = 50, 5, 3
    X = rng.integers(0, C, size=(n, d)).astype(np.uint8)
    X[:, 3] = np.where(X[:, 1] == 2, 0, X[:, 3])               # x1 = 2 never with x3 in {1, 2}
    X[:, 1] = np.minimum(X[:, 1], 1)                            # state 2 of x1 never seen
    w = rng.random(n)
    N = brute_counts(X, C, w[:, None])[0]
    parent = np.array([1, -1, 1, 1, 3])                         # root 1
    rc, Nc = ps.tree_counts(N, parent)
    np.testing.assert_allclose(rc, np.bincount(X[:, 1], weights=w, minlength=C), atol=1e-13)
    lc = ps.tree_tables(parent, rc, Nc, w.sum(), alpha)
    np.testing.assert_allclose(np.exp(lc).sum(axis=2), 1.0, atol=1e-14)      # every row a distribution
    for j in range(d):
        for u in range(C):
            if parent[j] < 0:
                ref = (np.bincount(X[:, j], weights=w, minlength=C) + alpha) / (w.sum() + alpha * C)
            else:
                sel = X[:, parent[j]] == u
                cnt = np.bincount(X[sel, j], weights=w[sel], minlength=C)
                ref = (cnt + alpha) / (cnt.sum() + alpha * C) if cnt.sum() + alpha * C > 0 else np.full(C, 1 / C)
            np.testing.assert_allclose(np.exp(lc[j, u]), ref, atol=1e-14)
    # the MAP score: sum of (count + alpha) log p over the cells, the root's marginal once
    score = ps.tree_score(parent, lc, rc, Nc, alpha)
    c = rc + alpha
    ref = (c[c > 0] * lc[1, 0][c > 0]).sum()
    for j in np.flatnonzero(parent >= 0):
        c = N[parent[j], :, j, :] + alpha
        ref += (c[c > 0] * lc[j][c > 0]).sum()
    assert np.isfinite(score)
    assert score == pytest.approx(ref, rel=1e-12)


def test_chow_liu_tree_from_the_pipeline():
    """ChowLiuTree.fit and from_statistics are the pipeline's Chow-Liu tree and tables."""
    rng = np.random.default_rng(8)
    X = rng.integers(0, 3, size=(300, 6)).astype(np.uint8)
    X[:, 4] = X[:, 2]
    w = rng.random(300)
    m = fd.ChowLiuTree.fit(X, n_states=3, alpha=0.2, sample_weight=w)
    mi, parent, Nc = ps.chow_liu(X, 3, w)
    np.testing.assert_array_equal(m.parent, parent)
    np.testing.assert_array_equal(m.mutual_info_, mi)
    np.testing.assert_allclose(np.exp(m.log_cond), np.exp(ps.tree_tables(
        parent, np.bincount(X[:, 0], weights=w, minlength=3), Nc, w.sum(), 0.2)), atol=1e-15)
    s = fd.ChowLiuTree.from_statistics(fd.ChowLiuTree.sufficient_statistics(X, 3), alpha=0.2)
    u = fd.ChowLiuTree.fit(X, n_states=3, alpha=0.2)
    np.testing.assert_array_equal(s.parent, u.parent)
    np.testing.assert_array_equal(s.log_cond, u.log_cond)
