"""Missing values: exact marginal log-likelihoods against enumeration, conditional fills
against the exact conditional (G-test), reproducibility and mask validation, for every
exact model (Factorized, Mixture, ChowLiuTree, TreeMixture)."""
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.slow import treemix as slow
from gof import g_test
from test_treemix import random_parents, random_tree_mixture


def make_model(kind, d, C, rng, zeros=False):
    def probs(*shape):
        p = rng.dirichlet(np.ones(C), size=shape)
        if zeros:
            z = rng.random(p.shape) < 0.2
            z[..., 0] = False
            p = np.where(z, 0.0, p)
        return p
    if kind == "factorized":
        return fd.Factorized(probs(d))
    if kind == "mixture":
        return fd.Mixture(rng.dirichlet(np.ones(3)), probs(3, d))
    if kind == "tree":
        return fd.ChowLiuTree(random_parents(d, rng), probs(d, C))
    return random_tree_mixture(3, d, C, rng, zeros=zeros)


KINDS = ["factorized", "mixture", "tree", "treemix"]
SHAPES = [(1, 2), (3, 3), (5, 2), (4, 3)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("d,C", SHAPES)
@pytest.mark.parametrize("zeros", [False, True])
def test_marginal_log_prob_matches_enumeration(kind, d, C, zeros):
    rng = np.random.default_rng(d * 10 + C + 100 * zeros)
    m = make_model(kind, d, C, rng, zeros)
    n = 60
    X = rng.integers(0, C, size=(n, d))
    M = rng.random((n, d)) < 0.5
    M[0] = True      # everything missing: log 1 = 0
    M[1] = False     # nothing missing: log P(x)
    lp = m.log_prob(X, missing=M)
    ref = np.array([slow.missing_log_prob(m, X[i], M[i]) for i in range(n)])
    np.testing.assert_allclose(lp, ref, rtol=1e-10, atol=1e-12)
    assert lp[0] == pytest.approx(0.0, abs=1e-12)
    # no missing entry: the ordinary log_prob
    np.testing.assert_allclose(m.log_prob(X, missing=np.zeros_like(M)), m.log_prob(X), rtol=1e-12, atol=1e-12)
    # values at missing entries are ignored, even out of range
    Xj = np.where(M, np.where(rng.random(M.shape) < 0.5, -7, 99), X)
    np.testing.assert_array_equal(m.log_prob(Xj, missing=M), lp)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("d,C,pattern", [(4, 3, [1, 0, 1, 0]), (5, 2, [0, 1, 1, 0, 1]),
                                         (3, 3, [1, 1, 1]), (5, 2, [1, 0, 0, 1, 0])])
def test_fill_g_test(kind, d, C, pattern):
    rng = np.random.default_rng(d + C + sum(pattern))
    m = make_model(kind, d, C, rng, zeros=True)
    mask = np.array(pattern, dtype=bool)
    # an observed pattern of positive probability
    x = m.sample(1, rng=rng)[0].astype(np.int64)
    n = 20_000
    X = np.repeat(x[None, :], n, axis=0)
    X[:, mask] = 0
    F = m.fill(X, missing=np.repeat(mask[None, :], n, axis=0), rng=3)
    assert F.dtype == X.dtype and F.shape == X.shape
    np.testing.assert_array_equal(F[:, ~mask], X[:, ~mask])
    rows, p = slow.conditional_probs(m, x, mask)
    mis = np.flatnonzero(mask)
    idx = (F[:, mis] * C ** np.arange(mis.size - 1, -1, -1)).sum(axis=1)
    g_test(np.bincount(idx, minlength=C ** mis.size), p)
    assert np.allclose(rows[:, ~mask], x[~mask])


@pytest.mark.parametrize("kind", KINDS)
def test_fill_random_masks_consistent(kind):
    """Fill of random masks: the observed entries are kept and every filled row has
    positive probability (the conditional never draws a zero-probability completion)."""
    rng = np.random.default_rng(1)
    d, C = 5, 3
    m = make_model(kind, d, C, rng)
    X = m.sample(300, rng=2).astype(np.int64)
    M = rng.random(X.shape) < 0.5
    F = m.fill(X, missing=M, rng=4)
    np.testing.assert_array_equal(F[~M], X[~M])
    assert np.all(np.isfinite(m.log_prob(F)))


@pytest.mark.parametrize("kind", KINDS)
def test_fill_threads_and_seed(kind):
    rng = np.random.default_rng(2)
    m = make_model(kind, 8, 3, rng)
    X = m.sample(30_000, rng=0)
    M = rng.random(X.shape) < 0.3
    res = []
    for nt in (1, 2):
        with fd.threads(nt):
            res.append((m.fill(X, missing=M, rng=5), m.log_prob(X, missing=M)))
    np.testing.assert_array_equal(res[0][0], res[1][0])
    np.testing.assert_array_equal(res[0][1], res[1][1])
    np.testing.assert_array_equal(m.fill(X, missing=M, rng=5), res[0][0])
    assert not np.array_equal(m.fill(X, missing=M, rng=6), res[0][0])
    # rows are independent of the chunking: a slice of the rows gives the same fills only if
    # counters are by row index, so compare the first rows (same indices)
    np.testing.assert_array_equal(m.fill(X[:5000], missing=M[:5000], rng=5), res[0][0][:5000])


def test_fill_dtypes():
    m = make_model("tree", 4, 3, np.random.default_rng(0))
    X = [[0, 1, 2, 0], [1, 1, 1, 1]]
    M = np.array([[True, False, False, True], [False] * 4])
    F = m.fill(X, missing=M, rng=0)
    assert F.dtype == np.asarray(X).dtype
    F8 = m.fill(np.asarray(X, dtype=np.uint8), missing=M, rng=0)
    assert F8.dtype == np.uint8
    np.testing.assert_array_equal(F, F8)


def test_mask_validation():
    m = make_model("treemix", 4, 3, np.random.default_rng(0))
    X = np.zeros((3, 4), dtype=np.int64)
    M = np.zeros((3, 4), dtype=bool)
    for fn in (lambda mask, x=X: m.log_prob(x, missing=mask), lambda mask, x=X: m.fill(x, missing=mask)):
        with pytest.raises(TypeError, match="missing"):
            fn(M.astype(int))
        with pytest.raises(ValueError, match="missing"):
            fn(M[:2])
        bad = X.copy()
        bad[1, 2] = 3
        with pytest.raises(ValueError, match="X"):
            fn(M, bad)
        bad[1, 2] = -1
        with pytest.raises(ValueError, match="X"):
            fn(M, bad)
        M2 = M.copy()
        M2[1, 2] = True
        fn(M2, bad)      # out-of-range value at a missing entry: ignored
        with pytest.raises(ValueError, match="columns"):
            fn(M[:, :3], X[:, :3])
        with pytest.raises(TypeError):
            fn(M, X.astype(float))


def test_zero_probability_evidence():
    m = fd.Factorized([[1.0, 0.0], [0.5, 0.5]])
    X = np.array([[1, 0], [0, 1]])
    M = np.array([[False, True], [False, True]])
    lp = m.log_prob(X, missing=M)
    assert lp[0] == -np.inf and lp[1] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="row 0"):
        m.fill(X, missing=M)
    F = m.fill(X[1:], missing=M[1:], rng=0)
    assert F[0, 0] == 0
