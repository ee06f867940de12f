"""The one list of benchmark cases of ``fastdgm bench``: each kernel, its numpy baseline, and the
sizes it is timed at.

A case's ``setup(**params)`` builds its inputs and returns a :class:`Timed`: the callables of
its implementations (``"fastdgm"`` and the numpy baseline ``"numpy"``, from
:mod:`fastdgm.slow.baselines`), the inputs (for the suites that add peers on the same inputs),
and the items one call processes (for the throughput). The embedded runner
(:func:`fastdgm.bench.embedded.embedded_timings`) times these cases; the pytest-benchmark suites of
a source checkout take them from here too (``benchmarks/bench_cases.py`` runs every case at its
``full`` sizes; the peer suites, e.g. ``benchmarks/bench_sampling.py``, build their fastdgm and
numpy entries with :func:`setup` and add torch, scipy and the floors), so no case is written
twice.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..slow import baselines as base

__all__ = ["Case", "Timed", "CASES", "setup", "case_names"]


@dataclass
class Timed:
    """What one point of a case times.

    Attributes
    ----------
    fns : dict
        Implementation (``"fastdgm"``, ``"numpy"``) -> zero-argument callable.
    items : int
        Items processed by one call (draws, log-probabilities x columns, site updates).
    data : dict
        The inputs, by name (e.g. ``"p"``, ``"P"``, ``"X"``, ``"model"``).
    """

    fns: dict[str, Callable[[], Any]]
    items: int
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """One benchmark case: a kernel, the fastdgm module it needs, its set-up and its sizes.

    Attributes
    ----------
    kernel : str
        The name ``--kernels`` takes and the report groups by.
    module : str
        The ``fastdgm`` submodule it needs (a missing one is reported, not raised).
    make : callable
        ``make(**params) -> Timed``.
    quick, full : tuple of dict
        The sizes of ``--quick`` and of a full run.
    """

    kernel: str
    module: str
    make: Callable[..., Timed]
    quick: tuple[dict, ...]
    full: tuple[dict, ...]

    def points(self, quick: bool) -> list[dict]:
        """The sizes of a quick or full run, each with ``threads`` (1 unless given), each once."""
        pts = [{**p, "threads": p.get("threads", 1)} for p in (self.quick if quick else self.full)]
        return list({tuple(sorted(p.items())): p for p in pts}.values())


def _on(threads: int, fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` run on ``threads`` fastdgm threads."""
    import fastdgm as fd

    def call():
        with fd.threads(threads):
            return fn()

    return call


def _categorical_single(n, C, threads=1) -> Timed:
    import fastdgm as fd

    p = np.random.default_rng(C).random(C) + 0.01
    gen = np.random.default_rng(0)
    return Timed({"fastdgm": _on(threads, lambda: fd.categorical(p, size=n, rng=1)),
                  "numpy": lambda: base.choice(p, n, gen)}, n, {"p": p, "rng": gen})


def _categorical_batched(n, C, threads=1) -> Timed:
    import fastdgm as fd

    P = np.random.default_rng(0).random((n, C))
    P /= P.sum(1, keepdims=True)
    u = np.random.default_rng(1).random(n)
    return Timed({"fastdgm": _on(threads, lambda: fd.categorical(P, rng=1)),
                  "numpy": lambda: base.categorical_rows(P, u)}, n, {"P": P, "u": u})


def _sample_joint(cells, C=4, threads=1) -> Timed:
    import fastdgm as fd

    d = round(math.log(cells, C))
    table = np.random.default_rng(d).random((C,) * d)
    gen = np.random.default_rng(0)

    def numpy():
        return np.stack(np.unravel_index(base.choice(table.ravel(), 1000, gen), table.shape), 1)

    return Timed({"fastdgm": _on(threads, lambda: fd.sample_joint(table, size=1000, rng=0)), "numpy": numpy},
                 1000, {"table": table})


def _factorized_logprob(n, d, C, threads=1, dtype=None) -> Timed:
    import fastdgm as fd

    rng = np.random.default_rng(0)
    model = fd.Factorized(rng.random((d, C)) + 0.1)
    X = rng.integers(0, C, size=(n, d)).astype(dtype or (np.uint8 if C <= 256 else np.uint16))
    return Timed({"fastdgm": _on(threads, lambda: model.log_prob(X)),
                  "numpy": lambda: base.factorized_log_prob_numpy(X, model.log_probs)}, n * d,
                 {"X": X, "model": model})


