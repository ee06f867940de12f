"""Chow-Liu fit at BLAS speed: 20 Newsgroups (c20ng train, 11293 x 910, binary, density 0.05).

One thread everywhere (numba and the BLAS, through threadpoolctl). Side by side, in one run:

- ``ChowLiuTree.fit`` (counts by :func:`fastdgm.bench.internals.pairwise_count_matrix`, MI, Prim, tables): the timed one;
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

import numba
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.bench import internals as pw
from conftest import blas_threads_1

DATA = pathlib.Path(os.environ.get("FASTDGM_DATA") or os.environ.get("FASTDGM_DENSITY_DIR") or
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
    old = numba.get_num_threads()
    with blas_threads_1(), fd.threads(1):
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


@pytest.mark.parametrize("impl", ["fastdgm", "floor_xtx_float32", "deeprob", "numpy_per_pair_mi"])
@pytest.mark.parametrize("name", ["c20ng"])
def test_chow_liu_fit_c20ng(measure, full_size, name, impl):
    """ChowLiuTree.fit on c20ng, one thread, vs one float32 X.T @ X (the floor), deeprob-kit's
    BinaryCLT and the per-pair mutual informations of the numpy idiom (the old path's algorithm)."""
    X = _load(name)
    if not full_size:
        X = X[:500, :100].copy()
    Xf = X.astype(np.float32)
    dr = _deeprob_fit()
    fns = {"fastdgm": lambda: fd.ChowLiuTree.fit(X, 2), "floor_xtx_float32": lambda: Xf.T @ Xf,
           "numpy_per_pair_mi": lambda: _old_mi(X)}
    if dr is not None:
        fns["deeprob"] = lambda: dr(X)
    with one_thread():
        measure(f"chowliu-fit-{name}", impl, fns, n=X.shape[0], d=X.shape[1],
                method=pw.choose_method(X, 2, False), kernel="chowliu-fit")


@pytest.mark.parametrize("impl", ["fastdgm", "fastdgm_dense", "fastdgm_sparse", "floor_xtx_float32"])
@pytest.mark.parametrize("name", SETS)
def test_counts_methods(measure, full_size, name, impl):
    """pairwise_count_matrix by each method vs the float32 X.T @ X floor, the six sets."""
    X = _load(name)
    X = X if full_size else X[:300].copy()
    Xf = X.astype(np.float32)
    with one_thread():
        measure(f"pair-counts-{name}", impl, {"fastdgm": lambda: pw.pairwise_count_matrix(X, 2),
                                              "fastdgm_dense": lambda: pw.pairwise_count_matrix(X, 2, method="dense"),
                                              "fastdgm_sparse": lambda: pw.pairwise_count_matrix(X, 2, method="sparse"),
                                              "floor_xtx_float32": lambda: Xf.T @ Xf},
                n=X.shape[0], d=X.shape[1], density=float(X.mean()), auto=pw.choose_method(X, 2, False),
                kernel="pair-counts")


@pytest.mark.parametrize("impl", ["fastdgm", "numpy"])
@pytest.mark.parametrize("name", ["c20ng"])
def test_weighted_counts(measure, full_size, name, impl):
    """Weighted counts (the M-step of a mixture of trees) vs float64 (w X).T @ X."""
    X = _load(name)
    X = X if full_size else X[:300].copy()
    w = np.random.default_rng(0).random(X.shape[0])
    Xd = X.astype(np.float64)
    with one_thread():
        measure(f"weighted-pair-counts-{name}", impl, {"fastdgm": lambda: pw.pairwise_count_matrix(X, 2, w),
                                                       "numpy": lambda: (Xd * w[:, None]).T @ Xd},
                n=X.shape[0], d=X.shape[1], kernel="weighted-pair-counts")
