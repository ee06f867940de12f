"""One decorator for every numba-parallel kernel.

``@parallel_kernel`` wraps two lazily compiled versions of the function: one with
``parallel=True, nogil=True`` and a serial twin (a renamed copy, ``prange`` runs as
``range``). Both run the same loop over fixed work items, so they give the same bits. A call
runs the serial twin only where the parallel runtime cannot run: in a process forked after a
parallel kernel ran, and when numba's threading layer cannot take concurrent callers and
another Python thread is inside a parallel kernel (see
:func:`fastdgm.kernels.threads.numba_threads`). Only there is the twin compiled.

Otherwise the parallel version runs on :func:`fastdgm.get_num_threads` threads; for kernels
declared with ``serial_below=W``, when the call's first argument (its work size, e.g. rows x
columns) is below ``W``, on a team of one: waking threads would cost more than the work. A
team of one wakes no other thread, and numba compiles the body of a ``prange`` loop better
than the same loop in the serial twin (measured 1.1-1.9x faster on one thread for the row
sampler, the state packer and the energies). Running the parallel version for small work
too means a session compiles one version of each kernel, not two: compiling the serial twin
of ``factorized_log_prob`` took 1.7 s of CPU beside 2.4 s for the parallel version, while a
small call (100 x 16) on a team of one costs about 6-10 µs more than in the twin (setting
numba's thread count and entering the parallel region).

JIT cache: both versions (once compiled) are cached (``cache=True``) in numba's cache directory:
``__pycache__`` beside the installed sources, or numba's per-user cache when that is
read-only, or ``NUMBA_CACHE_DIR`` when set.
"""
from __future__ import annotations

import functools
import types

import numba

from .threads import numba_threads

__all__ = ["parallel_kernel", "serial_kernel", "all_kernels", "ParallelKernel"]

_registry: list = []


class ParallelKernel:
    """A numba kernel compiled parallel and serial; see the module docstring.

    Attributes
    ----------
    py_func : function
        The Python source function (its slow twin, run by the interpreter).
    parallel, serial : numba dispatchers
    serial_below : int or None
        With an int, the first call argument is the work size (not passed to the kernel);
        below ``serial_below`` the parallel version runs on one thread.
    """

    def __init__(self, fn, serial_below, options):
        self.py_func = fn
        self.serial_below = serial_below
        self.parallel = numba.njit(parallel=True, nogil=True, cache=True, **options)(fn)
        # a renamed copy: numba's cache keys on the qualified name, not on parallel=True
        twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial",
                                  fn.__defaults__, fn.__closure__)
        twin.__qualname__ = fn.__qualname__ + "_serial"
        self.serial = numba.njit(nogil=True, cache=True, **options)(twin)
        functools.update_wrapper(self, fn)

    def __call__(self, *args):
        n = None
        if self.serial_below is not None:
            work, args = args[0], args[1:]
            if work < self.serial_below:
                n = 1                     # a team of one: the same compiled code, no thread woken
        with numba_threads(n) as ok:
            return (self.parallel if ok else self.serial)(*args)


def parallel_kernel(fn=None, *, serial_below: int | None = None, **options):
    """Decorate a numba kernel that uses ``numba.prange``; see the module docstring."""
    if fn is None:
        return lambda f: parallel_kernel(f, serial_below=serial_below, **options)
    k = ParallelKernel(fn, serial_below, options)
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
