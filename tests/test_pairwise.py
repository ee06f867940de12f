"""fastdgm.models._cooccurrence: joint counts of all column pairs against an einsum over the one-hot
encoding, mutual informations against the per-pair kernel, every method, chunking, threads."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st

import fastdgm as fd
from fastdgm.models import _cooccurrence as pw
import pair_kernel
from fastdgm.models import ChowLiuTree, mutual_information_matrix

METHODS = ["dense", "sparse", "pairs"]


def ref_counts(X, C, w=None):
    """N[a, u, b, v] = sum_i w_i [x_ia = u][x_ib = v] by einsum over the one-hot encoding."""
    X = np.asarray(X, dtype=np.int64)
    O = (X[:, :, None] == np.arange(C)).astype(np.float64)
    w = np.ones(X.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
    return np.einsum("i,iau,ibv->aubv", w, O, O)


def ref_mi_pair_kernel(X, C, w=None):
    """The per-pair kernel (tests/pair_kernel.py) that mutual_information_matrix ran before."""
    return pair_kernel.mutual_info_matrix(X, C, w)


def sparse_data(n, d, C, density, seed, dtype=np.uint8):
    rng = np.random.default_rng(seed)
    X = rng.integers(1, C, size=(n, d)) * (rng.random((n, d)) < density)
    return X.astype(dtype)


@pytest.mark.parametrize("C", [2, 3, 5, 17])
@pytest.mark.parametrize("method", ["auto"] + METHODS)
@pytest.mark.parametrize("dtype", [np.uint8, np.int64])
@pytest.mark.parametrize("density", [0.05, 0.7])
def test_unweighted_counts_exact(C, method, dtype, density):
    X = sparse_data(301, 7, C, density, seed=C, dtype=dtype)
    N = pw.pairwise_count_matrix(X, C, method=method)
    assert N.shape == (7, C, 7, C) and N.dtype == np.float64
    np.testing.assert_array_equal(N, ref_counts(X, C))


@pytest.mark.parametrize("C", [2, 3, 5, 17])
@pytest.mark.parametrize("method", ["auto"] + METHODS)
def test_weighted_counts(C, method):
    rng = np.random.default_rng(C)
    X = sparse_data(257, 6, C, 0.3, seed=C + 1)
    w = rng.random(257) * 3
    w[::7] = 0.0
    np.testing.assert_allclose(pw.pairwise_count_matrix(X, C, w, method=method), ref_counts(X, C, w),
                               rtol=1e-12, atol=0)


@pytest.mark.parametrize("C", [2, 3, 5])
@pytest.mark.parametrize("method", ["auto"] + METHODS)
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_scipy_sparse_input(C, method, fmt):
    X = sparse_data(200, 9, C, 0.1, seed=3)
    S = sp.csr_matrix(X).asformat(fmt)
    N = pw.pairwise_count_matrix(S, C, method=method)
    np.testing.assert_array_equal(N, ref_counts(X, C))
    w = np.random.default_rng(0).random(200)
    np.testing.assert_allclose(pw.pairwise_count_matrix(S, C, w, method=method), ref_counts(X, C, w),
                               rtol=1e-12, atol=0)


def test_scipy_sparse_explicit_zeros_and_duplicates():
    # stored zeros make no event; duplicate entries are summed (scipy's convention)
    rows = np.array([0, 0, 1, 2, 2, 2])
    cols = np.array([1, 1, 0, 2, 0, 1])
    vals = np.array([1, 1, 1, 0, 1, 2])
    S = sp.coo_matrix((vals, (rows, cols)), shape=(3, 3))
    np.testing.assert_array_equal(pw.pairwise_count_matrix(S, 3, method="sparse"),
                                  ref_counts(S.toarray(), 3))


@pytest.mark.parametrize("method", METHODS)
def test_single_column_single_row(method):
    X = np.array([[1], [0], [1], [2]])
    np.testing.assert_array_equal(pw.pairwise_count_matrix(X, 3, method=method), ref_counts(X, 3))
    X1 = np.array([[2, 0, 1]])
    np.testing.assert_array_equal(pw.pairwise_count_matrix(X1, 3, method=method), ref_counts(X1, 3))
    np.testing.assert_array_equal(pw.mutual_information(X1, 3, method=method), np.zeros((3, 3)))
    assert pw.mutual_information(X, 3, method=method).shape == (1, 1)


@pytest.mark.parametrize("C", [2, 3])
@pytest.mark.parametrize("chunk_rows", [1, 7, 64, 100])
def test_chunk_boundaries(C, chunk_rows):
    X = sparse_data(103, 5, C, 0.4, seed=chunk_rows)    # 103 rows: never a multiple
    w = np.random.default_rng(1).random(103)
    N = pw.pairwise_count_matrix(X, C, chunk_rows=chunk_rows, method="dense")
    np.testing.assert_array_equal(N, ref_counts(X, C))
    Nw = pw.pairwise_count_matrix(X, C, w, chunk_rows=chunk_rows, method="dense")
    np.testing.assert_allclose(Nw, ref_counts(X, C, w), rtol=1e-12, atol=0)


def test_float32_chunks_stay_exact(monkeypatch):
    # counts above 2**24 would round in float32: the chunking keeps every partial sum below
    monkeypatch.setattr(pw, "_F32_EXACT_ROWS", 64)
    X = np.ones((1000, 3), dtype=np.uint8)
    X[::3, 1] = 0
    N = pw.pairwise_count_matrix(X, 2, method="dense", chunk_rows=10**6)
    np.testing.assert_array_equal(N, ref_counts(X, 2))


@pytest.mark.parametrize("C", [2, 3, 5, 17])
@pytest.mark.parametrize("method", ["auto"] + METHODS)
def test_mutual_information_matches_pair_kernel(C, method):
    rng = np.random.default_rng(C)
    X = sparse_data(500, 8, C, 0.3, seed=C)
    X[:, 3] = np.where(rng.random(500) < 0.7, X[:, 2], X[:, 3])      # a dependent pair
    mi = pw.mutual_information(X, C, method=method)
    ref = ref_mi_pair_kernel(X, C)
    np.testing.assert_array_equal(mi, ref)                 # exact counts: the same bits
    assert np.all(np.diag(mi) == 0) and np.array_equal(mi, mi.T)
    w = rng.random(500)
    np.testing.assert_allclose(pw.mutual_information(X, C, w, method=method),
                               ref_mi_pair_kernel(X, C, w), rtol=1e-10, atol=1e-15)
    # and the closed form from the einsum counts
    N = ref_counts(X, C)
    p = N / 500
    pa = np.einsum("auau->au", p)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(p > 0, p * np.log(p / (pa[:, :, None, None] * pa[None, None, :, :])), 0.0)
    closed = t.sum(axis=(1, 3))
    np.fill_diagonal(closed, 0.0)
    np.testing.assert_allclose(mi, closed, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("method", ["auto", "dense", "sparse"])
def test_mutual_information_in_blocks(method):
    X = sparse_data(300, 23, 3, 0.3, seed=5)
    w = np.random.default_rng(2).random(300)
    Xc = pw.check_states(X, "X", n_states=3)[0]
    for wk in (np.empty(0), w):
        whole = pw._mutual_information(Xc, 3, wk, method=method)
        blocks = pw._mutual_information(Xc, 3, wk, method=method, block_cells=(2 * 3 * 4) ** 2)
        np.testing.assert_array_equal(blocks, whole) if wk.size == 0 else \
            np.testing.assert_allclose(blocks, whole, rtol=1e-12, atol=1e-16)
    np.testing.assert_array_equal(pw._mutual_information(Xc, 3, np.empty(0), method=method),
                                  ref_mi_pair_kernel(X, 3))


def test_threads_and_methods_agree_bitwise():
    X = sparse_data(20_000, 30, 2, 0.1, seed=9)
    res = []
    for nt in (1, 2):
        with fd.threads(nt):
            res += [pw.pairwise_count_matrix(X, 2, method=m) for m in METHODS]
    for r in res[1:]:
        np.testing.assert_array_equal(r, res[0])


def test_weighted_dense_thread_invariant():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    X = sparse_data(30_000, 40, 3, 0.2, seed=10)
    w = np.random.default_rng(3).random(30_000)
    out = []
    for nt in (1, 2):
        with threadpoolctl.threadpool_limits(nt), fd.threads(nt):
            out.append(pw.pairwise_count_matrix(X, 3, w, method="dense"))
            out.append(pw.mutual_information(X, 3, w))
    np.testing.assert_array_equal(out[0], out[2])
    np.testing.assert_array_equal(out[1], out[3])


def test_chow_liu_fit_unchanged_tree_and_tables():
    # the fit through the count matrix equals the per-pair path (kept here as the reference)
    rng = np.random.default_rng(4)
    X = sparse_data(3000, 12, 3, 0.4, seed=4)
    X[:, 5] = np.where(rng.random(3000) < 0.8, X[:, 4], X[:, 5])
    m = ChowLiuTree.fit(X, 3, alpha=0.5)
    from fastdgm.models import max_spanning_tree
    from fastdgm.models._pair_stats import pair_counts_blocked as _pair_counts_blocked
    mi = ref_mi_pair_kernel(X, 3)
    np.testing.assert_array_equal(m.mutual_info_, mi)
    np.testing.assert_array_equal(m.parent, max_spanning_tree(mi, root=0))
    ch = np.arange(1, 12)
    N = _pair_counts_blocked(np.ascontiguousarray(X.astype(np.uint8)), 3, np.empty(0), m.parent[ch].copy(), ch)
    np.testing.assert_allclose(np.exp(m.log_cond[1:]), (N + 0.5) / (N.sum(axis=2, keepdims=True) + 1.5),
                               rtol=1e-14)
    np.testing.assert_array_equal(mutual_information_matrix(X.astype(np.uint8), 3, np.empty(0)), mi)


def test_choose_method():
    assert pw.choose_method(sparse_data(2000, 500, 2, 0.02, 0), 2, False) == "sparse"
    assert pw.choose_method(sparse_data(2000, 500, 2, 0.6, 0), 2, False) == "dense"
    assert pw.choose_method(sparse_data(2000, 50, 200, 0.9, 0), 200, False) == "pairs"
    assert pw.choose_method(sparse_data(2000, 500, 2, 0.02, 0), 2, True) != "sparse"


def test_argument_checks():
    X = np.array([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="method"):
        pw.pairwise_count_matrix(X, 2, method="gpu")
    with pytest.raises(ValueError, match="X"):
        pw.pairwise_count_matrix(X, 1)
    with pytest.raises(ValueError, match="w"):
        pw.pairwise_count_matrix(X, 2, np.ones(3))
    with pytest.raises(ValueError, match="w"):
        pw.pairwise_count_matrix(X, 2, [1.0, -1.0])
    with pytest.raises(TypeError, match="X"):
        pw.pairwise_count_matrix(X.astype(float), 2)
    with pytest.raises(ValueError, match="X"):
        pw.pairwise_count_matrix(sp.csr_matrix(X * 5), 2)
    with pytest.raises(ValueError, match="chunk_rows"):
        pw.pairwise_count_matrix(X, 2, chunk_rows=0)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), d=st.integers(1, 6), C=st.integers(2, 6), density=st.floats(0, 1),
       weighted=st.booleans(), method=st.sampled_from(["auto"] + METHODS), seed=st.integers(0, 2**32 - 1),
       chunk=st.integers(1, 50))
def test_fuzz_small_shapes(n, d, C, density, weighted, method, seed, chunk):
    X = sparse_data(n, d, C, density, seed)
    w = np.random.default_rng(seed).random(n) if weighted else None
    N = pw.pairwise_count_matrix(X, C, w, method=method, chunk_rows=chunk)
    ref = ref_counts(X, C, w)
    if weighted:
        np.testing.assert_allclose(N, ref, rtol=1e-12, atol=0)
    else:
        np.testing.assert_array_equal(N, ref)
    mi = pw.mutual_information(X, C, w, method=method)
    np.testing.assert_allclose(mi, ref_mi_pair_kernel(X, C, w), rtol=1e-10, atol=1e-14)


def test_blas_calls_follow_fastdgm_threads():
    """The BLAS pool is capped at fastdgm's thread count during the count GEMMs (and restored)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from fastdgm.kernels.blas import blas_threads

    def blas_counts():       # numpy's own BLAS (the one the count GEMMs call)
        return [i["num_threads"] for i in threadpoolctl.threadpool_info()
                if i["user_api"] == "blas" and "numpy" in i["filepath"]]

    before = blas_counts()
    with fd.threads(1), blas_threads():
        assert blas_counts() and all(n == 1 for n in blas_counts())
    assert blas_counts() == before
    X = sparse_data(300, 10, 2, 0.5, seed=1)
    with fd.threads(1):
        np.testing.assert_array_equal(pw.pairwise_count_matrix(X, 2, method="dense"), ref_counts(X, 2))
