"""Numba ancestral samplers of the explicit models, by cumulative-level thresholding.

Every kernel draws the rows ``[row0, row0 + n)`` of a sample: element (i, j) of the whole
sample uses ``uniform(key, i * d + j)`` (the mixture's component of row i uses
``uniform(substream(key, 0), i)``), so a block of rows drawn alone (``row0 > 0``, e.g. on a
dask worker) equals the same rows of one big call, bit for bit, for any thread count.
Levels are cumulative (last level of every row exactly 1.0), trusted.
"""
from .levels import threshold_levels
from .likelihood import CHUNK, SERIAL_WORK
from .parallel import chunked_kernel
from .rng import substream, uniform

__all__ = ["factorized_sample", "mixture_sample", "tree_sample", "treemix_sample"]


@chunked_kernel(items="out.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def factorized_sample(c, start, stop, levels, key, row0, out):
    """Rows row0.. of a sample: out[i, j] = first x with u_ij < levels[j, x]; levels (d, C), last level 1.0."""
    d = out.shape[1]
    for i in range(start, stop):
        for j in range(d):
            out[i, j] = threshold_levels(levels[j], uniform(key, (row0 + i) * d + j))


@chunked_kernel(items="out.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def mixture_sample(c, start, stop, wlevels, levels, key, row0, out):
    """Component z_i by thresholding ``wlevels`` (K,) with uniform(substream(key, 0), i), then
    out[i, j] from levels[z_i, j] (K, d, C) with uniform(key, (row0 + i) * d + j)."""
    d = out.shape[1]
    zkey = substream(key, 0)
    for i in range(start, stop):
        z = threshold_levels(wlevels, uniform(zkey, row0 + i))
        for j in range(d):
            out[i, j] = threshold_levels(levels[z, j], uniform(key, (row0 + i) * d + j))


@chunked_kernel(items="out.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def tree_sample(c, start, stop, levels, parent, order, key, row0, out):
    """Ancestral sampling down a tree: for j in ``order`` (root first),
    out[i, j] = threshold(levels[j, out[i, parent[j]]], uniform(key, (row0 + i) * d + j));
    the root (parent[j] == j) uses levels[j, 0]."""
    d = out.shape[1]
    for i in range(start, stop):
        for t in range(d):
            j = order[t]
            pj = parent[j]
            ps = 0 if pj == j else out[i, pj]
            out[i, j] = threshold_levels(levels[j, ps], uniform(key, (row0 + i) * d + j))


@chunked_kernel(items="out.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def treemix_sample(c, start, stop, wlevels, levels, kparent, order, key, row0, out):
    """Component z_i by thresholding ``wlevels`` (K,) with uniform(substream(key, 0), i),
    then ancestral sampling down tree z_i: for j in order[z_i],
    out[i, j] = threshold(levels[z_i, j, out[i, parent]], uniform(key, i * d + j))
    (the root reads row 0 of its table)."""
    d = out.shape[1]
    zkey = substream(key, 0)
    for i in range(start, stop):
        z = threshold_levels(wlevels, uniform(zkey, row0 + i))
        lz = levels[z]
        pz = kparent[z]
        for t in range(d):
            j = order[z, t]
            pj = pz[j]
            ps = 0 if pj == j else out[i, pj]
            out[i, j] = threshold_levels(lz[j, ps], uniform(key, (row0 + i) * d + j))
