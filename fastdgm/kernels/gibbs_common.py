"""Gibbs keys, random initial states and graph colouring shared by the grid and graph sweeps.

Random numbers: the uniform of the update of ``site`` in absolute sweep ``sweep`` of
``chain`` is the 32-bit site uniform ``site_uniform(*sweep_key(chain_key, sweep), site)``
(:mod:`fastdgm.kernels.gibbs_rng`) with ``chain_key = substream(key, chain)``; random initial
states use ``uniform(substream(chain_key, 0), site)`` (53 bits).
"""
import numpy as np
from numba import prange

from .parallel import parallel_kernel, serial_kernel
from .rng import substream, uniform

BLOCK = 256  # sites per work item of the site layout and per energy partial sum (fixed)


# --- keys and initial states -----------------------------------------------------------
@serial_kernel
def chain_keys(key, first, n):
    """Keys of chains ``first .. first+n-1``: ``substream(key, chain)``, uint64 (n,)."""
    out = np.empty(n, dtype=np.uint64)
    for c in range(n):
        out[c] = substream(key, first + c)
    return out


@parallel_kernel
def random_init(keys, out, n_states):
    """Fill ``out`` (chains, d) with uniform states from ``substream(chain_key, 0)``."""
    n_chains, d = out.shape
    for c in prange(n_chains):
        k0 = substream(keys[c], 0)
        for i in range(d):
            s = np.int64(uniform(k0, i) * n_states)
            if s >= n_states:
                s = n_states - 1
            out[c, i] = s


@serial_kernel(inline="always")
def copy_state(dst, src):
    """``dst[i] = src[i]`` for every site: a recorded sample. An element loop, not ``dst[:] = src``:
    numba compiles the shape check and error message of an array assignment for seconds."""
    for i in range(src.shape[0]):
        dst[i] = src[i]


@serial_kernel
def greedy_colouring(ptr, nbr):
    """Greedy proper colouring in site order: smallest colour unused by earlier neighbours."""
    d = ptr.shape[0] - 1
    colour = np.full(d, -1, dtype=np.int64)
    used = np.full(d + 1, -1, dtype=np.int64)
    for i in range(d):
        for a in range(ptr[i], ptr[i + 1]):
            cj = colour[nbr[a]]
            if cj >= 0:
                used[cj] = i
        c = 0
        while used[c] == i:
            c += 1
        colour[i] = c
    return colour
