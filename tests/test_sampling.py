"""Exactness of the thresholding samplers: goodness of fit against exact probabilities,
bit-level agreement with the slow references, edge cases, thread invariance."""
import numpy as np
import pytest
from scipy import stats

import fastdgm as fd
from fastdgm.kernels import _threshold
from fastdgm._rng import make_key
from fastdgm.slow import sampling as slow

from gof import ALPHA, g_test

METHODS = ["scan", "bisect", "guide", "alias"]


def test_g_test_detects_a_wrong_sampler():
    # the test helper itself must be able to fail: an off-by-one sampler
    rng = np.random.default_rng(0)
    p = np.array([0.1, 0.2, 0.3, 0.4])
    x = rng.choice(4, size=200_000, p=np.roll(p, 1))
    with pytest.raises(AssertionError):
        g_test(np.bincount(x, minlength=4), p)


def _dist(C, seed, zeros=False):
    rng = np.random.default_rng(seed)
    p = rng.gamma(0.5, size=C)
    if zeros and C > 2:
        p[rng.choice(C, size=C // 3, replace=False)] = 0.0
        p[-1] = 0.0
        if p.sum() == 0:
            p[0] = 1.0
    return p


# ---------------------------------------------------------------------------------------
# the counter-based generator
# ---------------------------------------------------------------------------------------
def test_cython_uniforms_match_reference():
    key = make_key(123)
    out = np.empty(1000)
    _threshold.fill_uniforms(np.uint64(key), np.uint64(7), out, 2)
    np.testing.assert_array_equal(out, slow.uniforms(key, 1000, offset=7))
    assert out.min() >= 0 and out.max() < 1


def test_numba_uniforms_match_reference():
    import numba

    from fastdgm.kernels.rng import substream, uniform

    @numba.njit
    def fill(key, n):
        out = np.empty(n)
        for i in range(n):
            out[i] = uniform(key, i)
        return out

    @numba.njit
    def sub(key, i):
        return substream(key, i)

    key = make_key(5)
    np.testing.assert_array_equal(fill(key, 100), slow.uniforms(key, 100))
    from fastdgm._rng import substream_ref
    assert int(sub(key, 3)) == substream_ref(int(key), 3)


def test_uniforms_are_uniform():
    out = np.empty(200_000)
    _threshold.fill_uniforms(np.uint64(make_key(0)), np.uint64(0), out, 2)
    assert stats.kstest(out, "uniform").pvalue > ALPHA


# ---------------------------------------------------------------------------------------
# one distribution, many draws
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("C", [1, 2, 3, 7, 64, 1000, 5000])
def test_single_distribution_exact(method, C):
    p = _dist(C, C, zeros=C > 3)
    n = max(200_000, 60 * C)
    x = fd.categorical(p, size=n, rng=C + 1, method=method)
    assert x.dtype == np.int64 and x.shape == (n,)
    assert x.min() >= 0 and x.max() < C
    g_test(np.bincount(x, minlength=C), p)


def test_scan_bisect_guide_identical_and_equal_reference():
    p = _dist(300, 1, zeros=True)
    draws = {m: fd.categorical(p, size=20_000, rng=42, method=m) for m in ["scan", "bisect", "guide", "auto"]}
    for m in draws:
        np.testing.assert_array_equal(draws[m], draws["scan"])
    # the draws are threshold(uniform(key, i), levels): bit-level semantics
    u = slow.uniforms(make_key(42), 20_000)
    np.testing.assert_array_equal(draws["scan"], slow.threshold(u, fd.cumulative_levels(p)))


def test_guide_identical_on_adversarial_levels():
    # levels that sit exactly on guide-bucket boundaries j / C
    C = 16
    p = np.ones(C)
    p[::3] = 0
    x1 = fd.categorical(p, size=100_000, rng=3, method="scan")
    x2 = fd.categorical(p, size=100_000, rng=3, method="guide")
    np.testing.assert_array_equal(x1, x2)
    assert not np.isin(x1, np.flatnonzero(p == 0)).any()


@pytest.mark.parametrize("method", METHODS)
def test_zero_probability_never_drawn(method):
    p = np.array([0.0, 1e-300, 0.0, 1.0, 0.0, 0.5, 0.0, 0.0])
    x = fd.categorical(p, size=500_000, rng=1, method=method)
    assert set(np.unique(x)) <= {1, 3, 5}
    assert (x == 3).sum() > (x == 5).sum()


def test_size_none_gives_scalar_and_shapes():
    x = fd.categorical([1, 2, 3], rng=0)
    assert np.ndim(x) == 0 and 0 <= x < 3
    assert fd.categorical([1, 2, 3], size=(4, 5), rng=0).shape == (4, 5)
    assert fd.categorical([1, 2, 3], size=0, rng=0).shape == (0,)


def test_prefix_property_chunks():
    # draw i depends only on (seed, i): a longer call extends a shorter one
    p = _dist(50, 2)
    for m in METHODS:
        a = fd.categorical(p, size=1000, rng=9, method=m)
        b = fd.categorical(p, size=10, rng=9, method=m)
        np.testing.assert_array_equal(a[:10], b)


def test_rng_conventions():
    p = [0.3, 0.3, 0.4]
    a = fd.categorical(p, size=100, rng=np.random.SeedSequence(4))
    b = fd.categorical(p, size=100, rng=np.random.default_rng(np.random.SeedSequence(4)))
    c = fd.categorical(p, size=100, rng=np.random.PCG64(np.random.SeedSequence(4)))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    g = np.random.default_rng(1)
    assert not np.array_equal(fd.categorical(p, size=100, rng=g), fd.categorical(p, size=100, rng=g))
    with pytest.raises(TypeError, match="rng"):
        fd.categorical(p, rng=1.5)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint32, np.int64])
