"""File input/output shared by the command line and the demo.

Arrays are read from ``.npy``, ``.npz`` (its only array, or ``FILE.npz:NAME``) and
``.csv``/``.txt``; outputs are written to a temporary file in the destination directory and
renamed, so a killed process never leaves a half-written file.
"""
from __future__ import annotations

import os

from ._atomic import atomic_output, check_writable

__all__ = ["CLIError", "atomic_save_npy", "check_out_path", "load_array", "load_data", "load_model",
           "parse_grid"]


class CLIError(ValueError):
    """A bad file or option; its message is shown to the user as is."""


def atomic_save_npy(path, array) -> str:
    """``numpy.save`` to ``path`` through a temporary file and an atomic rename.

    Parameters
    ----------
    path : str or os.PathLike
        Destination ``.npy`` file.
    array : array_like
        What to save (no pickled objects).

    Returns
    -------
    str
        The absolute path written.
    """
    import numpy as np

    path = os.path.abspath(os.fspath(path))
    d = os.path.dirname(path)
    if not os.path.isdir(d):
        raise CLIError(f"output directory does not exist: {d}")
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.asarray(array), allow_pickle=False)
    return path


def check_out_path(path, suffix: str, what: str = "--out") -> str:
    """Check an output file before any work: its suffix, its directory, that it can be written.

    Parameters
    ----------
    path : str or os.PathLike
        The output file.
    suffix : str
        The required suffix, e.g. ``".npz"``.
    what : str
        The option that named it, for messages.

    Returns
    -------
    str
        The absolute path.
    """
    path = os.path.abspath(os.fspath(path))
    if not path.endswith(suffix):
        raise CLIError(f"{what} must be a {suffix} file, got {path}")
    d = os.path.dirname(path)
    if not os.path.isdir(d):
        raise CLIError(f"output directory does not exist: {d}")
    try:
        return check_writable(path, what)
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def load_array(path, what: str = "file", *, mmap: bool = False):
    """Read an array from ``.npy``, ``.npz`` (its only array, or ``FILE.npz:key``), ``.csv``/``.txt``.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    what : str
        How to name the file in errors, e.g. ``"data file"``.
    mmap : bool
        Memory-map a ``.npy`` file read-only instead of reading it (out-of-core fits).

    Returns
    -------
    ndarray
        The array.
    """
    import zipfile

    import numpy as np

    path = os.fspath(path)
    key = None
    if ".npz:" in path:
        path, key = path.rsplit(":", 1)
    if not os.path.exists(path):
        raise CLIError(f"{what} {path}: no such file")
    try:
        if path.endswith(".npz"):
            with np.load(path, allow_pickle=False) as f:
                names = list(f.files)
                if key is None:
                    if len(names) != 1:
                        raise CLIError(f"{what} {path} holds several arrays {names}: "
                                       f"choose one with {path}:NAME")
                    key = names[0]
                if key not in names:
                    raise CLIError(f"{what} {path} has no array {key!r} (it has {names})")
                return f[key]
        if path.endswith((".csv", ".txt")):
            return np.loadtxt(path, delimiter="," if path.endswith(".csv") else None, ndmin=2)
        return np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except CLIError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise CLIError(f"{what} {path} is not a readable numpy file ({exc})") from None


def load_model(path):
    """A model saved with ``Model.save``; a bad file is a :class:`CLIError` naming it.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.

    Returns
    -------
    Model
        The loaded model.
    """
    import zipfile

    import numpy as np

    from .models.base import load

    path = os.fspath(path)
    if not os.path.exists(path):
        raise CLIError(f"model file {path}: no such file")
    try:
        f = np.load(path, allow_pickle=False)
        if not hasattr(f, "files"):
            raise CLIError(f"model file {path} holds a single array: expected a model file "
                           "(.npz written by Model.save or fastdgm fit)")
        with f:
            if "__model__" not in f.files:
                raise CLIError(f"model file {path} is not a fastdgm model (no '__model__' entry)")
    except CLIError:
        raise
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        msg = " ".join(str(exc).split()) or type(exc).__name__
        raise CLIError(f"model file {path} is not a readable fastdgm model ({msg})") from None
    try:
        return load(path)
    except (ValueError, TypeError) as exc:
        raise CLIError(f"model file {path}: {exc}") from None


def load_data(path, *, mmap: bool = False):
    """An (n, d) integer data array from a file (float files must hold whole numbers).

    Parameters
    ----------
    path : str or os.PathLike
        ``.npy``, ``.npz`` (``FILE.npz:NAME``), ``.csv`` or ``.txt``.
    mmap : bool
        Keep an integer ``.npy`` file on disk (a read-only memory map).

    Returns
    -------
    ndarray
        The (n, d) integer array.
    """
    import numpy as np

    X = load_array(path, "data file", mmap=mmap)
    if X.ndim != 2:
        raise CLIError(f"data file {path} must hold a 2-D (n, d) array, got shape {X.shape}")
    if X.dtype.kind == "f":
        # states must be whole numbers that float64 holds exactly (< 2**53)
        bad = ~np.isfinite(X) | (X != np.round(X)) | (np.abs(X) >= 2.0 ** 53)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise CLIError(f"data file {path} must hold integer states; X[{i}, {j}] = "
                           f"{_raw_value(path, X, i, j)}")
        if X.size and X.min() < 0:
            i, j = np.argwhere(X < 0)[0]
            raise CLIError(f"data file {path}: states must be >= 0; X[{i}, {j}] = "
                           f"{_raw_value(path, X, i, j)}")
        X = X.astype(np.int64)
    elif X.dtype.kind not in "iub":
        raise CLIError(f"data file {path} must hold integer states, got dtype {X.dtype}")
    return X


def parse_search(items) -> dict:
    """``["alpha=0.01,0.1,1", "n_components=10,20"]`` -> {"alpha": [0.01, 0.1, 1.0], ...}: the
    search grid of ``fastdgm fit --valid``; values are ints when they look like ints."""
    grid = {}
    for item in items or []:
        name, sep, values = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name or not values.strip():
            raise CLIError(f"--search {item!r}: expected NAME=V1,V2,... (e.g. alpha=0.01,0.1,1)")
        parsed: list[int | float] = []
        for v in values.split(","):
            v = v.strip()
            try:
                parsed.append(int(v))
            except ValueError:
                try:
                    parsed.append(float(v))
                except ValueError:
                    raise CLIError(f"--search {item!r}: {v!r} is not a number") from None
        grid[name] = parsed
    return grid


def _raw_value(path, X, i, j) -> str:
    """Cell (i, j) as the user wrote it: the text of a CSV/TXT file, else the array's value."""
    import numpy as np

    path = os.fspath(path)
    if path.endswith((".csv", ".txt")):
        try:
            raw = np.loadtxt(path, dtype=str, delimiter="," if path.endswith(".csv") else None, ndmin=2)
            return str(raw[i, j]).strip()
        except (ValueError, OSError, IndexError):
            pass
    return repr(X[i, j].item())


def parse_grid(text: str) -> tuple:
    """Parse a lattice shape like ``"32x32"``.

    Parameters
    ----------
    text : str
        Sides joined by ``x``.

    Returns
    -------
    tuple of int
        The shape.
    """
    try:
        shape = tuple(int(s) for s in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise CLIError(f"--grid must look like HxW (e.g. 32x32), got {text!r}") from None
    if not shape or any(s < 1 for s in shape):
        raise CLIError(f"--grid sides must be positive, got {text!r}")
    return shape
