"""The embedded runner: each case of :mod:`fastdgm.bench.cases` and its numpy baseline, timed by
:func:`fastdgm.bench.timing.median_time` (``--source embedded``, ``--quick``).

The cases are defined once, in :mod:`fastdgm.bench.cases`; the pytest-benchmark suites of a source
checkout run the same cases (``benchmarks/bench_cases.py``) with the same timing plan.
"""
from __future__ import annotations

from .cases import CASES
from .report import fmt_params
from .timing import median_time, timing_plan


def embedded_kernel_names(quick: bool = True) -> set:
    """Names of the kernels of the embedded set.

    Parameters
    ----------
    quick : bool
        The quick set (the same names as the full one).

    Returns
    -------
    set of str
        Kernel names, as ``--kernels`` takes them.
    """
    return set(CASES)


def embedded_timings(quick: bool = True, kernels=None, progress: bool = False) -> list:
    """Time each embedded kernel and its numpy baseline.

    Parameters
    ----------
    quick : bool
        Small sizes (the whole set in well under two minutes, JIT compilation included).
    kernels : iterable of str, optional
        Names of the kernels to run (default all).
    progress : bool
        A progress bar on stderr, and each measurement printed above it as it finishes.

    Returns
    -------
    list of dict
        ``{"kernel", "params", "median_s", "baseline_s", "speedup", "throughput"}`` per point;
        a kernel whose module is missing gives one record with an ``"error"``.
    """
    import importlib

    from .._progress import Progress

    wanted = None if kernels is None else set(kernels)
    records: list[dict] = []
    repeat, min_time = timing_plan(quick)
    suite = [c for c in CASES.values() if wanted is None or c.kernel in wanted]
    with Progress(sum(len(c.points(quick)) for c in suite), unit="timings", enabled=progress, desc="bench") as bar:
        for case in suite:
            kernel, points = case.kernel, case.points(quick)
            try:
                importlib.import_module(f"fastdgm.{case.module}")
            except ImportError as exc:
                records.append({"kernel": kernel, "params": {}, "error": f"unavailable: {exc}"})
                bar.update(len(points))
                continue
            for params in points:
                timed = case.make(**params)
                fast, baseline, items = timed.fns["fastdgm"], timed.fns["numpy"], timed.items
                t = median_time(fast, repeat=repeat, min_time=min_time)
                tb = median_time(baseline, repeat=repeat, min_time=min_time)
                rec = {"kernel": kernel, "params": params, "median_s": t, "baseline_s": tb,
                       "speedup": tb / t, "throughput": items / t, "items": items}
                records.append(rec)
                bar.write(f"  {kernel:22s} {fmt_params(params):32s} {t * 1e3:9.3f} ms  x{tb / t:.2f}")
                bar.update(1)
    return records
