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
    return records_from_json(data, kernels)


FLOORS = ("floor_uniforms", "floor_read")


def group_medians(data) -> dict:
    """``{group: {impl: (median_s, benchmark entry)}}`` of a pytest-benchmark JSON payload."""
    groups: dict = {}
    for b in data.get("benchmarks", []):
        info = b.get("extra_info", {})
        group = info.get("group") or b.get("group") or b["name"]
        groups.setdefault(group, {})[info.get("impl", "fastdgm")] = (b["stats"]["median"], b)
    return groups


def group_ratios(impls: dict) -> dict:
    """Ratios of one group, from ``{impl: median_s}``.

    ``{impl: median_impl / median_fastdgm}`` for every peer (above 1: fastdgm is faster),
    ``{floor: median_fastdgm / median_floor}`` for the floors (how far above the floor).
    """
    fast = impls.get("fastdgm")
    if not fast:
        return {}
    return {impl: (fast / med if impl in FLOORS else med / fast)
            for impl, med in impls.items() if impl != "fastdgm" and med > 0}


def records_from_json(data, kernels=None) -> list:
    """One record per fastdgm entry of a pytest-benchmark JSON payload, ratios of its group included."""
    records = []
    for group, impls in group_medians(data).items():
        if "fastdgm" not in impls:
            continue
        med, b = impls["fastdgm"]
        info = b.get("extra_info", {})
        kernel = info.get("kernel") or group
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
        items = info.get("items") or info.get("updates") or params.get("n")
        ratios = group_ratios({impl: m for impl, (m, _) in impls.items()})
        peers = {k: v for k, v in ratios.items() if k not in FLOORS}
        main = "numpy" if "numpy" in peers else ("fastdgm_1thread" if "fastdgm_1thread" in peers else None)
        rec = {"kernel": kernel, "name": group, "params": params, "labels": labels,
               "median_s": med, "baseline_s": impls[main][0] if main else None,
               "speedup": peers.get(main) if main else None,
               "throughput": items / med if items else None, "items": items}
        for impl, r in ratios.items():
            rec[("floor_ratio_" if impl in FLOORS else "speedup_") + impl] = r
        records.append(rec)
    return records


# ---------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------
