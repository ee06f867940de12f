"""The decorators of the numba-parallel kernels: ``@chunked_kernel`` (the rule) and
``@parallel_kernel`` (its base, for the few loops that are not chunks of independent items).

``@parallel_kernel`` wraps two lazily compiled versions of the function: one with
``parallel=True, nogil=True`` and a serial twin (a renamed copy, ``prange`` runs as
``range``). Both run the same loop over fixed work items, so they give the same bits. A call
runs the serial twin only where the parallel runtime cannot run: in a process forked after a
parallel kernel ran, and when numba's threading layer cannot take concurrent callers and
another Python thread is inside a parallel kernel (see
:func:`fastdgm.kernels.threads.numba_threads`). Only there is the twin compiled.

Otherwise the parallel version runs on :func:`fastdgm.get_num_threads` threads; for kernels
declared with ``serial_below=W``, when the call's first argument (its work size, e.g. rows x
columns) is below ``W``, on a team of one: waking threads would cost more than the work. A
team of one wakes no other thread, and numba compiles the body of a ``prange`` loop better
than the same loop in the serial twin (measured 1.1-1.9x faster on one thread for the row
sampler, the state packer and the energies). Running the parallel version for small work
too means a session compiles one version of each kernel, not two: compiling the serial twin
of ``factorized_log_prob`` took 1.7 s of CPU beside 2.4 s for the parallel version, while a
small call (100 x 16) on a team of one costs about 6-10 µs more than in the twin (setting
numba's thread count and entering the parallel region).

Scheduling belongs to the decorator (:func:`chunked_kernel`): a kernel over n independent
items (rows, chains, pairs, sites) is written as the work of one chunk,
``def body(c, start, stop, *arrays)`` for the items ``[start, stop)`` of chunk ``c`` (``c``
indexes per-chunk partial outputs), and the decorator generates the parallel driver that hands
the chunks out dynamically (:mod:`fastdgm.kernels.schedule`) and calls the body, inlined into
the parallel loop (numba ``inline="always"``: about the same machine code as the loop written
there, e.g. 179 vs 180 instructions in ``factorized_log_prob``'s parallel loop, the same speed
and first-call compile time within noise; ``inline="never"`` was no faster and compiled
slower). No kernel pastes a loop header; :mod:`fastdgm.kernels.schedule` lists the kernels
that keep a ``prange`` and why. The driver is generated Python source compiled under the body's file and line with
the qualified name ``<body>_driver`` (its serial twin ``<body>_driver_serial``): numba's cache
finds it beside the body's module, drops it when that file changes, and no two entries share a
name.

JIT cache: both versions (once compiled) are cached (``cache=True``) in numba's cache directory:
``__pycache__`` beside the installed sources, or numba's per-user cache when that is
read-only, or ``NUMBA_CACHE_DIR`` when set.
"""
from __future__ import annotations

import functools
import inspect
import types

import numba
import numpy as np

from .schedule import WORKERS, next_item
from .threads import numba_threads

__all__ = ["parallel_kernel", "chunked_kernel", "serial_kernel", "all_kernels", "ParallelKernel"]

_registry: list = []


class ParallelKernel:
    """A numba kernel compiled parallel and serial; see the module docstring.

    Attributes
    ----------
    py_func : function
        The Python source function (its slow twin, run by the interpreter).
    parallel, serial : numba dispatchers
    serial_below : int or None
        With an int, the first call argument is the work size (not passed to the kernel);
        below ``serial_below`` the parallel version runs on one thread.
    """

    def __init__(self, fn, serial_below, options):
        self.py_func = fn
        self.serial_below = serial_below
        self.parallel = numba.njit(parallel=True, nogil=True, cache=True, **options)(fn)
        # a renamed copy: numba's cache keys on the qualified name, not on parallel=True
        twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial",
                                  fn.__defaults__, fn.__closure__)
        twin.__qualname__ = fn.__qualname__ + "_serial"
        self.serial = numba.njit(nogil=True, cache=True, **options)(twin)
        functools.update_wrapper(self, fn)

    def __call__(self, *args):
        n = None
        if self.serial_below is not None:
            work, args = args[0], args[1:]
            if work < self.serial_below:
                n = 1                     # a team of one: the same compiled code, no thread woken
        with numba_threads(n) as ok:
            return (self.parallel if ok else self.serial)(*args)


