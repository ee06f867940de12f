"""Numba kernels of the log-likelihood reductions, sufficient statistics and model samplers.

Everything here trusts its inputs (checked by :mod:`fastdgm.models` / :mod:`fastdgm.estimators`):
X is a C-contiguous (n, d) array of states in [0, C) of any integer dtype (kept compact:
uint8/uint16 are read as they are), tables are float64.

Determinism: rows are split into chunks of a fixed size (``CHUNK`` rows, or a size that
depends only on the problem's shape, never on the thread count); float partial sums are
kept per chunk and added in chunk order by the caller, so every float result is bit-identical
for any number of threads, and the serial twin (used below ``SERIAL_WORK``) gives the same bits.
Randomness: ``uniform(key, i * d + j)`` for element (i, j) of a sample.

Slow numpy references of every kernel are in :mod:`fastdgm.slow.likelihood`.
"""
from __future__ import annotations

import numpy as np

from .levels import logsumexp
from .parallel import chunked_kernel, serial_kernel
from .rng import uniform

__all__ = [
    "CHUNK", "SERIAL_WORK", "n_chunks", "FACTORIZED_L1_TABLE", "FACTORIZED_ROW_BLOCK",
    "factorized_log_prob", "binary_log_prob", "binary_tables", "mixture_log_prob", "tree_log_prob", "mixture_responsibilities",
    "mixture_em_stats", "weighted_counts", "pair_counts",
    "pack_states",
    "random_resp_stats", "max_state", "largest_state",
]

CHUNK = 4096           # rows per task of the row-parallel kernels
SERIAL_WORK = 1 << 16  # below this many cells (rows x columns x components) run serially


MIN_CHUNKS = 4         # small inputs are still split (>= MIN_CHUNK_ROWS rows each) so cores share them
MIN_CHUNK_ROWS = 256


