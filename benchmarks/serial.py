"""The serial part of a call: the time spent outside the parallel kernels, and its Amdahl bound.

A call of a public entry (``fd.gibbs``, ``Factorized.log_prob``, ...) runs Python and numpy
code (argument checks, the key, allocations, dtype conversions, set-up, reductions of the
kernels' partial results) around one or more parallel kernels: the numba
``@parallel_kernel`` dispatchers and the Cython kernels that take a thread count. Only the
kernels use more than one thread, so the time outside them is the serial part ``s`` of the
call, and ``1 / (s + (1 - s) / n)`` bounds its speed-up on ``n`` threads (Amdahl).

:func:`serial_fraction` runs the call on one thread with every parallel kernel wrapped by a
timer (:func:`fastdgm.bench.internals.kernel_clock`) and returns the median fraction of the call spent outside them. Serial loops *inside*
a kernel (after its ``prange``: e.g. adding the per-row energy changes of the Gibbs site
layout, O(rows) per sweep against O(sites)) count as parallel here; they are a few
additions per row.
"""
from __future__ import annotations

import time

import numpy as np

from fastdgm.bench.internals import kernel_clock
from fastdgm.bench.report import amdahl  # noqa: F401  (one formula for the README table and this module)


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

