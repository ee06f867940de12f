"""Every numba reduction and sampler of fastdgm.kernels.likelihood against its slow numpy
reference (fastdgm.slow.likelihood), on many shapes and dtypes, serial and parallel twins."""
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.kernels import ancestral as S
from fastdgm.kernels import likelihood as K
import pair_kernel
from fastdgm._rng import make_key
from fastdgm.models._tables import levels as _levels
from fastdgm.slow import likelihood as slow

# (n, d, C): single row, single column, ragged 4-row tail, more than one chunk, C > 256, a table
# above K.FACTORIZED_L1_TABLE (factorized_log_prob's column-blocked walk: ragged row block and
# column tail)
SHAPES = [(1, 1, 2), (7, 3, 2), (37, 5, 3), (4099, 4, 5), (9000, 3, 300), (1100, 19, 256)]
DTYPES = [np.uint8, np.uint16]


def _cases():
    for n, d, C in SHAPES:
        for dt in DTYPES:
            if C - 1 > np.iinfo(dt).max:
                continue
            if dt is np.uint16 and C <= 256 and n > 100:
                continue   # keep the compile + run time small: uint16 covered by the C=300 case
            yield n, d, C, dt


CASES = list(_cases())
TWINS = ["serial", "parallel"]


def _data(n, d, C, dt, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, C, size=(n, d)).astype(dt)
    return rng, X


def _log_table(rng, shape, zeros=False):
    p = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    if zeros:
        p[..., 0] = 0.0   # state 0 impossible: log -inf
        p /= p.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        return np.log(p)


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("n,d,C,dt", CASES)
def test_factorized_log_prob(n, d, C, dt, twin):
    rng, X = _data(n, d, C, dt)
    logp = _log_table(rng, (d, C))
    out = np.empty(n)
    getattr(K.factorized_log_prob, twin)(X, logp, out)
    # same summation order (j ascending) as the reference: bit-identical
    np.testing.assert_array_equal(out, slow.factorized_log_prob(X, logp))
    np.testing.assert_allclose(out, slow.factorized_log_prob_numpy(X, logp), rtol=1e-13)


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("d,C", [(6, 3), (17, 300)])     # row-wise and column-blocked walks
def test_factorized_log_prob_minus_inf_never_nan(twin, d, C):
    rng, X = _data(500, d, C, np.uint16)
    logp = _log_table(rng, (d, C), zeros=True)
    out = np.empty(500)
    getattr(K.factorized_log_prob, twin)(X, logp, out)
    ref = slow.factorized_log_prob(X, logp)
    assert not np.isnan(out).any()
    np.testing.assert_array_equal(out, ref)
    assert np.isneginf(out).any() and np.isfinite(out).any()