def n_chunks(n: int, per_chunk_cells: int, *, budget: int = 1 << 22, chunk: int = CHUNK) -> tuple[int, int]:
    """(number of chunks, rows per chunk) for a reduction with a per-chunk partial of
    ``per_chunk_cells`` float64 entries: chunks of ``chunk`` rows, but at least ``MIN_CHUNKS``
    chunks of ``MIN_CHUNK_ROWS`` rows or more when n allows (so a data set of a few thousand
    rows still uses every core), fewer (bigger) chunks when the partials would exceed
    ``budget`` entries (never fewer than two when n allows). Depends only on the shape, never
    on the thread count: results are bit-identical for any number of threads.
    """
    k = max(1, -(-n // chunk), min(MIN_CHUNKS, n // MIN_CHUNK_ROWS))
    k = max(1, min(k, max(min(2, n // MIN_CHUNK_ROWS), budget // max(1, per_chunk_cells))))
    rows = -(-n // k)
    return -(-n // rows), rows


# ---------------------------------------------------------------------------------------
# per-sample log-likelihoods
# ---------------------------------------------------------------------------------------
FACTORIZED_L1_TABLE = 4096   # logp entries (32 KB): above this, factorized_log_prob walks the table column-wise
FACTORIZED_ROW_BLOCK = 512   # rows per block of that walk


@serial_kernel(inline="always")
def _factorized_rows(start, stop, X, logp, out):
    """Rows [start, stop) of factorized_log_prob, row by row: for tables that stay in L1."""
    d = X.shape[1]
    i = start
    # four rows at a time: four independent accumulators keep the gathers in flight
    while i + 4 <= stop:
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        for j in range(d):          # 2-d indexing: a row view would touch logp's refcount
            s0 += logp[j, X[i, j]]
            s1 += logp[j, X[i + 1, j]]
            s2 += logp[j, X[i + 2, j]]
            s3 += logp[j, X[i + 3, j]]
        out[i] = s0
        out[i + 1] = s1
        out[i + 2] = s2
        out[i + 3] = s3
        i += 4
    while i < stop:
        s = 0.0
        for j in range(d):
            s += logp[j, X[i, j]]
        out[i] = s
        i += 1


@serial_kernel(inline="always")
def _factorized_blocked(start, stop, X, logp, out):
    """Rows [start, stop) of factorized_log_prob for a table larger than L1 (e.g. 784 x 256
    float64, 1.6 MB): per block of ``FACTORIZED_ROW_BLOCK`` rows, four columns at a time
    (8 KB of the table, hot in L1) over every row of the block, out[i] the running sum. Each
    row still adds its terms from 0.0 in column order: the same bits as the row-wise walk."""
    d = X.shape[1]
    for r0 in range(start, stop, FACTORIZED_ROW_BLOCK):
        r1 = min(r0 + FACTORIZED_ROW_BLOCK, stop)
        u1 = np.uint64(r1)
        for i in range(r0, r1):
            out[i] = 0.0
        j = 0
        while j + 4 <= d:
            u = np.uint64(r0)       # an unsigned row index: no negative-index fix-up in the loop
            while u < u1:
                out[u] = (out[u] + logp[j, X[u, j]] + logp[j + 1, X[u, j + 1]]
                          + logp[j + 2, X[u, j + 2]] + logp[j + 3, X[u, j + 3]])
                u += np.uint64(1)
            j += 4
        for i in range(r0, r1):
            s = out[i]
            for t in range(j, d):
                s += logp[t, X[i, t]]
            out[i] = s


@chunked_kernel(items="X.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def factorized_log_prob(c, start, stop, X, logp, out):
    """out[i] = sum_j logp[j, X[i, j]] (j ascending, from 0.0). X (n, d) int, logp (d, C) float64.

    Tables above ``FACTORIZED_L1_TABLE`` entries take the column-blocked walk (1.7x faster at
    784 x 256 on Zen 3 by CPU time), smaller ones the row-wise walk (faster while the table
    fits L1); both give the same bits.
    """
    if logp.size > FACTORIZED_L1_TABLE:
        _factorized_blocked(start, stop, X, logp, out)
    else:
        _factorized_rows(start, stop, X, logp, out)


_PACK = np.uint64(0x8040201008040201)
_S56 = np.uint64(56)


@chunked_kernel(items="X64.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def binary_log_prob(c, start, stop, X64, tab, out):
    """C = 2, d = 8 G: X viewed as (n, G) uint64 words of eight 0/1 bytes each.

    ``(word * 0x8040201008040201) >> 56`` gathers the eight bytes' bits into one byte b
    (column 8k + t at bit ``BINARY_BIT[t]``), and tab[k, b] (G, 256) holds the sum of the
    eight columns' log-probabilities: one multiply and one lookup per eight columns.
    """
    G = X64.shape[1]
    i = start
    while i + 2 <= stop:
        s0 = 0.0
        s1 = 0.0
        for k in range(G):
            s0 += tab[k, (X64[i, k] * _PACK) >> _S56]
            s1 += tab[k, (X64[i + 1, k] * _PACK) >> _S56]
        out[i] = s0
        out[i + 1] = s1
        i += 2
    if i < stop:
        s = 0.0
        for k in range(G):
            s += tab[k, (X64[i, k] * _PACK) >> _S56]
        out[i] = s


def _binary_bit_positions():
    """Bit of the packed byte that holds byte t of a word (depends on the byte order)."""
    pos = []
    for t in range(8):
        e = np.zeros(8, dtype=np.uint8)
        e[t] = 1
        with np.errstate(over="ignore"):
            b = (e.view(np.uint64)[0] * _PACK) >> _S56
        pos.append(int(b).bit_length() - 1)
    return np.array(pos, dtype=np.int64)


BINARY_BIT = _binary_bit_positions()


def binary_tables(logp):
    """(G, 256) tables of :func:`_binary_log_prob` for a (d, 2) log table, d = 8 G:
    tab[k, b] = sum_t logp[8k + t, bit BINARY_BIT[t] of b] (t ascending; -inf propagates)."""
    d = logp.shape[0]
    b = np.arange(256)
    tab = np.zeros((d // 8, 256))
    for k in range(d // 8):
        for t in range(8):
            tab[k] += logp[8 * k + t][(b >> BINARY_BIT[t]) & 1]
    return tab


@serial_kernel(inline="always")
def _component_scores(X, i, T, logw, acc):
    """acc[k] = logw[k] + sum_j T[j, X[i, j], k]: the joint log-likelihood of row i and component k."""
    K = logw.shape[0]
    for k in range(K):
        acc[k] = logw[k]
    for j in range(X.shape[1]):
        t = T[j, X[i, j]]
        for k in range(K):
            acc[k] += t[k]


@chunked_kernel(items="X.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def mixture_log_prob(c, start, stop, X, T, logw, out):
    """out[i] = logsumexp_k (logw[k] + sum_j T[j, X[i, j], k]). T (d, C, K) float64."""
    K = logw.shape[0]
    acc = np.empty(K)
    for i in range(start, stop):
        _component_scores(X, i, T, logw, acc)
        out[i] = logsumexp(acc, K)


@chunked_kernel(items="X.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def mixture_responsibilities(c, start, stop, X, T, logw, resp, out):
    """resp[i, k] = P(z = k | x_i); out[i] = log P(x_i). Rows of probability zero get -inf
    and uniform responsibilities."""
    K = logw.shape[0]
    acc = np.empty(K)
    for i in range(start, stop):
        _component_scores(X, i, T, logw, acc)
        lse = logsumexp(acc, K)
        out[i] = lse
        if lse == -np.inf:
            for k in range(K):
                resp[i, k] = 1.0 / K
        else:
            for k in range(K):
                resp[i, k] = np.exp(acc[k] - lse)


@chunked_kernel(items="X.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def tree_log_prob(c, start, stop, X, cond, parent, out):
    """out[i] = sum_j cond[j, X[i, parent[j]], X[i, j]]; cond (d, C, C) float64, parent (d,) int64
    (the root is its own parent and its table rows all hold its marginal)."""
    d = X.shape[1]
    for i in range(start, stop):
        s = 0.0
        for j in range(d):
            s += cond[j, X[i, parent[j]], X[i, j]]
        out[i] = s


# ---------------------------------------------------------------------------------------
# sufficient statistics
# ---------------------------------------------------------------------------------------
@chunked_kernel(items="X.shape[0]", chunk="rows", serial_below=SERIAL_WORK)
def weighted_counts(c, start, stop, X, w, rows, partial):
    """partial[c, j, x] = sum of w[i] (1 if w is empty) over rows i of chunk c with X[i, j] = x.

    Chunk c holds rows [c*rows, (c+1)*rows); partial has ceil(n / rows) chunks. Sum the
    partials over c in order for the counts.
    """
    d = X.shape[1]
    has_w = w.shape[0] > 0
    # a private accumulator, copied out once per chunk: two threads take neighbouring
    # chunks, and adding into partial[c] directly ping-pongs their shared cache lines
    acc = np.zeros(partial.shape[1:])
    for i in range(start, stop):
        wi = w[i] if has_w else 1.0
        for j in range(d):
            acc[j, X[i, j]] += wi
    for j in range(d):          # element loops: numba compiles a slice assignment slowly
        for x in range(acc.shape[1]):
            partial[c, j, x] = acc[j, x]


@serial_kernel(inline="always")
def _copy_chunk(cc, nkc, counts, nk, c):
    """counts[c] = cc, nk[c] = nkc, by element loops (numba compiles a slice assignment slowly)."""
    for j in range(cc.shape[0]):
        for x in range(cc.shape[1]):
            for k in range(cc.shape[2]):
                counts[c, j, x, k] = cc[j, x, k]
    for k in range(nkc.shape[0]):
        nk[c, k] = nkc[k]


@serial_kernel(inline="always")
def _add_to_counts(X, i, r, cc):
    """cc[j, X[i, j], k] += r[k] for every column j and component k (one row's statistics)."""
    for j in range(X.shape[1]):
        x = X[i, j]
        for k in range(r.shape[0]):
            cc[j, x, k] += r[k]


@chunked_kernel(items="X.shape[0]", chunk="rows", serial_below=SERIAL_WORK)
def mixture_em_stats(c, start, stop, X, T, logw, w, rows, counts, nk, ll):
    """E-step fused with the M-step statistics, per chunk c of ``rows`` rows:

    counts[c, j, x, k] = sum_i w_i r_ik [X[i, j] = x], nk[c, k] = sum_i w_i r_ik,
    ll[c] = sum_i w_i log P(x_i), where r_ik = P(z = k | x_i) under (logw, T (d, C, K)).
    """
    K = logw.shape[0]
    has_w = w.shape[0] > 0
    acc = np.empty(K)
    r = np.empty(K)
    cc = np.zeros(counts.shape[1:])     # private, see weighted_counts
    nkc = np.zeros(K)
    s = 0.0
    for i in range(start, stop):
        wi = w[i] if has_w else 1.0
        _component_scores(X, i, T, logw, acc)
        lse = logsumexp(acc, K)
        if wi == 0.0:
            continue
        s += wi * lse
        if lse == -np.inf:
            continue
        for k in range(K):
            r[k] = wi * np.exp(acc[k] - lse)
            nkc[k] += r[k]
        _add_to_counts(X, i, r, cc)
    _copy_chunk(cc, nkc, counts, nk, c)
    ll[c] = s


@serial_kernel(inline="always")
def _count_pair(xa, xb, w, has_w, o):
    o[:, :] = 0.0
    for i in range(xa.shape[0]):
        o[xa[i], xb[i]] += w[i] if has_w else 1.0


@chunked_kernel(items="a.shape[0]", serial_below=SERIAL_WORK)
def pair_counts(c, start, stop, Xt, w, a, b, out):
    """out[p, u, v] = sum_i w_i [Xt[a[p], i] = u, Xt[b[p], i] = v]. Xt (d, n) (X transposed).
    One pair per chunk."""
    for p in range(start, stop):
        _count_pair(Xt[a[p]], Xt[b[p]], w, w.shape[0] > 0, out[p])


@chunked_kernel(items="X.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def pack_states(c, start, stop, X, C, g, out):
    """out[i, q] = sum_t X[i, q*g + t] * C**(m-1-t) over the m <= g columns of group q
    (first column most significant): g columns of C states as one state of C**g <= 256."""
    d = X.shape[1]
    G = out.shape[1]
    for i in range(start, stop):
        for q in range(G):
            b = 0
            for j in range(q * g, min(d, q * g + g)):
                b = b * C + X[i, j]
            out[i, q] = b


@chunked_kernel(items="X.shape[0]", chunk="rows", serial_below=SERIAL_WORK)
def random_resp_stats(c, start, stop, X, K, key, row0, w, rows, counts, nk):
    """EM initialisation: random responsibilities r_ik proportional to -log(1 - u) + 1e-12,
    u = uniform(key, (row0 + i)*K + k) (Dirichlet(1) rows; row0: the block's first row in the
    whole data set), times w_i, accumulated like
    :func:`_mixture_em_stats`: counts[c, j, x, k] and nk[c, k] per chunk c of ``rows`` rows."""
    has_w = w.shape[0] > 0
    r = np.empty(K)
    cc = np.zeros(counts.shape[1:])     # private, see weighted_counts
    nkc = np.zeros(K)
    for i in range(start, stop):
        s = 0.0
        for k in range(K):
            r[k] = -np.log1p(-uniform(key, (row0 + i) * K + k)) + 1e-12
            s += r[k]
        wi = (w[i] if has_w else 1.0) / s
        for k in range(K):
            r[k] *= wi
            nkc[k] += r[k]
        _add_to_counts(X, i, r, cc)
    _copy_chunk(cc, nkc, counts, nk, c)


@chunked_kernel(items="X.shape[0]", chunk=CHUNK, serial_below=SERIAL_WORK)
def max_state(c, start, stop, X, part):
    """part[c] = largest value of the rows of chunk c of X (n, d) (the validation scan, in
    parallel); part (ceil(n / CHUNK),) int64."""
    d = X.shape[1]
    block = X.reshape(-1)[start * d:stop * d]
    m = block[0]                  # same dtype as X; indices from 0 so LLVM vectorises max()
    for k in range(block.shape[0]):
        m = max(m, block[k])
    part[c] = m


def largest_state(X) -> int:
    """Largest value of X (n, d) (n >= 1), C-contiguous: :func:`max_state` in parallel, then the
    maximum of the chunks' maxima."""
    part = np.empty(-(-X.shape[0] // CHUNK), dtype=np.int64)
    max_state(X.size, X, part)
    return int(part.max())
