"""The protocol every explicit-likelihood model shares, and saving/loading models.

A model holds its parameters like a frozen scipy distribution. Subclasses implement
``log_prob``, ``sample``, ``n_dims``, ``n_states``, ``_get_params`` and ``_from_params``;
``score``, ``save`` and :func:`load` come from here.
"""
from __future__ import annotations

import os

import numpy as np

from ._atomic import atomic_output

__all__ = ["Model", "load", "register_model"]

_MODELS: dict[str, type] = {}


def register_model(cls):
    """Class decorator: make ``cls`` loadable by :func:`load` under its class name."""
    _MODELS[cls.__name__] = cls
    return cls


class Model:
    """Base class of explicit-likelihood models over X of shape (n, d), states in [0, C)."""

    @property
    def n_dims(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def n_states(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def log_prob(self, X) -> np.ndarray:  # pragma: no cover - abstract
        """Log-probability of each row of X, shape (n,), float64."""
        raise NotImplementedError

    def sample(self, size, rng=None) -> np.ndarray:  # pragma: no cover - abstract
        """Draw ``size`` samples, shape (size, d), smallest unsigned dtype holding C."""
        raise NotImplementedError

    def score(self, X) -> float:
        """Mean log-likelihood per sample of X, in nats (``log_prob(X).mean()``)."""
        lp = self.log_prob(X)
        return float(np.mean(lp, dtype=np.float64))

    def entropy(self) -> float:  # pragma: no cover - abstract
        """Exact entropy in nats, where the model allows it."""
        raise NotImplementedError(f"{type(self).__name__} has no exact entropy")

    # --- persistence ---------------------------------------------------------------------
    def _get_params(self) -> dict:  # pragma: no cover - abstract
        """Arrays and scalars that define the model (numpy-serialisable)."""
        raise NotImplementedError

    @classmethod
    def _from_params(cls, params: dict):  # pragma: no cover - abstract
        raise NotImplementedError

    def save(self, path) -> None:
        """Save the model to an ``.npz`` file, written whole or not at all.

        Parameters
        ----------
        path : str or os.PathLike
            Destination; the file is written to a temporary name in the same directory
            and renamed, so a killed process never leaves a half-written model.
        """
        params = {k: np.asarray(v) for k, v in self._get_params().items()}
        params["__model__"] = np.asarray(type(self).__name__)
        atomic_savez(path, **params)

    def __repr__(self) -> str:
        try:
            return f"{type(self).__name__}(n_dims={self.n_dims}, n_states={self.n_states})"
        except Exception:  # pragma: no cover
            return f"{type(self).__name__}()"


def atomic_savez(path, **arrays) -> None:
    """``numpy.savez`` to ``path`` through a temporary file and an atomic rename."""
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def load(path) -> Model:
    """Load a model saved with ``Model.save``.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Model
    """
    # make sure every model class is registered
    import importlib

    for mod in ("sampling", "models", "mrf"):
        try:
            importlib.import_module(f"{__package__}.{mod}")
        except ModuleNotFoundError as exc:  # a partial install: only what exists can load
            if exc.name != f"{__package__}.{mod}":
                raise

    with np.load(os.fspath(path), allow_pickle=False) as f:
        if "__model__" not in f.files:
            raise ValueError(f"{os.fspath(path)} is not a fastdgm model file (no '__model__' entry)")
        name = str(f["__model__"])
        params = {k: f[k] for k in f.files if k != "__model__"}
    if name not in _MODELS:
        raise ValueError(f"{os.fspath(path)}: unknown model type {name!r}")
    return _MODELS[name]._from_params(params)
