"""The Gibbs site uniforms: a 32-bit counter hash that SIMD lanes evaluate (numba).

One Gibbs site update needs one uniform. The general counter generator
(:mod:`fastdgm.kernels.rng`, 53 bits from 64-bit multiplies) costs more than a whole Ising
update, and 64-bit multiplies vectorise poorly, so the sweeps draw theirs from a per-sweep key
and a 32-bit hash of the site index:

- ``k0, k1 = sweep_key(chain_key, sweep)``: two uint32 words of
  ``mix64(chain_key + (sweep + 1) * SWEEP)`` (64 bits of key per chain and sweep);
- ``bits = site_bits(k0, k1, site) = mix32(mix32(site * G32 + k0) ^ k1)`` (uint32), with
  ``mix32`` the ``lowbias32`` finaliser (two 32-bit multiplies; Wellons 2018);
- the uniform is ``bits * 2**-32``: **32-bit resolution** (a heat-bath probability is
  rounded to a multiple of 2**-32 at worst). ``site`` must be < 2**32.

For a fixed sweep key, ``site -> bits`` is a bijection (distinct sites get distinct bits).
Only 32-bit multiplies, shifts and xors: 16 lanes per AVX-512 instruction, 8 under AVX2.
The pure-Python reference is :mod:`fastdgm._gibbs_rng`; the tests compare them bit for bit.

``site_bits`` is an LLVM intrinsic computing on i32 (numba would widen uint32 arithmetic to
64 bits, and 64-bit multiplies are what the vectoriser must avoid); it returns a uint64 below
2**32.
"""
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .parallel import serial_kernel
from .rng import mix64

SWEEP = np.uint64(0x8CB92BA72F3D8DD7)   # odd increment of the per-sweep key
G32 = np.uint64(0x9E3779B9)             # 32-bit golden ratio: spreads consecutive sites
_A = np.uint64(0x7FEB352D)
_B = np.uint64(0x846CA68B)
_MASK = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_ONE = np.uint64(1)
INV32 = 1.0 / 4294967296.0


@serial_kernel(inline="always")
def sweep_key(chain_key, sweep):
    """``(k0, k1)``: the two 32-bit words (uint64) of the key of ``sweep`` (int >= 0) of a chain."""
    k = mix64(np.uint64(chain_key) + (np.uint64(sweep) + _ONE) * SWEEP)
    return k & _MASK, k >> _S32


def _ir_mix32(builder, v):
    i32 = v.type
    v = builder.xor(v, builder.lshr(v, ir.Constant(i32, 16)))
    v = builder.mul(v, ir.Constant(i32, int(_A)))
    v = builder.xor(v, builder.lshr(v, ir.Constant(i32, 15)))
    v = builder.mul(v, ir.Constant(i32, int(_B)))
    return builder.xor(v, builder.lshr(v, ir.Constant(i32, 16)))


@intrinsic
def _site_bits_i32(typingctx, k0, k1, site):
    """``mix32(mix32(site * G32 + k0) ^ k1)`` on the low 32 bits of three integers, as i32 IR."""
    sig = types.uint64(k0, k1, site)

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        a, b, n = (builder.trunc(v, i32) for v in args)
        x = builder.add(builder.mul(n, ir.Constant(i32, int(G32))), a)
        x = _ir_mix32(builder, builder.xor(_ir_mix32(builder, x), b))
        return builder.zext(x, ir.IntType(64))
    return sig, codegen


@serial_kernel(inline="always")
def site_bits(k0, k1, site):
    """The 32 random bits (uint64 < 2**32) of the update of ``site`` under sweep key (k0, k1):
    ``mix32(mix32((site * G32 + k0) mod 2**32) ^ k1)``."""
    return _site_bits_i32(np.uint64(k0), np.uint64(k1), np.int64(site))


@serial_kernel(inline="always")
def site_uniform(k0, k1, site):
    """Uniform float64 in [0, 1), a multiple of 2**-32: ``site_bits(k0, k1, site) * 2**-32``."""
    return np.float64(site_bits(k0, k1, site)) * INV32
