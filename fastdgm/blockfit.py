"""Fits from blocks of rows: out-of-core on one machine (memory-mapped arrays), and the same
reduction behind :func:`fastdgm.dask.fit`.

A fit is a reduction of sufficient statistics over blocks, added in block order:
``Factorized`` and ``ChowLiuTree`` in one pass (``sufficient_statistics`` -> ``from_statistics``),
``Mixture`` by EM, one pass per iteration (``initial_statistics`` / ``em_statistics`` ->
``from_statistics``, the M-step). Unweighted counts are exact integers, so ``Factorized`` and
``ChowLiuTree`` equal the in-memory fit bit for bit; the mixture's float sums are added in
another order than in memory, so its parameters agree to rounding (about 1e-12).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._progress import Progress
from ._rng import make_key, substream_ref
from ._validation import check_alpha, check_positive_int, check_scalar, check_states

__all__ = ["fit_in_blocks", "fit_from_blocks", "block_task", "BLOCK_FITTABLE"]

BLOCK_FITTABLE = ("Factorized", "ChowLiuTree", "Mixture")
"""Model classes (by name) that :func:`fit_in_blocks` and :func:`fastdgm.dask.fit` can fit."""


def block_task(task: tuple, X, start: int) -> dict:
    """Statistics of one block of rows (a pure function: runs on a dask worker as well).

    ``task`` = (class name, what, C, K, key, params) with what in {"suff", "init", "em"}.
    """
    from .models.base import registered_models

    name, what, C, K, key, params = task
    cls: Any = registered_models()[name]
    X = np.asarray(X)
    if what == "suff":
        return cls.sufficient_statistics(X, C)
    if what == "init":
        return cls.initial_statistics(X, K, C, key, start)
    return cls.from_params(params).em_statistics(X)


def _add(parts: list) -> dict:
    total = dict(parts[0])
    for p in parts[1:]:
        for k, v in p.items():
            total[k] = (total[k] | v) if np.asarray(v).dtype == bool else total[k] + v
    return total


def fit_from_blocks(model_cls: Any, map_blocks: Callable[[tuple], list], n_states: int, *, alpha=1.0,
                    n_components: int | None = None, rng=None, max_iter: int = 200, tol: float = 1e-6,
                    progress: bool = False):
    """Fit ``model_cls`` from per-block statistics; ``map_blocks(task)`` returns the list of
    :func:`block_task` results of every block, in block order (locally or on a cluster)."""
    name = model_cls.__name__
    if name not in BLOCK_FITTABLE:
        raise TypeError(f"{name} cannot be fitted block by block; supported: {', '.join(BLOCK_FITTABLE)}")
    alpha = check_alpha(alpha)
    C = check_positive_int(n_states, "n_states")
    if name != "Mixture":
        return model_cls.from_statistics(_add(map_blocks((name, "suff", C, None, None, None))), alpha)
    K = check_positive_int(n_components, "n_components")
    max_iter = check_positive_int(max_iter, "max_iter")
    tol = check_scalar(tol, "tol", minimum=0.0)
    key = np.uint64(substream_ref(int(make_key(rng)), 0))       # restart 0, as Mixture.fit
    model = model_cls.from_statistics(_add(map_blocks((name, "init", C, K, key, None))), alpha)
    history = []
    converged = False
    with Progress(max_iter, unit="iterations", enabled=progress, desc="fit Mixture (blocks)") as bar:
        for it in range(max_iter):
            stats = _add(map_blocks((name, "em", C, K, None, model.get_params())))
            history.append(model.map_objective(stats["loglik"], stats["total"], alpha))
            bar.update(1)
            if it > 0 and history[-1] - history[-2] < tol * max(1.0, abs(history[-1])):
                converged = True
                break
            if it == max_iter - 1:
                break
            model = model_cls.from_statistics(stats, alpha)
    model.objective_history_ = history
    model.n_iter_ = len(history)
    model.converged_ = converged
    return model


def fit_in_blocks(model_cls, X, *, block_rows: int = 1 << 16, n_states: int | None = None, alpha=1.0,
                  n_components: int | None = None, rng=None, max_iter: int = 200, tol: float = 1e-6,
                  progress: bool = False):
    """Fit a model reading X block by block: X may be a ``numpy.memmap`` larger than memory.

    Parameters
    ----------
    model_cls : type
        ``fd.Factorized``, ``fd.ChowLiuTree`` or ``fd.Mixture``.
    X : array_like of int, shape (n, d)
        Read ``block_rows`` rows at a time (``np.load(path, mmap_mode="r")`` keeps it on disk).
    block_rows : int
        Rows per block (memory: one block, plus the statistics).
    n_states : int, optional
        C; by default ``max + 1`` found in one extra pass over the blocks.
    alpha, n_components, rng, max_iter, tol, progress
        As in the model's ``fit`` (``n_components`` for the mixture only; one restart).

    Returns
    -------
    Model
        Factorized and ChowLiuTree: equal to ``model_cls.fit(X)`` bit for bit; Mixture: to
        rounding (its float statistics are summed block by block).
    """
    if getattr(X, "ndim", None) != 2:
        X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty (n, d) array, got shape {X.shape}")
    step = check_positive_int(block_rows, "block_rows")
    n = X.shape[0]
    starts = range(0, n, step)
    if n_states is None:
        n_states = max(check_states(np.asarray(X[s:s + step]), "X")[1] for s in starts)

    def map_blocks(task):
        return [block_task(task, np.asarray(X[s:s + step]), s) for s in starts]

    return fit_from_blocks(model_cls, map_blocks, n_states, alpha=alpha, n_components=n_components, rng=rng,
                           max_iter=max_iter, tol=tol, progress=progress)
