"""One model kind fitted by name (``fastdgm fit KIND``), from the registered model classes.

The kinds are the ``kind`` of every registered class (:func:`fastdgm.models.base.model_kinds`),
the options a kind takes are the keyword-only parameters of its ``fit``, and the kinds that fit
block by block are those declaring the ``"statistics"`` capability: nothing here names a model.
"""
from __future__ import annotations

import inspect
from typing import Any

from ._io import CLIError

__all__ = ["fit_model", "model_class", "fit_kinds", "block_kinds", "fit_parameters", "check_options"]


def fit_kinds() -> dict[str, Any]:
    """The model classes of ``fastdgm fit``, by kind (registry order)."""
    from .models.base import model_kinds

    return model_kinds()


def block_kinds() -> tuple[str, ...]:
    """Kinds that fit block by block from a memory-mapped file (``--block-rows``)."""
    return tuple(k for k, c in fit_kinds().items() if "statistics" in c.capabilities)


def model_class(kind: str) -> Any:
    """The model class of a ``fastdgm fit`` kind.

    Raises
    ------
    CLIError
        If no registered model has that kind.
    """
    kinds = fit_kinds()
    if kind not in kinds:
        raise CLIError(f"unknown model kind {kind!r}; the kinds are: {', '.join(kinds)}")
    return kinds[kind]


def fit_parameters(cls) -> dict[str, inspect.Parameter]:
    """The keyword-only hyper-parameters of ``cls.fit``, by name."""
    return {n: p for n, p in inspect.signature(cls.fit).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY}


def check_options(kind: str, options: dict[str, Any], *, flags: dict[str, str] | None = None) -> None:
    """CLIError when an option is not a hyper-parameter of the kind's ``fit``.

    Parameters
    ----------
    kind : str
    options : dict
        Hyper-parameter name -> value.
    flags : dict, optional
        Hyper-parameter name -> the command-line flag that set it (for the message).
    """
    params = fit_parameters(model_class(kind))
    flags = flags or {}
    for name in options:
        if name not in params:
            raise CLIError(f"{flags.get(name, name)} does not apply to {kind} (its fit takes: "
                           f"{', '.join(params)})")


def fit_model(kind: str, X, *, n_states=None, progress: bool = False, **options):
    """Fit one model kind on X with the given hyper-parameters (shared by ``fit`` and ``demo``).

    Parameters
    ----------
    kind : str
        A registered model kind (``fastdgm info`` lists them).
    X : ndarray of int, shape (n, d)
        Training data.
    n_states : int, optional
        C (default: ``X.max() + 1``).
    progress : bool
        Show a progress bar of the fit on stderr (every kind: a one-step bar for fits that
        have no iterations).
    **options
        Keyword-only hyper-parameters of the kind's ``fit``.

    Returns
    -------
    Model
        The fitted model.
    """
    from ._progress import Progress

    cls = model_class(kind)
    check_options(kind, options)
    if "progress" in fit_parameters(cls):
        return cls.fit(X, n_states=n_states, progress=progress, **options)
    with Progress(1, unit="fit", enabled=progress, desc=f"fit {cls.__name__}") as bar:
        model = cls.fit(X, n_states=n_states, **options)
        bar.update(1)
    return model
