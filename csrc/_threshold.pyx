# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cumulative-level thresholding kernels (the first hot path of fastdgm).

Every function here trusts its inputs: shapes, dtypes and values are checked by
``fastdgm/sampling.py`` before anything below runs. All loops run without the GIL;
``nthreads`` is the OpenMP thread count (ignored when built without OpenMP).

Draws depend only on (key, output index) through ``uniform01`` (counter_rng.pxd), so
results are identical for any thread count and any chunking.

Contract of every search: return the first k with ``u < L[k]`` for levels
``L[0] <= ... <= L[C-1] = 1.0`` and ``0 <= u < 1``; a zero-width category is never
returned and neither is C.
"""
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.math cimport erfc, sqrt, INFINITY
from libc.stdlib cimport malloc, free
from cython cimport floating
from cython.parallel cimport prange, parallel

from counter_rng cimport uniform01, fdgm_uniforms

cdef extern from *:
    """
    #ifndef FASTDGM_OPENMP
    #define FASTDGM_OPENMP 0
    #endif
    """
    int FASTDGM_OPENMP

ctypedef fused out_t:
    int8_t
    int16_t
    int32_t
    int64_t
    uint8_t
    uint16_t
    uint32_t
    uint64_t

METHODS = {"scan": 0, "bisect": 1, "guide": 2, "alias": 3}
cdef enum:
    SCAN = 0
    BISECT = 1
    GUIDE = 2
    ALIAS = 3
    BLOCK = 8          # block length of the fused row scan (FDGM_BLOCK in row_draw.h)
    ROW_CHUNK = 256    # rows per OpenMP task in the batched kernels

# margin that makes guide-table buckets robust to rounding of u * C
cdef double GUIDE_MARGIN = 1.0 - 2.0 ** -50


def openmp_enabled():
    """True if the extension was compiled with OpenMP."""
    return bool(FASTDGM_OPENMP)


# ---------------------------------------------------------------------------------------
# searches on normalised levels (one table)
# ---------------------------------------------------------------------------------------
cdef inline int64_t search_scan(const double* L, int64_t C, double u) noexcept nogil:
    cdef int64_t k = 0, j
    if C <= 16:
        # branchless: the answer is the number of levels at or below u (levels are sorted)
        for j in range(C - 1):
            k += <int64_t>(u >= L[j])
        return k
    while k < C - 1 and u >= L[k]:
        k += 1
    return k


cdef inline int64_t search_bisect(const double* L, int64_t C, double u) noexcept nogil:
    # branch-free binary search: the answer stays in [lo, lo + n - 1]
    cdef int64_t lo = 0, n = C, half
    while n > 1:
        half = n >> 1
        lo = lo + half if u >= L[lo + half - 1] else lo
        n -= half
    return lo


cdef inline int64_t search_guide(const double* L, const int64_t* G, int64_t C, double u) noexcept nogil:
    cdef int64_t j = <int64_t>(u * C)
    if j >= C:
        j = C - 1
    cdef int64_t k = G[j]
    if k < C - 1:
        k += <int64_t>(u >= L[k])            # the usual one step, without a branch
    while k < C - 1 and u >= L[k]:
        k += 1
    return k


cdef inline int64_t search_alias(const double* Q, const int64_t* A, int64_t C, double u) noexcept nogil:
    cdef double x = u * C
    cdef int64_t j = <int64_t>x
    if j >= C:
        j = C - 1
    cdef int64_t a = A[j]
    cdef int64_t keep = -<int64_t>(x - j < Q[j])   # all ones if the coin keeps j
    return a ^ ((a ^ j) & keep)


cdef inline int64_t search(int method, const double* L, const int64_t* G, const double* Q,
                           const int64_t* A, int64_t C, double u) noexcept nogil:
    if method == GUIDE:
        return search_guide(L, G, C, u)
    elif method == BISECT:
        return search_bisect(L, C, u)
    elif method == ALIAS:
        return search_alias(Q, A, C, u)
    return search_scan(L, C, u)


# ---------------------------------------------------------------------------------------
# table construction (O(C), no allocation of size beyond C)
# ---------------------------------------------------------------------------------------
cdef bint levels_from_weights(const double* w, int64_t C, double* L) noexcept nogil:
    """Normalised cumulative levels of non-negative weights; L[C-1] = 1.

    Returns False (L undefined) if the weights sum to 0 or overflow."""
    cdef double acc = 0.0
    cdef int64_t k
    for k in range(C):
        acc += w[k]
        L[k] = acc
    if not (acc > 0.0) or acc == INFINITY:
        return False
    for k in range(C):
        L[k] = L[k] / acc
    L[C - 1] = 1.0
    return True


cdef void build_guide(const double* L, int64_t C, int64_t* G) noexcept nogil:
    """G[j] = first k with L[k] > (j / C) * (1 - 2^-50) (Chen & Asau 1974)."""
    cdef int64_t j, k = 0
    cdef double t
    for j in range(C):
        t = (<double>j / C) * GUIDE_MARGIN
        while k < C - 1 and L[k] <= t:
            k += 1
        G[j] = k


cdef int build_alias(const double* L, int64_t C, double* Q, int64_t* A) noexcept nogil:
    """Walker/Vose alias table from levels. Returns -1 if out of memory."""
    cdef int64_t* small = <int64_t*>malloc(C * sizeof(int64_t))
    cdef int64_t* large = <int64_t*>malloc(C * sizeof(int64_t))
    cdef int64_t ns = 0, nl = 0, k, s, l, anchor = 0
    cdef double prev = 0.0, p, best = -1.0
    if small == NULL or large == NULL:
        free(small)
        free(large)
        return -1
    for k in range(C):
        p = (L[k] - prev) * C          # scaled probability
        prev = L[k]
        Q[k] = p
        A[k] = k
        if p > best:
            best = p
            anchor = k
        if p < 1.0:
            small[ns] = k
            ns += 1
        else:
            large[nl] = k
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        l = large[nl - 1]
        A[s] = l
        Q[l] = (Q[l] + Q[s]) - 1.0
        if Q[l] < 1.0:
            nl -= 1
            small[ns] = l
            ns += 1
    while nl > 0:
        nl -= 1
        Q[large[nl]] = 1.0
    while ns > 0:              # left over only through rounding
        ns -= 1
        s = small[ns]
        if L[s] > (L[s - 1] if s > 0 else 0.0):
            Q[s] = 1.0
        else:                  # a zero-probability category must stay unreachable
            Q[s] = 0.0
            A[s] = anchor
    free(small)
    free(large)
    return 0


def prepare_tables(const double[::1] levels, int method):
    """Build the search tables of one distribution.

    Parameters
    ----------
    levels : float64 (C,), normalised cumulative levels (last = 1.0)
    method : int, 2 = guide table, 3 = alias table

    Returns
    -------
    (int64 (C,), float64 (C,)) : the guide table (or alias indices) and the alias
    probabilities (empty for the guide table).
    """
    import numpy as np
    cdef int64_t C = levels.shape[0]
    idx = np.empty(C, dtype=np.int64)
    cdef int64_t[::1] iv = idx
    if method == GUIDE:
        with nogil:
            build_guide(&levels[0], C, &iv[0])
        return idx, np.empty(0, dtype=np.float64)
    q = np.empty(C, dtype=np.float64)
    cdef double[::1] qv = q
    cdef int rc
    with nogil:
        rc = build_alias(&levels[0], C, &qv[0], &iv[0])
    if rc != 0:
        raise MemoryError("alias table")
    return idx, q


# ---------------------------------------------------------------------------------------
# one distribution, many draws
# ---------------------------------------------------------------------------------------
def sample_table(const double[::1] levels, const int64_t[::1] index, const double[::1] prob,
                 int method, uint64_t key, uint64_t offset, out_t[::1] out, int nthreads):
    """out[i] = draw of the distribution with uniform(key, offset + i).

    ``index``/``prob`` are the guide table (method 2) or alias table (method 3) from
    :func:`prepare_tables`; pass length-1 dummies for scan/bisect.
    """
    cdef int64_t n = out.shape[0], C = levels.shape[0], i
    cdef const double* L = &levels[0]
    cdef const int64_t* G = &index[0]
    cdef const double* Q = &prob[0]
    if n == 0:
        return
    # one loop per method, so that the search inlines into a tight loop
    with nogil:
        if method == GUIDE:
            for i in prange(n, num_threads=nthreads, schedule="guided", chunksize=4096):
                out[i] = <out_t>search_guide(L, G, C, uniform01(key, offset + i))
        elif method == ALIAS:
            for i in prange(n, num_threads=nthreads, schedule="guided", chunksize=4096):
                out[i] = <out_t>search_alias(Q, G, C, uniform01(key, offset + i))
        elif method == BISECT:
            for i in prange(n, num_threads=nthreads, schedule="guided", chunksize=4096):
                out[i] = <out_t>search_bisect(L, C, uniform01(key, offset + i))
        else:
            for i in prange(n, num_threads=nthreads, schedule="guided", chunksize=4096):
                out[i] = <out_t>search_scan(L, C, uniform01(key, offset + i))


# ---------------------------------------------------------------------------------------
# a batch of distributions: one row each
# ---------------------------------------------------------------------------------------
cdef extern from "row_draw.h" nogil:
    int64_t fdgm_draw_rows(const double* P, int64_t rows, int64_t C, uint64_t key, uint64_t r0,
                           int64_t* out, double* bs)

cdef extern from "logit_weights.h" nogil:
    void fdgm_logit_weights(const double* X, int64_t rows, int64_t C, double* W)
    bint fdgm_logit_row(const double* x, int64_t C, double* w)

cdef extern from "simd.h" nogil:
    int fdgm_simd_select(int cap)
    int fdgm_cpu_path()

SIMD_PATHS = ("portable", "avx2", "avx512")   # index = the path's code in csrc/simd.h


def _simd_cap():
    """The cap on the instruction set from the environment (read once, at import):
    FASTDGM_SIMD=avx512|avx2|portable, or FASTDGM_NO_SIMD=1 (portable). An unknown value
    warns and caps nothing."""
    import os
    import warnings
    value = os.environ.get("FASTDGM_SIMD", "").strip().lower()
    off = os.environ.get("FASTDGM_NO_SIMD", "")
    if off not in ("", "0"):
        return 0
    if value in ("", "auto", "native"):
        return len(SIMD_PATHS) - 1
    if value not in SIMD_PATHS:
        warnings.warn(f"FASTDGM_SIMD={value!r} is not one of {', '.join(SIMD_PATHS)}: ignored",
                      RuntimeWarning, stacklevel=2)
        return len(SIMD_PATHS) - 1
    return SIMD_PATHS.index(value)


_SIMD_PATH = SIMD_PATHS[fdgm_simd_select(_simd_cap())]   # decide once, at import


def simd_path():
    """The instruction set of the explicit-SIMD kernels in use: 'avx512', 'avx2' or 'portable'
    (the best the CPU runs, capped by FASTDGM_SIMD; see csrc/simd.h)."""
    return _SIMD_PATH


def simd_cpu_path():
    """The best path this CPU runs (before the FASTDGM_SIMD cap)."""
    return SIMD_PATHS[fdgm_cpu_path()]


def _select_simd(name):
    """Cap the path at `name` (as FASTDGM_SIMD would) in this process, for benchmarks that
    time two paths interleaved; never while a kernel runs. Returns the path now in use."""
    global _SIMD_PATH
    _SIMD_PATH = SIMD_PATHS[fdgm_simd_select(SIMD_PATHS.index(name))]
    return _SIMD_PATH


def simd_enabled():
    """True if the one-draw-per-row kernels use explicit SIMD (AVX-512 or AVX2) in this process."""
    return _SIMD_PATH != "portable"


def logit_weights(const double[:, ::1] X):
    """Softmax weights exp(X - row max) of each row (logit_weights.h), as the draws use them.

    Returns
    -------
    float64 (n, C) : the weights; an invalid row (NaN or +inf logit, all -inf) has W[r, 0] = -1.
    """
    import numpy as np
    W = np.empty((X.shape[0], X.shape[1]), dtype=np.float64)
    cdef double[:, ::1] wv = W
    if X.shape[0] > 0 and X.shape[1] > 0:
        with nogil:
            fdgm_logit_weights(&X[0, 0], X.shape[0], X.shape[1], &wv[0, 0])
    return W


cdef inline bint row_levels(const floating[:, :] P, int64_t r, bint logits, double* w, double* L) noexcept nogil:
    """Normalised levels of row r into L (w is scratch); False if the row is invalid."""
    cdef int64_t C = P.shape[1], k
    cdef double x
    for k in range(C):
        x = P[r, k]
        if not logits and not (x >= 0.0 and x < INFINITY):
            return False
        w[k] = x
    if logits and not fdgm_logit_row(w, C, w):
        return False
    return levels_from_weights(w, C, L)


cdef inline void narrow(const int64_t* src, int64_t m, out_t* dst) noexcept nogil:
    """dst[i] = src[i] in the output dtype (a loop the compiler vectorises)."""
    cdef int64_t i
    for i in range(m):
        dst[i] = <out_t>src[i]


cdef int64_t one_per_row(const floating[:, :] P, bint logits, uint64_t key, out_t[::1] out,
                         int nthreads) noexcept nogil:
    """out[r] = the draw of row r with uniform(key, r) by the fused block scan (row_draw.h).

    Rows go to the C kernel in tasks of T rows (about 128 KiB of weights, in cache for the
    kernel's second look at one block per row); rows that are not float64 and contiguous,
    and logits (through their softmax weights), are first converted into a per-thread
    buffer. Returns the number of invalid rows."""
    cdef int64_t n = P.shape[0], C = P.shape[1], T, ntasks, c, r0, m, i, k, nbad = 0
    cdef bint direct = False
    if floating is double:
        direct = P.strides[1] == sizeof(double) and P.strides[0] == C * sizeof(double)
    T = 16384 // C
    T = 8 if T < 8 else (4096 if T > 4096 else T)
    ntasks = (n + T - 1) // T
    cdef double* buf = NULL
    cdef double* W = NULL
    cdef double* bs = NULL
    cdef int64_t* res = NULL
    cdef const double* src = NULL
    with parallel(num_threads=nthreads):
        buf = <double*>malloc((T + 8 * (C // BLOCK + 1) + (0 if direct and not logits else T * C)) * sizeof(double))
        res = <int64_t*>buf
        bs = buf + T
        W = bs + 8 * (C // BLOCK + 1)
        for c in prange(ntasks, schedule="guided"):
            r0 = c * T
            m = T if r0 + T <= n else n - r0
            if buf == NULL:
                nbad += m
                continue
            if direct:
                src = <const double*>&P[r0, 0]
            else:
                for i in range(m):
                    for k in range(C):
                        W[i * C + k] = P[r0 + i, k]
                src = W
            if logits:
                fdgm_logit_weights(src, m, C, W)
                src = W
            if out_t is int64_t:
                nbad += fdgm_draw_rows(src, m, C, key, r0, &out[r0], bs)
            else:
                nbad += fdgm_draw_rows(src, m, C, key, r0, res, bs)
                narrow(res, m, &out[r0])
        free(buf)
    return nbad


def sample_rows(const floating[:, :] P, bint logits, int method, int64_t draws, uint64_t key,
                out_t[::1] out, int nthreads):
    """Draws from each row of P (n, C): out[j * n + r] uses uniform(key, j * n + r).

    For ``draws == 1`` each row is read once by the fused block scan (csrc/row_draw.h),
    whatever ``method`` (building a table for one draw costs more than the scan). For more
    draws per row the normalised levels and the method's table are built per row in an
    O(C) buffer.

    Returns
    -------
    int : the number of invalid rows (their draws are left at 0); 0 on success.
    """
    cdef int64_t n = P.shape[0], C = P.shape[1], r, j, c, nchunks, r0, r1
    cdef int64_t nbad = 0
    cdef double* w
    cdef double* L
    cdef int64_t* G
    cdef double* Q
    if n == 0 or draws == 0:
        return 0
    if draws == 1:
        with nogil:
            nbad = one_per_row(P, logits, key, out, nthreads)
        return nbad
    nchunks = (n + ROW_CHUNK - 1) // ROW_CHUNK
    w = NULL
    G = NULL
    L = NULL
    Q = NULL
    with nogil, parallel(num_threads=nthreads):
        w = <double*>malloc(3 * C * sizeof(double))
        G = <int64_t*>malloc(C * sizeof(int64_t))
        L = w + C
        Q = L + C
        for c in prange(nchunks, schedule="guided"):
            r0 = c * ROW_CHUNK
            r1 = r0 + ROW_CHUNK if r0 + ROW_CHUNK < n else n
            for r in range(r0, r1):
                if w == NULL or G == NULL:
                    nbad += 1
                    continue
                if not row_levels(P, r, logits, w, L):
                    nbad += 1
                    for j in range(draws):
                        out[j * n + r] = 0
                    continue
                if method == GUIDE:
                    build_guide(L, C, G)
                elif method == ALIAS:
                    if build_alias(L, C, Q, G) != 0:
                        nbad += 1
                        continue
                for j in range(draws):
                    out[j * n + r] = <out_t>search(method, L, G, Q, G, C, uniform01(key, j * n + r))
        free(w)
        free(G)
    return nbad


# ---------------------------------------------------------------------------------------
# the primitive with the caller's uniforms, uniforms themselves, and the normal CDF
# ---------------------------------------------------------------------------------------
def threshold_rows(const double[::1] u, const double[:, ::1] levels, const int64_t[::1] rows,
                   const int64_t[::1] last, int64_t[::1] out, int nthreads):
    """out[i] = first k with u[i] < levels[rows[i], k], else last[rows[i]] (binary search)."""
    cdef int64_t n = u.shape[0], C = levels.shape[1], i, r, k
    if n == 0:
        return
    with nogil:
        for i in prange(n, num_threads=nthreads, schedule="guided", chunksize=4096):
            r = rows[i]
            k = search_bisect(&levels[r, 0], C, u[i])
            if k > last[r]:
                k = last[r]
            out[i] = k


def fill_uniforms(uint64_t key, uint64_t offset, double[::1] out, int nthreads):
    """out[i] = uniform(key, offset + i) in [0, 1), in blocks of 4096 (8 lanes with AVX-512)."""
    cdef int64_t n = out.shape[0], c, i0
    with nogil:
        for c in prange((n + 4095) // 4096, num_threads=nthreads, schedule="guided"):
            i0 = c * 4096
            fdgm_uniforms(key, offset + i0, 4096 if i0 + 4096 <= n else n - i0, &out[i0])


cdef inline double inverse_cdf(const double* L, const double* x, const double* f, const double* mass,
                               int64_t m, double u) noexcept nogil:
    """Exact inverse CDF at u of the piecewise-linear density (x, f) on m intervals of
    masses ``mass`` with normalised levels L: the interval by thresholding, then the root
    of the quadratic CDF inside it (in its cancellation-free form)."""
    cdef int64_t k = search_bisect(L, m, u)
    while k > 0 and not (mass[k] > 0.0):       # u at the very top (u = 1 from Phi)
        k -= 1
    cdef double lo = L[k - 1] if k > 0 else 0.0
    cdef double width = L[k] - lo
    cdef double v = (u - lo) / width if width > 0.0 else 0.0
    v = 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)
    cdef double r = v * mass[k], h = x[k + 1] - x[k], fk = f[k]
    cdef double s = (f[k + 1] - fk) / h
    cdef double disc = fk * fk + 2.0 * s * r
    disc = sqrt(disc) if disc > 0.0 else 0.0
    cdef double t = 2.0 * r / (fk + disc) if fk + disc > 0.0 else 0.0
    t = 0.0 if t < 0.0 else (h if t > h else t)
    return x[k] + t


def density_inverse(const double[::1] u, const double[::1] levels, const double[::1] x,
                    const double[::1] f, const double[::1] mass, double[::1] out, int nthreads):
    """out[i] = F^{-1}(u[i]) for the piecewise-linear density (x, f) (u in [0, 1])."""
    cdef int64_t n = out.shape[0], m = mass.shape[0], i
    with nogil:
        for i in prange(n, num_threads=nthreads, schedule="guided", chunksize=4096):
            out[i] = inverse_cdf(&levels[0], &x[0], &f[0], &mass[0], m, u[i])


def density_sample(uint64_t key, const double[::1] levels, const double[::1] x, const double[::1] f,
                   const double[::1] mass, double[::1] out, int nthreads):
    """out[i] = F^{-1}(uniform(key, i)) for the piecewise-linear density (x, f)."""
    cdef int64_t n = out.shape[0], m = mass.shape[0], i
    with nogil:
        for i in prange(n, num_threads=nthreads, schedule="guided", chunksize=4096):
            out[i] = inverse_cdf(&levels[0], &x[0], &f[0], &mass[0], m, uniform01(key, i))


def ndtr(const double[::1] z, double[::1] out, int nthreads):
    """Standard normal CDF, out[i] = Phi(z[i]) = erfc(-z / sqrt 2) / 2."""
    cdef int64_t n = z.shape[0], i
    with nogil:
        for i in prange(n, num_threads=nthreads, schedule="guided", chunksize=4096):
            out[i] = 0.5 * erfc(-z[i] * 0.7071067811865476)
