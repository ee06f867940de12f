"""Run the pytest-benchmark suites of a source checkout in a subprocess and collect records."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from .report import records_from_json


def find_benchmarks_dir():
    """The ``benchmarks/`` directory of a source checkout holding this package, or None."""
    import fastdgm

    pkg = os.path.dirname(os.path.abspath(fastdgm.__file__))
    for root in (os.path.dirname(pkg), os.getcwd()):
        d = os.path.join(root, "benchmarks")
        if os.path.isfile(os.path.join(d, "conftest.py")):
            return d
    return None


def pytest_timings(bench_dir, quick: bool, progress: bool = False, kernels=None) -> list:
    """Run the pytest-benchmark suites in a subprocess; return records like :func:`embedded_timings`."""
    fd, json_path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    files = sorted(os.path.join(bench_dir, f) for f in os.listdir(bench_dir)
                   if f.startswith("bench_") and f.endswith(".py"))
    cmd = [sys.executable, "-m", "pytest", *files, "-q", "-p", "no:cacheprovider",
           "--benchmark-enable", f"--benchmark-json={json_path}", "-o", "addopts="]
    env = dict(os.environ, FASTDGM_BENCH_FULL="1")
    if quick:          # the quick timing plan (benchmarks/conftest.py), and pytest-benchmark's own entries short
        cmd += ["--benchmark-min-rounds=1", "--benchmark-max-time=0.02", "--benchmark-warmup=off"]
        env["FASTDGM_BENCH_QUICK"] = "1"
    try:
        # not from the checkout: "-m" puts the working directory first on sys.path, where the
        # source tree (without its compiled extension) would shadow the installed package
        proc = subprocess.run(cmd, cwd=tempfile.gettempdir(), env=env, text=True,
                              stdout=None if progress else subprocess.PIPE,
                              stderr=None if progress else subprocess.STDOUT)
        if not os.path.getsize(json_path):
            tail = (proc.stdout or "").strip().splitlines()[-3:]
            raise RuntimeError("the benchmark suites produced no results: " + " | ".join(tail))
        with open(json_path) as f:
            data = json.load(f)
        if proc.returncode != 0:
            print(f"fastdgm bench: warning: some benchmarks failed (pytest exit {proc.returncode}); "
                  "the table shows those that ran", file=sys.stderr)
    finally:
        os.unlink(json_path)
    return records_from_json(data, kernels)