def test_dtype(dtype):
    x = fd.categorical(np.ones(200), size=1000, rng=0, dtype=dtype)
    assert x.dtype == dtype
    y = fd.categorical(np.ones((10, 200)), rng=0, dtype=dtype)
    assert y.dtype == dtype
    with pytest.raises(ValueError, match="dtype"):
        fd.categorical(np.ones(300), size=3, dtype=np.uint8)
    with pytest.raises(TypeError, match="dtype"):
        fd.categorical(np.ones(3), size=3, dtype=np.float64)


# ---------------------------------------------------------------------------------------
# batches of distributions
# ---------------------------------------------------------------------------------------
def _batch(K, C, reps, seed, zeros=True):
    rows = np.stack([_dist(C, seed + i, zeros=zeros) for i in range(K)])
    return rows, np.tile(rows, (reps, 1))


def _g_rows(x, rows, reps):
    K, C = rows.shape
    x = x.reshape(reps, K)
    for i in range(K):
        g_test(np.bincount(x[:, i], minlength=C), rows[i])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("C", [1, 2, 5, 33, 256, 2000])
def test_batched_one_draw_per_row_exact(method, C):
    K = 3
    reps = max(30_000, 20 * C)
    rows, P = _batch(K, C, reps, 10 * C)
    x = fd.categorical(P, rng=C, method=method)
    assert x.shape == (K * reps,)
    _g_rows(x, rows, reps)


@pytest.mark.parametrize("method", METHODS)
def test_batched_many_draws_per_row(method):
    rows, P = _batch(4, 40, 1, 7)
    x = fd.categorical(P, size=(50_000, 4), rng=3, method=method)
    assert x.shape == (50_000, 4)
    for i in range(4):
        g_test(np.bincount(x[:, i], minlength=40), rows[i])


def test_batched_scan_bisect_guide_identical():
    rows, P = _batch(5, 70, 200, 1)
    for size in [None, (3, 1000)]:
        ref = fd.categorical(P, size=size, rng=5, method="scan")
        for m in ["bisect", "guide", "auto"]:
            np.testing.assert_array_equal(fd.categorical(P, size=size, rng=5, method=m), ref)


def test_batched_matches_reference_idiom():
    # one draw per row equals the numpy idiom with the same uniforms (up to ties at rounding)
    rng = np.random.default_rng(0)
    P = rng.random((3000, 17))
    x = fd.categorical(P, rng=11)
    u = slow.uniforms(make_key(11), 3000)
    assert (x == slow.categorical_rows(P, u)).mean() > 0.999


