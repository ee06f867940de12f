"""The fit half of the model contract: class-only ``fit`` methods that validate X once, map the
positional calls of 0.1 to keywords, and check hyper-parameters before allocating.

:class:`~fastdgm.models.base.Model` wraps every ``@classonlymethod fit`` of a subclass in a
:class:`FitMethod`; a model's author writes an ordinary classmethod annotated with the public
types and starts it with ``X, C = fit_data(X, n_states)``.
"""
from __future__ import annotations

import functools
import inspect
import warnings
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

__all__ = ["classonlymethod", "FitMethod", "fit_data", "set_table_model", "table_model"]

# How a DataFrame or Arrow table reaches fastdgm.table: the package (fastdgm/__init__.py)
# registers a provider of ``TableModel`` on import, so the models never import the table layer
# (which imports the models): the dependency points one way only.
_TABLE_MODEL: list[Callable[[], Any]] = []


def set_table_model(provider: Callable[[], Any]) -> None:
    """Register the provider of the table layer's model class.

    Parameters
    ----------
    provider : callable
        ``provider()`` returns :class:`fastdgm.table.TableModel` (importing it on first use:
        pandas is imported only when a table is passed). A later call replaces the earlier one.
    """
    if not callable(provider):
        raise TypeError(f"provider must be callable, got {type(provider).__name__}")
    _TABLE_MODEL[:] = [provider]


def table_model() -> Any:
    """The table layer's model class (:class:`fastdgm.table.TableModel`), from the registered provider.

    Returns
    -------
    type
        The class whose ``fit(cls, df, **kw)`` and ``from_params(params)`` handle tables.
    """
    if not _TABLE_MODEL:
        raise TypeError("a DataFrame or Arrow table needs fastdgm.table, which is not registered "
                        "(import fastdgm first)")
    return _TABLE_MODEL[0]()


if TYPE_CHECKING:          # type checkers see a classmethod
    classonlymethod = classmethod
else:
    class classonlymethod(classmethod):
        """``classmethod`` that refuses to be called on an instance.

        Every model's ``fit`` is a constructor, ``Model.fit(X, ...) -> Model``: it returns a new
        fitted model. Called on an instance (``m.fit(X)``) it would return that new model and
        leave ``m`` unchanged, a silent trap; this descriptor makes it a ``TypeError`` instead.
        Use it as ``@classonlymethod`` in place of ``@classmethod``.
        """

        def __get__(self, instance, owner=None):
            if instance is None:
                return super().__get__(instance, owner)
            func = self.__func__
            cls = owner if owner is not None else type(instance)

            @functools.wraps(func)
            def refuse(*args, **kwargs):
                raise TypeError(f"{func.__name__} is a classmethod that returns a new model: use "
                                f"fd.{cls.__name__}.{func.__name__}(X, ...), not "
                                f"model.{func.__name__}(X) on an instance (which would leave the "
                                f"instance unchanged)")
            return refuse


def _is_table(X) -> bool:
    """A pandas DataFrame or an Arrow table (checked by module name: neither is imported)."""
    mod = type(X).__module__ or ""
    return (mod.startswith("pandas") or mod.startswith("pyarrow")) and hasattr(X, "columns")


class FitMethod(classonlymethod):
    """A model's ``fit`` under the contract: what :class:`~fastdgm.models.base.Model` makes of
    the ``@classonlymethod fit`` a subclass declares.

    Called on the class, ``Model.fit(X, n_states=None, *, **hyper)``: X is validated once by
    ``Model._check_fit_data`` (C-contiguous, the smallest unsigned dtype holding C),
    ``Model._check_fit_params`` refuses hyper-parameters that do not fit the data or the memory,
    and the body runs with that X and the resolved n_states (an int; :func:`fit_data` types
    them for type checkers). A DataFrame or Arrow table X goes through :mod:`fastdgm.table`. A
    fit nested in another calls ``Other.fit.validated(X, C, ...)`` to skip the second scan. A
    positional call of 0.1 is mapped to keywords by the class's ``fit_legacy_args`` with a
    ``FutureWarning``, so an old call keeps its meaning.
    """

    def __init__(self, body: Callable, legacy: tuple[str, ...]):
        super().__init__(body)
        self.legacy = legacy

    def __get__(self, instance, owner=None):
        bound = super().__get__(instance, owner)
        if instance is not None:
            return bound                    # the refusing stub of classonlymethod
        cls = owner
        body = self.__func__
        legacy = self.legacy

        @functools.wraps(body)
        def fit(X, *args, **kwargs):
            if args:
                kwargs = _legacy_positional(cls, legacy, args, kwargs)
            if _is_table(X):
                return table_model().fit(cls, X, **kwargs)
            n_states = kwargs.pop("n_states", None)
            Xv, C = cls._check_fit_data(X, n_states)
            cls._check_fit_params(Xv, C, kwargs)
            return body(cls, Xv, C, **kwargs)

        def validated(X, n_states, **kwargs):
            """The fit of X already validated by an enclosing fit (no second scan)."""
            return body(cls, X, n_states, **kwargs)

        fit.validated = validated
        fit.__signature__ = _public_signature(body)
        return fit


def _public_signature(body: Callable) -> inspect.Signature:
    """``fit``'s signature as users call it: ``(X, n_states=None, *, ...)``."""
    params = list(inspect.signature(body).parameters.values())[1:]      # drop cls
    X, C, rest = params[0], params[1], params[2:]
    C = C.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)
    return inspect.Signature([X, C, *rest])


def _legacy_positional(cls, legacy: tuple[str, ...], args: tuple, kwargs: dict) -> dict:
    """Map a 0.1 positional call to keywords, with a FutureWarning when it is not just
    ``fit(X, n_states)``."""
    if len(args) > len(legacy):
        raise TypeError(f"{cls.__name__}.fit takes X and n_states positionally, the rest by keyword; "
                        f"got {1 + len(args)} positional arguments")
    named = dict(zip(legacy, args))
    both = set(named) & set(kwargs)
    if both:
        raise TypeError(f"{cls.__name__}.fit got multiple values for {sorted(both)}")
    if list(named) != ["n_states"]:
        call = ", ".join(f"{k}={v!r}" for k, v in named.items())
        warnings.warn(f"{cls.__name__}.fit: hyper-parameters are keyword-only after (X, n_states); "
                      f"call {cls.__name__}.fit(X, {call}) (positional calls stop working in 0.3)",
                      FutureWarning, stacklevel=3)
    return {**named, **kwargs}


def fit_data(X: Any, n_states: Any) -> tuple[np.ndarray, int]:
    """The (X, n_states) a ``fit`` body receives, typed for type checkers (no work: the body is
    annotated with the public types, and :class:`FitMethod` has validated both)."""
    return X, n_states
