"""File input/output shared by the command line and the demo.

Arrays are read from ``.npy``, ``.npz`` (its only array, or ``FILE.npz:NAME``) and
``.csv``/``.txt``; outputs are written to a temporary file in the destination directory and
renamed, so a killed process never leaves a half-written file.
"""
from __future__ import annotations

import os

from ._atomic import atomic_output

__all__ = ["CLIError", "atomic_save_npy", "check_out_path", "load_array", "load_data", "load_model",
           "parse_grid"]


class CLIError(ValueError):
    """A bad file or option; its message is shown to the user as is."""


def atomic_save_npy(path, array) -> str:
    """``numpy.save`` to ``path`` through a temporary file and an atomic rename."""
    import numpy as np

    path = os.path.abspath(os.fspath(path))
    d = os.path.dirname(path)
    if not os.path.isdir(d):
        raise CLIError(f"output directory does not exist: {d}")
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.asarray(array), allow_pickle=False)
    return path


def check_out_path(path, suffix: str) -> str:
    path = os.path.abspath(os.fspath(path))
    if not path.endswith(suffix):
        raise CLIError(f"--out must be a {suffix} file, got {path}")
    d = os.path.dirname(path)
    if not os.path.isdir(d):
        raise CLIError(f"output directory does not exist: {d}")
    return path


def load_array(path, what: str = "file", *, mmap: bool = False):
    """Read an array from ``.npy``, ``.npz`` (its only array, or ``FILE.npz:key``), ``.csv``/``.txt``.

    With ``mmap``, a ``.npy`` file is memory-mapped read-only (not read into memory)."""
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
    """A model saved with ``Model.save``; a bad file is a :class:`CLIError` naming it."""
    import zipfile

    import numpy as np

    from .models.base import load

    path = os.fspath(path)
    if not os.path.exists(path):
        raise CLIError(f"model file {path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as f:
            if not hasattr(f, "files") or "__model__" not in f.files:
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

    With ``mmap``, an integer ``.npy`` file stays on disk (a read-only memory map)."""
    import numpy as np

    X = load_array(path, "data file", mmap=mmap)
    if X.ndim != 2:
        raise CLIError(f"data file {path} must hold a 2-D (n, d) array, got shape {X.shape}")
    if X.dtype.kind == "f":
        if not np.all(np.isfinite(X)) or not np.all(X == np.round(X)):
            bad = np.argwhere(~np.isfinite(X) | (X != np.round(X)))[0]
            raise CLIError(f"data file {path} must hold integer states; X[{bad[0]}, {bad[1]}] = "
                           f"{X[tuple(bad)]!r}")
        if X.size and X.min() < 0:
            bad = np.argwhere(X < 0)[0]
            raise CLIError(f"data file {path}: states must be >= 0; X[{bad[0]}, {bad[1]}] = "
                           f"{X[tuple(bad)]!r}")
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
        parsed = []
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


def parse_grid(text: str) -> tuple:
    try:
        shape = tuple(int(s) for s in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise CLIError(f"--grid must look like HxW (e.g. 32x32), got {text!r}") from None
    if not shape or any(s < 1 for s in shape):
        raise CLIError(f"--grid sides must be positive, got {text!r}")
    return shape
