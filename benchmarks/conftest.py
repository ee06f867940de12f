"""Shared benchmark helpers: one timer (pytest-benchmark) for fastdgm and every baseline.

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

import os

import numpy as np
import pytest

from fastdgm.slow.baselines import torch_or_none


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


def torch_threads_1():
    """torch on one thread (returns the module), or skip the test when torch is absent."""
    torch = torch_or_none()
    if torch is None:
        pytest.skip("torch is not installed (optional baseline)")
    torch.set_num_threads(1)
    return torch


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


@pytest.fixture
def measure(benchmark, request):
    """``measure(group, impl, fns, **info)``: time ``fns[impl]`` as one entry of ``group``.

    ``fns`` maps every implementation of the case to a zero-argument callable (a factory
    returning None skips that implementation, e.g. an optional peer that is absent). The
    callable runs once outside the timed region (JIT compilation, caches), then
    pytest-benchmark times it. ``extra_info`` records the case (``kernel``, sizes), the
    implementation and the environment (threads, threading layer, versions).
    """
    def run(group: str, impl: str, fns: dict, **info):
        if impl not in fns:
            pytest.skip(f"{impl} does not apply to {group}")
        fn = fns[impl]
        if fn is None:
            pytest.skip(f"{impl} is unavailable")
        benchmark.group = group
        benchmark.extra_info.update(info)
        benchmark.extra_info["impl"] = impl
        benchmark.extra_info["group"] = group
        _env_info(benchmark.extra_info)
        fn()  # compile / warm caches outside the timed region; under --benchmark-disable: it must work
        return benchmark(fn)

    return run
