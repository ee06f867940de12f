"""The timer of ``fastdgm bench`` and of the pytest-benchmark suites (one timing plan: ``repeat``
rounds of k calls each, k chosen so that a round lasts at least ``min_time``; the median over
the rounds of the time per call), the interleaved and one-thread timers of whole fits, and the
growth-exponent fit of the report.

``benchmarks/conftest.py`` times each entry with pytest-benchmark's ``pedantic`` on the same plan
(:func:`timing_plan`, :func:`calls_per_round`), so a case's median means the same thing whichever
way ``fastdgm bench`` ran it.
"""
from __future__ import annotations

import math
import statistics
import time

import numpy as np

SIZE_KEYS = ("n", "L", "d", "cells", "C", "K", "chains", "threads")
LABEL_KEYS = ("case", "method", "what", "dtype", "layout", "schedule")


# ---------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------
def timing_plan(quick: bool) -> tuple[int, float]:
    """``(repeat, min_time)`` of a quick or a full run: rounds, and the least seconds of a round.

    Parameters
    ----------
    quick : bool
        The plan of ``--quick`` (5 rounds of >= 0.05 s) or of a full run (7 rounds of >= 0.2 s).

    Returns
    -------
    tuple of (int, float)
    """
    return (5, 0.05) if quick else (7, 0.2)


def calls_per_round(fn, min_time: float) -> int:
    """Calls of ``fn`` in one round so that the round lasts at least ``min_time`` s (>= 1).

    ``fn`` is called once untimed (compilation, caches), then timed until ``min_time`` has passed.

    Parameters
    ----------
    fn : callable
        Zero-argument call.
    min_time : float
        Least seconds of a round.

    Returns
    -------
    int
    """
    fn()
    k, t0 = 0, time.perf_counter()
    while True:
        fn()
        k += 1
        dt = time.perf_counter() - t0
        if dt >= min_time:
            break
    return max(1, math.ceil(k * min_time / dt))


def median_time(fn, *, repeat: int = 5, min_time: float = 0.05) -> float:
    """Median wall time of one call of ``fn`` (s) over ``repeat`` rounds of
    :func:`calls_per_round` calls each (the timing plan of :func:`timing_plan`)."""
    k = calls_per_round(fn, min_time)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        times.append((time.perf_counter() - t0) / k)
    return statistics.median(times)


def one_thread_time(fn, repeat: int = 1) -> float:
    """Median wall time of ``fn()`` (s) over ``repeat`` calls, fastdgm's kernels and every BLAS
    call on one thread: the timer of the density table (fits too long to repeat in a loop)."""
    import fastdgm as fd
    from fastdgm.kernels.blas import blas_threads

    times = []
    with fd.threads(1), blas_threads(1):
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved_times(fns: dict, rounds: int = 5, one_thread: bool = False) -> dict:
    """Median seconds of each callable, called in alternation ``rounds`` times after a warm-up.

    Each round calls every callable once, in order, so all of them see the same machine (a
    shared machine's speed drifts over seconds; separate timings would see it as a ratio).

    Parameters
    ----------
    fns : dict
        Name -> zero-argument callable.
    rounds : int
        Rounds (the median is over them).
    one_thread : bool
        fastdgm's kernels and every BLAS call on one thread.

    Returns
    -------
    dict
        Name -> median seconds of one call.
    """
    import contextlib

    times: dict = {k: [] for k in fns}
    with contextlib.ExitStack() as stack:
        if one_thread:
            import fastdgm as fd
            from fastdgm.kernels.blas import blas_threads

            stack.enter_context(fd.threads(1))
            stack.enter_context(blas_threads(1))
        for f in fns.values():
            f()
        for _ in range(rounds):
            for k, f in fns.items():
                t = time.perf_counter()
                f()
                times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def fit_exponents(records) -> dict:
    """Least-squares growth exponents of time in each size that varies.

    Parameters
    ----------
    records : list of dict
        Each with ``"median_s"`` and a ``"params"`` dict of positive sizes.

    Returns
    -------
    dict
        ``{size name: exponent}`` for the sizes that take several values (empty if none).
    """
    if len(records) < 2:
        return {}
    keys = [k for k in SIZE_KEYS
            if all(k in r["params"] for r in records)
            and len({r["params"][k] for r in records}) > 1]
    if not keys or len(records) < (2 if len(keys) == 1 else len(keys) + 2):
        return {}          # no residual degree of freedom: an exact fit would mean nothing
    A = np.array([[math.log(r["params"][k]) for k in keys] + [1.0] for r in records])
    y = np.array([math.log(r["median_s"]) for r in records])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    return {k: float(c) for k, c in zip(keys, coef[:-1])}
