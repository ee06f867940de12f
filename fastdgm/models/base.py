"""The contract every explicit-likelihood model follows, declared once, and saving/loading models.

A model holds its parameters like a frozen scipy distribution: every public array attribute
is read-only (:meth:`Model.__setattr__`), so cached derived tables (sampler levels, packed
tables) never go out of step with the parameters. A subclass implements

- ``n_dims``, ``n_states``, ``get_params`` and ``from_params`` (validating untrusted arrays);
- ``_log_prob(X)`` (X already validated) and, with the ``"missing"`` capability,
  ``_log_prob_missing(X, missing)`` and ``_fill(X, missing, key)``: the public
  ``log_prob(X, missing=None)`` and ``fill`` live here, with their checks and docstrings;
- for exact samplers, ``sample_rows(key, start, n)``: rows ``[start, start + n)`` of the sample
  that ``sample(N, rng)`` draws with ``key = make_key(rng)``. A block of rows depends only on
  (key, start, n): that is the hook :mod:`fastdgm.dask` uses to draw blocks on workers;
- ``fit`` as a ``@classonlymethod`` ``fit(cls, X, n_states=None, *, **hyper)`` starting with
  ``X, C = fit_data(X, n_states)``: the base makes it a :class:`~._contract.FitMethod`, which
  validates X once (nested fits call ``Other.fit.validated``), refuses hyper-parameters that do
  not fit the data or the memory before allocating, and maps the positional calls of 0.1
  (``fit_legacy_args``) to keywords with a ``FutureWarning``;
- ``example(rng)``: a small fitted model and data, which the conformance suite
  (``tests/test_conformance.py``), :func:`fastdgm.warmup` and the docs use.

What a model can do is declared as data on the class (:attr:`Model.capabilities`,
:attr:`Model.kind`), and every registry (CLI kinds and options, warm-up, block and dask fits,
missing values, the density-benchmark grids, :func:`load`) is derived from the registered
classes (:func:`registered_models`), never kept by hand.

To add a model: one file in ``fastdgm/models/`` with a class decorated with
:func:`register_model`, its module named in ``MODEL_MODULES`` (``fastdgm/models/__init__.py``),
kernels in ``fastdgm/kernels/``.

One rule for fitting, for every model: ``fit`` is a classmethod constructor,
``Model.fit(X, ...) -> Model``; ``model.fit(X)`` on an instance raises ``TypeError`` (it would
return a new model and leave ``model`` unchanged).

Model files are untrusted input: :func:`load` reads only arrays (no pickles) of a bounded total
size, and ``from_params`` validates each one (shapes against each other, dtypes, ranges,
finiteness, normalisation) before any kernel can see it.
"""
from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from .._rng import make_key
from .._typing import ArrayLike, FloatArray, IntArray, PathLike, Seed
from .._memory import check_memory
from .._validation import check_positive_int, check_size, check_states
from ._contract import FitMethod, classonlymethod, fit_data
from ._model_files import MAX_FILE_BYTES, atomic_savez, read_model_file
from ._registry import (CAPABILITIES, _MODELS, _import_models, model_kinds, register_model,
                        registered_models, unregister_model)

__all__ = ["Model", "load", "register_model", "registered_models", "atomic_savez", "sample_shape",
           "classonlymethod", "fit_data", "CAPABILITIES", "MAX_FILE_BYTES", "model_kinds",
           "unregister_model"]

