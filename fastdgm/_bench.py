"""``fastdgm bench``: scaling tables of the kernels next to their numpy baselines.

Two sources of timings, one report:

- ``pytest``: the pytest-benchmark suites in ``benchmarks/`` of a source checkout, run in a
  subprocess with ``--benchmark-enable`` (each suite records ``kernel`` and its sizes ``n``,
  ``C``, ``d``, ``K``, ``threads`` and the baseline ratio in ``extra_info``);
- ``embedded``: a small built-in set (this module) that times each kernel and its numpy
  baseline directly, at a few sizes each — used when the package is installed without the
  ``benchmarks/`` directory, and by ``--quick``.

For every kernel the report gives the median time, the throughput (items per second), the
ratio to the numpy baseline timed in the same run, and the growth exponents fitted by least
squares of log time on the logs of the sizes that vary (time ∝ n^a C^b ...).
"""
from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from ._atomic import atomic_output

__all__ = ["run_bench", "embedded_timings", "fit_exponents", "find_benchmarks_dir"]

SIZE_KEYS = ("n", "L", "d", "cells", "C", "K", "chains", "threads")
_LABEL_KEYS = ("case", "method", "what", "dtype", "layout", "schedule")


# ---------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------
def median_time(fn, *, repeat: int = 5, min_time: float = 0.05) -> float:
    """Median wall time of one call of ``fn`` (s) over ``repeat`` rounds of >= ``min_time``."""
    fn()  # compile / warm caches outside the timed region
    times = []
    for _ in range(repeat):
        k = 0
        t0 = time.perf_counter()
        while True:
            fn()
            k += 1
            dt = time.perf_counter() - t0
            if dt >= min_time:
                break
        times.append(dt / k)
    return statistics.median(times)


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


# ---------------------------------------------------------------------------------------
# the embedded set: (kernel name, sizes, setup -> (fast, baseline, items))
# ---------------------------------------------------------------------------------------
def _cat_single(n, C, threads=1):
    import fastdgm as fd

    p = np.random.default_rng(C).random(C) + 0.01
    gen = np.random.default_rng(0)

    def fast():
        with fd.threads(threads):
            fd.categorical(p, size=n, rng=1)

    return fast, lambda: gen.choice(C, size=n, p=p / p.sum()), n


def _cat_batched(n, C, threads=1):
    import fastdgm as fd

    P = np.random.default_rng(0).random((n, C))
    gen = np.random.default_rng(1)

    def baseline():  # the numpy idiom: row cumsum, one uniform per row, count levels below
        L = np.cumsum(P, axis=1)
        u = gen.random(n)[:, None] * L[:, -1:]
        return (u >= L).sum(axis=1)

    def fast():
        with fd.threads(threads):
            fd.categorical(P, rng=1)

    return fast, baseline, n


def _joint(cells, C=4, threads=1):
    import fastdgm as fd

    d = round(math.log(cells, C))
    table = np.random.default_rng(d).random((C,) * d)
    gen = np.random.default_rng(0)

    def baseline():
        flat = table.ravel()
        idx = gen.choice(flat.size, size=1000, p=flat / flat.sum())
        return np.stack(np.unravel_index(idx, table.shape), 1)

    def fast():
        with fd.threads(threads):
            fd.sample_joint(table, size=1000, rng=0)

    return fast, baseline, 1000


def _factorized_logprob(n, d, C, threads=1):
    import fastdgm as fd

    rng = np.random.default_rng(0)
    probs = rng.random((d, C)) + 0.1
    X = rng.integers(0, C, size=(n, d)).astype(np.uint8 if C <= 256 else np.uint16)
    model = fd.Factorized(probs)
    logp = np.log(probs / probs.sum(1, keepdims=True))

    def baseline():  # best numpy idiom: gather one column at a time
        out = np.zeros(n)
        for j in range(d):
            out += logp[j][X[:, j]]
        return out

    def fast():
        with fd.threads(threads):
            model.log_prob(X)

    return fast, baseline, n * d


