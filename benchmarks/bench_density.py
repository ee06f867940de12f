"""The density-estimation benchmark: model fits on the real data sets (skipped when absent).

Full size: ``FASTDGM_DATA=../shared/data/density pytest benchmarks/bench_density.py --benchmark-enable``.
Each fit is timed with its numpy/scipy baseline and the installed peers in the same run.
"""
import os
import pathlib

import numpy as np
import pytest

import fastdgm as fd
from fastdgm.kernels.blas import blas_threads
from fastdgm.slow.fit_baselines import chow_liu_binary_numpy, mixture_em_iteration_numpy

_SHARED = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data" / "density"
DATA_HOME = os.environ.get("FASTDGM_DATA") or str(_SHARED)
SETS = ["nltcs", "plants", "accidents", "kdd", "msweb", "c20ng"]


def _load(name):
    from fastdgm.density_data import load_density_benchmark

    try:
        return load_density_benchmark(name, data_home=DATA_HOME)
    except FileNotFoundError:
        pytest.skip(f"density data set {name} not under {DATA_HOME}")


@pytest.mark.parametrize("impl", ["fastdgm", "numpy", "floor_xtx_float32", "deeprob"])
@pytest.mark.parametrize("name", SETS)
def test_chow_liu_fit(measure, full_size, name, impl):
    """ChowLiuTree.fit vs the numpy/scipy idiom (float32 GEMM counts, scipy MST) and deeprob-kit."""
    train, valid, test = _load(name)
    if not full_size:
        train = train[:500]
    Xf = train.astype(np.float32)
    fns = {"fastdgm": lambda: fd.ChowLiuTree.fit(train, n_states=2), "numpy": lambda: chow_liu_binary_numpy(train),
           "floor_xtx_float32": lambda: Xf.T @ Xf}
    try:
        from deeprob.spn.structure.cltree import BinaryCLT

        fns["deeprob"] = lambda: BinaryCLT(list(range(train.shape[1])), root=0).fit(
            train, [[0, 1]] * train.shape[1], alpha=1.0, random_state=0)
    except ImportError:
        pass
    with fd.threads(1), blas_threads(1):     # one thread for every BLAS call too, baselines included
        measure(f"chowliu-fit-{name}", impl, fns, n=train.shape[0], d=train.shape[1], kernel="chowliu-fit-density")


@pytest.mark.parametrize("impl", ["fastdgm", "numpy"])
@pytest.mark.parametrize("name", SETS)
def test_mixture_em_iteration(measure, full_size, name, impl):
    """One EM iteration (K = 20) vs the two-GEMM numpy iteration."""
    train, valid, test = _load(name)
    if not full_size:
        train = train[:500]
    m = fd.Mixture.fit(train[:2000], n_components=20, n_states=2, rng=0, max_iter=2)
    with fd.threads(1), blas_threads(1):
        measure(f"mixture-em-{name}", impl,
                {"fastdgm": lambda: m.em_statistics(train),
                 "numpy": lambda: mixture_em_iteration_numpy(train, m.log_weights, m.log_components)},
                n=train.shape[0], d=train.shape[1], K=20, kernel="mixture-em-density")


@pytest.mark.parametrize("name", SETS)
def test_test_log_likelihoods_are_finite_and_ordered(name):
    """Real-data sanity: the tree beats the factorized model on every set (literature: always)."""
    train, valid, test = _load(name)
    f = fd.Factorized.fit(train, n_states=2, alpha=0.1)
    t = fd.ChowLiuTree.fit(train, n_states=2, alpha=0.1)
    assert np.isfinite(t.score(test)) and t.score(test) > f.score(test)
