"""The counter-based uniform generator of :mod:`fastdgm._rng`, as numba functions (the one
numba copy of the SplitMix64 formula; ``csrc/counter_rng.h`` is the C one).

Use inside numba kernels::

    from .rng import uniform, substream
    k = substream(key, chain)                    # one stream per chain
    u = uniform(k, sweep * d + site)             # float64 in [0, 1)

All arithmetic is on uint64 (numba would otherwise promote uint64 op int64 to float64).
"""
import numba
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_STREAM = np.uint64(0xD1B54A32D192ED03)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_ONE = np.uint64(1)
_INV53 = 1.0 / 9007199254740992.0


@numba.njit(inline="always", cache=True)
def mix64(z):
    z = np.uint64(z)
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@numba.njit(inline="always", cache=True)
def uniform_bits53(key, counter):
    """The 53 random bits (uint64) behind ``uniform(key, counter)``: ``u = bits * 2**-53``.

    Comparing ``bits < ceil(p * 2**53)`` is the same test as ``uniform(key, counter) < p``
    without the int-to-float conversion.
    """
    return mix64(np.uint64(key) + (np.uint64(counter) + _ONE) * _GOLDEN) >> _S11


@numba.njit(inline="always", cache=True)
def uniform(key, counter):
    """Uniform float64 in [0, 1) at position ``counter`` (int, >= 0) of stream ``key`` (uint64)."""
    return np.float64(uniform_bits53(key, counter)) * _INV53


@numba.njit(inline="always", cache=True)
def substream(key, index):
    """Key (uint64) of sub-stream ``index`` of stream ``key``."""
    return mix64(np.uint64(key) + (np.uint64(index) + _ONE) * _STREAM)
