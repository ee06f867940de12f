"""Files written whole or not at all: every writer of the package goes through here.

A file ``DIR/NAME`` is written to ``DIR/.NAME.tmp-PID-XXXXXXXX`` and renamed to ``NAME`` when
complete, with the permissions ``open()`` would have given it (``0o666 & ~umask``; mkstemp
creates ``0o600``). A temporary file left behind by a killed process (its PID is dead) is
removed by the next write of the same ``NAME``. Errors name ``NAME``, never the temporary file.
"""
from __future__ import annotations

import contextlib
import os
import tempfile

__all__ = ["atomic_output", "check_writable", "current_umask"]


def _tmp_prefix(path: str) -> str:
    return f".{os.path.basename(path)}.tmp-"


def current_umask() -> int:
    """The process umask (read without changing it where ``/proc`` allows).

    Returns
    -------
    int
        The umask bits, e.g. ``0o022``.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)      # the portable way: set and restore
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True             # exists (another user's) or cannot tell: keep its file
    return True


def clean_stale_temporaries(path) -> list:
    """Remove ``.NAME.tmp-PID-*`` files beside ``path`` whose writer process is dead.

    Parameters
    ----------
    path : str or os.PathLike
        The destination file whose leftovers to remove.

    Returns
    -------
    list of str
        The paths removed.
    """
    path = os.path.abspath(os.fspath(path))
    d, prefix = os.path.dirname(path), _tmp_prefix(path)
    removed: list[str] = []
    try:
        names = os.listdir(d)
    except OSError:
        return removed
    for name in names:
        if not name.startswith(prefix):
            continue
        pid_text = name[len(prefix):].split("-", 1)[0]
        if not pid_text.isdigit() or _pid_alive(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(d, name))
            removed.append(os.path.join(d, name))
    return removed


def check_writable(path, what: str = "output") -> str:
    """Check, before any work, that ``path`` can be written (atomically) by this process.

    Parameters
    ----------
    path : str or os.PathLike
        The destination file.
    what : str
        How to name the file in an error, e.g. ``"--out"``.

    Returns
    -------
    str
        The absolute path.

    Raises
    ------
    ValueError
        When the directory is missing, ``path`` is a directory, or no file can be created there.
    """
    path = os.path.abspath(os.fspath(path))
    d = os.path.dirname(path)
    if not os.path.isdir(d):
        raise ValueError(f"{what} {path}: directory {d} does not exist")
    if os.path.isdir(path):
        raise ValueError(f"{what} {path} is a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=f"{_tmp_prefix(path)}{os.getpid()}-", dir=d)
    except OSError as exc:
        raise ValueError(f"{what} {path} cannot be written ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)
    return path


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; on success it is synced and renamed to ``path``.

    On any exception the destination is untouched and the temporary file is removed; a kill
    may leave a hidden ``.NAME.tmp-PID-*`` file, which the next write of ``path`` removes.

    Parameters
    ----------
    path : str or os.PathLike
        The destination file.

    Yields
    ------
    str
        The temporary file to write.
    """
    path = os.path.abspath(os.fspath(path))
    clean_stale_temporaries(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{_tmp_prefix(path)}{os.getpid()}-", dir=os.path.dirname(path))
        os.close(fd)
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except OSError as exc:
        _unlink(tmp)
        ours = exc.filename is None or os.path.basename(os.fsdecode(exc.filename)).startswith(_tmp_prefix(path))
        if exc.errno is not None and ours:     # name the user's file, not the hidden temporary
            raise type(exc)(exc.errno, exc.strerror or os.strerror(exc.errno), path) from None
        raise
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(tmp) -> None:
    if tmp is not None:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
