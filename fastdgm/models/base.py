"""The protocol every explicit-likelihood model shares, and saving/loading models.

A model holds its parameters like a frozen scipy distribution. Subclasses implement
``log_prob``, ``n_dims``, ``n_states``, ``get_params`` and ``from_params`` and, for exact
samplers, ``sample_rows(key, start, n)``: rows ``[start, start + n)`` of the sample that
``sample(N, rng)`` draws with ``key = make_key(rng)``. A block of rows therefore depends only
on (key, start, n): that is the hook :mod:`fastdgm.dask` uses to draw blocks on workers.
``sample``, ``score``, ``save`` and :func:`load` come from here.

To add a model: one file in ``fastdgm/models/``, a class decorated with
:func:`register_model` (so :func:`load` finds it), kernels in ``fastdgm/kernels/``.

One rule for fitting, for every model: ``fit`` is a classmethod constructor,
``Model.fit(X, ...) -> Model``, declared with :class:`classonlymethod`; ``model.fit(X)`` on an
instance raises ``TypeError`` (it would return a new model and leave ``model`` unchanged).

Model files are untrusted input: :func:`load` reads only arrays (no pickles) of a bounded total
size, and ``from_params`` validates each one (shapes against each other, dtypes, ranges,
finiteness, normalisation) before any kernel can see it.
"""
from __future__ import annotations

import functools
import os
import zipfile
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from .._atomic import atomic_output
from .._rng import make_key
from .._typing import ArrayLike, FloatArray, IntArray, PathLike, Seed
from .._validation import check_positive_int, check_size

__all__ = ["Model", "load", "register_model", "registered_models", "atomic_savez", "sample_shape",
           "classonlymethod", "MAX_FILE_BYTES"]

MAX_FILE_BYTES = 2 ** 34
"""Largest total size (16 GiB) of the arrays :func:`load` reads from a model file; checked from
the array headers before any array is read (a small compressed file can declare huge arrays)."""

_MODELS: dict[str, type[Model]] = {}
M = TypeVar("M", bound="Model")


def register_model(cls: type[M]) -> type[M]:
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


class Model:
    """Base class of explicit-likelihood models over X of shape (n, d), states in [0, C).

    ``fit`` is a classmethod constructor on every model: ``fd.Factorized.fit(X)`` returns a new
    fitted model; calling it on an instance raises ``TypeError`` (see :class:`classonlymethod`).
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

    def log_prob(self, X: ArrayLike) -> FloatArray:  # pragma: no cover - abstract
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
        from ..estimators import entropy_estimate

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
        from ._missing import fill

        return fill(self, X, missing, rng)

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


def atomic_savez(path, **arrays) -> None:
    """``numpy.savez`` to ``path`` through a temporary file and an atomic rename."""
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


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
    name, params = _read_model_file(os.fspath(path))
    if name not in _MODELS:
        raise ValueError(f"{os.fspath(path)}: unknown model type {name!r} (known: "
                         f"{', '.join(sorted(_MODELS))})")
    return _MODELS[name].from_params(params)


def _read_model_file(path: str) -> tuple[str, dict]:
    """The model name and the arrays of a model file; ValueError for anything else (a .npy
    file, an .npz without '__model__', object arrays, a size above :data:`MAX_FILE_BYTES`)."""
    expect = f"{path} is not a fastdgm model file (load expects a model file: an .npz written by Model.save"
    try:
        f = np.load(path, allow_pickle=False)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{expect}: {' '.join(str(exc).split())})") from None
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise ValueError(f"{expect}; it holds a single array)")
    with f:
        if "__model__" not in f.files:
            raise ValueError(f"{expect}; no '__model__' entry)")
        total = 0
        for key in f.files:
            shape, dtype = _npz_header(f, key, expect)
            if dtype.hasobject:
                raise ValueError(f"{expect}; array {key!r} holds Python objects)")
            total += int(np.prod(shape, dtype=object)) * dtype.itemsize
        if total > MAX_FILE_BYTES:
            raise ValueError(f"{path}: its arrays declare {total} bytes, above the limit of "
                             f"{MAX_FILE_BYTES} (fastdgm.models.base.MAX_FILE_BYTES)")
        try:
            arrays = {k: f[k] for k in f.files}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{expect}: {' '.join(str(exc).split())})") from None
    label = arrays.pop("__model__")
    if label.dtype.kind != "U" or label.shape != ():
        raise ValueError(f"{expect}; '__model__' must be a string, got {label.dtype} {label.shape})")
    return str(label), arrays


def _npz_header(f, key: str, expect: str):
    """(shape, dtype) of member ``key`` of an open npz, from its header only."""
    try:
        with f.zip.open(key + ".npy") as fp:
            version = np.lib.format.read_magic(fp)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read(fp)
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{expect}; array {key!r} is unreadable: {' '.join(str(exc).split())})") from None
    return shape, dtype
