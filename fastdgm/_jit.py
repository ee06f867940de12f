"""One decorator for every numba-parallel kernel.

``@parallel_kernel`` compiles the function lazily (on first call) with
``parallel=True, nogil=True``, and keeps a serial twin used when numba's threading layer
cannot take concurrent callers (see :func:`fastdgm._config.numba_threads`). The thread
count of the call is :func:`fastdgm.get_num_threads`.

JIT cache: the parallel version is cached (``cache=True``) in numba's cache directory:
``__pycache__`` beside the installed sources, or numba's per-user cache when that is
read-only, or ``NUMBA_CACHE_DIR`` when set. The serial twin is not cached.
"""
from __future__ import annotations

import functools

import numba

from ._config import numba_threads

__all__ = ["parallel_kernel", "serial_kernel", "all_kernels"]

_registry: list = []


class _ParallelKernel:
    def __init__(self, fn, options):
        self.py_func = fn
        self.parallel = numba.njit(parallel=True, nogil=True, cache=True, **options)(fn)
        self.serial = numba.njit(nogil=True, **options)(fn)
        functools.update_wrapper(self, fn)

    def __call__(self, *args):
        with numba_threads() as ok:
            return (self.parallel if ok else self.serial)(*args)


def parallel_kernel(fn=None, **options):
    """Decorate a numba kernel that uses ``numba.prange``; see the module docstring."""
    if fn is None:
        return lambda f: parallel_kernel(f, **options)
    k = _ParallelKernel(fn, options)
    _registry.append(k)
    return k


def serial_kernel(fn=None, **options):
    """``numba.njit(nogil=True, cache=True)``: for helpers and serial kernels."""
    if fn is None:
        return lambda f: serial_kernel(f, **options)
    return numba.njit(nogil=True, cache=True, **options)(fn)


def all_kernels():
    """The parallel kernels defined so far (for :func:`fastdgm.warmup`)."""
    return list(_registry)
