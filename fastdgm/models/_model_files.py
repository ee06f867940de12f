"""Model files: written whole or not at all, and read as untrusted input (arrays only, no
pickles, a bounded total size checked from the array headers before any array is read)."""
from __future__ import annotations

import zipfile

import numpy as np

from .._atomic import atomic_output

__all__ = ["MAX_FILE_BYTES", "atomic_savez", "read_model_file"]

MAX_FILE_BYTES = 2 ** 34
"""Largest total size (16 GiB) of the arrays :func:`load` reads from a model file; checked from
the array headers before any array is read (a small compressed file can declare huge arrays)."""

def atomic_savez(path, **arrays) -> None:
    """``numpy.savez`` to ``path`` through a temporary file and an atomic rename."""
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def read_model_file(path: str) -> tuple[str, dict]:
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
