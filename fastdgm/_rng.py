"""SPEC 7 ``rng`` handling and the counter-based uniform generator.

Every random number in fastdgm is ``uniform(key, counter)``: a 64-bit ``key`` drawn once
per call from the user's ``rng`` and the index of the element being produced. This is the
SplitMix64 stream seeded by ``key`` (Steele, Lea & Flood 2014), so draws depend only on
(seed, element index): never on the number of threads or on how the work is chunked.
The same function is implemented in C for the Cython kernels (``csrc/counter_rng.h``) and in
numba (:mod:`fastdgm.kernels.rng`); the tests check the three agree bit for bit. Gibbs site
updates use their own 32-bit counter hash (:mod:`fastdgm._gibbs_rng`).
"""
from __future__ import annotations

import functools

import numpy as np

__all__ = ["make_key", "GOLDEN", "STREAM", "mix64", "uniform_ref", "substream_ref"]

GOLDEN = 0x9E3779B97F4A7C15  # SplitMix64 increment
STREAM = 0xD1B54A32D192ED03  # increment used to derive independent sub-streams
_M64 = (1 << 64) - 1


def make_key(rng=None) -> np.uint64:
    """Draw the 64-bit key of one sampling call from a SPEC 7 ``rng``.

    Parameters
    ----------
    rng : None, int, array_like[int], numpy.random.SeedSequence, BitGenerator or Generator
        As accepted by :func:`numpy.random.default_rng`. A ``Generator`` is advanced,
        so two calls with the same Generator give different draws, as in numpy.

    Returns
    -------
    numpy.uint64
    """
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError("rng must be None, an int, a SeedSequence, a BitGenerator or a Generator, got bool")
    if isinstance(rng, (float, np.floating, str, bytes)):
        raise TypeError(
            f"rng must be None, an int, a SeedSequence, a BitGenerator or a Generator, got {type(rng).__name__}")
    if type(rng) is int and rng >= 0:
        return _int_key(rng)        # a pure function of the seed: cached (20 us a call)
    return _draw_key(rng)


@functools.lru_cache(maxsize=1024)
def _int_key(seed: int) -> np.uint64:
    return _draw_key(seed)


def _draw_key(rng) -> np.uint64:
    try:
        gen = np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"rng: {exc}") from None
    return gen.integers(0, 1 << 64, dtype=np.uint64, endpoint=False)


# Slow, obviously-correct references (pure Python ints) used by the tests.
def mix64(z: int) -> int:
    """SplitMix64 output function on a Python int (reference)."""
    z &= _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def uniform_ref(key: int, counter: int) -> float:
    """Reference of the uniform in [0, 1) at position ``counter`` of stream ``key``."""
    return (mix64(int(key) + (int(counter) + 1) * GOLDEN) >> 11) * 2.0 ** -53


def substream_ref(key: int, index: int) -> int:
    """Reference of the key of sub-stream ``index`` (e.g. one Gibbs chain) of ``key``."""
    return mix64(int(key) + (int(index) + 1) * STREAM)
