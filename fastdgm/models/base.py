"""The protocol every explicit-likelihood model shares, and saving/loading models.

A model holds its parameters like a frozen scipy distribution. Subclasses implement
``log_prob``, ``n_dims``, ``n_states``, ``get_params`` and ``from_params`` and, for exact
samplers, ``sample_rows(key, start, n)``: rows ``[start, start + n)`` of the sample that
``sample(N, rng)`` draws with ``key = make_key(rng)``. A block of rows therefore depends only
on (key, start, n): that is the hook :mod:`fastdgm.dask` uses to draw blocks on workers.
``sample``, ``score``, ``save`` and :func:`load` come from here.

To add a model: one file in ``fastdgm/models/``, a class decorated with
:func:`register_model` (so :func:`load` finds it), kernels in ``fastdgm/kernels/``.
"""
from __future__ import annotations

import os

import numpy as np

from .._atomic import atomic_output
from .._rng import make_key
from .._validation import check_size

__all__ = ["Model", "load", "register_model", "registered_models", "atomic_savez", "sample_shape"]

_MODELS: dict[str, type] = {}


def register_model(cls):
    """Class decorator: make ``cls`` loadable by :func:`load` under its class name."""
    _MODELS[cls.__name__] = cls
    return cls


def registered_models() -> dict[str, type]:
    """Every model class :func:`load` knows, by class name (imports all models first)."""
    _import_models()
    return dict(_MODELS)


def _import_models() -> None:
    import importlib

    from . import MODEL_MODULES

    for mod in MODEL_MODULES:
        importlib.import_module(f"{__package__}.{mod}")


class Model:
    """Base class of explicit-likelihood models over X of shape (n, d), states in [0, C).

    A subclass method or property without a docstring takes the protocol's docstring from
    here (so the documentation of every model is complete).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
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

    def log_prob(self, X) -> np.ndarray:  # pragma: no cover - abstract
        """Log-probability of each row of X.

        Parameters
        ----------
        X : array_like of int, shape (n, d)
            States in [0, C).

        Returns
        -------
        ndarray of float64, shape (n,)
            ``log P(x)`` of each row.
        """
        raise NotImplementedError

    def sample(self, size, rng=None) -> np.ndarray:
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
        from ._missing import fill

        return fill(self, X, missing, rng)

    def sample_rows(self, key, start: int, n: int) -> np.ndarray:  # pragma: no cover - abstract
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

    def score(self, X) -> float:
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

    # --- persistence ---------------------------------------------------------------------
    def get_params(self) -> dict:  # pragma: no cover - abstract
        """Arrays and scalars that define the model (numpy-serialisable).

        Returns
        -------
        dict
            Name -> array; :meth:`from_params` rebuilds the model from it.
        """
        raise NotImplementedError

    @classmethod
    def from_params(cls, params: dict):  # pragma: no cover - abstract
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

    def save(self, path) -> None:
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
    return check_size(size, "size")


def atomic_savez(path, **arrays) -> None:
    """``numpy.savez`` to ``path`` through a temporary file and an atomic rename."""
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def load(path) -> Model:
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

    f = np.load(os.fspath(path), allow_pickle=False)
    if not hasattr(f, "files"):     # an .npy file: np.load returned an array
        raise ValueError(f"{os.fspath(path)} holds a single array, not a model: load expects a "
                         "model file (.npz written by Model.save)")
    with f:
        if "__model__" not in f.files:
            raise ValueError(f"{os.fspath(path)} is not a fastdgm model file (no '__model__' entry)")
        name = str(f["__model__"])
        params = {k: f[k] for k in f.files if k != "__model__"}
    if name not in _MODELS:
        raise ValueError(f"{os.fspath(path)}: unknown model type {name!r}")
    return _MODELS[name].from_params(params)
