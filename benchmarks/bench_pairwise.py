"""Chow-Liu fit at BLAS speed: 20 Newsgroups (c20ng train, 11293 x 910, binary, density 0.05).

One thread everywhere (numba and the BLAS, through threadpoolctl). Side by side, in one run:

- ``ChowLiuTree.fit`` (counts by :mod:`fastdgm.models._cooccurrence`, MI, Prim, tables): the timed one;
- ``old``: the per-pair numba kernel of the mutual information it ran before;
- ``floor``: one float32 ``X.T @ X`` of the same data (a SYRK: the BLAS floor of the counts);
- ``deeprob``: deeprob-kit's ``BinaryCLT.fit`` (when installed).

``extra_info['speedup_<name>']`` = that baseline's median / the fit's median (so the fit is
within 3x of the floor when ``speedup_floor >= 1/3``). Skipped when the data sets are absent
(``<repo>/../shared/data/density``, or ``$FASTDGM_DENSITY_DIR``). Run: ``pytest benchmarks/bench_pairwise.py --benchmark-enable``.
Note: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, when set, select an older kernel and slow the floor.
"""
import contextlib
import gzip
import os
import pathlib
import time

import numba
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.models import _cooccurrence as pw

DATA = pathlib.Path(os.environ.get("FASTDGM_DENSITY_DIR") or
                    pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data" / "density")
SETS = ["nltcs", "plants", "accidents", "kdd", "msweb", "c20ng"]


def _load(name, split="train"):
    p = DATA / name / f"{name}.{split}.data.gz"
    if not p.exists():
        pytest.skip(f"{p} is absent")
    with gzip.open(p) as f:
        return np.loadtxt(f, delimiter=",", dtype=np.uint8)


@contextlib.contextmanager
def one_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:                # pragma: no cover
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(1)
    old = numba.get_num_threads()
    with limits, fd.threads(1):
        numba.set_num_threads(1)
        try:
            yield
        finally:
            numba.set_num_threads(old)


def _old_mi(X):
    """Mutual informations pair by pair with np.bincount (the numpy idiom of the old per-pair path)."""
    from fastdgm.slow.likelihood import mutual_info_matrix_numpy

    return mutual_info_matrix_numpy(X, 2)


def _deeprob_fit():
    try:
        from deeprob.spn.structure.cltree import BinaryCLT
    except ImportError:
        return None

    def fit(X):
        m = BinaryCLT(list(range(X.shape[1])), root=0)
        m.fit(X, [[0, 1]] * X.shape[1], alpha=1.0, random_state=0)
        return m
    return fit


@pytest.mark.parametrize("name", ["c20ng"])
def test_chow_liu_fit_c20ng(compare, benchmark, full_size, name):
    X = _load(name)
    if not full_size:
        X = X[:500, :100].copy()
    Xf = X.astype(np.float32)
    others = {"floor": lambda: Xf.T @ Xf}
    dr = _deeprob_fit()
    if dr is not None:
        others["deeprob"] = lambda: dr(X)
    with one_thread():
        m = fd.ChowLiuTree.fit(X, 2)
        np.testing.assert_array_equal(np.diag(m.mutual_info_), 0)
        compare(lambda: fd.ChowLiuTree.fit(X, 2), others=others, n=X.shape[0], d=X.shape[1],
                method=pw.choose_method(X, 2, False))
        if full_size and benchmark.enabled:     # the old path takes ~14 s: one timed call
            _old_mi(X[:50])
            t0 = time.perf_counter()
            _old_mi(X)
            old = time.perf_counter() - t0
            benchmark.extra_info["baseline_s_old_mi_once"] = old
            benchmark.extra_info["speedup_old_mi_once"] = old / benchmark.stats.stats.median


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("method", ["dense", "sparse"])
def test_counts_methods(compare, full_size, name, method):
    """pairwise_count_matrix by each method vs the float32 X.T @ X floor, the six sets."""
    X = _load(name)
    X = X if full_size else X[:300].copy()
    Xf = X.astype(np.float32)
    with one_thread():
        compare(lambda: pw.pairwise_count_matrix(X, 2, method=method), others={"floor": lambda: Xf.T @ Xf},
                n=X.shape[0], d=X.shape[1], density=float(X.mean()), auto=pw.choose_method(X, 2, False))


@pytest.mark.parametrize("name", ["c20ng"])
def test_weighted_counts(compare, full_size, name):
    """Weighted counts (the M-step of a mixture of trees) vs float64 (w X).T @ X."""
    X = _load(name)
    X = X if full_size else X[:300].copy()
    w = np.random.default_rng(0).random(X.shape[0])
    Xd = X.astype(np.float64)
    with one_thread():
        compare(lambda: pw.pairwise_count_matrix(X, 2, w), others={"f64_wXtX": lambda: (Xd * w[:, None]).T @ Xd},
                n=X.shape[0], d=X.shape[1])
