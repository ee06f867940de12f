"""Gibbs keys, random initial states and graph colouring shared by the grid and graph sweeps.

Random numbers: the uniform of the update of ``site`` in absolute sweep ``sweep`` of
``chain`` is the 32-bit site uniform ``site_uniform(*sweep_key(chain_key, sweep), site)``
(:mod:`fastdgm.kernels.gibbs_rng`) with ``chain_key = substream(key, chain)``; random initial
states use ``uniform(substream(chain_key, 0), site)`` (53 bits).
"""
import numpy as np

from .mrf_exact import row_energy
from .parallel import chunked_kernel, serial_kernel
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


@serial_kernel
def random_state(key, x, n_states):
    """Fill the state ``x`` (d,) of the chain of ``key`` with uniform states from ``substream(key, 0)``."""
    k0 = substream(key, 0)
    for i in range(x.shape[0]):
        s = np.int64(uniform(k0, i) * n_states)
        if s >= n_states:
            s = n_states - 1
        x[i] = s


@serial_kernel(inline="always")
def _state_and_energy(c, keys, X, fill, n_states, unary, edges, etab, tables, energy):
    """Chain ``c``: a random initial state (:func:`random_state`) when ``fill``, then its energy
    (:func:`row_energy`, the bits of ``PairwiseMRF.energy``) into ``energy[c]``."""
    if fill:
        random_state(keys[c], X[c], n_states)
    energy[c] = row_energy(X[c], unary, edges, etab, tables)


@chunked_kernel(items="X.shape[0]")
def chain_setup(c, start, stop, keys, X, fill, n_states, unary, edges, etab, tables, energy):
    """The set-up of a Gibbs run in one parallel region, chain by chain: a random initial state
    (:func:`random_state`) when ``fill``, then the chain's energy (:func:`row_energy`, the bits
    of ``PairwiseMRF.energy``) into ``energy`` (chains,). One chain per chunk."""
    for c in range(start, stop):
        _state_and_energy(c, keys, X, fill, n_states, unary, edges, etab, tables, energy)


# set-up done by a sweep kernel itself at the start of a run (``setup_chain``)
SETUP_NONE = 0      # later chunks of a run
SETUP_KEYS = 1      # the chains' keys (a resumed run: states and energies carried over)
SETUP_ENERGY = 2    # keys, then the energies of the given initial states
SETUP_FILL = 3      # keys, random initial states, their energies


@serial_kernel(inline="always")
def setup_chain(c, setup, run_key, first, keys, X, n_states, unary, edges, etab, tables, energy):
    """The set-up of chain ``c`` inside a sweep kernel's parallel region (one region per call, and
    no set-up kernel to compile): with ``setup`` >= SETUP_KEYS its key ``keys[c] =
    substream(run_key, first + c)`` (the bits of :func:`chain_keys`), then with SETUP_ENERGY /
    SETUP_FILL what :func:`chain_setup` does (``fill`` = SETUP_FILL)."""
    if setup >= SETUP_KEYS:
        keys[c] = substream(run_key, np.int64(first) + np.int64(c))
        if setup >= SETUP_ENERGY:
            _state_and_energy(c, keys, X, setup >= SETUP_FILL, n_states, unary, edges, etab, tables, energy)


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
