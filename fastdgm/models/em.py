"""The one EM engine: every model with the ``"em"`` capability is fitted by :func:`fit` here.

One loop
    Iteration t computes the E-step statistics of the current model over the blocks of rows
    of the data (additive arrays, summed in block order), records the objective and the
    log-likelihood of that model, and, unless it stops, takes the M-step of the summed
    statistics. The in-memory fit passes the whole X as one block (prepared once, so the fused
    kernels run on it as before); :mod:`fastdgm.blockfit` and :mod:`fastdgm.dask` pass blocks
    read from disk or living on workers, through the same loop.
One stop rule
    After iteration t > 0, stop when ``obj_t - obj_{t-1} <= tol * |obj_{t-1}|``, the objective
    being the MAP-EM objective per unit of sample weight (a relative tolerance: fits of data
    sets with large log-likelihoods stop when the curve has flattened; ``tol=0`` stops at the
    first iteration that does not improve). ``converged_`` says whether it fired.
One set of defaults
    :data:`MAX_ITER` E-steps per restart and :data:`TOL`, for Mixture, TreeMixture and
    HiddenChowLiuTree alike.
One trace
    ``objective_history_`` (the MAP objective, which EM never decreases),
    ``log_likelihood_history_`` (mean weighted log-likelihood), ``n_iter_`` (E-steps of the
    returned restart) and ``converged_``. The returned model is the one evaluated last: its own
    objective is ``objective_history_[-1]`` (``max_iter`` E-steps are ``max_iter - 1`` M-steps).
Mini-batch (stepwise) EM
    With ``batch_size``: epochs of seeded random batches, an M-step after each
    (:mod:`fastdgm.models._em_stepwise`).
Early stopping on held-out rows
    Within :func:`validation_stop` (``fd.select(..., early_stopping=P)``), every iterate's mean
    log-likelihood of the validation rows is recorded (``valid_history_``); the restart stops
    when the best of it is ``P`` iterations old (or by the stop rule, or at ``max_iter``) and
    returns its best-on-valid iterate, histories cut there; restarts compare on valid.
    (:mod:`fastdgm.models._em_valid`.)
Restarts
    ``n_init`` restarts from the keys :meth:`EMModel._restart_key` derives from ``rng``; the
    restart with the highest final objective is returned (the first on ties). One progress
    bar over all restarts.

The statistics protocol (a model subclasses :class:`EMModel` and implements):

- ``_em_setup(data, **hyper) -> dict`` (optional): what is decided once from the data before
  the restarts (a tree structure, the column flips of binary pair counts); its ``"context"``
  entry, a dict of picklable arrays, is passed to every block call;
- ``_em_prepare(X, n_states, **context)`` (optional): per-block work kept across iterations
  by the in-memory fit (packed columns, sparse rows);
- ``_em_start(data, key, restart, alpha, setup, **hyper) -> model``: the starting model;
  by default the M-step (``from_statistics``) of ``_em_initial`` (random responsibilities);
- ``_em_initial(block, n_states, key, start, w, **hyper) -> dict`` and
  ``_em_statistics(self, block, w) -> dict``: additive statistics of one block, with
  ``loglik`` (the weighted log-likelihood, 0 for the initial ones) and ``total`` (its weight);
- ``_em_update(self, stats, alpha) -> model``: the M-step from the summed statistics;
- ``_log_prior(self, alpha) -> float``: the log Dirichlet prior of the MAP objective;
- ``_em_check(**hyper) -> dict``: validated model-specific hyper-parameters.

Where the statistics come from is a :class:`Data`: :class:`InMemory` (one block, in this
process) or :class:`MappedBlocks` (a ``map_blocks(task)`` function: blocks of a memory-mapped
file, or of a dask array computed on workers). A task is ``(what, target, kwargs)`` with
``what`` in ``{"suff", "initial", "em"}``: see :func:`run_task`.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from .._progress import Progress
from .._rng import make_key, substream_ref
from .._validation import (check_alpha, check_positive_int, check_sample_weight, check_scalar, check_model_X,
                           check_states)
from ._em_stepwise import KAPPA, check_stepwise, iterate_stepwise
from ._em_tasks import freeze_task, run_task, thaw_task
from ._em_valid import active_monitor, validation_stop
from .base import Model

__all__ = ["MAX_ITER", "TOL", "KAPPA", "EMModel", "Data", "InMemory", "MappedBlocks", "fit", "run_task",
           "freeze_task", "thaw_task", "add_statistics", "fit_keywords", "stopped", "validation_stop"]

MAX_ITER = 100
"""Default maximum number of E-steps per restart of every EM fit."""
TOL = 1e-5
"""Default relative tolerance of the stop rule of every EM fit (:func:`stopped`): 1e-5 of a
-30 nats objective is 3e-4 nats per sample, far below the standard error of a test
log-likelihood."""


def stopped(objective: list, tol: float) -> bool:
    """The one stop rule: after iteration t > 0, ``obj_t - obj_{t-1} <= tol * |obj_{t-1}|``."""
    return len(objective) > 1 and objective[-1] - objective[-2] <= tol * abs(objective[-2])


def add_statistics(parts) -> dict:
    """Sum of per-block statistics dicts, in order (booleans are or-ed); ``parts`` may be a
    generator, so that one block's statistics at a time are held besides the sum."""
    it = iter(parts)
    total = dict(next(it))
    for p in it:
        for k, v in p.items():
            total[k] = (total[k] | v) if np.asarray(v).dtype == bool else total[k] + v
    return total


