"""Files written whole or not at all: every writer of the package goes through here."""
from __future__ import annotations

import contextlib
import os
import tempfile

__all__ = ["atomic_output"]


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; on success it is synced and renamed to ``path``.

    On any exception (or a kill) the destination is untouched and the temporary file is
    removed (a kill may leave a hidden ``.tmp-*`` file, never a half-written ``path``).

    Parameters
    ----------
    path : str or os.PathLike
        The destination file.
    """
    path = os.path.abspath(os.fspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.splitext(path)[1],
                               dir=os.path.dirname(path))
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
