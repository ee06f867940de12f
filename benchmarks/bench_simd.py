"""One draw per row on each instruction-set path of the Cython kernels, in the same run.

``fastdgm`` is the path in use (the CPU's best, capped by ``FASTDGM_SIMD``; recorded in
``extra_info["simd"]``); ``fastdgm_portable`` (and ``fastdgm_avx2`` on an AVX-512 CPU) are
the same call with the path capped for that entry only (:func:`fastdgm.bench.internals.use_simd`), so the
ratios show what each path gains. Peers: the numpy idiom ``(P.cumsum(1) > u[:, None]).argmax(1)``
(``u`` from ``rng.random``; logits: a numpy softmax first) and the floor ``P.sum()``.
Targets on AVX2 (issue 18): at least 5x the numpy idiom; at most 2x ``P.sum()`` at C = 4,
1.5x at C = 32 and 256.
"""
import contextlib

import numpy as np
import pytest

import fastdgm as fd
from fastdgm.bench.internals import SIMD_PATHS, simd_cpu_path, simd_path, use_simd
from fastdgm.slow import baselines as base
import floors

BATCHES = [(10**6, 4), (10**6, 32), (10**5, 256)]
IMPLS = ["fastdgm", "fastdgm_avx2", "fastdgm_portable", "numpy", "floor_read"]


@contextlib.contextmanager
def _path(impl):
    """The SIMD path of entry ``impl`` for the duration of its timing."""
    in_use = simd_path()
    want = impl.removeprefix("fastdgm_") if impl.startswith("fastdgm_") else in_use
    if impl != "fastdgm" and impl.startswith("fastdgm_") and \
            SIMD_PATHS.index(want) >= SIMD_PATHS.index(in_use):
        pytest.skip(f"{impl}: the path in use is {in_use} (the entry would time the same kernels)")
    with use_simd(want) as path:
        yield path


def _run(measure, group, impl, draw, numpy_fn, A, **info):
    fns = {impl: draw} if impl.startswith("fastdgm") else {"numpy": numpy_fn, "floor_read": floors.read(A)}
    with _path(impl) as path, fd.threads(1):
        measure(group, impl, fns, simd=path, simd_cpu=simd_cpu_path(), **info)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("n, C", BATCHES)
def test_rows_per_path(measure, full_size, n, C, impl):
    """One draw per row of P (n, C), rows normalised, one thread."""
    if not full_size:
        n = 1001
    P = np.random.default_rng(0).random((n, C))
    P /= P.sum(1, keepdims=True)
    u = np.random.default_rng(1).random(n)
    _run(measure, f"simd-rows-{n:.0e}x{C}", impl, lambda: fd.categorical(P, rng=1),
         lambda: base.categorical_rows(P, u), P, C=C, n=n, kernel="categorical-batched-simd")


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("n, C", [(10**5, 256), (10**6, 32)])
def test_logits_per_path(measure, full_size, n, C, impl):
    """One draw per row of logits (n, C), one thread."""
    if not full_size:
        n = 1001
    L = np.random.default_rng(0).standard_normal((n, C))
    u = np.random.default_rng(1).random(n)
    _run(measure, f"simd-logits-{n:.0e}x{C}", impl, lambda: fd.categorical(logits=L, rng=1),
         lambda: base.categorical_logits(L, u), L, C=C, n=n, kernel="categorical-batched-logits-simd")
