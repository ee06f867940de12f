"""The embedded benchmark set: each kernel and its numpy baseline at a few sizes (``--quick``).

The baselines are those of the pytest-benchmark suites, imported from
:mod:`fastdgm.slow.baselines` (one home); both sides are timed by the same timer.
"""
from __future__ import annotations

import math

import numpy as np

from ..slow import baselines as base
from .report import fmt_params
from .timing import median_time


def _cat_single(n, C, threads=1):
    import fastdgm as fd

    p = np.random.default_rng(C).random(C) + 0.01
    gen = np.random.default_rng(0)

    def fast():
        with fd.threads(threads):
            fd.categorical(p, size=n, rng=1)

    return fast, lambda: base.choice(p, n, gen), n


def _cat_batched(n, C, threads=1):
    import fastdgm as fd

    P = np.random.default_rng(0).random((n, C))
    P /= P.sum(1, keepdims=True)
    u = np.random.default_rng(1).random(n)

    def baseline():
        return base.categorical_rows(P, u)

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
        return np.stack(np.unravel_index(base.choice(table.ravel(), 1000, gen), table.shape), 1)

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

    def baseline():
        return base.factorized_log_prob_numpy(X, model.log_probs)

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

    def baseline():
        return base.mixture_log_prob_numpy(X, model.log_weights, model.log_components)

    def fast():
        with fd.threads(threads):
            model.log_prob(X)

    return fast, baseline, n * K * d


def _gibbs_potts(L, C, chains=4, sweeps=10, threads=1, beta=0.6):
    import fastdgm as fd

    model = fd.PairwiseMRF.grid((L, L), n_states=C, coupling=beta)
    gen = np.random.default_rng(0)
    init = gen.integers(0, C, size=(chains, L, L))
    spins, state = (2 * init - 1).astype(np.int8), init.astype(np.uint8)

    def baseline():  # the strongest numpy checkerboard: int8 table (Ising), per-state counts (Potts)
        if C == 2:
            return base.ising_checkerboard(spins, beta, sweeps, gen)
        return base.potts_checkerboard(state, beta, C, sweeps, gen)

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
            ("gibbs-potts", "mcmc", _gibbs_potts,
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
        ("gibbs-potts", "mcmc", _gibbs_potts,
         [dict(L=L, C=C) for L in (64, 128, 256) for C in (2, 10)]
         + [dict(L=256, C=2, chains=8, threads=t) for t in (1, 2)]),
    ]


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
    return {kernel for kernel, *_ in _suite(quick)}


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
    records = []
    repeat, min_time = (5, 0.05) if quick else (7, 0.2)
    suite = [s for s in _suite(quick) if wanted is None or s[0] in wanted]
    with Progress(sum(len(s[3]) for s in suite), unit="timings", enabled=progress, desc="bench") as bar:
        for kernel, module, setup, points in suite:
            try:
                importlib.import_module(f"fastdgm.{module}")
            except ImportError as exc:
                records.append({"kernel": kernel, "params": {}, "error": f"unavailable: {exc}"})
                bar.update(len(points))
                continue
            for params in points:
                params = {**params, "threads": params.get("threads", 1)}
                fast, baseline, items = setup(**params)
                t = median_time(fast, repeat=repeat, min_time=min_time)
                tb = median_time(baseline, repeat=repeat, min_time=min_time)
                rec = {"kernel": kernel, "params": params, "median_s": t, "baseline_s": tb,
                       "speedup": tb / t, "throughput": items / t, "items": items}
                records.append(rec)
                bar.write(f"  {kernel:22s} {fmt_params(params):32s} {t * 1e3:9.3f} ms  x{tb / t:.2f}")
                bar.update(1)
    return records


# ---------------------------------------------------------------------------------------
# the pytest-benchmark suites
# ---------------------------------------------------------------------------------------