def _mixture_logprob(n, K, d=64, C=4, threads=1):
    import fastdgm as fd

    rng = np.random.default_rng(0)
    comps = rng.random((K, d, C)) + 0.1
    comps /= comps.sum(-1, keepdims=True)
    w = np.full(K, 1.0 / K)
    X = rng.integers(0, C, size=(n, d)).astype(np.uint8)
    model = fd.Mixture(w, comps)
    W = np.log(comps).reshape(K, d * C).T          # (d*C, K)

    def baseline():  # one-hot matrix product + logsumexp
        onehot = np.zeros((n, d * C))
        onehot[np.arange(n)[:, None], np.arange(d) * C + X] = 1.0
        a = onehot @ W + np.log(w)
        m = a.max(1, keepdims=True)
        return (m + np.log(np.exp(a - m).sum(1, keepdims=True)))[:, 0]

    def fast():
        with fd.threads(threads):
            model.log_prob(X)

    return fast, baseline, n * K * d


def _gibbs_potts(L, C, chains=4, sweeps=10, threads=1, beta=0.6):
    import fastdgm as fd

    model = fd.PairwiseMRF.grid((L, L), n_states=C, coupling=beta)
    gen = np.random.default_rng(0)
    state = gen.integers(0, C, size=(chains, L, L))

    def baseline():  # vectorised numpy checkerboard heat-bath, periodic lattice
        s = state.copy()
        ii, jj = np.indices((L, L))
        masks = [((ii + jj) % 2 == c) for c in range(2)]
        for _ in range(sweeps):
            for m in masks:
                nb = [np.roll(s, 1, 1), np.roll(s, -1, 1), np.roll(s, 1, 2), np.roll(s, -1, 2)]
                logits = beta * sum((x[..., None] == np.arange(C)) for x in nb)
                p = np.exp(logits - logits.max(-1, keepdims=True))
                cum = np.cumsum(p, -1)
                u = gen.random((chains, L, L, 1)) * cum[..., -1:]
                new = (u >= cum).sum(-1)
                s = np.where(m, new, s)
        return s

    def fast():
        with fd.threads(threads):
            fd.gibbs(model, chains, sweeps, rng=0)

    return fast, baseline, L * L * chains * sweeps


def _suite(quick: bool):
    """(kernel, needs, [params]) of the embedded set; quick sizes are a few ms each."""
    if quick:
        return [
            ("categorical-single", "sampling", _cat_single,
             [dict(n=n, C=C) for n in (10**5, 10**6) for C in (16, 1024)] + [dict(n=10**6, C=16, threads=2)]),
            ("categorical-batched", "sampling", _cat_batched,
             [dict(n=n, C=C) for n in (10**4, 10**5) for C in (8, 64)]),
            ("sample-joint", "sampling", _joint, [dict(cells=4**d) for d in (4, 6, 8)]),
            ("factorized-logprob", "models", _factorized_logprob,
             [dict(n=n, d=64, C=C) for n in (10**4, 10**5) for C in (2, 16)]),
            ("mixture-logprob", "models", _mixture_logprob,
             [dict(n=n, K=K) for n in (2000, 10**4) for K in (5, 10)]),
            ("gibbs-potts", "mrf", _gibbs_potts,
             [dict(L=L, C=C) for L in (32, 64) for C in (2, 8)]),
        ]
    return [
        ("categorical-single", "sampling", _cat_single,
         [dict(n=n, C=C) for n in (10**6, 10**7) for C in (16, 256, 4096)]
         + [dict(n=10**7, C=256, threads=t) for t in (1, 2)]),
        ("categorical-batched", "sampling", _cat_batched,
         [dict(n=n, C=C) for n in (10**5, 10**6) for C in (4, 32, 256)]),
        ("sample-joint", "sampling", _joint, [dict(cells=4**d) for d in (4, 6, 8, 10)]),
        ("factorized-logprob", "models", _factorized_logprob,
         [dict(n=n, d=64, C=C) for n in (10**5, 10**6) for C in (2, 16, 256)]
         + [dict(n=10**6, d=64, C=2, threads=t) for t in (1, 2)]),
        ("mixture-logprob", "models", _mixture_logprob,
         [dict(n=n, K=K) for n in (10**4, 10**5) for K in (5, 10, 20)]),
        ("gibbs-potts", "mrf", _gibbs_potts,
         [dict(L=L, C=C) for L in (64, 128, 256) for C in (2, 10)]
         + [dict(L=256, C=2, chains=8, threads=t) for t in (1, 2)]),
    ]