def _mixture_logprob(n, K, d=64, C=4, threads=1) -> Timed:
    import fastdgm as fd

    rng = np.random.default_rng(0)
    comps = rng.random((K, d, C)) + 0.1
    comps /= comps.sum(-1, keepdims=True)
    model = fd.Mixture(np.full(K, 1.0 / K), comps)
    X = rng.integers(0, C, size=(n, d)).astype(np.uint8)
    return Timed({"fastdgm": _on(threads, lambda: model.log_prob(X)),
                  "numpy": lambda: base.mixture_log_prob_numpy(X, model.log_weights, model.log_components)},
                 n * K * d, {"X": X, "model": model})


def _gibbs_potts(L, C, chains=4, sweeps=10, threads=1, beta=0.6) -> Timed:
    import fastdgm as fd

    model = fd.PairwiseMRF.grid((L, L), n_states=C, coupling=beta)
    gen = np.random.default_rng(0)
    init = gen.integers(0, C, size=(chains, L, L))
    spins, state = (2 * init - 1).astype(np.int8), init.astype(np.uint8)

    def numpy():   # the strongest numpy checkerboard: int8 table (Ising), per-state counts (Potts)
        if C == 2:
            return base.ising_checkerboard(spins, beta, sweeps, gen)
        return base.potts_checkerboard(state, beta, C, sweeps, gen)

    return Timed({"fastdgm": _on(threads, lambda: fd.gibbs(model, chains, sweeps, rng=0)), "numpy": numpy},
                 L * L * chains * sweeps, {"model": model})


def _grid(**axes) -> tuple[dict, ...]:
    """Every combination of the given sizes."""
    out: list[dict] = [{}]
    for k, vs in axes.items():
        out = [{**p, k: v} for p in out for v in vs]
    return tuple(out)


CASES: dict[str, Case] = {c.kernel: c for c in (
    Case("categorical-single", "sampling", _categorical_single,
         quick=_grid(n=(10**5, 10**6), C=(16, 1024)) + (dict(n=10**6, C=16, threads=2),),
         full=_grid(n=(10**6, 10**7), C=(16, 256, 4096)) + _grid(n=(10**7,), C=(256,), threads=(1, 2))),
    Case("categorical-batched", "sampling", _categorical_batched,
         quick=_grid(n=(10**4, 10**5), C=(8, 64)), full=_grid(n=(10**5, 10**6), C=(4, 32, 256))),
    Case("sample-joint", "sampling", _sample_joint,
         quick=_grid(cells=(4**4, 4**6, 4**8)), full=_grid(cells=(4**4, 4**6, 4**8, 4**10))),
    Case("factorized-logprob", "models", _factorized_logprob,
         quick=_grid(n=(10**4, 10**5), d=(64,), C=(2, 16)),
         full=_grid(n=(10**5, 10**6), d=(64,), C=(2, 16, 256)) + _grid(n=(10**6,), d=(64,), C=(2,), threads=(1, 2))),
    Case("mixture-logprob", "models", _mixture_logprob,
         quick=_grid(n=(2000, 10**4), K=(5, 10)), full=_grid(n=(10**4, 10**5), K=(5, 10, 20))),
    Case("gibbs-potts", "mcmc", _gibbs_potts,
         quick=_grid(L=(32, 64), C=(2, 8)),
         full=_grid(L=(64, 128, 256), C=(2, 10)) + _grid(L=(256,), C=(2,), chains=(8,), threads=(1, 2))),
)}
"""Kernel name -> :class:`Case`: the cases ``fastdgm bench`` times without data or optional peers."""


def setup(kernel: str, **params) -> Timed:
    """The inputs and callables of case ``kernel`` at ``params`` (its sizes, ``threads``).

    Parameters
    ----------
    kernel : str
        A key of :data:`CASES`.
    **params
        The case's sizes (e.g. ``n=10**6, C=16``) and optionally ``threads``.

    Returns
    -------
    Timed
    """
    if kernel not in CASES:
        raise ValueError(f"kernel must be one of {sorted(CASES)}, got {kernel!r}")
    return CASES[kernel].make(**params)


def case_names() -> set[str]:
    """Names of every case (as ``--kernels`` takes them)."""
    return set(CASES)
