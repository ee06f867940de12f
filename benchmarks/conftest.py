"""Shared benchmark helpers: one timer for fastdgm and every baseline.

The timer is pytest-benchmark's, on the timing plan of ``fastdgm bench``
(:func:`fastdgm.bench.timing.timing_plan`: ``repeat`` rounds of k calls, k from
:func:`fastdgm.bench.timing.calls_per_round`, the median per call), so an entry's median is the
one the embedded runner would measure; ``FASTDGM_BENCH_QUICK=1`` (``fastdgm bench --quick
--source pytest``) takes the quick plan. The cases without data or optional peers are defined
once in :mod:`fastdgm.bench.cases` (``bench_cases.py`` runs them all; the peer suites build
their fastdgm and numpy entries from them).

Each benchmark is parametrised over the implementation (``impl``): ``fastdgm``, the numpy
idiom, torch CPU, scipy UNU.RAN, and the *floors* (``floor_uniforms``: drawing the uniforms
alone with fastdgm's counter generator; ``floor_read``: reading the input once). All the
implementations of one case share a pytest-benchmark ``group`` and are separate entries
timed by pytest-benchmark in the same run; ``benchmarks/report.py`` computes the ratios
(baseline median / fastdgm median within a group) from the JSON.

Under ``--benchmark-disable`` (CI) each implementation runs once at a small size as an
ordinary test; set ``FASTDGM_BENCH_FULL=1`` (or run with ``--benchmark-enable``) for the
sizes quoted in the README.
"""
from __future__ import annotations

import contextlib
import os
import time

import numpy as np
import pytest

from fastdgm.bench.timing import calls_per_round, timing_plan
from fastdgm.slow.baselines import torch_or_none


def full_run(config) -> bool:
    """True when the benchmarks run at full size: ``FASTDGM_BENCH_FULL`` or not ``--benchmark-disable``."""
    if os.environ.get("FASTDGM_BENCH_FULL"):
        return True
    disabled = config.getoption("benchmark_disable", default=False) and not config.getoption(
        "benchmark_enable", default=False)
    return not disabled


@pytest.fixture(scope="session")
def full_size(request) -> bool:
    """True when benchmarks run at full size (timed), False for the single CI pass."""
    return full_run(request.config)


def pick(full: bool, big, small):
    """``big`` at full size, ``small`` under --benchmark-disable."""
    return big if full else small


def torch_threads_1():
    """torch on one thread (returns the module), or skip the test when torch is absent."""
    torch = torch_or_none()
    if torch is None:
        pytest.skip("torch is not installed (optional baseline)")
    torch.set_num_threads(1)
    return torch


def blas_threads_1():
    """A context in which numpy's BLAS runs on one thread (threadpoolctl, the ``bench``
    extra); without threadpoolctl, a no-op (set ``OPENBLAS_NUM_THREADS=1`` instead)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:                # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(1)


def _env_info(info: dict) -> None:
    import fastdgm

    info["threads"] = fastdgm.get_num_threads()
    info["numpy"] = np.__version__
    info["fastdgm"] = fastdgm.__version__
    try:
        import numba

        try:
            info["threading_layer"] = numba.threading_layer()
        except ValueError:
            info["threading_layer"] = "uninitialised"
    except ImportError:  # pragma: no cover
        pass


def _label(benchmark, group: str, impl: str, info: dict) -> None:
    """Put the entry in ``group`` and record the case, the implementation and the environment."""
    benchmark.group = group
    benchmark.extra_info.update(info)
    benchmark.extra_info["impl"] = impl
    benchmark.extra_info["group"] = group
    _env_info(benchmark.extra_info)


@pytest.fixture
def measure(benchmark, request):
    """``measure(group, impl, fns, **info)``: time ``fns[impl]`` as one entry of ``group``.

    ``fns`` maps every implementation of the case to a zero-argument callable (a factory
    returning None skips that implementation, e.g. an optional peer that is absent). The
    callable runs once outside the timed region (JIT compilation, caches), then
    pytest-benchmark times it on the timing plan of ``fastdgm bench`` (:func:`timed`). ``extra_info`` records the case (``kernel``, sizes), the
    implementation and the environment (threads, threading layer, versions).
    """
    def run(group: str, impl: str, fns: dict, **info):
        if impl not in fns:
            pytest.skip(f"{impl} does not apply to {group}")
        fn = fns[impl]
        if fn is None:
            pytest.skip(f"{impl} is unavailable")
        _label(benchmark, group, impl, info)
        fn()  # compile / warm caches outside the timed region; under --benchmark-disable: it must work
        return timed(benchmark, fn)

    return run


def timed(benchmark, fn):
    """Time ``fn`` with pytest-benchmark on the plan of ``fastdgm bench``: ``repeat`` rounds of
    k calls each (a round >= ``min_time``), pytest-benchmark's statistics per call."""
    if getattr(benchmark, "disabled", False):
        return benchmark(fn)
    repeat, min_time = timing_plan(quick=bool(os.environ.get("FASTDGM_BENCH_QUICK")))
    k = calls_per_round(fn, min_time)
    return benchmark.pedantic(fn, rounds=repeat, iterations=k)