def test_batched_general_broadcast():
    rows = np.stack([_dist(6, 1), _dist(6, 2)])
    P = rows[:, None, :]                          # batch (2, 1) -> size (2, 40000)
    x = fd.categorical(P, size=(2, 40_000), rng=0)
    assert x.shape == (2, 40_000)
    for i in range(2):
        g_test(np.bincount(x[i], minlength=6), rows[i])
    with pytest.raises(ValueError, match="size"):
        fd.categorical(np.ones((3, 4)), size=(5, 2))


def test_batched_float32_and_noncontiguous():
    rows, P = _batch(2, 9, 40_000, 3, zeros=False)
    P32 = P.astype(np.float32)
    x = fd.categorical(P32, rng=1)
    _g_rows(x, rows.astype(np.float32), 40_000)
    big = np.zeros((P.shape[0], 2 * 9))
    big[:, ::2] = P
    x2 = fd.categorical(big[:, ::2], rng=1)
    np.testing.assert_array_equal(x2, fd.categorical(np.ascontiguousarray(P), rng=1))
    xf = fd.categorical(np.asfortranarray(P), rng=1)
    np.testing.assert_array_equal(xf, x2)


def test_batched_3d_shape():
    P = np.random.default_rng(0).random((4, 5, 6))
    assert fd.categorical(P, rng=0).shape == (4, 5)
    assert fd.categorical(P, size=(7, 4, 5), rng=0).shape == (7, 4, 5)


# ---------------------------------------------------------------------------------------
# logits
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_logits_extreme_and_minus_inf(method):
    L = np.array([1000.0, 999.0, -np.inf, 1000.0 - np.log(2), -1000.0])
    p = np.exp(L - 1000.0)
    x = fd.categorical(logits=L, size=300_000, rng=2, method=method)
    g_test(np.bincount(x, minlength=5), p)
    Lb = np.tile(L, (100_000, 1))
    Lb[:, 4] = -np.inf
    xb = fd.categorical(logits=Lb, rng=2, method=method)
    pb = p.copy()
    pb[4] = 0
    g_test(np.bincount(xb, minlength=5), pb)


def test_logits_equal_probabilities():
    rng = np.random.default_rng(0)
    p = rng.random(30)
    np.testing.assert_array_equal(fd.categorical(logits=np.log(p) - 500, size=1000, rng=1),
                                  fd.categorical(p, size=1000, rng=1))
    a = fd.categorical(logits=-1000.0 + np.log(rng.random((2000, 30))), rng=4)
    assert a.min() >= 0 and a.max() < 30


# ---------------------------------------------------------------------------------------
# the primitive
# ---------------------------------------------------------------------------------------
def test_cumulative_levels():
    L = fd.cumulative_levels([0.1] * 10)
    assert L[-1] == 1.0 and L.dtype == np.float64
    assert np.all(np.diff(L) >= 0)
    L2 = fd.cumulative_levels(np.arange(12.0).reshape(3, 4), axis=0)
    np.testing.assert_allclose(L2, slow.levels(np.arange(12.0).reshape(3, 4).T).T)
    assert np.all(L2[-1] == 1.0)
    L3 = fd.cumulative_levels(np.array([0.3, 0.7, 0.0, 0.0], dtype=np.float32))
    assert L3[1] == L3[2] == L3[3] == 1.0


def test_threshold_edge_cases():
    L = np.array([0.25, 0.5, 0.5, 1.0])
    assert fd.threshold(0.0, L) == 0
    assert fd.threshold(0.25, L) == 1                 # exactly on a level: the next category
    assert fd.threshold(0.5, L) == 3                  # skips the zero-width category 2
    assert fd.threshold(np.nextafter(1.0, 0.0), L) == 3
    short = np.array([0.1, 0.5, 0.9999999999999999])   # levels summing just below 1
    assert fd.threshold(np.nextafter(1.0, 0.0), short) == 2
    trailing = np.array([0.5, 0.9999999999999999, 0.9999999999999999])
    assert fd.threshold(np.nextafter(1.0, 0.0), trailing) == 1   # never the zero-width last one
    np.testing.assert_array_equal(fd.threshold([[0.1], [0.7]], [[0.5, 1.0], [0.6, 1.0]]), [[0, 0], [1, 1]])
    np.testing.assert_array_equal(fd.threshold([0.55, 0.55], [[0.5, 1.0], [0.6, 1.0]]), [1, 0])


