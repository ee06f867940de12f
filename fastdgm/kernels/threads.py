"""The thread count of every parallel kernel, and the guard that lets numba kernels run it.

``fastdgm`` keeps its own thread count; it never touches numba's or numpy's global
configuration at import time. Cython kernels receive the count as an argument; numba
kernels get it through :func:`numba_threads`, which sets numba's *thread-local* count
for the duration of one call. Re-exported by :mod:`fastdgm._config` (the public names).

Fork safety: a process forked after a parallel kernel ran cannot use GNU OpenMP (libgomp's
thread pool does not survive ``fork``: a parallel region hangs) nor numba's ``omp`` layer
(it terminates the child). A handler registered with :func:`os.register_at_fork` therefore
makes every forked child single-threaded: :func:`get_num_threads` returns 1 there (Cython
kernels then run a team of one, the calling thread) and numba kernels run their serial twin
without touching numba's threading layer. Results are unchanged (they never depend on the
thread count); a child that wants threads should be spawned, not forked.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
import os
import threading
import time

from .cpu_budget import Budget, cpu_budget

__all__ = ["get_num_threads", "set_num_threads", "threads", "numba_threads", "max_threads",
           "in_forked_child", "adaptive_threads", "thread_budget", "explain_num_threads"]

_state = threading.local()
_default_threads: int | None = None
_forked_child = False


def _after_fork_in_child() -> None:
    global _forked_child, _parallel_lock
    _forked_child = True
    _parallel_lock = threading.Lock()     # a lock held by another parent thread stays held


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def in_forked_child() -> bool:
    """True in a process forked from one that imported fastdgm (kernels run single-threaded)."""
    return _forked_child


def max_threads() -> int:
    """The most threads the default may use: ``NUMBA_NUM_THREADS`` / ``OMP_NUM_THREADS`` when
    set, else the CPUs of the affinity set capped by the cgroup CPU quota (rounded half up)."""
    b, _ = cpu_budget(_ROOT, adapt=False)
    return b.threads


# --- the adaptive default: the CPUs we may use, less those others keep busy ------------------
# On a shared node, threads that wait for a core (or spin for one: OpenMP) make a call slower
# than on one thread. The default count is therefore the CPUs this process may use (affinity,
# capped by the cgroup CPU quota) minus those that *other* processes keep busy among them, never
# below 1, re-read at most every _ADAPT_TTL seconds; the rule, and the measurement that keeps
# the adaptation, are in fastdgm/kernels/cpu_budget.py. Results never depend on the count
# (counter-based streams).
_ADAPT_TTL = 0.25
_ROOT = "/"                              # root of the /proc and /sys trees read (tests: a fake one)
_adapt_cache: list = [float("-inf"), None, None]     # [time, Budget, Snapshot]


def thread_budget() -> Budget:
    """The default thread count now and where it came from (see :func:`adaptive_threads`)."""
    adapt = os.environ.get("FASTDGM_ADAPTIVE_THREADS", "1") != "0"
    now = time.monotonic()
    if adapt and now - _adapt_cache[0] < _ADAPT_TTL and _adapt_cache[1] is not None:
        return _adapt_cache[1]
    b, snap = cpu_budget(_ROOT, previous=_adapt_cache[2], adapt=adapt)
    if adapt:
        _adapt_cache[:] = [now, b, snap if snap is not None else _adapt_cache[2]]
    return b


def adaptive_threads() -> int:
    """The default thread count: CPUs we may use minus those busy with other processes (>= 1).

    The CPUs of the affinity set capped by the cgroup CPU quota (``NUMBA_NUM_THREADS`` /
    ``OMP_NUM_THREADS`` replace that cap when set), minus the CPUs of that set that other
    processes keep busy (see :mod:`fastdgm.kernels.cpu_budget`). ``FASTDGM_ADAPTIVE_THREADS=0``
    turns the reduction off.
    """
    return thread_budget().threads


def explain_num_threads() -> tuple[int, str]:
    """(count, where it came from) of :func:`get_num_threads` in this thread, for ``show_config``."""
    if _forked_child:
        return 1, "forked child: single-threaded"
    n = getattr(_state, "n", None)
    if n is not None:
        return n, "fastdgm.threads(n)"
    if _default_threads is not None:
        return _default_threads, "fastdgm.set_num_threads(n)"
    b = thread_budget()
    text = b.describe()
    if os.environ.get("FASTDGM_ADAPTIVE_THREADS", "1") == "0":
        text += "; adaptation off (FASTDGM_ADAPTIVE_THREADS=0)"
    return b.threads, text


def _cpus() -> int:
    b, _ = cpu_budget(_ROOT, adapt=False)
    return b.cpus


def get_num_threads() -> int:
    """Number of threads the parallel kernels use (per calling thread).

    Returns
    -------
    int
        Set by :func:`set_num_threads` or :func:`threads`; by default adaptive: the CPUs
        this process may use (its affinity set, capped by the cgroup CPU quota, or by
        ``NUMBA_NUM_THREADS`` / ``OMP_NUM_THREADS``) minus those of them that other
        processes keep busy, at least 1 (see :func:`adaptive_threads`). Results do not depend on it. Always 1 in a
        forked child process (OpenMP does not survive ``fork``).
    """
    if _forked_child:
        return 1
    n = getattr(_state, "n", None)
    if n is not None:
        return n
    if _default_threads is not None:
        return _default_threads
    return adaptive_threads()


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int,)) and not hasattr(n, "__index__"):
        raise TypeError(f"n must be a positive integer, got {type(n).__name__}")
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be a positive integer, got {n}")
    return n


def set_num_threads(n: int | None) -> None:
    """Set the number of threads of every parallel kernel (process-wide default).

    Parameters
    ----------
    n : int or None
        Positive thread count. Results do not depend on it: only speed does. None goes back
        to the adaptive default (:func:`adaptive_threads`).
    """
    global _default_threads
    _default_threads = None if n is None else _check_n(n)
    _state.n = None


@contextlib.contextmanager
def threads(n: int) -> Iterator[int]:
    """Context manager: run the enclosed kernels on ``n`` threads (this Python thread only).

    Parameters
    ----------
    n : int
        Number of threads (>= 1).

    Yields
    ------
    int
        ``n``.

    Examples
    --------
    >>> import fastdgm as fd
    >>> with fd.threads(1):
    ...     x = fd.categorical([0.5, 0.5], size=10, rng=0)
    """
    n = _check_n(n)
    old = getattr(_state, "n", None)
    _state.n = n
    try:
        yield n
    finally:
        _state.n = old


# --- numba -----------------------------------------------------------------------------
# numba's default "workqueue" layer aborts the process when two Python threads run parallel
# kernels at once. The lock below detects concurrent use; when it is taken and the layer is
# (or may become) workqueue, callers get the serial twin of the kernel instead.
_parallel_lock = threading.Lock()


def numba_layer() -> str | None:
    import numba

    try:
        return numba.threading_layer()
    except ValueError:  # not initialised yet
        return None


@contextlib.contextmanager
def numba_threads(n: int | None = None) -> Iterator[bool]:
    """Yield ``True`` if a numba ``parallel=True`` kernel may run now, else ``False``.

    Sets numba's thread-local thread count to ``n`` (None: :func:`get_num_threads`), capped
    by ``numba.config.NUMBA_NUM_THREADS``, for the duration of the block.
    """
    if _forked_child:          # the parallel runtime did not survive fork: serial twin
        yield False
        return
    import numba

    n = min(get_num_threads() if n is None else n, numba.config.NUMBA_NUM_THREADS)
    layer = numba_layer()
    safe_layer = layer in ("tbb", "omp")
    acquired = _parallel_lock.acquire(blocking=False)
    if not acquired and not safe_layer:
        yield False
        return
    old = numba.get_num_threads()
    try:
        if n != old:                  # each set is a lock and a check (~0.1 ms, serial)
            numba.set_num_threads(n)
        yield True
    finally:
        if n != old:
            numba.set_num_threads(old)
        if acquired:
            _parallel_lock.release()