def parallel_kernel(fn=None, *, serial_below: int | None = None, **options):
    """Decorate a numba kernel that uses ``numba.prange``; see the module docstring."""
    if fn is None:
        return lambda f: parallel_kernel(f, serial_below=serial_below, **options)
    k = ParallelKernel(fn, serial_below, options)
    _registry.append(k)
    return k


# The work counter is set up by np.empty and a store, not np.zeros: under parallel=True numba
# turns np.zeros into a parfor of its own, i.e. a second gufunc compiled per kernel (0.4-0.7 s
# of CPU on an empty cache) and a second parallel launch per call.
_DRIVER = """\
def {name}({args}):
    n_items_ = {items}
    per_chunk_ = {chunk}
    n_chunks_ = (n_items_ + per_chunk_ - 1) // per_chunk_ if n_items_ > 0 else 0
    todo_ = np.empty(1, np.int64)
    todo_[0] = 0
    for worker_ in prange(WORKERS):
        c_ = next_item(todo_)
        while c_ < n_chunks_:
            start_ = c_ * per_chunk_
            body_(c_, start_, min(n_items_, start_ + per_chunk_), {args})
            c_ = next_item(todo_)
"""
_RESERVED = {"n_items_", "per_chunk_", "n_chunks_", "todo_", "worker_", "c_", "start_", "body_",
             "np", "prange", "next_item", "WORKERS"}


def _driver(body, items, chunk):
    """The Python source of ``body``'s driver, compiled as if it stood at ``body``'s line of its
    file: numba's cache locates it there (and drops it when that file changes) and keys it by
    its own qualified name, ``<body's>_driver``, so it never collides with another entry."""
    fn = body.py_func
    params = list(inspect.signature(fn).parameters)
    if params[:3] != ["c", "start", "stop"] or _RESERVED.intersection(params):
        raise TypeError(f"{fn.__qualname__}: a chunked kernel's body takes (c, start, stop, *arrays) "
                        f"with none of the names {sorted(_RESERVED)}, got ({', '.join(params)})")
    args = params[3:]
    src = _DRIVER.format(name=fn.__name__, args=", ".join(args), items=items, chunk=chunk)
    code = compile("\n" * (fn.__code__.co_firstlineno - 1) + src, fn.__code__.co_filename, "exec")
    scope = {"__name__": fn.__module__, "np": np, "prange": numba.prange, "next_item": next_item,
             "WORKERS": WORKERS, "body_": body}
    exec(code, scope)
    driver = scope[fn.__name__]
    driver.__qualname__ = fn.__qualname__ + "_driver"
    driver.__doc__ = fn.__doc__
    return driver


def chunked_kernel(fn=None, *, items: str, chunk: int | str = 1, serial_below: int | None = None,
                   inline: str = "always", **options):
    """Decorate the body of a kernel over independent items, split into fixed chunks.

    The body ``def body(c, start, stop, *arrays)`` does the work of chunk ``c``: the items
    ``[start, stop)``, ``start = c * chunk``, writing only what belongs to chunk ``c`` (its
    rows' outputs, or partials indexed by ``c``). The decorator returns a
    :class:`ParallelKernel` called with ``*arrays`` (after the work size when ``serial_below``
    is set) that runs every chunk once, handed out dynamically
    (:mod:`fastdgm.kernels.schedule`): the same bits on any number of threads.

    Parameters
    ----------
    items : str
        The number of items, an expression of the arrays' names (e.g. ``"X.shape[0]"``).
    chunk : int or str
        Items per chunk: a constant, or the name of an argument that holds it.
    serial_below : int, optional
        As for :func:`parallel_kernel`.
    inline : str
        numba's ``inline`` option of the body: ``"always"`` (the default) compiles the body
        into the driver's parallel loop, as if written there.
    **options
        Further numba options (e.g. ``error_model``), for the body and the driver.
    """
    if fn is None:
        return lambda f: chunked_kernel(f, items=items, chunk=chunk, serial_below=serial_below,
                                        inline=inline, **options)
    body = numba.njit(nogil=True, cache=True, inline=inline, **options)(fn)
    return parallel_kernel(_driver(body, items, chunk), serial_below=serial_below, **options)


def serial_kernel(fn=None, **options):
    """``numba.njit(nogil=True, cache=True)``: for helpers and serial kernels."""
    if fn is None:
        return lambda f: serial_kernel(f, **options)
    return numba.njit(nogil=True, cache=True, **options)(fn)


def all_kernels():
    """The parallel kernels defined so far (for :func:`fastdgm.warmup`)."""
    return list(_registry)