def test_threshold_matches_reference():
    rng = np.random.default_rng(0)
    L = fd.cumulative_levels(rng.random((50, 20)) * (rng.random((50, 20)) > 0.3) + 1e-300)
    u = rng.random((1000, 50))
    u[0] = L[:, 3]                                     # u exactly on levels
    np.testing.assert_array_equal(fd.threshold(u, L), slow.threshold(u, L))


@pytest.mark.parametrize("u", [1.0, -0.1, np.nan, np.inf])
def test_threshold_rejects_bad_u(u):
    with pytest.raises(ValueError, match="u"):
        fd.threshold([0.2, u], [0.5, 1.0])


def test_threshold_rejects_bad_levels():
    with pytest.raises(ValueError, match="non-decreasing"):
        fd.threshold(0.2, [0.6, 0.5, 1.0])
    with pytest.raises(ValueError, match="levels"):
        fd.threshold(0.2, [0.5, 1.5])
    with pytest.raises(ValueError, match="broadcast"):
        fd.threshold(np.zeros(3), np.ones((4, 2)))


# ---------------------------------------------------------------------------------------
# thread invariance
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_thread_invariance(method):
    p = _dist(500, 0, zeros=True)
    P = np.random.default_rng(1).random((20_000, 50))
    with fd.threads(1):
        a = fd.categorical(p, size=300_000, rng=7, method=method)
        b = fd.categorical(P, rng=7, method=method)
        c = fd.categorical(P, size=(3, 20_000), rng=7, method=method)
    with fd.threads(2):
        np.testing.assert_array_equal(a, fd.categorical(p, size=300_000, rng=7, method=method))
        np.testing.assert_array_equal(b, fd.categorical(P, rng=7, method=method))
        np.testing.assert_array_equal(c, fd.categorical(P, size=(3, 20_000), rng=7, method=method))


def test_thread_controls():
    old = fd.get_num_threads()
    with fd.threads(1):
        assert fd.get_num_threads() == 1
    assert fd.get_num_threads() == old
    fd.set_num_threads(1)
    try:
        assert fd.get_num_threads() == 1
    finally:
        fd.set_num_threads(None)                 # back to the adaptive default
    assert "set_num_threads" not in __import__("fastdgm.kernels.threads").kernels.threads.explain_num_threads()[1]
    with pytest.raises(ValueError):
        fd.set_num_threads(0)
    with pytest.raises(TypeError):
        fd.set_num_threads(1.5)


def test_concurrent_python_threads():
    from concurrent.futures import ThreadPoolExecutor
    P = np.random.default_rng(0).random((50_000, 16))
    ref = fd.categorical(P, rng=3)
    with ThreadPoolExecutor(4) as ex:
        outs = list(ex.map(lambda _: fd.categorical(P, rng=3), range(8)))
    for o in outs:
        np.testing.assert_array_equal(o, ref)


# ---------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad, match", [
    ([0.5, np.nan, 0.5], r"p\[1\] = nan"),
    ([0.5, np.inf], r"p\[1\] = inf"),
    ([0.5, -0.1], r"p\[1\] = -0.1"),
    ([0.0, 0.0], "row of zeros"),
    ([], "empty"),
])
def test_bad_probabilities_single(bad, match):
    with pytest.raises(ValueError, match=match):
        fd.categorical(bad, size=3)


@pytest.mark.parametrize("val, match", [(np.nan, r"p\[2, 1\] = nan"), (-1.0, r"p\[2, 1\] = -1"),
                                        (np.inf, r"p\[2, 1\] = inf")])
