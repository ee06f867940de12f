"""``fastdgm bench``: scaling tables of the kernels next to their numpy baselines.

One case list, one timing plan, one report:

- the cases (each kernel, its numpy baseline, its sizes) are defined once, in
  :mod:`fastdgm.bench.cases`;
- ``embedded`` (:mod:`fastdgm.bench.embedded`): times those cases directly with
  :func:`fastdgm.bench.timing.median_time`, used by ``--quick`` and when the package is
  installed without the ``benchmarks/`` directory;
- ``pytest`` (:mod:`fastdgm.bench.runner`): the pytest-benchmark suites in ``benchmarks/`` of a
  source checkout, run in a subprocess with ``--benchmark-enable``: ``bench_cases.py`` runs the
  same cases, the other suites add peers (torch, scipy, pgmpy, floors) and real data; every
  entry is timed on the same plan (:func:`fastdgm.bench.timing.timing_plan`) and records
  ``kernel``, its sizes and the baseline ratio in ``extra_info``;
- :mod:`fastdgm.bench.report` turns either into the table (and the README tables).

For every kernel the report gives the median time, the throughput (items per second), the
ratio to the numpy baseline timed in the same run, and the growth exponents fitted by least
squares of log time on the logs of the sizes that vary (time ∝ n^a C^b ...).
"""
from __future__ import annotations

import sys
import time

import numpy as np

from .embedded import embedded_kernel_names, embedded_timings
from .report import format_report, plot_records, write_json
from .runner import find_benchmarks_dir, pytest_timings
from .timing import fit_exponents, median_time

__all__ = ["run_bench", "embedded_timings", "fit_exponents", "find_benchmarks_dir", "median_time"]


def run_bench(quick: bool = False, json_path=None, plot_path=None, *, progress: bool = False,
              quiet: bool = False, source: str = "auto", kernels=None, file=None) -> dict:
    """Run the benchmarks, print the scaling table, optionally write JSON and a plot.

    Parameters
    ----------
    quick : bool
        Small sizes (under two minutes).
    json_path, plot_path : str, optional
        Where to write the results (JSON) and log-log plots (PNG/PDF/SVG, needs matplotlib).
    progress : bool
        Show each measurement as it finishes.
    quiet : bool
        Print only the table.
    source : {"auto", "pytest", "embedded"}
        "auto": the embedded set with ``quick``; otherwise the pytest suites of a source
        checkout when present (and pytest-benchmark is installed), else the embedded set.
    kernels : iterable of str, optional
        Restrict to these kernels.
    file : file-like, optional
        Where the table goes (standard output by default).

    Returns
    -------
    dict
        The JSON payload: ``records``, ``exponents``, ``source``, ``threads``, versions.
    """
    from .._io import CLIError

    file = sys.stdout if file is None else file
    if plot_path is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise CLIError("--plot needs matplotlib, which is not installed "
                           "(pip install 'fastdgm[plot]')") from None
    if json_path is not None:
        check = __import__("fastdgm._io", fromlist=["check_out_path"]).check_out_path
        check(json_path, ".json")
    if source not in ("auto", "pytest", "embedded"):
        raise CLIError(f"source must be 'auto', 'pytest' or 'embedded', got {source!r}")
    bench_dir = find_benchmarks_dir()
    if source == "auto":
        has_pytest = True
        try:
            import pytest_benchmark  # noqa: F401
        except ImportError:
            has_pytest = False
        source = "pytest" if (bench_dir and has_pytest and not quick) else "embedded"
    if source == "pytest" and bench_dir is None:
        raise CLIError("no benchmarks/ directory found (run from a source checkout, or use "
                       "--source embedded)")
    if kernels is not None and source == "embedded":
        _check_kernels(kernels, embedded_kernel_names(quick))
    t0 = time.perf_counter()
    if not quiet:
        where = bench_dir if source == "pytest" else "fastdgm.bench (embedded)"
        print(f"fastdgm bench: {'quick' if quick else 'full'} run of {where}", file=sys.stderr)
    if source == "pytest":
        records = pytest_timings(bench_dir, quick, progress=progress, kernels=kernels)
    else:
        records = embedded_timings(quick, kernels=kernels, progress=progress)
    if kernels is not None:
        _check_kernels(kernels, {r["kernel"] for r in records})
    text, exponents = format_report(records)
    print(text, file=file)
    import numba

    import fastdgm

    payload = {"source": source, "quick": quick, "seconds": time.perf_counter() - t0,
               "threads": fastdgm.get_num_threads(), "fastdgm": fastdgm.__version__,
               "numpy": np.__version__, "numba": numba.__version__,
               "records": records, "exponents": exponents}
    if json_path is not None:
        p = write_json(json_path, payload)
        if not quiet:
            print(f"wrote {p}", file=sys.stderr)
    if plot_path is not None:
        p = plot_records(records, plot_path)
        if not quiet:
            print(f"wrote {p}", file=sys.stderr)
    if not quiet:
        print(f"done in {payload['seconds']:.1f} s", file=sys.stderr)
    return payload



def _check_kernels(wanted, known) -> None:
    """``--kernels`` must name benchmarks that exist: an unknown name is an error, not an empty table."""
    from .._io import CLIError

    wanted = list(wanted)
    if not wanted:
        raise CLIError("--kernels names no kernel")
    unknown = [k for k in wanted if k not in known]
    if unknown:
        raise CLIError(f"--kernels: unknown kernel {', '.join(map(repr, unknown))}; known: "
                       f"{', '.join(sorted(known))}")
