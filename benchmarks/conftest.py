"""Shared benchmark helpers.

Every benchmark times its numpy/scipy baseline in the same run and records the ratio in
``extra_info`` (with threads, threading layer and versions), because these machines are
shared and noisy. Under ``--benchmark-disable`` (CI) each benchmark runs once at a small
size as an ordinary test; set ``FASTDGM_BENCH_FULL=1`` (or run without the flag) for the
sizes quoted in the README.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from fastdgm._bench import median_time  # the one timer of `fastdgm bench` and these suites


def _full(config) -> bool:
    if os.environ.get("FASTDGM_BENCH_FULL"):
        return True
    disabled = config.getoption("benchmark_disable", default=False) and not config.getoption(
        "benchmark_enable", default=False)
    return not disabled


@pytest.fixture(scope="session")
def full_size(request) -> bool:
    """True when benchmarks run at full size (timed), False for the single CI pass."""
    return _full(request.config)


def pick(full: bool, big, small):
    """``big`` at full size, ``small`` under --benchmark-disable."""
    return big if full else small


@pytest.fixture
def compare(benchmark, full_size):
    """``compare(fast, baseline, others={name: fn}, **info)``: benchmark ``fast``, record speed-ups.

    Each baseline's median is measured in the same run (when timing is enabled):
    ``extra_info['speedup']`` = baseline median / fast median, and ``speedup_<name>`` for
    each of ``others``.
    """
    import fastdgm

    def run(fast, baseline=None, *, others=None, **info):
        fast()  # compile outside the timed region
        result = benchmark(fast)
        benchmark.extra_info.update(info)
        benchmark.extra_info["threads"] = fastdgm.get_num_threads()
        benchmark.extra_info["numpy"] = np.__version__
        benchmark.extra_info["fastdgm"] = fastdgm.__version__
        try:
            import numba
            try:
                benchmark.extra_info["threading_layer"] = numba.threading_layer()
            except ValueError:
                benchmark.extra_info["threading_layer"] = "uninitialised"
        except ImportError:  # pragma: no cover
            pass
        baselines = dict(others or {})
        if baseline is not None:
            baselines[""] = baseline
        for name, fn in baselines.items():
            suffix = f"_{name}" if name else ""
            if full_size and benchmark.enabled:
                base = median_time(fn)
                benchmark.extra_info["baseline_s" + suffix] = base
                benchmark.extra_info["speedup" + suffix] = base / benchmark.stats.stats.median
            else:
                fn()  # the baseline still runs once: it must work
        return result

    return run