class Model:
    """Base class of explicit-likelihood models over X of shape (n, d), states in [0, C).

    ``fit`` is a classmethod constructor on every model: ``fd.Factorized.fit(X)`` returns a new
    fitted model; calling it on an instance raises ``TypeError`` (see :class:`classonlymethod`).
    A subclass method or property without a docstring takes the protocol's docstring from
    here (so the documentation of every model is complete).
    """

    kind: ClassVar[str | None] = None
    """The name of the model family in ``fastdgm fit KIND`` (None: not fitted from the CLI)."""
    capabilities: ClassVar[frozenset[str]] = frozenset()
    """What the model can do, from :data:`CAPABILITIES`; every registry reads it."""
    state_table: ClassVar[tuple[str, int] | None] = None
    """(parameter of :meth:`get_params` whose last axis is a column's state, its column axis):
    how :mod:`fastdgm.table` gives zero probability to the states a column does not have."""
    example_params: ClassVar[dict[str, Any]] = {}
    """Hyper-parameters of :meth:`example`'s small fit (fast: a few EM iterations)."""
    block_fit_requires: ClassVar[tuple[str, ...]] = ()
    """Keywords of ``fit`` a block fit needs, each a fitted model's attribute (BN: ``parents``)."""

    def __setattr__(self, name: str, value) -> None:
        # parameters are frozen like a scipy distribution's: a read-only view, so writing into
        # m.log_probs cannot desynchronise log_prob from cached sampler tables (private
        # attributes, the caches themselves, stay as set)
        if isinstance(value, np.ndarray) and not name.startswith("_"):
            value = value.view()
            value.flags.writeable = False
        object.__setattr__(self, name, value)

    fit_legacy_args: ClassVar[tuple[str, ...]] = ("n_states",)
    """The positional parameters after X of this model's ``fit`` in 0.1, in order (see
    :class:`~fastdgm.models._contract.FitMethod`)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        fit = vars(cls).get("fit")
        if (isinstance(fit, classonlymethod) and not isinstance(fit, FitMethod)
                and list(inspect.signature(fit.__func__).parameters)[2:3] == ["n_states"]):
            cls.fit = FitMethod(fit.__func__, cls.fit_legacy_args)
        for name, member in vars(cls).items():
            if name.startswith("_"):
                continue
            target = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
            if getattr(target, "__doc__", None):
                continue
            for base in cls.__mro__[1:]:
                doc = getattr(vars(base).get(name), "__doc__", None)
                if doc:
                    try:
                        target.__doc__ = doc
                    except (AttributeError, TypeError):  # pragma: no cover - read-only doc
                        pass
                    break

    @property
    def n_dims(self) -> int:  # pragma: no cover - abstract
        """Number of components d of a sample."""
        raise NotImplementedError

    @property
    def n_states(self) -> int:  # pragma: no cover - abstract
        """Number of states C of each component."""
        raise NotImplementedError

    def log_prob(self, X: ArrayLike, missing: ArrayLike | None = None) -> FloatArray:
        """Log-probability of each row of X.

        Parameters
        ----------
        X : array_like of int, shape (n, d)
            States in [0, C); entries flagged in ``missing`` are ignored (any value).
        missing : array_like of bool, shape (n, d), optional
            True marks a missing entry: the result is then the exact marginal log-probability
            of the observed entries of each row (the missing ones summed out; a row with every
            entry missing gets 0). Models with the ``"missing"`` capability.

        Returns
        -------
        ndarray of float64, shape (n,)
            ``log P(x)`` of each row; -inf for a row of probability zero.
        """
        if missing is None:
            return self._log_prob(X)
        self._require("missing", "missing values (log_prob(X, missing=...))")
        return self._log_prob_missing(X, missing)

    def _log_prob(self, X: ArrayLike) -> FloatArray:  # pragma: no cover - abstract
        """log P(x) of each row of X (validated here: X is what the user passed)."""
        raise NotImplementedError

    def _log_prob_missing(self, X: ArrayLike, missing: ArrayLike) -> FloatArray:
        """The exact marginal of the observed entries (default: :mod:`._missing` on
        :meth:`_missing_form`)."""
        from ._missing import log_prob_missing

        return log_prob_missing(self, X, missing)

    def _fill(self, X: ArrayLike, missing: ArrayLike, rng: Seed) -> IntArray:
        """Exact conditional fill (default: :mod:`._missing` on :meth:`_missing_form`)."""
        from ._missing import fill

        return fill(self, X, missing, rng)

    def _missing_form(self) -> tuple:  # pragma: no cover - abstract
        """The model as a mixture of factorized or tree tables for :mod:`._missing`:
        ``("mixture", T (d, C, K), log_weights (K,), levels (K, d, C))`` or
        ``("tree", log_cond (K, d, C, C), kparent (K, d), orders (K, d), log_weights (K,))``."""
        raise NotImplementedError

    def _require(self, capability: str, what: str) -> None:
        if capability not in self.capabilities:
            have = [c for c in registered_models(capability)]
            raise TypeError(f"{type(self).__name__} does not support {what}; models that do: "
                            f"{', '.join(have)}")

    def sample(self, size: int | tuple[int, ...], rng: Seed = None) -> IntArray:
        """Draw samples, shape ``size + (d,)``, smallest unsigned dtype holding C.

        The result depends only on the seed, never on the thread count: row i (in C order
        of ``size``) is ``sample_rows(make_key(rng), i, 1)``.

        Parameters
        ----------
        size : int or tuple of int
            Number of samples n (shape (n, d)), or a shape like ``categorical``'s ``size``:
            ``(n,)`` gives the same (n, d) array as ``n``, ``(a, b)`` an (a, b, d) array.
        rng : None, int, SeedSequence, BitGenerator or Generator
            SPEC 7 seed.

        Returns
        -------
        ndarray
            The samples, shape ``size + (d,)``.
        """
        shape = sample_shape(size)
        n = int(np.prod(shape, dtype=np.int64))
        return self.sample_rows(make_key(rng), 0, n).reshape(shape + (self.n_dims,))

    def entropy_estimate(self, n: int = 100_000, rng: Seed = None):
        """Monte-Carlo entropy: -(1/n) sum log P(x^i) over n samples of the model, in nats.

        For models whose entropy has no closed form (mixtures, latent trees): unbiased, with
        a standard error from the sample variance.

        Parameters
        ----------
        n : int
            Number of samples (>= 2).
        rng : SPEC 7 seed

        Returns
        -------
        fastdgm.Estimate
            A float with ``stderr`` and ``n``.
        """
        from .._estimate import entropy_estimate

        n = check_positive_int(n, "n", minimum=2)
        return entropy_estimate(self.log_prob(self.sample(n, rng=rng)))

    def fill(self, X, missing, rng=None) -> np.ndarray:
        """Copy of X whose missing entries are drawn from their exact conditional distribution
        given the observed entries of the row (one joint draw per row).

        Parameters
        ----------
        X : array_like of int, shape (n, d)
            States where ``missing`` is False; anything (ignored) where it is True.
        missing : array_like of bool, shape (n, d)
            True marks a missing entry.
        rng : SPEC 7 seed

        Returns
        -------
        ndarray, shape (n, d)
            X's dtype when it holds every state; the observed entries unchanged.

        Raises
        ------
        ValueError
            If the observed entries of a row have probability 0 (nothing to condition on).
        """
        self._require("missing", "missing values (fill)")
        return self._fill(X, missing, rng)

    def sample_rows(self, key: int | np.uint64, start: int, n: int) -> IntArray:  # pragma: no cover - abstract
        """Rows ``[start, start + n)`` of the sample drawn with the 64-bit ``key``.

        Parameters
        ----------
        key : int or numpy.uint64
            The stream key (``make_key(rng)``).
        start : int
            Index of the first row.
        n : int
            Number of rows.

        Returns
        -------
        ndarray
            Shape (n, d), smallest unsigned dtype holding C.
        """
        raise NotImplementedError(f"{type(self).__name__} has no exact block sampler")

    def score(self, X: ArrayLike) -> float:
        """Mean log-likelihood per sample of X, in nats (``log_prob(X).mean()``).

        Parameters
        ----------
        X : array_like of int, shape (n, d)
            States in [0, C).

        Returns
        -------
        float
            The mean of ``log_prob(X)``.
        """
        lp = self.log_prob(X)
        return float(np.mean(lp, dtype=np.float64))

    def entropy(self) -> float:  # pragma: no cover - abstract
        """Exact entropy in nats, where the model allows it.

        Returns
        -------
        float
            ``-sum_x P(x) log P(x)``.
        """
        raise NotImplementedError(f"{type(self).__name__} has no exact entropy")

    # --- fitting -------------------------------------------------------------------------
    @classmethod
    def _check_fit_data(cls, X, n_states: int | None) -> tuple[np.ndarray, int]:
        """X of a fit, validated once: (X compact and C-contiguous, C)."""
        return check_states(X, "X", n_states=n_states)

    @classmethod
    def _check_fit_params(cls, X: np.ndarray, n_states: int, params: dict) -> None:
        """Refuse hyper-parameters that do not fit the data or the memory, before allocating.

        The default checks ``n_components`` (no more than the rows, as scikit-learn does) and
        the bytes :meth:`_fit_bytes` estimates against :func:`fastdgm._memory.available_memory`.
        """
        n = X.shape[0]
        K = params.get("n_components")
        if K is not None:
            K = check_positive_int(K, "n_components")
            if K > n:
                raise ValueError(f"n_components={K} must be at most the number of rows of X ({n})")
        estimate = cls._fit_bytes(X.shape, n_states, params)
        if estimate is not None:
            nbytes, name = estimate
            check_memory(nbytes, name, params.get(name), f"{cls.__name__}.fit")

    @classmethod
    def _fit_bytes(cls, shape: tuple[int, int], n_states: int, params: dict) -> tuple[float, str] | None:
        """(bytes a fit allocates, the parameter that drives it), or None if small."""
        return None

    @classmethod
    def density_grid(cls, n: int, d: int) -> tuple[dict[str, list], dict[str, Any]] | None:
        """The selection grid of ``fastdgm bench --density`` on a training set of n rows and d
        columns: (grid searched on the validation split, a dict or a list of dicts as
        :func:`fastdgm.select` takes, fixed keyword arguments of :func:`fastdgm.select`: the
        fit's hyper-parameters, and select's own options such as ``stop_on_decline`` for a grid
        ordered by model size), or None to leave the model out of the table.

        Parameters
        ----------
        n, d : int
            Rows and columns of the training split.

        Returns
        -------
        tuple of (dict or list of dict, dict) or None
        """
        return None

    @classmethod
    def example(cls, rng: Seed = 0) -> tuple[Model, np.ndarray]:
        """A small fitted model and the data it was fitted on (tests, warm-up, docs).

        Parameters
        ----------
        rng : SPEC 7 seed
            Seed of the data.

        Returns
        -------
        model : Model
            Fitted with :attr:`example_params` on the data.
        X : ndarray of uint8, shape (n, d)
            States in [0, model.n_states).
        """
        g = np.random.default_rng(rng)
        z = g.integers(0, 2, size=(240, 1))
        X = ((z + (g.random((240, 5)) < 0.25)) % 3).astype(np.uint8)     # correlated columns, C = 3
        return getattr(cls, "fit")(X, n_states=3, **cls.example_params), X

    # --- persistence ---------------------------------------------------------------------
    def get_params(self) -> dict[str, np.ndarray]:  # pragma: no cover - abstract
        """Arrays and scalars that define the model (numpy-serialisable).

        Returns
        -------
        dict
            Name -> array; :meth:`from_params` rebuilds the model from it.
        """
        raise NotImplementedError

    @classmethod
    def from_params(cls, params: Mapping[str, np.ndarray]) -> Model:  # pragma: no cover - abstract
        """The model defined by ``params`` (as returned by :meth:`get_params`), validated.

        Parameters
        ----------
        params : dict
            Name -> array, as :meth:`get_params` returns them (e.g. read from a file).

        Returns
        -------
        Model
            A model of this class.
        """
        raise NotImplementedError

    def save(self, path: PathLike) -> None:
        """Save the model to an ``.npz`` file, written whole or not at all.

        Parameters
        ----------
        path : str or os.PathLike
            Destination; the file is written to a temporary name in the same directory
            and renamed, so a killed process never leaves a half-written model.
        """
        params = {k: np.asarray(v) for k, v in self.get_params().items()}
        params["__model__"] = np.asarray(type(self).__name__)
        atomic_savez(path, **params)

    def __repr__(self) -> str:
        try:
            return f"{type(self).__name__}(n_dims={self.n_dims}, n_states={self.n_states})"
        except Exception:  # pragma: no cover
            return f"{type(self).__name__}()"


def sample_shape(size) -> tuple:
    """The shape of the samples asked for by ``size`` (an int n or a tuple), without the d axis.

    Parameters
    ----------
    size : int or tuple of int
        As :meth:`Model.sample` takes it.

    Returns
    -------
    tuple of int
        ``(n,)`` for an int n, else ``size`` as a tuple.
    """
    if size is None:
        raise TypeError("size must be an int or a tuple of ints, got None")
    shape = check_size(size, "size")
    assert shape is not None
    return shape


def load(path: PathLike) -> Model:
    """Load a model saved with ``Model.save``.

    Parameters
    ----------
    path : str or os.PathLike
        An ``.npz`` file written by :meth:`Model.save`.

    Returns
    -------
    Model
        The model, of the class named in the file.
    """
    _import_models()     # every model class registered
    name, params = read_model_file(os.fspath(path))
    if any(k.startswith("table__") for k in params):     # a model fitted on a table, with its encoder
        from ._contract import table_model

        return table_model().from_params({"__model__": np.asarray(name), **params})
    if name not in _MODELS:
        raise ValueError(f"{os.fspath(path)}: unknown model type {name!r} (known: "
                         f"{', '.join(sorted(_MODELS))})")
    return _MODELS[name].from_params(params)