PAIRED_SECONDS = 3.0   # time budget of the interleaved rounds of one thread group
PAIRED_ROUNDS = (20, 100)


@pytest.fixture
def measure_threads(benchmark, request):
    """``measure_threads(group, impl, make, threads=2, **info)``: one entry of a group that
    compares ``threads`` threads (``None``: the default count) with one thread.

    ``make(n)`` returns the call on ``n`` threads (``make(None)``: no explicit count). The
    ``fastdgm_1thread`` entry is timed like any other entry. The ``fastdgm`` entry is timed in
    interleaved pairs: each round runs the one-thread call (timed with the same clock,
    ``time.perf_counter``) and right after it the timed ``fastdgm`` call, so the two calls of a
    pair see the same machine (on a shared VM the speed of a core drifts by 1.4x over seconds,
    and a busy neighbour's time slices come in phases, which the separately timed entries of a
    group see as a different ratio each run). ``extra_info["paired_speedup"]`` is the median
    over the rounds of one-thread time / ``fastdgm`` time; ``paired_rounds`` and
    ``paired_1thread_median_s`` go with it, and ``serial_fraction``: the median fraction of the
    one-thread call spent outside the parallel kernels (``benchmarks/serial.py``), whose Amdahl
    bounds the README's thread table prints.
    """
    def run(group: str, impl: str, make, threads: int | None = 2, **info):
        one, two = make(1), make(threads)
        _label(benchmark, group, impl, dict(info, nthreads=(threads or "default") if impl == "fastdgm" else 1))
        one()
        two()                                  # compile and warm both outside the timed rounds
        if impl == "fastdgm_1thread":
            return timed(benchmark, one)
        if getattr(benchmark, "disabled", False):
            return benchmark(two)
        t0 = time.perf_counter()
        one()
        two()
        rounds = int(np.clip(PAIRED_SECONDS / max(time.perf_counter() - t0, 1e-6), *PAIRED_ROUNDS))
        t_one: list = []

        def timed_one():
            t = time.perf_counter()
            one()
            t_one.append(time.perf_counter() - t)

        result = benchmark.pedantic(two, setup=timed_one, rounds=rounds, iterations=1)
        t_two = list(benchmark.stats.stats.data)
        ratios = np.array(t_one[-len(t_two):]) / np.array(t_two)
        benchmark.extra_info["paired_rounds"] = int(ratios.size)
        benchmark.extra_info["paired_speedup"] = float(np.median(ratios))
        benchmark.extra_info["paired_1thread_median_s"] = float(np.median(t_one))
        from serial import serial_fraction      # the part of the call outside the parallel kernels
        frac, _ = serial_fraction(make(1))
        benchmark.extra_info["serial_fraction"] = frac
        return result

    return run
