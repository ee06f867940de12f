"""The floors a kernel cannot beat on this machine: drawing its uniforms alone, reading its input once."""
import numba
import numpy as np

from fastdgm.bench.internals import fill_uniforms


def uniforms(n):
    """A callable drawing n uniforms of fastdgm's counter generator (one thread) into a buffer."""
    out = np.empty(int(n))
    return lambda: fill_uniforms(np.uint64(12345), np.uint64(0), out, 1)


@numba.njit(nogil=True, cache=True)
def _sum(flat):
    """One pass over an integer array (the 'read the input once' reference), vectorised by LLVM."""
    s = np.uint64(0)
    for k in range(flat.shape[0]):
        s += flat[k]
    return s


def read(A):
    """A callable reading A once: ``A.sum()`` for floats (numpy's pairwise SIMD sum), else a numba loop."""
    A = np.ascontiguousarray(A)
    if A.dtype.kind == "f":
        return lambda: A.sum()
    flat = A.reshape(-1)
    return lambda: _sum(flat)
