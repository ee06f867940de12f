"""The GEMM E-step and upward pass of the hidden Chow-Liu tree (fastdgm.kernels.hclt_gemm):
against exact enumeration on tiny models, against the per-row kernel at K >= 32, serial and
parallel twins bit for bit, one and two threads bit for bit, deep trees without underflow."""
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.kernels import hclt as H
from fastdgm.kernels import hclt_gemm as HG
from fastdgm.kernels.blas import blas_threads
from fastdgm.slow import hclt as slow

from test_hclt import all_states, random_model


@pytest.fixture
def gemm_everywhere(monkeypatch):
    """Every K takes the GEMM path (the cost model would keep tiny K on the per-row kernel)."""
    monkeypatch.setattr(HG, "GEMM_MIN_K", 1)


def _stats(m, X, w, kernel, twin, B, L):
    n, d = X.shape
    K, C = m.n_hidden, m.n_states
    G, S, ll = np.empty((L, d, K, K)), np.empty((L, d, C, K)), np.empty(L)
    with blas_threads(1):
        getattr(kernel, twin)(X, w, m.order, m.parent, m.root_probs, m.trans_probs, m._Tt, m._E, B, G, S, ll)
    return G.sum(axis=0) * m.trans_probs, S.sum(axis=0), ll.sum()


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_one_em_step_matches_exact_posteriors(gemm_everywhere, alpha):
    for d, K, C in [(1, 2, 2), (3, 2, 2), (4, 3, 3), (5, 2, 2)]:
        m = random_model(d, K, C, seed=11 + d)
        rng = np.random.default_rng(5)
        X = rng.integers(0, C, size=(60, d))
        w = rng.random(60)
        w[::7] = 0.0
        new, ll = m.em_step(X, alpha=alpha, sample_weight=w)
        r, T, E, ll_ref = slow.em_step(m, X, alpha, w)
        assert ll == pytest.approx(ll_ref, rel=1e-12)
        np.testing.assert_allclose(new.root_probs, r, rtol=1e-10, atol=1e-12)
        if d > 1:
            np.testing.assert_allclose(new.trans_probs, T, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(new.emit_probs, E, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("d,K,C", [(1, 2, 2), (3, 2, 3), (4, 3, 2), (4, 3, 3)])
def test_log_prob_matches_enumeration(gemm_everywhere, d, K, C):
    m = random_model(d, K, C, seed=d * 100 + K * 10 + C)
    X = all_states(d, C)
    lp = m.log_prob(X)
    np.testing.assert_allclose(lp, np.log(slow.joint_zx(m).ravel()), rtol=1e-12, atol=1e-12)
    rng = np.random.default_rng(d)
    Xm = rng.integers(0, C, size=(40, d))
    miss = rng.random((40, d)) < 0.4
    np.testing.assert_allclose(m.log_prob(Xm, missing=miss), slow.log_prob(m, Xm, miss), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("d,K,C,n", [(12, 32, 2, 700), (7, 40, 3, 300), (2, 33, 2, 5)])
def test_matches_per_row_kernel_and_twins_are_bit_identical(d, K, C, n):
    m = random_model(d, K, C, seed=d + K)
    rng = np.random.default_rng(K)
    X = m.sample(n, rng=1)
    w = rng.random(n)
    B = HG.gemm_block_rows(d, K)
    L = HG.gemm_lanes(-(-n // B), d * K * K)
    ref = _stats(m, X, w, H.em_stats, "serial", H.block_rows(d, K), 1)
    got = _stats(m, X, w, HG.em_stats_gemm, "serial", B, L)
    par = _stats(m, X, w, HG.em_stats_gemm, "parallel", B, L)
    for a, b, c in zip(got, ref, par):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-11 * n)
        np.testing.assert_array_equal(a, c)
    assert abs(got[0].sum() - w.sum() * (d - 1)) < 1e-9 * n * d       # pair counts: one per row and edge
    miss = rng.random(X.shape) < 0.3
    lp = np.empty(n)
    with blas_threads(1):
        HG.log_prob_gemm.serial(X, miss.view(np.uint8), m.order, m.parent, m.root_probs, m._Tt, m._E, B, lp)
    ref_lp = np.empty(n)
    H.log_prob.serial(X, miss.view(np.uint8), m.order, m.parent, m.root_probs, m._Tt, m._E, H.block_rows(d, K), ref_lp)
    np.testing.assert_allclose(lp, ref_lp, rtol=1e-12)


def test_threads_bit_identical_and_deep_chain():
    d, K = 300, 32                                   # a chain: 300 nested messages, rescaled
    m = random_model(d, K, 2, seed=3, parent=np.arange(-1, d - 1))
    X = m.sample(600, rng=2)
    res = []
    for nt in (1, 2):
        with fd.threads(nt):          # the float64 GEMM E-step ("auto" is float32 from K = 32)
            res.append((tuple(m._em_statistics((X, "float64", 0.0), np.empty(0)).values()), m.log_prob(X)))
    (s1, lp1), (s2, lp2) = res
    for a, b in zip(s1, s2):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(lp1, lp2)
    assert np.isfinite(lp1).all() and lp1.max() < 0 and lp1.min() > -d * np.log(2) * 3
    ref = np.empty(600)
    H.log_prob.serial(X, np.zeros((0, 0), np.uint8), m.order, m.parent, m.root_probs, m._Tt, m._E,
                      H.block_rows(d, K), ref)
    np.testing.assert_allclose(lp1, ref, rtol=1e-12)
    np.testing.assert_allclose(s1[2], ref.sum(), rtol=1e-12)


def test_cost_model_and_sizes():
    assert not HG.prefer_gemm(HG.GEMM_MIN_K - 1) and HG.prefer_gemm(HG.GEMM_MIN_K) and HG.prefer_gemm(16)
    assert HG.prefer_gemm(256)
    assert HG.gemm_block_rows(10, 16) == 256 and HG.gemm_block_rows(10**6, 256) == 8
    assert HG.gemm_lanes(1, 10) == 1 and HG.gemm_lanes(5, 10**9) == 2 and HG.gemm_lanes(100, 10) == 32
