"""BLAS calls on fastdgm's thread count.

numpy's BLAS (OpenBLAS, MKL) keeps a thread pool of its own, sized to every core, that ignores
:func:`fastdgm.threads`. On a busy node its threads spin against other processes: a float32
``A.T @ A`` of 17412 x 69 took 3 ms on one thread and 460 ms on two beside a busy process.
:func:`blas_threads` caps the BLAS pool at fastdgm's thread count for the duration of a call,
through threadpoolctl when it is installed (an optional dependency: without it BLAS keeps its
own setting, which ``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS`` control).
"""
from __future__ import annotations

import contextlib
import functools

from .threads import get_num_threads

__all__ = ["blas_threads"]


@functools.lru_cache(maxsize=1)
def _controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    # numba's np.dot calls scipy's BLAS, which threadpoolctl controls only if it is loaded when
    # the controller is made: without this, a process whose first BLAS call was a numba GEMM
    # kernel (HiddenChowLiuTree with K >= 32) ran those GEMMs on every core inside each parallel
    # lane, ~40x slower on a loaded machine (plants, K = 64: 106 s an EM iteration, 2.5 s with it)
    import scipy.linalg.cython_blas  # noqa: F401
    return ThreadpoolController()


@contextlib.contextmanager
def blas_threads(n: int | None = None):
    """Run the enclosed BLAS calls on at most ``n`` threads (default: fastdgm's thread count)."""
    ctl = _controller()
    if ctl is None:
        yield
        return
    with ctl.limit(limits=n or get_num_threads(), user_api="blas"):
        yield