def test_factorized_log_prob_int64_input_generic():
    rng, X = _data(50, 4, 3, np.int64)
    logp = _log_table(rng, (4, 3))
    out = np.empty(50)
    K.factorized_log_prob.serial(X, logp, out)
    np.testing.assert_array_equal(out, slow.factorized_log_prob(X, logp))


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("n,d,C,dt", CASES)
def test_mixture_log_prob_and_responsibilities(n, d, C, dt, twin):
    rng, X = _data(n, d, C, dt, seed=1)
    k = 3
    logc = _log_table(rng, (k, d, C), zeros=(C == 3))
    logw = np.log(rng.dirichlet(np.ones(k)))
    T = np.ascontiguousarray(logc.transpose(1, 2, 0))
    out = np.empty(n)
    getattr(K.mixture_log_prob, twin)(X, T, logw, out)
    ref = slow.mixture_log_prob(X, logw, logc)
    assert not np.isnan(out).any()
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    assert np.array_equal(np.isneginf(out), np.isneginf(ref))
    resp = np.empty((n, k))
    out2 = np.empty(n)
    getattr(K.mixture_responsibilities, twin)(X, T, logw, resp, out2)
    rref, lref = slow.mixture_responsibilities(X, logw, logc)
    np.testing.assert_array_equal(out2, out)
    np.testing.assert_allclose(resp, rref, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("n,d,C,dt", CASES)
def test_tree_log_prob(n, d, C, dt, twin):
    rng, X = _data(n, d, C, dt, seed=2)
    parent = np.array([-1] + [int(rng.integers(0, j)) for j in range(1, d)], dtype=np.int64)
    cond = _log_table(rng, (d, C, C))
    cond[0] = cond[0, 0][None, :]             # root rows = its marginal
    kparent = np.where(parent < 0, np.arange(d), parent)
    out = np.empty(n)
    getattr(K.tree_log_prob, twin)(X, cond, kparent, out)
    np.testing.assert_allclose(out, slow.tree_log_prob(X, cond[0, 0], cond, parent, 0), rtol=1e-13)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("n,d,C,dt", CASES)
def test_weighted_counts(n, d, C, dt, twin, weighted):
    rng, X = _data(n, d, C, dt, seed=3)
    w = rng.random(n) if weighted else None
    nc, rows = K.n_chunks(n, d * C)
    partial = np.empty((nc, d, C))
    getattr(K.weighted_counts, twin)(X, np.empty(0) if w is None else w, rows, partial)
    got = partial.sum(axis=0)
    ref = slow.weighted_counts(X, C, w)
    if weighted:
        np.testing.assert_allclose(got, ref, rtol=1e-12)
    else:
        np.testing.assert_array_equal(got, ref)


def test_n_chunks_bounds_memory_and_ignores_threads():
    assert K.n_chunks(10, 5) == (1, 10)
    nc, rows = K.n_chunks(10**6, 10)
    assert rows <= K.CHUNK and nc * rows >= 10**6 and (nc - 1) * rows < 10**6
    nc, rows = K.n_chunks(10**6, 784 * 256 * 10, budget=1 << 22)
    assert nc * 784 * 256 * 10 <= 1 << 22 or nc == 1
    assert nc * rows >= 10**6


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("n,d,C,dt", CASES)
def test_mixture_em_stats(n, d, C, dt, twin):
    rng, X = _data(n, d, C, dt, seed=4)
    k = 2
    logc = _log_table(rng, (k, d, C))
    logw = np.log(rng.dirichlet(np.ones(k)))
    w = rng.random(n)
    T = np.ascontiguousarray(logc.transpose(1, 2, 0))
    nc, rows = K.n_chunks(n, d * C * k)
    counts = np.empty((nc, d, C, k))
    nk = np.empty((nc, k))
    ll = np.empty(nc)
    getattr(K.mixture_em_stats, twin)(X, T, logw, w, rows, counts, nk, ll)
    resp, lse = slow.mixture_responsibilities(X, logw, logc)
    rw = resp * w[:, None]
    np.testing.assert_allclose(counts.sum(axis=0).transpose(2, 0, 1), slow.resp_counts(X, C, rw),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(nk.sum(axis=0), rw.sum(axis=0), rtol=1e-10)
    np.testing.assert_allclose(ll.sum(), np.sum(w * lse), rtol=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("twin", TWINS)
def test_pair_counts_and_mutual_info(twin, weighted):
    for n, d, C, dt in [(1, 2, 2, np.uint8), (300, 5, 3, np.uint8), (2000, 4, 300, np.uint16)]:
        rng, X = _data(n, d, C, dt, seed=5)
        X[:, 1] = (X[:, 0] + (rng.random(n) < 0.2)) % C      # a dependent pair
        w = rng.random(n) if weighted else None
        wk = np.empty(0) if w is None else w
        a, b = np.triu_indices(d, k=1)
        a, b = a.astype(np.int64), b.astype(np.int64)
        Xt = np.ascontiguousarray(X.T)
        out = np.empty((a.size, C, C))
        getattr(K.pair_counts, twin)(Xt, wk, a, b, out)
        ref = slow.pairwise_counts(X, C, w)
        np.testing.assert_allclose(out, ref[a, b], rtol=1e-12)
        mi = pair_kernel.mutual_info_matrix(X, C, w)[a, b]
        np.testing.assert_allclose(mi, [slow.mutual_info(ref[i, j]) for i, j in zip(a, b)],
                                   rtol=1e-9, atol=1e-13)
        assert np.all(mi >= -1e-12)


def test_pairwise_counts_public_blocked():
    from fastdgm.models import pairwise_counts

    rng, X = _data(500, 6, 4, np.uint8, seed=6)
    w = rng.random(500)
    full = pairwise_counts(X, 4, w, block_cells=40)   # 2 pairs per block: many blocks
    np.testing.assert_allclose(full, slow.pairwise_counts(X, 4, w), rtol=1e-12)
    some = pairwise_counts(X, 4, pairs=[[0, 1], [5, 2]])
    np.testing.assert_array_equal(some, slow.pairwise_counts(X, 4)[[0, 5], [1, 2]])


@pytest.mark.parametrize("twin", TWINS)
def test_samplers_match_references_bit_for_bit(twin):
    rng = np.random.default_rng(7)
    key = make_key(11)
    d, C, k, n = 5, 4, 3, 60
    # zero-probability states included: never drawn, by construction of the levels
    lf = _log_table(rng, (d, C), zeros=True)
    lev = _levels(lf)
    out = np.empty((n, d), dtype=np.uint8)
    getattr(S.factorized_sample, twin)(lev, key, 0, out)
    np.testing.assert_array_equal(out, slow.factorized_sample(lev, int(key), n))
    assert not np.any(out == 0)

    lw = np.log(rng.dirichlet(np.ones(k)))
    lc = _log_table(rng, (k, d, C))
    wl, cl = _levels(lw), _levels(lc)
    getattr(S.mixture_sample, twin)(wl, cl, key, 0, out)
    np.testing.assert_array_equal(out, slow.mixture_sample(wl, cl, int(key), n))

    parent = np.array([2, 2, -1, 0, 2], dtype=np.int64)
    order = np.array([2, 0, 1, 4, 3], dtype=np.int64)
    tl = _levels(_log_table(rng, (d, C, C)))
    kparent = np.where(parent < 0, np.arange(d), parent)
    getattr(S.tree_sample, twin)(tl, kparent, order, key, 0, out)
    np.testing.assert_array_equal(out, slow.tree_sample(tl, parent, order, int(key), n))


def test_serial_and_parallel_twins_identical_on_many_chunks():
    rng, X = _data(3 * K.CHUNK + 17, 6, 3, np.uint8, seed=8)
    logc = _log_table(rng, (4, 6, 3))
    logw = np.log(rng.dirichlet(np.ones(4)))
    T = np.ascontiguousarray(logc.transpose(1, 2, 0))
    n = X.shape[0]
    nc, rows = K.n_chunks(n, 6 * 3 * 4)
    res = {}
    for twin in TWINS:
        counts = np.empty((nc, 6, 3, 4))
        nk = np.empty((nc, 4))
        ll = np.empty(nc)
        with fd.threads(2):
            getattr(K.mixture_em_stats, twin)(X, T, logw, rng.random(0), rows, counts, nk, ll)
        res[twin] = (counts.sum(axis=0), nk.sum(axis=0), ll.sum())
    for a, b in zip(res["serial"], res["parallel"]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("n,d", [(1, 8), (33, 16), (5000, 64), (4097, 136)])
def test_binary_log_prob(n, d, twin):
    rng, X = _data(n, d, 2, np.uint8, seed=9)
    logp = _log_table(rng, (d, 2))
    logp[3, 1] = -np.inf
    out = np.empty(n)
    getattr(K.binary_log_prob, twin)(X.view(np.uint64), K.binary_tables(logp), out)
    ref = slow.factorized_log_prob(X, logp)
    np.testing.assert_array_equal(np.isneginf(out), np.isneginf(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(out[fin], ref[fin], rtol=1e-13)


def test_binary_log_prob_every_byte_pattern():
    X = ((np.arange(256)[:, None] >> np.arange(8)) & 1).astype(np.uint8)   # all 2^8 rows
    logp = _log_table(np.random.default_rng(11), (8, 2))
    out = np.empty(256)
    K.binary_log_prob.serial(X.view(np.uint64), K.binary_tables(logp), out)
    np.testing.assert_allclose(out, slow.factorized_log_prob(X, logp), rtol=1e-14)


def test_binary_path_same_bits_serial_parallel_in_pieces_and_fallbacks():
    rng, X = _data(20_000, 96, 2, np.uint8, seed=10)
    m = fd.Factorized(rng.random((96, 2)) + 0.01)
    full = m.log_prob(X)                               # parallel twin
    pieces = np.concatenate([m.log_prob(X[s:s + 500]) for s in range(0, 20_000, 500)])  # serial
    np.testing.assert_array_equal(full, pieces)
    with fd.threads(1):
        np.testing.assert_array_equal(m.log_prob(X), full)
    out = np.empty(20_000)
    K.binary_log_prob.serial(X.view(np.uint64), m._binary, out)   # concurrent-caller twin
    np.testing.assert_array_equal(out, full)
    # d not a multiple of 8, or X not 8-byte aligned: the gather path, same values
    np.testing.assert_allclose(fd.Factorized(m.probs[:90]).log_prob(X[:, :90]),
                               slow.factorized_log_prob(X[:, :90], m.log_probs[:90]), rtol=1e-13)
    buf = np.empty(X.size + 1, dtype=np.uint8)
    Xu = buf[1:].reshape(X.shape)
    Xu[:] = X
    np.testing.assert_allclose(m.log_prob(Xu), full, rtol=1e-13)


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("n,d,C,g", [(5, 1, 2, 1), (37, 7, 3, 5), (4500, 10, 4, 4), (300, 9, 16, 2)])
def test_pack_states(n, d, C, g, twin):
    _, X = _data(n, d, C, np.uint8, seed=12)
    out = np.empty((n, -(-d // g)), dtype=np.uint8)
    getattr(K.pack_states, twin)(X, C, g, out)
    np.testing.assert_array_equal(out, slow.pack_states(X, C, g))


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("weighted", [False, True])
def test_random_resp_stats(twin, weighted):
    rng, X = _data(700, 5, 3, np.uint8, seed=13)
    k = 4
    w = rng.random(700) if weighted else None
    key = make_key(14)
    nc, rows = K.n_chunks(700, 5 * 3 * k, chunk=256)
    counts = np.empty((nc, 5, 3, k))
    nk = np.empty((nc, k))
    getattr(K.random_resp_stats, twin)(X, k, key, 0, np.empty(0) if w is None else w, rows, counts, nk)
    r = slow.random_responsibilities(int(key), 700, k, w)
    np.testing.assert_allclose(counts.sum(axis=0).transpose(2, 0, 1), slow.resp_counts(X, 3, r), rtol=1e-12)
    np.testing.assert_allclose(nk.sum(axis=0), r.sum(axis=0), rtol=1e-12)
    # a block of rows 300.. drawn alone (row0 = 300) uses the same uniforms as the whole
    nc, rows = K.n_chunks(400, 5 * 3 * k, chunk=256)
    counts, nk = np.empty((nc, 5, 3, k)), np.empty((nc, k))
    wb = np.empty(0) if w is None else w[300:].copy()
    getattr(K.random_resp_stats, twin)(np.ascontiguousarray(X[300:]), k, key, 300, wb, rows, counts, nk)
    np.testing.assert_allclose(nk.sum(axis=0), r[300:].sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(counts.sum(axis=0).transpose(2, 0, 1), slow.resp_counts(X[300:], 3, r[300:]),
                               rtol=1e-12)


@pytest.mark.parametrize("twin", TWINS)
def test_max_state(twin):
    for n, d, C, dt in [(1, 1, 2, np.uint8), (4099, 3, 7, np.uint8), (9000, 2, 300, np.uint16)]:
        _, X = _data(n, d, C, dt, seed=15)
        part = np.full(-(-n // K.CHUNK), -1, dtype=np.int64)
        getattr(K.max_state, twin)(X, part)
        np.testing.assert_array_equal(part, [X[i:i + K.CHUNK].max() for i in range(0, n, K.CHUNK)])
        X[-1, -1] = C + 1
        getattr(K.max_state, twin)(X, part)
        assert part.max() == C + 1 == K.largest_state(X)
