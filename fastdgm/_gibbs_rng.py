"""Pure-Python reference of the Gibbs site uniforms (:mod:`fastdgm.kernels.gibbs_rng`).

The uniform of the update of ``site`` in absolute sweep ``sweep`` of a chain with key
``chain_key`` (``substream(key, chain)``) is ``site_bits_ref(chain_key, sweep, site) * 2**-32``.
Slow, obviously-correct Python ints, used by the tests (the sequential Ising twin).
"""
from __future__ import annotations

from ._rng import mix64

__all__ = ["SWEEP", "G32", "mix32", "sweep_key_ref", "site_bits_ref", "site_uniform_ref"]

SWEEP = 0x8CB92BA72F3D8DD7
G32 = 0x9E3779B9
_M32 = (1 << 32) - 1
_M64 = (1 << 64) - 1


def mix32(x: int) -> int:
    """``lowbias32`` (Wellons 2018) on a 32-bit Python int."""
    x &= _M32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & _M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & _M32
    return x ^ (x >> 16)


def sweep_key_ref(chain_key: int, sweep: int) -> tuple[int, int]:
    """The two 32-bit words (low, high) of the key of ``sweep`` of the chain ``chain_key``."""
    k = mix64((int(chain_key) + (int(sweep) + 1) * SWEEP) & _M64)
    return k & _M32, k >> 32


def site_bits_ref(chain_key: int, sweep: int, site: int) -> int:
    """The 32 random bits of the update of ``site`` (< 2**32) in ``sweep`` of the chain."""
    k0, k1 = sweep_key_ref(chain_key, sweep)
    return mix32(mix32((int(site) * G32 + k0) & _M32) ^ k1)


def site_uniform_ref(chain_key: int, sweep: int, site: int) -> float:
    """The uniform in [0, 1) (a multiple of 2**-32) of that update."""
    return site_bits_ref(chain_key, sweep, site) * 2.0 ** -32