def fit_keywords(cls) -> dict[str, Any]:
    """The keyword-only hyper-parameters of ``cls.fit`` and their defaults (the one place the
    defaults of a model's fit are written)."""
    sig = inspect.signature(cls.fit)
    return {p.name: p.default for p in sig.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY}


# ---------------------------------------------------------------------------------------
# where the statistics come from
# ---------------------------------------------------------------------------------------
class Data:
    """The data of a fit, as blocks of rows whose statistics are summed in block order."""

    n_states: int

    def map(self, task: tuple):  # pragma: no cover - abstract
        """``run_task(task, block)`` of every block, in block order (a list or a generator)."""
        raise NotImplementedError

    def reduce(self, task: tuple) -> dict:
        """The sum of :meth:`map` over the blocks."""
        return add_statistics(self.map(task))

    def fit_statistics(self, cls, **hyper):
        """One-pass fit of a ``"statistics"`` model: ``from_statistics`` of the summed
        ``sufficient_statistics``. A model whose blocks need keywords (BayesianNetwork's
        ``parents``) splits them by ``cls._statistics_options(**hyper) -> (for
        sufficient_statistics, for from_statistics)``."""
        split = getattr(cls, "_statistics_options", None)
        options, rest = split(**hyper) if split is not None else ({}, hyper)
        return cls.from_statistics(self.reduce(("suff", cls, {"n_states": self.n_states, "options": options})),
                                   **rest)

    def fit(self, cls, **hyper):
        """Fit ``cls`` on these data (EM or one pass), with the defaults of ``cls.fit``."""
        kw = {**_data_keywords(cls), **hyper}
        if "em" in cls.capabilities:
            return fit(cls, self, **kw)
        return self.fit_statistics(cls, **kw)


def _data_keywords(cls) -> dict:
    """``fit_keywords(cls)`` without those that are about X itself (weights, dedupe)."""
    return {k: v for k, v in fit_keywords(cls).items() if k not in ("sample_weight", "dedupe")}


class InMemory(Data):
    """X (validated) and its sample weights in this process, as one block; each model's
    prepared block (:meth:`EMModel._em_prepare`) is computed once and kept for the fit."""

    def __init__(self, X: Any, n_states: Any, sample_weight=None):
        self.X: np.ndarray = X
        self.n_states = int(n_states)
        self.w = check_sample_weight(sample_weight, X.shape[0])
        self._cache: list = []         # (cls, context, prepared)

    @property
    def weights(self):
        """The sample weights, or None for unit weights."""
        return self.w if self.w.size else None

    def _prepared(self, cls, context: dict):
        for c, ctx, block in self._cache:
            if c is cls and ctx.keys() == context.keys() and all(
                    np.array_equal(ctx[k], context[k]) for k in ctx):
                return block
        block = cls._em_prepare(self.X, self.n_states, **context)
        self._cache.append((cls, context, block))
        return block

    def map(self, task: tuple) -> list:
        what, target, kw = task
        if what == "suff":
            return [run_task(task, self.X, 0, self.weights)]
        cls = target if what == "initial" else type(target)
        return [run_task(task, self.X, 0, self.weights, prepared=self._prepared(cls, kw["context"]))]

    def rows(self, idx: np.ndarray) -> "InMemory":
        """The rows ``idx`` of these data (a mini-batch), with their weights."""
        return InMemory(self.X[idx], self.n_states, self.w[idx] if self.w.size else None)

    def fit_statistics(self, cls, **hyper):
        # the model's own one-machine fit (e.g. ChowLiuTree's BLAS path for wide binary X);
        # equal to from_statistics of the summed statistics (tests/test_blockfit.py)
        return cls.fit.validated(self.X, self.n_states, sample_weight=self.weights, **hyper)


