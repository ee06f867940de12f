"""Run the pytest-benchmark suites of a source checkout in a subprocess and collect records."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from .timing import LABEL_KEYS, SIZE_KEYS


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
    if quick:
        cmd += ["--benchmark-min-rounds=1", "--benchmark-max-time=0.02", "--benchmark-warmup=off"]
    env = dict(os.environ, FASTDGM_BENCH_FULL="1")
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
    records = []
    for b in data.get("benchmarks", []):
        info = b.get("extra_info", {})
        kernel = info.get("kernel") or b.get("group") or b["name"].split("[")[0]
        if kernels is not None and kernel not in kernels:
            continue
        params = {k: info[k] for k in SIZE_KEYS if isinstance(info.get(k), (int, float)) and info[k] > 0}
        if "C" not in params and isinstance(info.get("q"), (int, float)):
            params["C"] = info["q"]                                  # Potts states
        if "nthreads" in info:
            params["threads"] = info["nthreads"]
        if "joint" in kernel and "C" in params and "d" in params:   # O(C^d): fit on table cells
            params["cells"] = params.pop("C") ** params.pop("d")
        labels = {k: v for k, v in info.items() if isinstance(v, str) and k in LABEL_KEYS}
        med = b["stats"]["median"]
        items = info.get("items") or info.get("updates") or params.get("n")
        rate = info.get("updates_per_s") or (items / med if items else None)
        rec = {"kernel": kernel, "name": b["name"], "params": params, "labels": labels,
               "median_s": med, "baseline_s": info.get("baseline_s"), "speedup": info.get("speedup"),
               "throughput": rate, "items": items}
        for k, v in info.items():
            if k.startswith("speedup_"):
                rec[k] = v
        records.append(rec)
    return records


# ---------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------
