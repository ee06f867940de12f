"""Model selection on a validation split: fit every setting of a grid, keep the best on valid."""
from __future__ import annotations

import contextlib
import functools
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._progress import Progress
from ._validation import check_positive_int, check_states
from .models._tables import distinct_rows
from .models.em import fit_keywords, validation_stop

__all__ = ["select", "Selection"]


@dataclass
class Selection:
    """Result of :func:`select`.

    Attributes
    ----------
    best : Model
        The model fitted with ``best_params`` (highest mean validation log-likelihood).
    best_params : dict
        Its setting of the grid.
    table : list of dict
        One row per setting, in grid order: the setting's parameters and ``train`` / ``valid``
        mean log-likelihoods (nats per sample) and ``fit_seconds``; with ``early_stopping``,
        ``n_iter`` too (EM iterations of the returned iterate, for models fitted by EM).
    """

    best: Any
    best_params: dict
    table: list = field(default_factory=list)

    def format(self) -> str:
        """The table as aligned text, best row marked with ``*``."""
        keys = list(dict.fromkeys(k for row in self.table for k in row["params"]))   # every grid's keys
        head = " ".join(f"{k:>14s}" for k in keys) + f" {'train':>10s} {'valid':>10s} {'fit s':>8s}"
        lines = [head]
        for row in self.table:
            mark = "*" if row["params"] == self.best_params else " "
            vals = " ".join(f"{row['params'].get(k, '-')!s:>14s}" for k in keys)
            lines.append(f"{vals} {row['train']:10.4f} {row['valid']:10.4f} {row['fit_seconds']:8.2f}{mark}")
        return "\n".join(lines)


def _settings(grid) -> list[dict]:
    """Every setting of ``grid``: the Cartesian product of a dict's values, or the products of
    a list of dicts one after the other (as scikit-learn's ``ParameterGrid``)."""
    if isinstance(grid, (list, tuple)) and grid:
        return [setting for g in grid for setting in _settings(g)]
    if not isinstance(grid, dict) or not grid:
        raise TypeError("grid must be a non-empty dict {parameter name: list of values} or a non-empty "
                        "list of such dicts")
    names = list(grid)
    values = []
    for k in names:
        v = grid[k]
        if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
            v = [v]
        v = list(v)
        if not v:
            raise ValueError(f"grid[{k!r}] is empty")
        values.append(v)
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


