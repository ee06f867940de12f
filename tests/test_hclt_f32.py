"""The float32 E-step of the hidden Chow-Liu tree (``precision="float32"``, SGEMM messages with
per-row scaling, float64 sums): against the float64 E-step and exact enumeration to the stated
tolerances (statistics within 1e-5 relative, entries above 1e-3 of the largest; log-likelihood
within 1e-6 relative; measured at most 1.2e-6 and 3e-8), without underflow on a deep chain,
bit-identical on one and two threads and between the serial and parallel twins; log_prob
stays float64 and exact."""
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.kernels import hclt_gemm as HG
from fastdgm.kernels.blas import blas_threads
from fastdgm.models._hclt_passes import em_statistics, tables32
from fastdgm.models.hclt import HiddenChowLiuTree
from fastdgm.slow import hclt as slow

from test_hclt import all_states, random_model

STATS_RTOL = 1e-5
LL_RTOL = 1e-6


def _close(a, b, rtol=STATS_RTOL):
    """|a - b| <= rtol * max(|b|, 1e-3 max|b|) elementwise."""
    a, b = np.asarray(a), np.asarray(b)
    floor = 1e-3 * np.max(np.abs(b)) if b.size else 0.0
    err = np.abs(a - b) / np.maximum(np.abs(b), max(floor, 1e-300))
    assert np.all(err <= rtol), f"max relative error {err.max():.3g} > {rtol}"


@pytest.mark.parametrize("d,K,C", [(1, 2, 2), (3, 2, 2), (4, 3, 3), (5, 2, 2)])
def test_float32_statistics_match_exact_enumeration(d, K, C):
    m = random_model(d, K, C, seed=11 + d)
    rng = np.random.default_rng(5)
    X = rng.integers(0, C, size=(60, d))
    w = rng.random(60)
    w[::7] = 0.0
    got = em_statistics(m, X, w, "float32")
    _, _, _, ll_ref = slow.em_step(m, X, 0.0, w)
    assert got["loglik"] / got["total"] == pytest.approx(ll_ref, rel=LL_RTOL)
    ref = em_statistics(m, X, w, "float64")        # equal to enumeration to 1e-10 (test_hclt_gemm)
    for k in ("pair", "emit"):
        if d > 1 or k == "emit":
            _close(got[k], ref[k])
    assert got["total"] == ref["total"]


@pytest.mark.parametrize("d,K,C,n", [(12, 64, 2, 700), (7, 40, 3, 300)])
def test_float32_statistics_match_float64(d, K, C, n):
    m = random_model(d, K, C, seed=d + K)
    rng = np.random.default_rng(K)
    X = m.sample(n, rng=1)
    w = rng.random(n)
    got, ref = em_statistics(m, X, w, "float32"), em_statistics(m, X, w, "float64")
    _close(got["pair"], ref["pair"])
    _close(got["emit"], ref["emit"])
    assert got["loglik"] == pytest.approx(ref["loglik"], rel=LL_RTOL)
    assert abs(got["pair"].sum() - w.sum() * (d - 1)) < 1e-4 * w.sum() * d     # one pair per row and edge


def test_float32_twins_threads_bit_identical_and_deep_chain():
    d, K, n = 300, 64, 600                          # a chain: 300 nested float32 messages, rescaled
    m = random_model(d, K, 2, seed=3, parent=np.arange(-1, d - 1))
    X = m.sample(n, rng=2)
    res = []
    for nt in (1, 2):
        with fd.threads(nt):
            res.append(em_statistics(m, X, np.empty(0), "float32"))
    for k in res[0]:
        np.testing.assert_array_equal(res[0][k], res[1][k])
    ref = em_statistics(m, X, np.empty(0), "float64")
    assert np.isfinite(res[0]["loglik"])
    assert res[0]["loglik"] == pytest.approx(ref["loglik"], rel=LL_RTOL)
    _close(res[0]["pair"], ref["pair"])
    _close(res[0]["emit"], ref["emit"])
    # the serial twin gives the same bits as the parallel kernel
    T, Tt, E = tables32(m)
    B = HG.gemm_block_rows(d, K)
    L = HG.gemm_lanes(-(-n // B), d * K * K + d * 2 * K)
    out = []
    for twin in ("serial", "parallel"):
        G, S, ll = np.empty((L, d, K, K)), np.empty((L, d, 2, K)), np.empty(L)
        with blas_threads(1):
            getattr(HG.em_stats_gemm, twin)(X, np.empty(0), m.order, m.parent, m.root_probs, T, Tt, E, B, G, S, ll)
        out.append((G, S, ll))
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)


def test_tiny_tables_do_not_vanish_in_float32():
    m = random_model(3, 2, 2, seed=1)
    emit = m.emit_probs.copy()
    emit[1, :, 0] = 1e-45                           # below float32's range: 0 in a plain cast
    emit[1, :, 1] = 1.0 - 1e-45
    m = HiddenChowLiuTree(m.parent, m.root_probs, m.trans_probs, emit)
    X = np.zeros((4, 3), dtype=np.int64)
    got = em_statistics(m, X, np.empty(0), "float32")
    assert np.isfinite(got["loglik"])
    assert (tables32(m)[2] > 0).all()


def test_fit_precision_and_exact_log_prob():
    m0 = random_model(4, 3, 2, seed=7)
    X = m0.sample(400, rng=3)
    f64 = HiddenChowLiuTree.fit(X, n_hidden=3, rng=0, max_iter=8, precision="float64")
    f32 = HiddenChowLiuTree.fit(X, n_hidden=3, rng=0, max_iter=8, precision="float32")
    # eight EM steps in float32 stay within float32 rounding of the float64 fit
    np.testing.assert_allclose(f32.log_likelihood_history_, f64.log_likelihood_history_, rtol=1e-5)
    np.testing.assert_allclose(f32.emit_probs, f64.emit_probs, rtol=1e-3, atol=1e-5)
    # log_prob of the fitted model is float64 and exact (enumeration)
    S = all_states(4, 2)
    np.testing.assert_allclose(f32.log_prob(S), np.log(slow.joint_zx(f32).ravel()), rtol=1e-12, atol=1e-12)
    # the trace's last log-likelihood (float32 E-step) is the model's own, to LL_RTOL
    Xd, counts = np.unique(X, axis=0, return_counts=True)
    exact = float(counts @ f32.log_prob(Xd)) / X.shape[0]
    assert f32.log_likelihood_history_[-1] == pytest.approx(exact, rel=LL_RTOL)


def test_precision_choice_and_validation():
    assert HG.estep_dtype(HG.F32_MIN_K - 1) is np.float64 and HG.estep_dtype(HG.F32_MIN_K) is np.float32
    assert HG.estep_dtype(256, "float64") is np.float64 and HG.estep_dtype(2, "float32") is np.float32
    X = np.zeros((10, 3), dtype=np.int64)
    with pytest.raises(ValueError, match="precision"):
        HiddenChowLiuTree.fit(X, n_states=2, n_hidden=2, precision="half")


def test_memory_estimate_covers_large_K():
    est = [HiddenChowLiuTree._fit_bytes((17412, 69), 2, {"n_hidden": K})[0] for K in (64, 128, 256)]
    # at least the two lanes of (d, K, K) float64 pair statistics of the E-step, growing with K
    for K, e in zip((64, 128, 256), est):
        assert e >= 2 * 69 * K * K * 8
    assert est[0] < est[1] < est[2]
    X = np.zeros((50, 69), dtype=np.int64)
    with pytest.raises(ValueError, match="n_hidden"):
        HiddenChowLiuTree.fit(X, n_states=2, n_hidden=60000)