def embedded_timings(quick: bool = True, kernels=None, progress: bool = False) -> list:
    """Time each embedded kernel and its numpy baseline.

    Parameters
    ----------
    quick : bool
        Small sizes (the whole set in well under two minutes, JIT compilation included).
    kernels : iterable of str, optional
        Names of the kernels to run (default all).
    progress : bool
        Print each measurement on stderr as it finishes.

    Returns
    -------
    list of dict
        ``{"kernel", "params", "median_s", "baseline_s", "speedup", "throughput"}`` per point;
        a kernel whose module is missing gives one record with an ``"error"``.
    """
    import importlib

    wanted = None if kernels is None else set(kernels)
    records = []
    repeat, min_time = (5, 0.05) if quick else (7, 0.2)
    for kernel, module, setup, points in _suite(quick):
        if wanted is not None and kernel not in wanted:
            continue
        try:
            importlib.import_module(f"fastdgm.{module}")
        except ImportError as exc:
            records.append({"kernel": kernel, "params": {}, "error": f"unavailable: {exc}"})
            continue
        for params in points:
            params = {**params, "threads": params.get("threads", 1)}
            fast, baseline, items = setup(**params)
            t = median_time(fast, repeat=repeat, min_time=min_time)
            tb = median_time(baseline, repeat=repeat, min_time=min_time)
            rec = {"kernel": kernel, "params": params, "median_s": t, "baseline_s": tb,
                   "speedup": tb / t, "throughput": items / t, "items": items}
            records.append(rec)
            if progress:
                print(f"  {kernel:22s} {_fmt_params(params):32s} {t * 1e3:9.3f} ms  x{tb / t:.2f}",
                      file=sys.stderr, flush=True)
    return records


# ---------------------------------------------------------------------------------------
# the pytest-benchmark suites
# ---------------------------------------------------------------------------------------
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
        labels = {k: v for k, v in info.items() if isinstance(v, str) and k in _LABEL_KEYS}
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
def _fmt_params(p: dict) -> str:
    return " ".join(f"{k}={_short(v)}" for k, v in p.items())


def _short(v) -> str:
    if isinstance(v, float) and not v.is_integer():
        return f"{v:g}"
    v = int(v)
    if v >= 10**4 and v == 10 ** round(math.log10(v)):
        return f"1e{round(math.log10(v))}"
    return str(v)


def _rate(x) -> str:
    if x is None:
        return "-"
    for unit, f in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= f:
            return f"{x / f:.2f}{unit}/s"
    return f"{x:.1f}/s"


def format_report(records) -> tuple[str, dict]:
    """The text table and the ``{kernel: exponents}`` of a list of records."""
    by_kernel: dict[str, list] = {}
    for r in records:
        by_kernel.setdefault(r["kernel"], []).append(r)
    lines, exponents = [], {}
    head = f"{'kernel':24s} {'sizes':34s} {'median':>10s} {'throughput':>12s} {'vs numpy':>9s}"
    lines += [head, "-" * len(head)]
    for kernel, recs in by_kernel.items():
        ok = [r for r in recs if "error" not in r]
        for r in recs:
            if "error" in r:
                lines.append(f"{kernel:24s} {r['error']}")
                continue
            sp = f"x{r['speedup']:.2f}" if r.get("speedup") else "-"
            sizes = " ".join([*(f"{k}={v}" for k, v in r.get("labels", {}).items()),
                              _fmt_params(r["params"])])
            lines.append(f"{kernel:24s} {sizes:34s} {r['median_s'] * 1e3:8.3f}ms "
                         f"{_rate(r.get('throughput')):>12s} {sp:>9s}")
        single = [r for r in ok if r["params"].get("threads", 1) == 1] or ok
        exp = fit_exponents(single)
        thr = [r for r in ok if "threads" in r["params"]]
        texp = fit_exponents(thr) if len({r["params"]["threads"] for r in thr}) > 1 else {}
        if "threads" in texp and len(exp) >= 0:
            exp["threads"] = texp["threads"]
        exponents[kernel] = exp
        if exp:
            lines.append(f"{'':24s} growth: time ∝ " + " ".join(f"{k}^{v:.2f}" for k, v in exp.items()))
    lines.append("vs numpy: median of the numpy/scipy baseline / median of fastdgm, timed in the same run "
                 "(kernels named *threads*: one thread / this thread count)")
    return "\n".join(lines), exponents


