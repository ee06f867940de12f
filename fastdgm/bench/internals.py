"""Internals that the benchmarks in ``benchmarks/`` time or instrument, under public names.

The benchmark suites cross into the package by public names only (``tests/test_bench.py``).
Some of them genuinely measure below the public API: the floor of the Cython kernels (the
counter RNG alone), each SIMD path of the same call, the M-step pair counter of
:class:`fastdgm.TreeMixture` and the methods of the pair-count matrix, the time spent inside
the parallel kernels. This module is where they reach those, so the private names they rest
on can change with the package (and this module) alone.

- :func:`fill_uniforms`: the counter RNG's uniforms, the floor of every sampler;
- :data:`SIMD_PATHS`, :func:`simd_path`, :func:`simd_cpu_path`, :func:`use_simd`: the
  instruction-set paths of the Cython kernels, and one path for the length of a block;
- :class:`PairCounter`, :func:`pairwise_count_matrix`, :func:`choose_method`: the pair
  statistics of the tree models by each of their methods;
- :func:`kernel_clock`: the time spent inside the parallel kernels (numba and Cython).
"""
from __future__ import annotations

import contextlib
import importlib
import time
import types

from ..kernels import _threshold
from ..models._cooccurrence import choose_method, pairwise_count_matrix
from ..models._pair_stats import PairCounter

__all__ = ["SIMD_PATHS", "simd_path", "simd_cpu_path", "use_simd", "fill_uniforms", "PairCounter",
           "pairwise_count_matrix", "choose_method", "kernel_clock", "CYTHON_PARALLEL"]

SIMD_PATHS: tuple = tuple(_threshold.SIMD_PATHS)   # ("portable", "avx2", "avx512"), in order
simd_path = _threshold.simd_path
simd_cpu_path = _threshold.simd_cpu_path

# Cython kernels that run an OpenMP team (their last argument is the thread count)
CYTHON_PARALLEL = ("sample_rows", "fill_uniforms", "ndtr", "logit_weights", "threshold_rows",
                   "sample_table", "density_sample", "density_inverse")
_CYTHON_USERS = ("fastdgm.sampling", "fastdgm._dispatch", "fastdgm.continuous")


def fill_uniforms(key, offset, out, threads: int = 1) -> None:
    """``out[i] = uniform(key, offset + i)`` in [0, 1): the counter RNG of every sampler alone.

    Parameters
    ----------
    key, offset : numpy.uint64
        The generator's key and the counter of ``out[0]``.
    out : ndarray of float64, shape (n,), C-contiguous
        Filled in place.
    threads : int
        The OpenMP threads of the fill.
    """
    _threshold.fill_uniforms(key, offset, out, threads)


@contextlib.contextmanager
def use_simd(path: str):
    """Within the block, the Cython kernels run the instruction-set path ``path`` (capped, as
    ``FASTDGM_SIMD`` would, at what the CPU runs); the path in use before is restored after.
    Never while a kernel runs (the path is process-wide).

    Parameters
    ----------
    path : str
        One of :data:`SIMD_PATHS`.

    Yields
    ------
    str
        The path in use within the block.
    """
    if path not in SIMD_PATHS:
        raise ValueError(f"path must be one of {', '.join(SIMD_PATHS)}, got {path!r}")
    before = simd_path()
    try:
        yield _threshold._select_simd(path)
    finally:
        _threshold._select_simd(before)


class _Clock:
    def __init__(self):
        self.inside = 0.0
        self.depth = 0

    def wrap(self, fn):
        def timed(*args, **kwargs):
            if self.depth:                      # a kernel called from a kernel's Python wrapper
                return fn(*args, **kwargs)
            self.depth += 1
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.inside += time.perf_counter() - t
                self.depth -= 1
        return timed


@contextlib.contextmanager
def kernel_clock():
    """Within the block, time every parallel kernel call: the numba
    :class:`~fastdgm.kernels.parallel.ParallelKernel` dispatchers (their compiled code, not
    their wrapper's set-up) and the Cython kernels of :data:`CYTHON_PARALLEL` as the public
    layer calls them.

    Yields
    ------
    clock
        ``clock.inside``: the seconds spent inside the kernels so far.
    """
    from ..kernels.parallel import all_kernels

    clock = _Clock()
    kernels = all_kernels()
    saved_k = [(k.parallel, k.serial) for k in kernels]
    for k in kernels:
        k.parallel, k.serial = clock.wrap(k.parallel), clock.wrap(k.serial)
    proxy = types.ModuleType("_threshold_timed")
    proxy.__dict__.update(_threshold.__dict__)
    for name in CYTHON_PARALLEL:
        if hasattr(_threshold, name):
            setattr(proxy, name, clock.wrap(getattr(_threshold, name)))
    users = [importlib.import_module(m) for m in _CYTHON_USERS]
    saved = [u._k for u in users]
    for u in users:
        u._k = proxy
    try:
        yield clock
    finally:
        for k, (par, ser) in zip(kernels, saved_k):
            k.parallel, k.serial = par, ser
        for u, k in zip(users, saved):
            u._k = k
