"""The GEMM E-/M-step statistics of the factorized mixture (fastdgm.kernels.mixture_gemm) against
the slow numpy twin and the fused kernel, exact zeros, thread invariance and the cost model."""
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.kernels import mixture_gemm as MG
from fastdgm.models import _mixture_em as ME
from fastdgm.models._packing import pack, pack_width
from fastdgm.kernels import likelihood as LK
from fastdgm.slow import likelihood as slow


def _model(rng, K, d, C):
    lc = np.log(rng.dirichlet(np.ones(C), size=(K, d)))
    lw = np.log(rng.dirichlet(np.ones(K)))
    return lw, lc


def _fused(X, C, lw, lc, w):
    """The fused kernel's statistics (the path prefer_gemm would not take)."""
    n, d = X.shape
    K = lw.shape[0]
    g = pack_width(C, d)
    Xp = pack(X, C, g)
    nc, rows = LK.n_chunks(n, Xp.shape[1] * C ** g * K)
    counts = np.empty((nc, Xp.shape[1], C ** g, K))
    T = np.ascontiguousarray(ME.combine(np.ascontiguousarray(lc.transpose(1, 2, 0)), C, g))
    nk, ll = np.empty((nc, K)), np.empty(nc)
    LK.mixture_em_stats.serial(Xp, T, lw, w, rows, counts, nk, ll)
    stats = ME.marginalize(counts.sum(axis=0), d, C, g)
    return stats.transpose(2, 0, 1), nk.sum(axis=0), float(ll.sum())


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n,d,C,K,dt", [(1, 1, 2, 1, np.uint8), (700, 40, 2, 5, np.uint8), (5000, 37, 2, 3, np.uint8),
                                        (900, 12, 3, 4, np.uint8), (600, 7, 5, 6, np.uint16), (300, 9, 4, 2, np.int64)])
def test_matches_slow_twin_and_fused_kernel(n, d, C, K, dt, weighted):
    rng = np.random.default_rng(n + d + C + K)
    X = rng.integers(0, C, size=(n, d)).astype(dt)
    lw, lc = _model(rng, K, d, C)
    w = rng.random(n) if weighted else np.empty(0)
    if weighted and n > 3:
        w[::3] = 0.0                                       # rows of weight 0 add nothing
    counts, nk, ll = MG.em_stats(X, C, lw, lc, w)
    resp, lse = slow.mixture_responsibilities(X, lw, lc)
    ww = w if weighted else np.ones(n)
    rw = resp * ww[:, None]
    tot = ww.sum()
    np.testing.assert_allclose(counts, slow.resp_counts(X, C, rw), rtol=1e-12, atol=1e-12 * tot)
    np.testing.assert_allclose(nk, rw.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(ll, np.dot(ww, lse), rtol=1e-12)
    fc, fnk, fll = _fused(X, C, lw, lc, w)
    np.testing.assert_allclose(counts, fc, rtol=1e-12, atol=1e-12 * tot)
    np.testing.assert_allclose(nk, fnk, rtol=1e-12)
    np.testing.assert_allclose(ll, fll, rtol=1e-12)
    assert (counts >= 0).all()


def test_dead_component_and_exact_zero_counts():
    rng = np.random.default_rng(3)
    X = rng.integers(0, 3, size=(2000, 50)).astype(np.uint8)
    X[:, 4] = 1                                             # state 0 never seen in column 4
    X[:, 7] = 2
    lw, lc = _model(rng, 4, 50, 3)
    lw[2] = -np.inf                                         # a dead component (nk = 0 in the M-step)
    w = rng.random(2000)
    w[X[:, 9] == 0] = 0.0                                   # column 9: state 0 only on rows of weight 0
    counts, nk, ll = MG.em_stats(X, 3, lw, lc, w)
    assert np.isfinite(ll) and nk[2] == 0.0 and (counts[2] == 0.0).all()
    assert (counts[:, 4, 0] == 0.0).all() and (counts[:, 7, 0] == 0.0).all() and (counts[:, 9, 0] == 0.0).all()
    assert (counts[:, 4, 2] == 0.0).all() and (counts[:, 7, 1] == 0.0).all()
    fc, fnk, fll = _fused(X, 3, lw, lc, w)
    np.testing.assert_allclose(counts, fc, rtol=1e-12, atol=1e-12 * w.sum())


def test_bit_identical_on_one_and_two_threads():
    rng = np.random.default_rng(5)
    X = (rng.random((9000, 300)) < 0.3).astype(np.uint8)
    lw, lc = _model(rng, 12, 300, 2)
    w = rng.random(9000)
    assert MG.n_lanes(-(-9000 // MG.block_rows(300))) > 1
    with fd.threads(1):
        a = MG.em_stats(X, 2, lw, lc, w)
    with fd.threads(2):
        b = MG.em_stats(X, 2, lw, lc, w)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[2] == b[2]


def test_cost_model_and_dispatch():
    rng = np.random.default_rng(6)
    lw, lc = _model(rng, 5, 100, 2)
    assert MG.prefer_gemm(100, 2, 5, 13, lc) and not MG.prefer_gemm(16, 2, 5, 2, None)
    lc[1, 3, 0] = -np.inf                                   # GEMM would make 0 * inf = NaN
    assert not MG.prefer_gemm(100, 2, 5, 13, lc)
    assert MG.prefer_gemm(1000, 3, 20, 200) and not MG.prefer_gemm(16, 3, 5, 4)
    # the public statistics take the GEMM path on wide binary data and equal the fused kernel's
    X = (rng.random((1500, 100)) < 0.4).astype(np.uint8)
    m = fd.Mixture.fit(X, n_components=5, rng=0, max_iter=3)
    s = m.em_statistics(X)
    fc, fnk, fll = _fused(X, 2, m.log_weights, m.log_components, np.empty(0))
    np.testing.assert_allclose(s["counts"], fc, rtol=1e-12, atol=1e-12 * 1500)
    np.testing.assert_allclose(s["loglik"], fll, rtol=1e-12)


def test_fit_on_wide_data_is_thread_invariant_and_monotone():
    rng = np.random.default_rng(8)
    Z = rng.integers(0, 3, 3000)
    P = rng.random((3, 120))
    X = (rng.random((3000, 120)) < P[Z]).astype(np.uint8)
    with fd.threads(1):
        a = fd.Mixture.fit(X, n_components=3, rng=1, max_iter=20, tol=0)
    with fd.threads(2):
        b = fd.Mixture.fit(X, n_components=3, rng=1, max_iter=20, tol=0)
    np.testing.assert_array_equal(a.log_components, b.log_components)
    obj = np.asarray(a.objective_history_)
    assert (np.diff(obj) >= -1e-12 * np.abs(obj[1:])).all()
