"""The serial part of a call: the time spent outside the parallel kernels, and its Amdahl bound.

A call of a public entry (``fd.gibbs``, ``Factorized.log_prob``, ...) runs Python and numpy
code (argument checks, the key, allocations, dtype conversions, set-up, reductions of the
kernels' partial results) around one or more parallel kernels: the numba
``@parallel_kernel`` dispatchers and the Cython kernels that take a thread count. Only the
kernels use more than one thread, so the time outside them is the serial part ``s`` of the
call, and ``1 / (s + (1 - s) / n)`` bounds its speed-up on ``n`` threads (Amdahl).

:func:`serial_fraction` runs the call on one thread with every parallel kernel wrapped by a
timer and returns the median fraction of the call spent outside them. Serial loops *inside*
a kernel (after its ``prange``: e.g. adding the per-row energy changes of the Gibbs site
layout, O(rows) per sweep against O(sites)) count as parallel here; they are a few
additions per row.
"""
from __future__ import annotations

import contextlib
import time
import types

import numpy as np

from fastdgm.kernels import _threshold
from fastdgm.bench.report import amdahl  # noqa: F401  (one formula for the README table and this module)

# Cython kernels that run an OpenMP team (their last argument is the thread count)
_CYTHON_PARALLEL = ("sample_rows", "fill_uniforms", "ndtr", "logit_weights", "threshold_rows",
                    "sample_table", "density_sample", "density_inverse")
_CYTHON_USERS = ("fastdgm.sampling", "fastdgm._dispatch", "fastdgm.continuous")


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
    """Within the block, time every parallel kernel call; yields the clock (``.inside``, s)."""
    import importlib

    from fastdgm.kernels.parallel import all_kernels

    clock = _Clock()
    kernels = all_kernels()
    saved_k = [(k.parallel, k.serial) for k in kernels]
    for k in kernels:                  # the compiled code only: the wrapper's set-up is serial
        k.parallel, k.serial = clock.wrap(k.parallel), clock.wrap(k.serial)
    proxy = types.ModuleType("_threshold_timed")
    proxy.__dict__.update(_threshold.__dict__)
    for name in _CYTHON_PARALLEL:
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


def serial_fraction(call, repeat: int = 7) -> tuple[float, float]:
    """``(median serial fraction, median call seconds)`` of ``call()`` on one thread."""
    import fastdgm as fd

    fracs, totals = [], []
    with fd.threads(1):
        call()
        for _ in range(repeat):
            with kernel_clock() as clock:
                t = time.perf_counter()
                call()
                total = time.perf_counter() - t
            fracs.append(max(0.0, total - clock.inside) / total)
            totals.append(total)
    return float(np.median(fracs)), float(np.median(totals))