class MappedBlocks(Data):
    """Blocks of rows behind a function: ``map_blocks(task)`` returns (or yields)
    :func:`run_task` of every block in block order (locally from a memory-mapped file, or on dask workers).
    Classes travel by name and models as ``(name, get_params())`` (:func:`freeze_task`)."""

    def __init__(self, map_blocks: Callable[[tuple], list], n_states: int):
        self._map = map_blocks
        self.n_states = int(n_states)

    def map(self, task: tuple) -> list:
        return self._map(freeze_task(task))


# ---------------------------------------------------------------------------------------
# the protocol
# ---------------------------------------------------------------------------------------
class EMModel(Model):
    """A model fitted by the EM engine (:func:`fit`); see the module docstring for the protocol."""

    objective_history_: list[float]
    log_likelihood_history_: list[float]
    n_iter_: int
    converged_: bool

    @classmethod
    def from_statistics(cls, stats: dict, alpha: float = 1.0) -> Any:  # pragma: no cover - abstract
        """The M-step from summed statistics (the default start of :meth:`_em_start`)."""
        raise NotImplementedError

    @classmethod
    def _em_check(cls, **hyper) -> dict:
        """Validated model-specific hyper-parameters of the EM fit."""
        return hyper

    @classmethod
    def _em_setup(cls, data: Data, **hyper) -> dict:
        """What the restarts share, decided from the data; ``"context"`` goes to every block."""
        return {}

    @classmethod
    def _em_prepare(cls, X: np.ndarray, n_states: int, **context):
        """Per-block work kept across the iterations of an in-memory fit (default: X)."""
        return X

    @staticmethod
    def _restart_key(key, restart: int) -> np.uint64:
        """Key of restart r: sub-stream r of the fit's key."""
        return np.uint64(substream_ref(int(key), restart))

    @classmethod
    def _em_start(cls, data: Data, key, restart: int, alpha: float, setup: dict, **hyper):
        """The starting model of a restart: the M-step of random initial responsibilities."""
        task = ("initial", cls, {"n_states": data.n_states, "key": int(cls._restart_key(key, restart)),
                                 "context": setup.get("context", {}), "hyper": hyper})
        return cls.from_statistics(data.reduce(task), alpha=alpha)

    @classmethod
    def _em_initial(cls, block, n_states: int, key, start: int, w: np.ndarray, **hyper) -> dict:  # pragma: no cover
        raise NotImplementedError

    def _em_statistics(self, block, w: np.ndarray) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def _em_update(self, stats: dict, alpha: float):
        """The M-step: the next model from the summed statistics."""
        return type(self).from_statistics(stats, alpha=alpha)

    def _log_prior(self, alpha: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def initial_statistics(cls, X, n_states, key, start: int = 0, sample_weight=None, *, context=None,
                           **hyper) -> dict:
        """EM statistics of the random start of rows ``start..`` of the data (one block).

        Parameters
        ----------
        X : array_like of int, shape (n, d)
            The block: rows ``start .. start + n`` of the whole data set.
        n_states : int
            C.
        key : int or numpy.uint64
            The restart's key (restart r of a fit uses sub-stream r of ``make_key(rng)``).
        start : int
            Index of the block's first row in the whole data set.
        sample_weight : array_like of float, shape (n,), optional
        context : dict, optional
            The block context of the fit (``_em_setup(...)["context"]``).
        **hyper
            The model's hyper-parameters (``n_components=K``).

        Returns
        -------
        dict
            Arrays additive over blocks (with ``loglik`` = 0 and ``total``); their sum is the
            input of ``from_statistics``.
        """
        X, C = check_states(X, "X", n_states=n_states)
        w = check_sample_weight(sample_weight, X.shape[0])
        start = check_positive_int(start, "start", minimum=0)
        block = cls._em_prepare(X, C, **(context or {}))
        return cls._em_initial(block, C, np.uint64(key), start, w, **cls._em_check(**hyper))

    def em_statistics(self, X, sample_weight=None, *, context=None) -> dict:
        """E-step statistics of a block of rows under this model (additive over blocks).

        Parameters
        ----------
        X : array_like of int, shape (n, d)
        sample_weight : array_like of float, shape (n,), optional
        context : dict, optional
            The block context of the fit (``_em_setup(...)["context"]``).

        Returns
        -------
        dict
            Arrays additive over blocks, with ``loglik`` () the weighted log-likelihood of
            the block and ``total`` () its weight; ``_em_update`` of their sum is the M-step.
        """
        X = check_model_X(X, self.n_states, self.n_dims)
        w = check_sample_weight(sample_weight, X.shape[0])
        return self._em_statistics(type(self)._em_prepare(X, self.n_states, **(context or {})), w)

    def map_objective(self, loglik: float, total: float, alpha: float) -> float:
        """The MAP-EM objective per unit weight: ``(loglik + log prior(alpha)) / total``.

        Parameters
        ----------
        loglik : float
            The (weighted) log-likelihood of the data (``em_statistics(X)["loglik"]``).
        total : float
            The number (total weight) of rows.
        alpha : float
            The smoothing pseudo-count of the fit.

        Returns
        -------
        float
            The quantity the fit records in ``objective_history_``.
        """
        return (float(loglik) + self._log_prior(alpha)) / float(total)


# ---------------------------------------------------------------------------------------
# the loop
# ---------------------------------------------------------------------------------------
def fit(cls, data: Data, *, alpha: float, rng=None, max_iter: int = MAX_ITER, tol: float = TOL,
        n_init: int = 1, progress: bool = False, batch_size: int | None = None, kappa: float = KAPPA,
        **hyper):
    """Fit ``cls`` (an :class:`EMModel`) on ``data`` by MAP-EM; see the module docstring.

    Parameters
    ----------
    cls : type
        Mixture, TreeMixture, HiddenChowLiuTree, or any :class:`EMModel`.
    data : Data
        :class:`InMemory` or :class:`MappedBlocks`.
    alpha : float >= 0
        Dirichlet pseudo-count of the M-step (the prior of the objective).
    rng : SPEC 7 seed
    max_iter : int
        E-steps per restart.
    tol : float >= 0
        Relative tolerance of :func:`stopped`.
    n_init : int
        Restarts; the one with the highest final objective is returned (first on ties).
    progress : bool
        One progress bar over every restart's iterations.
    batch_size, kappa : int or None, float in (0.5, 1]
        Mini-batch EM (:mod:`fastdgm.models._em_stepwise`) when batch_size is an int.
    **hyper
        The model's own hyper-parameters (checked by ``cls._em_check``).

    Returns
    -------
    EMModel
        With ``objective_history_``, ``log_likelihood_history_``, ``n_iter_``, ``converged_``.
    """
    alpha = check_alpha(alpha)
    max_iter = check_positive_int(max_iter, "max_iter")
    tol = check_scalar(tol, "tol", minimum=0.0)
    n_init = check_positive_int(n_init, "n_init")
    if batch_size is not None:
        batch_size, kappa = check_stepwise(batch_size, kappa, isinstance(data, InMemory))
    hyper = cls._em_check(**hyper)
    key = make_key(rng)
    with active_monitor() as monitor:      # fits nested in this one (a start) do not see it
        setup = cls._em_setup(data, alpha=alpha, **hyper)
        context = setup.get("context", {})
        best = None
        with Progress(n_init * max_iter, unit="iterations", enabled=progress, desc=f"fit {cls.__name__}") as bar:
            for r in range(n_init):
                model = cls._em_start(data, key, r, alpha, setup, **hyper)
                if monitor is not None:
                    monitor.restart()
                if batch_size is None:
                    trace = _iterate(model, data, alpha, max_iter, tol, context, bar, monitor)
                else:
                    trace = iterate_stepwise(model, data, alpha, max_iter, tol, context, bar, batch_size, kappa,
                                             int(cls._restart_key(key, r)), stopped, monitor)
                if monitor is not None:
                    trace = monitor.best_of(trace)
                bar.n = (r + 1) * max_iter                  # a converged restart skips its rest
                if best is None or trace[-1] > best[-1]:
                    best = trace
    assert best is not None
    model, obj, ll, converged, valid, _ = best
    model.objective_history_ = obj
    model.log_likelihood_history_ = ll
    model.n_iter_ = len(obj)
    model.converged_ = converged
    if monitor is not None:
        model.valid_history_ = valid
    return model


def _iterate(model, data: Data, alpha: float, max_iter: int, tol: float, context: dict, bar, monitor=None):
    """EM iterations of one restart: (last model, objectives, log-likelihoods, converged, [], final
    objective); with a validation ``monitor``, it may stop the loop and records every iterate."""
    obj: list[float] = []
    ll: list[float] = []
    converged = False
    for it in range(max_iter):
        stats = data.reduce(("em", model, {"context": context}))
        total = float(stats["total"])
        loglik = float(stats["loglik"])
        obj.append((loglik + model._log_prior(alpha)) / total)
        ll.append(loglik / total)
        bar.update(1)
        done = monitor is not None and monitor.seen(model)       # records every iterate
        if stopped(obj, tol) or done:
            converged = True
            break
        if it == max_iter - 1:
            break
        model = model._em_update(stats, alpha)
    return model, obj, ll, converged, [], obj[-1]