def test_bad_probabilities_batched_name_position(val, match):
    P = np.ones((5, 3))
    P[2, 1] = val
    with pytest.raises(ValueError, match=match):
        fd.categorical(P, rng=0)


def test_bad_batched_zero_row_and_logits():
    P = np.ones((5, 3))
    P[3] = 0
    with pytest.raises(ValueError, match=r"row of zeros.*p\[3\]"):
        fd.categorical(P)
    L = np.zeros((4, 3))
    L[1] = -np.inf
    with pytest.raises(ValueError, match=r"all -inf.*logits\[1\]"):
        fd.categorical(logits=L)
    L[1] = 0
    L[2, 2] = np.inf
    with pytest.raises(ValueError, match=r"logits\[2, 2\] = inf"):
        fd.categorical(logits=L)
    L[2, 2] = np.nan
    with pytest.raises(ValueError, match=r"logits\[2, 2\] = nan"):
        fd.categorical(logits=L, size=(2, 4))


def test_bad_types():
    with pytest.raises(TypeError, match="p"):
        fd.categorical(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="p"):
        fd.categorical(np.array([1 + 1j, 2]))
    with pytest.raises(TypeError, match="exactly one"):
        fd.categorical([0.5, 0.5], logits=[0.0, 0.0])
    with pytest.raises(TypeError, match="exactly one"):
        fd.categorical()
    with pytest.raises(ValueError, match="method"):
        fd.categorical([0.5, 0.5], size=3, method="magic")
    with pytest.raises(TypeError, match="size"):
        fd.categorical([0.5, 0.5], size=2.5)
    with pytest.raises(ValueError, match="size"):
        fd.categorical([0.5, 0.5], size=-1)
    with pytest.raises(ValueError, match="empty"):
        fd.categorical(np.ones((3, 0)))


# ---------------------------------------------------------------------------------------
# continuous densities
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("grid, dens", [
    (np.linspace(-3, 3, 7), np.exp(-np.linspace(-3, 3, 7) ** 2 / 2)),
    ([0.0, 1.0, 2.0], [0.0, 1.0, 0.0]),
    ([0.0, 0.5, 3.0, 4.0], [2.0, 0.0, 0.0, 1.0]),
    (np.linspace(0, 1, 200), 1 + np.sin(np.linspace(0, 20, 200))),
])
def test_sample_density_ks(grid, dens):
    y = fd.sample_density(grid, dens, size=100_000, rng=0)
    assert y.min() >= grid[0] and y.max() <= grid[-1]
    res = stats.kstest(y, lambda t: slow.density_cdf(t, grid, dens))
    assert res.pvalue > ALPHA
    # a zero-density stretch is never sampled
    if len(grid) == 4:
        assert not np.any((y > 0.5) & (y < 3.0))


def test_sample_density_is_the_inverse_cdf():
    grid, dens = np.array([0.0, 1.0, 3.0]), np.array([1.0, 3.0, 0.5])
    u = slow.uniforms(make_key(5), 1000)
    y = fd.sample_density(grid, dens, size=1000, rng=5)
    np.testing.assert_allclose(slow.density_cdf(y, grid, dens), u, atol=1e-12)


def test_gaussian_transport():
    grid = np.linspace(0, 5, 11)
    dens = grid * np.exp(-grid)
    z = np.random.default_rng(0).standard_normal(100_000)
    y = fd.gaussian_transport(z, grid, dens)
    order = np.argsort(z)
    assert np.all(np.diff(y[order]) >= 0)              # monotone
    np.testing.assert_allclose(slow.density_cdf(y, grid, dens), stats.norm.cdf(z), atol=1e-10)
    assert stats.kstest(y, lambda t: slow.density_cdf(t, grid, dens)).pvalue > ALPHA
    assert np.ndim(fd.gaussian_transport(0.0, grid, dens)) == 0


def test_density_bad_input():
    with pytest.raises(ValueError, match="strictly increasing"):
        fd.sample_density([0, 1, 1], [1, 1, 1], size=2)
    with pytest.raises(ValueError, match=r"density\[1\] = -1"):
        fd.sample_density([0, 1, 2], [1, -1, 1], size=2)
    with pytest.raises(ValueError, match="same shape"):
        fd.sample_density([0, 1, 2], [1, 1], size=2)
    with pytest.raises(ValueError, match="at least 2"):
        fd.sample_density([0.0], [1.0])
    with pytest.raises(ValueError, match="z"):
        fd.gaussian_transport([np.nan], [0, 1], [1, 1])


