"""Block tasks of the EM engine (:mod:`fastdgm.models.em`): what one block of rows computes,
and how a task travels to a worker (the class by name, a model by its parameters)."""
from __future__ import annotations

import numpy as np

from .._validation import check_sample_weight

__all__ = ["run_task", "freeze_task", "thaw_task"]


def run_task(task: tuple, X, start: int = 0, sample_weight=None, prepared=None) -> dict:
    """Statistics of one block of rows for ``task = (what, target, kwargs)``.

    - ``("suff", cls, {"n_states", "options"})``: ``cls.sufficient_statistics(X, n_states,
      sample_weight, **options)``;
    - ``("initial", cls, {"n_states", "key", "context", "hyper"})``: the statistics of the
      random start of rows ``start..`` (:meth:`EMModel.initial_statistics`);
    - ``("em", model, {"context"})``: the E-step statistics under ``model``.

    ``prepared``, if given, is ``cls._em_prepare(X, ...)`` already computed (the in-memory fit).
    """
    what, target, kw = task
    if what == "suff":       # {"weighted": False}: the unweighted statistics; "options": the model's
        return target.sufficient_statistics(X, kw["n_states"], sample_weight if kw.get("weighted", True) else None,
                                            **kw.get("options", {}))
    if what == "initial":
        if prepared is None:
            return target.initial_statistics(X, kw["n_states"], kw["key"], start, sample_weight,
                                             context=kw["context"], **kw["hyper"])
        return target._em_initial(prepared, kw["n_states"], np.uint64(kw["key"]), start,
                                  check_sample_weight(sample_weight, X.shape[0]), **kw["hyper"])
    if what == "em":
        if prepared is None:
            return target.em_statistics(X, sample_weight, context=kw["context"])
        return target._em_statistics(prepared, check_sample_weight(sample_weight, X.shape[0]))
    raise ValueError(f"unknown block task {what!r}")  # pragma: no cover - internal


def freeze_task(task: tuple) -> tuple:
    """A task that pickles small: the class by name, the model by its parameters."""
    what, target, kw = task
    if isinstance(target, type):
        return (what, target.__name__, kw)
    return (what, (type(target).__name__, {k: np.asarray(v) for k, v in target.get_params().items()}), kw)


def thaw_task(task: tuple) -> tuple:
    """The inverse of :func:`freeze_task` (on a worker)."""
    from .base import registered_models

    what, target, kw = task
    if isinstance(target, str):
        return (what, registered_models()[target], kw)
    if isinstance(target, tuple):
        name, params = target
        return (what, registered_models()[name].from_params(params), kw)
    return task