def _plot(records, path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ._io import check_out_path

    path = check_out_path(path, os.path.splitext(os.fspath(path))[1] or ".png")
    kernels = sorted({r["kernel"] for r in records if "error" not in r})
    ncol = min(3, max(1, len(kernels)))
    nrow = -(-len(kernels) // ncol) or 1
    fig, axes = plt.subplots(nrow, ncol, figsize=(5 * ncol, 3.6 * nrow), squeeze=False)
    for ax, kernel in zip(axes.ravel(), kernels):
        recs = [r for r in records if r["kernel"] == kernel and "error" not in r
                and r["params"].get("threads", 1) == 1]
        keys = [k for k in SIZE_KEYS if len({r["params"].get(k) for r in recs}) > 1]
        x_key = keys[0] if keys else None
        other = keys[1:]
        groups: dict = {}
        for r in recs:
            groups.setdefault(tuple(r["params"].get(k) for k in other), []).append(r)
        for g, rs in groups.items():
            rs = sorted(rs, key=lambda r: r["params"].get(x_key, 0))
            xs = [r["params"].get(x_key, 1) for r in rs]
            label = " ".join(f"{k}={_short(v)}" for k, v in zip(other, g))
            line, = ax.loglog(xs, [r["median_s"] for r in rs], "o-", label=f"fastdgm {label}")
            if all(r.get("baseline_s") for r in rs):
                ax.loglog(xs, [r["baseline_s"] for r in rs], "s--", color=line.get_color(),
                          alpha=0.6, label=f"numpy {label}")
        ax.set_title(kernel)
        ax.set_xlabel(x_key or "")
        ax.set_ylabel("seconds")
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(kernels):]:
        ax.axis("off")
    fig.tight_layout()
    try:
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=100, format=os.path.splitext(path)[1][1:] or "png")
    finally:
        plt.close(fig)
    return path


def _write_json(path, payload) -> str:
    from ._io import check_out_path

    path = check_out_path(path, ".json")
    with atomic_output(path) as tmp, open(tmp, "w") as f:
        json.dump(payload, f, indent=1)
    return path


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
    from ._io import CLIError

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
    t0 = time.perf_counter()
    if not quiet:
        where = bench_dir if source == "pytest" else "fastdgm._bench (embedded)"
        print(f"fastdgm bench: {'quick' if quick else 'full'} run of {where}", file=sys.stderr)
    if source == "pytest":
        records = pytest_timings(bench_dir, quick, progress=progress, kernels=kernels)
    else:
        records = embedded_timings(quick, kernels=kernels, progress=progress)
    text, exponents = format_report(records)
    print(text, file=file)
    import numba

    import fastdgm

    payload = {"source": source, "quick": quick, "seconds": time.perf_counter() - t0,
               "threads": fastdgm.get_num_threads(), "fastdgm": fastdgm.__version__,
               "numpy": np.__version__, "numba": numba.__version__,
               "records": records, "exponents": exponents}
    if json_path is not None:
        p = _write_json(json_path, payload)
        if not quiet:
            print(f"wrote {p}", file=sys.stderr)
    if plot_path is not None:
        p = _plot(records, plot_path)
        if not quiet:
            print(f"wrote {p}", file=sys.stderr)
    if not quiet:
        print(f"done in {payload['seconds']:.1f} s", file=sys.stderr)
    return payload
