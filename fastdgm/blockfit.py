"""Fits from blocks of rows: out-of-core on one machine (memory-mapped arrays), and the same
reduction behind :func:`fastdgm.dask.fit`.

A fit is a reduction of statistics over blocks, added in block order. Every model that
declares the ``"statistics"`` capability fits this way, dispatched by its protocol, never by
its name: a one-pass model (``Factorized``, ``ChowLiuTree``) by ``sufficient_statistics`` ->
``from_statistics``; an EM model (``"em"``: ``Mixture``, ``TreeMixture``,
``HiddenChowLiuTree``) through the one EM engine (:mod:`fastdgm.models.em`), one pass per
iteration (plus its start's passes); ``BayesianNetwork`` counts the tables of the DAG given as
``parents=`` (its structure search needs all rows in memory). Unweighted counts are exact integers, so ``Factorized``,
``ChowLiuTree`` and ``BayesianNetwork`` equal the in-memory fit bit for bit; the EM models' float sums are added
in another order than in memory (unless there is one block), so their parameters agree to
rounding (about 1e-12 relative), after the same iterations.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._validation import as_float_array, check_positive_int, check_states

__all__ = ["fit_in_blocks", "fit_from_blocks", "block_task", "BLOCK_FITTABLE", "block_fittable"]  # noqa: F822 - BLOCK_FITTABLE is served by __getattr__


def block_fittable() -> tuple[str, ...]:
    """Names of the model classes :func:`fit_in_blocks` and :func:`fastdgm.dask.fit` can fit:
    the registered models with the ``"statistics"`` capability."""
    from .models.base import registered_models

    return tuple(registered_models("statistics"))


def __getattr__(name: str):
    if name == "BLOCK_FITTABLE":        # derived from the registry on use (models import lazily)
        return block_fittable()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def block_task(task: tuple, X, start: int, sample_weight=None) -> dict:
    """Statistics of one block of rows (a pure function: runs on a dask worker as well).

    ``task`` is a frozen task of the EM engine, ``(what, target, kwargs)`` with the class by
    name and a model as ``(name, params)``: see :func:`fastdgm.models.em.run_task`.
    """
    from .models.em import run_task, thaw_task

    w = None if sample_weight is None else np.asarray(sample_weight)
    return run_task(thaw_task(task), np.asarray(X), int(start), w)


def _fit_options(model_cls: Any, hyper: dict) -> dict:
    """The keywords of ``model_cls.fit`` that a block fit takes (not those about X in memory),
    with their defaults, updated by ``hyper``; TypeError for any other."""
    from .models.em import fit_keywords

    allowed = {k: v for k, v in fit_keywords(model_cls).items() if k not in ("sample_weight", "dedupe")}
    unknown = sorted(set(hyper) - set(allowed))
    if unknown:
        raise TypeError(f"{model_cls.__name__} block fits take {', '.join(sorted(allowed))}; got {unknown}")
    return {**allowed, **hyper}


def fit_from_blocks(model_cls: Any, map_blocks: Callable[[tuple], list], n_states: int, **hyper):
    """Fit ``model_cls`` from per-block statistics; ``map_blocks(task)`` returns the list of
    :func:`block_task` results of every block, in block order (locally or on a cluster).

    Parameters
    ----------
    model_cls : type
        A registered model with the ``"statistics"`` capability (:func:`block_fittable`).
    map_blocks : callable
        ``map_blocks(task)``: the list (or a generator) of the blocks' statistics dicts.
    n_states : int
        C.
    **hyper
        Keywords of ``model_cls.fit`` (its defaults otherwise), except ``sample_weight`` and
        ``dedupe``.

    Returns
    -------
    Model
    """
    from .models.em import MappedBlocks

    if "statistics" not in getattr(model_cls, "capabilities", ()):
        raise TypeError(f"{getattr(model_cls, '__name__', model_cls)} cannot be fitted block by block; "
                        f"supported: {', '.join(block_fittable())}")
    C = check_positive_int(n_states, "n_states")
    return MappedBlocks(map_blocks, C).fit(model_cls, **_fit_options(model_cls, hyper))


def fit_in_blocks(model_cls, X, *, block_rows: int = 1 << 16, n_states: int | None = None, sample_weight=None,
                  **hyper):
    """Fit a model reading X block by block: X may be a ``numpy.memmap`` larger than memory.

    Parameters
    ----------
    model_cls : type
        A model with the ``"statistics"`` capability: ``fd.Factorized``, ``fd.ChowLiuTree``,
        ``fd.Mixture``, ``fd.TreeMixture``, ``fd.HiddenChowLiuTree``, ``fd.BayesianNetwork``
        (given ``parents=``) (:func:`block_fittable`).
    X : array_like of int, shape (n, d)
        Read ``block_rows`` rows at a time (``np.load(path, mmap_mode="r")`` keeps it on disk).
    block_rows : int
        Rows per block (memory: one block, plus the statistics).
    n_states : int, optional
        C; by default ``max + 1`` found in one extra pass over the blocks.
    sample_weight : array_like of float, shape (n,), optional
        Row weights (may be memory-mapped too: read block by block).
    **hyper
        Keywords of ``model_cls.fit`` (``alpha``, ``n_components``, ``rng``, ``max_iter``,
        ``tol``, ``n_init``, ``progress``, ...), with the same defaults; not ``dedupe``.

    Returns
    -------
    Model
        Factorized, ChowLiuTree, BayesianNetwork: equal to ``model_cls.fit(X)`` bit for bit; the EM models
        equal ``model_cls.fit(X)`` (HiddenChowLiuTree: ``fit(X, dedupe=False)``) bit for bit
        with one block, to rounding with several (their float statistics are summed block by
        block), after the same iterations.
    """
    if getattr(X, "ndim", None) != 2:
        X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty (n, d) array, got shape {X.shape}")
    step = check_positive_int(block_rows, "block_rows")
    n = X.shape[0]
    starts = range(0, n, step)
    if sample_weight is not None:
        sample_weight = as_float_array(sample_weight, "sample_weight", ndim=1) if not isinstance(
            sample_weight, np.memmap) else sample_weight
        if sample_weight.shape != (n,):
            raise ValueError(f"sample_weight must have one entry per row of X ({n}), got shape "
                             f"{sample_weight.shape}")
    if n_states is None:
        n_states = max(check_states(np.asarray(X[s:s + step]), "X")[1] for s in starts)

    def map_blocks(task):               # a generator: one block's statistics at a time
        return (block_task(task, np.asarray(X[s:s + step]), s,
                           None if sample_weight is None else np.asarray(sample_weight[s:s + step]))
                for s in starts)

    return fit_from_blocks(model_cls, map_blocks, n_states, **hyper)