# ---------------------------------------------------------------------------------------
# the direct joint sampler
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 3, 3), (2, 5), (7,), (2, 2, 2, 2, 2)])
def test_sample_joint_exact(shape):
    rng = np.random.default_rng(len(shape))
    table = rng.gamma(0.7, size=shape)
    table.flat[0] = 0.0
    X = fd.sample_joint(table, size=200_000, rng=1)
    assert X.shape == (200_000, len(shape)) and X.dtype == np.uint8
    flat = np.ravel_multi_index(tuple(X.T.astype(np.int64)), shape)
    g_test(np.bincount(flat, minlength=table.size), table.ravel())


def test_sample_joint_log_and_scalar():
    table = np.log(np.array([[0.1, 0.2], [0.3, 0.4]]))
    a = fd.sample_joint(table, size=1000, rng=3, log=True)
    b = fd.sample_joint(np.exp(table), size=1000, rng=3)
    np.testing.assert_array_equal(a, b)
    assert fd.sample_joint(np.ones((2, 3)), rng=0).shape == (2,)
    z = np.zeros((2, 2))
    z[1, 1] = 0          # a joint table may have zero rows along the last axis
    z[0, 0] = 1
    assert np.all(fd.sample_joint(z, size=10, rng=0) == 0)
    with pytest.raises(ValueError, match="table"):
        fd.sample_joint(np.zeros((2, 2)))


# ---------------------------------------------------------------------------------------
# the Categorical model
# ---------------------------------------------------------------------------------------
def test_categorical_model(tmp_path):
    p = _dist(40, 3, zeros=True)
    cat = fd.Categorical(p)
    for m in METHODS:
        np.testing.assert_array_equal(cat.sample(5000, rng=1, method=m),
                                      fd.categorical(p, size=5000, rng=1, method=m))
    np.testing.assert_allclose(cat.probs, p / p.sum())
    assert cat.n_states == 40 and cat.n_dims == 1
    x = cat.sample(10, rng=0)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(cat.log_prob(x), np.log(p / p.sum())[x])
    nz = p > 0
    q = p[nz] / p.sum()
    assert cat.entropy() == pytest.approx(-(q * np.log(q)).sum(), rel=1e-12)
    assert cat.entropy() == pytest.approx(stats.entropy(p), rel=1e-12)
    cat.save(tmp_path / "c.npz")
    np.testing.assert_array_equal(fd.load(tmp_path / "c.npz").probs, cat.probs)
    f = fd.Categorical.fit([0, 1, 1, 2, 2, 2], alpha=0.0)
    np.testing.assert_allclose(f.probs, [1 / 6, 2 / 6, 3 / 6])
    f1 = fd.Categorical.fit([0, 1, 1], n_states=4, alpha=1.0)
    np.testing.assert_allclose(f1.probs, [2 / 7, 3 / 7, 1 / 7, 1 / 7])
    lc = fd.Categorical(logits=[0.0, -np.inf, 1000.0])
    np.testing.assert_allclose(lc.probs, [0, 0, 1])
    with pytest.raises(ValueError, match="x"):
        cat.log_prob([40])
    with pytest.raises(ValueError):
        fd.Categorical(np.ones((2, 2)))


def test_batched_peak_memory_has_no_n_by_C_temporary():
    import tracemalloc
    P = np.random.default_rng(0).random((20_000, 500))      # 80 MB of input
    fd.categorical(P, rng=0)                                  # warm caches of the call path
    tracemalloc.start()
    try:
        x = fd.categorical(P, rng=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < x.nbytes + 2**20, f"peak {peak} bytes for an output of {x.nbytes} bytes"
    L = np.log(P)
    tracemalloc.start()
    try:
        x = fd.categorical(logits=L, size=(3, 20_000), rng=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < x.nbytes + 2**20
