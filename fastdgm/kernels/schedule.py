"""Dynamic scheduling of the numba row kernels: work items handed out by an atomic counter.

numba's threading layers split a ``prange`` statically (thread t gets the t-th slice). On a
shared node one core can run slower than the other for seconds (another tenant on it); a
static split then waits for the slow thread, and two threads gain little over one. A kernel
over independent items (rows, chains, pairs, sites) therefore runs ``WORKERS`` workers
(``prange(WORKERS)``, at least as many as threads) that each take the next chunk of items
from a shared counter until none is left::

    todo = np.zeros(1, np.int64)
    for worker in prange(WORKERS):
        c = next_item(todo)
        while c < n_chunks:
            body(c, c * chunk, min(n, (c + 1) * chunk), ...)   # writes only what belongs to chunk c
            c = next_item(todo)

A fast thread takes more chunks, a slow one fewer. Each chunk's work and where it writes
depend on the chunk alone, so results are the same bits on any thread count and for any
assignment of chunks to threads (the serial twin runs the first worker over every chunk).

The rule: kernels do not write this loop. A kernel is the body of one chunk,
``def body(c, start, stop, *arrays)`` (items ``[start, stop)`` of chunk ``c``; ``c`` indexes
per-chunk partial outputs), decorated with
:func:`~fastdgm.kernels.parallel.chunked_kernel`, which generates the loop above around it
(the body inlined into the parallel loop); the lanes of ``hclt_gemm`` and the
per-component / per-column loops of ``treemix`` are chunks like any other. ``prange`` stays
only where the parallel loop is not a set of independent chunks:

- the Gibbs site layouts (``*_sites``): a ``prange`` inside the sequential sweep and
  colour loops, one barrier per colour;
- ``mrf_exact.enum_log_partition``: per-block partials reduced inside the kernel, which
  returns (log Z, mean);
- ``bayesnet.family_scores``: every block of candidates reads one O(n) array computed before
  the loop (a body would recompute it per chunk).
"""
from __future__ import annotations

from numba import types
from numba.extending import intrinsic, overload

__all__ = ["next_item", "WORKERS"]

WORKERS = 256   # workers of a dynamically scheduled loop (>= the threads that share it)


@intrinsic
def _atomic_next(typingctx, counter):
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
        return None
    sig = types.int64(counter)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        one = context.get_constant(types.int64, 1)
        return builder.atomic_rmw("add", ary.data, one, "monotonic")

    return sig, codegen


def next_item(counter):
    """``counter[0]`` before adding 1 to it; atomically in compiled code.

    Parameters
    ----------
    counter : ndarray of int64, shape (1,)
        The shared counter of a loop's items.

    Returns
    -------
    int
        The item this worker takes.
    """
    item = int(counter[0])
    counter[0] += 1
    return item


@overload(next_item, inline="always")
def _next_item_compiled(counter):
    return lambda counter: _atomic_next(counter)