def select(model_cls, train, valid, grid: dict | list[dict], *, n_states: int | None = None, progress: bool = False,
           early_stopping: int | None = None, dedupe: bool = False, stop_on_decline: bool = False,
           **fit_kwargs) -> Selection:
    """Fit ``model_cls.fit(train, **setting, **fit_kwargs)`` for every setting of ``grid`` and keep
    the one with the highest mean log-likelihood on ``valid``.

    Parameters
    ----------
    model_cls : type
        A fastdgm model class (``fd.Factorized``, ``fd.Mixture``, ``fd.ChowLiuTree``, ...).
    train, valid : array_like of int, shape (n, d) and (m, d)
        Training and validation data, states in [0, C).
    grid : dict of str to list, or list of such dicts
        Keyword arguments of ``fit`` and the values to try (the Cartesian product is searched),
        e.g. ``{"alpha": [0.01, 0.1, 1.0]}``; a list of dicts searches each one's product in
        turn, e.g. ``[{"n_components": [1], "alpha": [0.1, 1.0]}, {"n_components": [10],
        "shrink": [0, 50]}]``.
    n_states : int, optional
        C, shared by both splits (default: the larger ``max + 1`` of the two).
    progress : bool
        A progress bar over the settings on stderr.
    early_stopping : int, optional
        Patience P: every fit of a model fitted by the EM engine (``"em"`` in its
        ``capabilities``: Mixture, TreeMixture, HiddenChowLiuTree) scores each EM iterate on
        ``valid``, stops once P iterations have passed without a gain on valid (a relative
        gain over 1e-4; or by its own stop rule, or at ``max_iter``) and returns its best
        iterate on valid (:func:`fastdgm.models.em.validation_stop`). Other models ignore it.
    dedupe : bool
        Fit on the distinct rows of ``train`` with their multiplicities as ``sample_weight``
        (the same weighted likelihood, so the same fits up to rounding and to seeded starts
        drawn per row; much faster on data with repeated rows), for models whose ``fit`` takes
        ``sample_weight`` (not also given in ``fit_kwargs``); ``train`` in the table is then
        the weighted mean over the distinct rows.
    stop_on_decline : bool
        Stop the search at the first setting whose valid score is below the previous
        setting's: for a grid ordered by model size (e.g. ``{"n_hidden": [16, 32, 64]}``),
        where the valid score rises to a peak and then falls, the larger settings past the
        peak are not fitted. ``table`` then lists the settings fitted.
    **fit_kwargs
        Passed to every fit (e.g. ``rng=0``); a key may not also be in ``grid``.

    Returns
    -------
    Selection
        ``best`` model, ``best_params`` and the ``table`` of every setting. Ties keep the
        first setting in grid order.

    Examples
    --------
    >>> import numpy as np, fastdgm as fd
    >>> X = np.random.default_rng(0).integers(0, 2, (200, 5))
    >>> sel = fd.select(fd.Factorized, X[:150], X[150:], {"alpha": [0.1, 1.0]})
    >>> sorted(sel.best_params)
    ['alpha']
    """
    settings = _settings(grid)
    both = {k for setting in settings for k in setting} & set(fit_kwargs)
    if both:
        raise ValueError(f"{sorted(both)} given both in grid and as fixed fit arguments")
    train, c_train = check_states(train, "train", n_states=n_states)
    valid, c_valid = check_states(valid, "valid", n_states=n_states, n_dims=train.shape[1])
    C = max(c_train, c_valid) if n_states is None else n_states
    if C != c_train:
        train = check_states(train, "train", n_states=C)[0]
    if C != c_valid:
        valid = check_states(valid, "valid", n_states=C)[0]
    weights = None
    if dedupe and "sample_weight" not in fit_kwargs and "sample_weight" in fit_keywords(model_cls):
        rows, counts = distinct_rows(train, np.empty(0))
        if counts.size:                     # else (over 90% distinct) the rows as they are
            train, weights = rows, counts
            fit_kwargs = {**fit_kwargs, "sample_weight": weights}
    if not isinstance(stop_on_decline, (bool, np.bool_)):
        raise TypeError(f"stop_on_decline must be a bool, got {type(stop_on_decline).__name__}")
    stop = None
    if early_stopping is not None:      # checked whatever the model: a bad value is an error, not ignored
        patience = check_positive_int(early_stopping, "early_stopping")
        if "em" in getattr(model_cls, "capabilities", ()):
            stop = functools.partial(validation_stop, valid, patience)
    table, best, best_params, best_score = [], None, None, -np.inf
    with Progress(len(settings), unit="fits", enabled=progress, desc=f"select {model_cls.__name__}") as bar:
        for setting in settings:
            t0 = time.perf_counter()
            with stop() if stop is not None else contextlib.nullcontext():
                model = model_cls.fit(train, n_states=C, **setting, **fit_kwargs)
            dt = time.perf_counter() - t0
            score = model.score(valid)
            fit_ll = (model.score(train) if weights is None else
                      float(np.average(model.log_prob(train), weights=weights)))
            table.append({"params": setting, "train": fit_ll, "valid": score, "fit_seconds": dt})
            if stop is not None:
                table[-1]["n_iter"] = model.n_iter_
            if best is None or score > best_score:
                best, best_params, best_score = model, setting, score
            bar.update(1)
            if stop_on_decline and len(table) > 1 and score < table[-2]["valid"]:
                break
    assert best_params is not None
    return Selection(best=best, best_params=best_params, table=table)
