"""Explicit-likelihood models over discrete data: Factorized, Mixture, ChowLiuTree.

Each model holds its parameters as log tables (float64), like a frozen scipy distribution,
and follows the protocol of :class:`fastdgm._model.Model`: ``fit`` (a classmethod, maximum
likelihood or MAP with additive smoothing ``alpha``), ``log_prob(X) -> (n,)``, ``score(X)``,
``sample(size, rng=None) -> (size, d)`` in the smallest unsigned dtype holding C, ``entropy()``
where exact, ``n_dims``, ``n_states``. The reductions run in :mod:`fastdgm._likelihood_kernels`.

Zero probabilities (``alpha=0`` and a state never seen in training) are allowed: their log
is ``-inf``, so ``log_prob`` of a row holding such a state is ``-inf`` (never NaN), and
``0 * log 0`` terms of entropies count as 0.
"""
from __future__ import annotations

import math

import numpy as np

from . import _likelihood_kernels as _k
from ._model import Model, register_model
from ._progress import Progress
from ._rng import make_key
from ._validation import (
    as_float_array, check_logits, check_positive_int, check_states, check_weights, first_bad,
    smallest_uint,
)

__all__ = ["Factorized", "Mixture", "ChowLiuTree"]


# ---------------------------------------------------------------------------------------
# argument helpers
# ---------------------------------------------------------------------------------------
def _log_table(probs, logits, *, name_p: str, ndim: int, shape_doc: str) -> np.ndarray:
    """Validated table of exactly one of probs / logits -> log-probabilities normalised over
    the last axis (float64, C-contiguous, -inf for zero probability)."""
    if (probs is None) == (logits is None):
        raise TypeError(f"give exactly one of {name_p} and logits")
    name = name_p if probs is not None else "logits"
    arr = as_float_array(probs if probs is not None else logits, name)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have shape {shape_doc}, got shape {arr.shape}")
    arr = arr.astype(np.float64)
    if probs is not None:
        check_weights(arr, name)
        with np.errstate(divide="ignore"):
            lt = np.log(arr / arr.sum(axis=-1, keepdims=True))
    else:
        check_logits(arr, name)
        lt = arr - arr.max(axis=-1, keepdims=True)
        lt = lt - np.log(np.exp(lt).sum(axis=-1, keepdims=True))
    return np.ascontiguousarray(lt)


def _check_alpha(alpha) -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise TypeError(f"alpha must be a real number, got {type(alpha).__name__}") from None
    if not (math.isfinite(a) and a >= 0):
        raise ValueError(f"alpha must be finite and >= 0, got {alpha}")
    return a


def _check_sample_weight(sample_weight, n: int) -> np.ndarray:
    """float64 (n,) weights, or an empty array for 'all ones'."""
    if sample_weight is None:
        return np.empty(0)
    w = as_float_array(sample_weight, "sample_weight", ndim=1)
    if w.shape[0] != n:
        raise ValueError(f"sample_weight must have one entry per row of X ({n}), got shape {w.shape}")
    check_weights(w, "sample_weight", rows=False)
    return np.ascontiguousarray(w, dtype=np.float64)


def _check_X(X, C: int, d: int) -> np.ndarray:
    """X of a model with C states and d columns, compact and C-contiguous.

    Fast path for X already in the model's compact dtype: no scan at all when that dtype
    cannot hold a value >= C (uint8 with C = 256, uint16 with C = 65536), else a parallel
    max. Anything else, or a bad value, goes through :func:`check_states` (which names the
    first bad position).
    """
    if (type(X) is np.ndarray and X.ndim == 2 and X.shape[0] > 0 and X.shape[1] == d
            and X.dtype == smallest_uint(C) and X.flags.c_contiguous):
        if np.iinfo(X.dtype).max == C - 1 or (X.shape[1] > 0 and _k.max_state(X.size, X) < C):
            return X
    return check_states(X, "X", n_states=C, n_dims=d)[0]


def _check_n_samples(size) -> int:
    return check_positive_int(size, "size", minimum=0)


def _levels(log_table: np.ndarray) -> np.ndarray:
    """Cumulative levels over the last axis, float64, the last level of every row exactly 1.0
    (zero-probability trailing states share that 1.0 and are never drawn)."""
    c = np.cumsum(np.exp(log_table), axis=-1)
    return np.ascontiguousarray(c / c[..., -1:])


def _entropy_terms(log_table: np.ndarray) -> np.ndarray:
    """-p log p elementwise, with 0 log 0 = 0."""
    p = np.exp(log_table)
    return np.where(p > 0, -p * np.where(p > 0, log_table, 0.0), 0.0)


def _counts(X: np.ndarray, C: int, w: np.ndarray) -> np.ndarray:
    """(d, C) float64 counts of each state per column (weighted by w if not empty)."""
    n, d = X.shape
    nc, rows = _k.n_chunks(n, d * C)
    partial = np.empty((nc, d, C))
    _k.weighted_counts(n * d, X, w, rows, partial)
    return partial.sum(axis=0)


# Packing g columns of C states into one state of C**g <= _PACK_LIMIT (uint8): the mixture
# kernels then add one table entry per group instead of one per column, the E-step and the
# M-step statistics cost d/g instead of d per row and component.
_PACK_LIMIT = 256


def _pack_width(C: int, d: int) -> int:
    g = 1
    while g < d and C ** (g + 1) <= _PACK_LIMIT:
        g += 1
    return g


def _pack(X: np.ndarray, C: int, g: int) -> np.ndarray:
    """(n, ceil(d/g)) uint8 packed states (X itself when g == 1)."""
    if g == 1:
        return X
    n, d = X.shape
    out = np.empty((n, -(-d // g)), dtype=np.uint8)
    _k.pack_states(X.size, X, C, g, out)
    return out


def _group_digits(d: int, C: int, g: int):
    """For each group q: its columns and, for each packed state b < C**m, the digit of each column."""
    for q in range(-(-d // g)):
        cols = list(range(q * g, min(d, q * g + g)))
        m = len(cols)
        b = np.arange(C ** m)
        yield q, cols, [(b // C ** (m - 1 - t)) % C for t in range(m)]


def _combine(T: np.ndarray, C: int, g: int) -> np.ndarray:
    """Per-column tables T (d, C, K) -> per-group tables (G, C**g, K): the sum over the
    group's columns (column order; -inf propagates). Unused entries of a short last group are 0."""
    if g == 1:
        return T
    d, _, K = T.shape
    out = np.zeros((-(-d // g), C ** g, K))
    for q, cols, digits in _group_digits(d, C, g):
        acc = out[q, :digits[0].size]
        for j, dig in zip(cols, digits):
            acc += T[j][dig]
    return out


def _marginalize(S: np.ndarray, d: int, C: int, g: int) -> np.ndarray:
    """Statistics over packed states (G, C**g, K) -> per column (d, C, K)."""
    if g == 1:
        return S
    out = np.empty((d, C, S.shape[2]))
    for q, cols, digits in _group_digits(d, C, g):
        sq = S[q, :digits[0].size]
        for j, dig in zip(cols, digits):
            for c in range(C):
                out[j, c] = sq[dig == c].sum(axis=0)
    return out


# ---------------------------------------------------------------------------------------
# Factorized
# ---------------------------------------------------------------------------------------
@register_model
class Factorized(Model):
    """d independent categorical variables over C states: P(x) = prod_j probs[j, x_j].

    Parameters
    ----------
    probs : array_like of float, shape (d, C), optional
        Non-negative weights, normalised per row here.
    logits : array_like of float, shape (d, C), optional
        Log-weights instead of ``probs`` (-inf is probability zero).

    Attributes
    ----------
    log_probs : ndarray, float64, shape (d, C)
        Normalised log-probabilities (-inf where the probability is zero).
    probs : ndarray, float64, shape (d, C)

    Examples
    --------
    >>> import numpy as np, fastdgm as fd
    >>> X = np.array([[0, 1], [1, 1], [0, 1]])
    >>> m = fd.Factorized.fit(X, n_states=2, alpha=0.0)
    >>> m.probs
    array([[0.66666667, 0.33333333],
           [0.        , 1.        ]])
    """

    def __init__(self, probs=None, *, logits=None):
        self._set(_log_table(probs, logits, name_p="probs", ndim=2, shape_doc="(d, C)"))

    def _set(self, log_probs):
        self.log_probs = log_probs
        self._levels = None
        self._binary = None    # (G, 256) tables of the packed C = 2 path, built on first use

    @classmethod
    def _from_log(cls, log_probs):
        self = cls.__new__(cls)
        self._set(np.ascontiguousarray(log_probs, dtype=np.float64))
        return self

    @property
    def probs(self) -> np.ndarray:
        return np.exp(self.log_probs)

    @property
    def n_dims(self) -> int:
        return self.log_probs.shape[0]

    @property
    def n_states(self) -> int:
        return self.log_probs.shape[1]

    @classmethod
    def fit(cls, X, n_states=None, alpha=1.0, sample_weight=None):
        """Maximum-likelihood fit in closed form, with additive smoothing.

        probs[j, x] = (counts[j, x] + alpha) / (n + alpha * C), where counts[j, x] is the
        (weighted) number of rows with X[i, j] = x and n the number (total weight) of rows.

        Parameters
        ----------
        X : array_like of int, shape (n, d)
            States in [0, n_states).
        n_states : int, optional
            C; ``X.max() + 1`` when None.
        alpha : float >= 0, default 1.0
            Pseudo-count added to every state (Laplace smoothing). ``alpha=0`` is the plain
            MLE: states never seen get probability 0 (log-probability -inf).
        sample_weight : array_like of float, shape (n,), optional
            Non-negative weights of the rows (counts become sums of weights).

        Returns
        -------
        Factorized
        """
        X, C = check_states(X, "X", n_states=n_states)
        alpha = _check_alpha(alpha)
        w = _check_sample_weight(sample_weight, X.shape[0])
        counts = _counts(X, C, w)
        total = float(w.sum()) if w.size else float(X.shape[0])
        with np.errstate(divide="ignore"):
            lp = np.log((counts + alpha) / (total + alpha * C))
        return cls._from_log(lp)

    def log_prob(self, X) -> np.ndarray:
        """log P(x) of each row, shape (n,), float64 (-inf where a state has probability 0).

        Parameters
        ----------
        X : array_like of int, shape (n, d)

        Notes
        -----
        Sums logp[j, X[i, j]] over j. For C = 2 and d a multiple of 8, eight columns at a time:
        the eight 0/1 bytes are packed into one byte that indexes a table of the 256 sums
        (equal to the plain sum up to rounding, ~1e-15 relative).
        """
        X = _check_X(X, self.n_states, self.n_dims)
        out = np.empty(X.shape[0])
        if self.n_states == 2 and self.n_dims % 8 == 0 and X.ctypes.data % 8 == 0:
            if self._binary is None:
                self._binary = _k.binary_tables(self.log_probs)
            _k.binary_log_prob(X.size, X.view(np.uint64), self._binary, out)
        else:
            _k.factorized_log_prob(X.size, X, self.log_probs, out)
        return out

    def sample(self, size, rng=None) -> np.ndarray:
        """Draw ``size`` rows, shape (size, d), smallest unsigned dtype holding C.

        Element (i, j) is ``threshold(levels[j], uniform(key, i*d + j))``: the result does
        not depend on the number of threads.
        """
        size = _check_n_samples(size)
        key = make_key(rng)
        if self._levels is None:
            self._levels = _levels(self.log_probs)
        out = np.empty((size, self.n_dims), dtype=smallest_uint(self.n_states))
        _k.factorized_sample(out.size, self._levels, key, out)
        return out

    def entropy(self) -> float:
        """Exact entropy in nats: -sum_j sum_x p log p (0 log 0 = 0)."""
        return float(_entropy_terms(self.log_probs).sum())

    def marginals(self) -> np.ndarray:
        """Marginal probabilities of each variable, (d, C) float64 (= ``probs``)."""
        return self.probs

    def _get_params(self) -> dict:
        return {"log_probs": self.log_probs}

    @classmethod
    def _from_params(cls, params):
        return cls._from_log(params["log_probs"])


# ---------------------------------------------------------------------------------------
# Mixture
# ---------------------------------------------------------------------------------------
@register_model
class Mixture(Model):
    """Mixture of K factorized categoricals: P(x) = sum_k w_k prod_j c[k, j, x_j].

    Parameters
    ----------
    weights : array_like of float, shape (K,)
        Non-negative mixing weights (normalised here).
    components : array_like of float, shape (K, d, C)
        Non-negative weights of each component's categorical per variable (normalised over C).

    Attributes
    ----------
    log_weights : ndarray, float64, shape (K,)
    log_components : ndarray, float64, shape (K, d, C)
    objective_history_ : list of float
        Set by :meth:`fit`: the quantity EM increases, per unit of sample weight, at each
        iteration: (sum_i w_i log P(x_i) + alpha * sum_{k,j,x} log c[k,j,x]) / sum_i w_i,
        i.e. the mean log-likelihood plus the log Dirichlet prior that the smoothing
        ``alpha`` stands for (MAP-EM). Never decreases. Equal to the mean log-likelihood
        when ``alpha=0``.
    log_likelihood_history_ : list of float
        Mean (weighted) log-likelihood of the training data at each iteration (with
        ``alpha > 0`` this one may decrease slightly: it is not what MAP-EM maximises).
    n_iter_ : int
        E-steps run for the returned fit; ``converged_`` : bool.
    """

    def __init__(self, weights, components):
        lw = _log_table(weights, None, name_p="weights", ndim=1, shape_doc="(K,)")
        lc = _log_table(components, None, name_p="components", ndim=3, shape_doc="(K, d, C)")
        if lc.shape[0] != lw.shape[0]:
            raise ValueError(f"weights has {lw.shape[0]} entries but components has "
                             f"{lc.shape[0]} (shape {lc.shape}); they must match (K)")
        self._set(lw, lc)

    def _set(self, log_weights, log_components):
        self.log_weights = log_weights
        self.log_components = log_components
        self._T = np.ascontiguousarray(log_components.transpose(1, 2, 0))  # (d, C, K)
        self._levels = None
        self._packed = None    # (g, tables (G, C**g, K)) built on first use

    @classmethod
    def _from_log(cls, log_weights, log_components):
        self = cls.__new__(cls)
        self._set(np.ascontiguousarray(log_weights, dtype=np.float64),
                  np.ascontiguousarray(log_components, dtype=np.float64))
        return self

    @property
    def weights(self) -> np.ndarray:
        return np.exp(self.log_weights)

    @property
    def components(self) -> np.ndarray:
        return np.exp(self.log_components)

    @property
    def n_components(self) -> int:
        return self.log_components.shape[0]

    @property
    def n_dims(self) -> int:
        return self.log_components.shape[1]

    @property
    def n_states(self) -> int:
        return self.log_components.shape[2]

    def _check_packed(self, X):
        """Validated X packed g columns per state, and the matching (G, C**g, K) tables."""
        X = _check_X(X, self.n_states, self.n_dims)
        if self._packed is None:
            g = _pack_width(self.n_states, self.n_dims)
            self._packed = (g, np.ascontiguousarray(_combine(self._T, self.n_states, g)))
        g, T = self._packed
        return _pack(X, self.n_states, g), T

    def log_prob(self, X) -> np.ndarray:
        """log P(x) of each row, shape (n,), float64 (max-shifted logsumexp over components).

        Notes
        -----
        For small C, g columns are packed into one state of C**g <= 256 (a uint8 copy of
        n * ceil(d/g) bytes) and summed through precomputed group tables: equal to the
        column-by-column sum up to rounding.
        """
        Xp, T = self._check_packed(X)
        out = np.empty(Xp.shape[0])
        _k.mixture_log_prob(Xp.size * self.n_components, Xp, T, self.log_weights, out)
        return out

    def predict_proba(self, X) -> np.ndarray:
        """Posterior P(component k | x) of each row, shape (n, K), float64, rows sum to 1."""
        Xp, T = self._check_packed(X)
        resp = np.empty((Xp.shape[0], self.n_components))
        out = np.empty(Xp.shape[0])
        _k.mixture_responsibilities(Xp.size * self.n_components, Xp, T, self.log_weights, resp, out)
        return resp

    def sample(self, size, rng=None) -> np.ndarray:
        """Draw ``size`` rows (size, d): a component by thresholding the weights, then each
        variable from that component; thread-count invariant."""
        size = _check_n_samples(size)
        key = make_key(rng)
        if self._levels is None:
            self._levels = (_levels(self.log_weights), _levels(self.log_components))
        out = np.empty((size, self.n_dims), dtype=smallest_uint(self.n_states))
        _k.mixture_sample(out.size, self._levels[0], self._levels[1], key, out)
        return out

    def entropy(self) -> float:
        """Not available in closed form for a mixture: raises NotImplementedError.

        Use :meth:`entropy_estimate` (Monte Carlo, with a standard error) instead."""
        raise NotImplementedError(
            "Mixture has no exact entropy (the log of a sum does not factorise); use "
            "Mixture.entropy_estimate(n, rng=...) for a Monte-Carlo estimate with a standard error")

    def entropy_estimate(self, n: int = 100_000, rng=None):
        """Monte-Carlo entropy: -(1/n) sum log P(x^i) over n samples of the model.

        Returns
        -------
        fastdgm.Estimate (value, stderr, n)
        """
        from .estimators import entropy_estimate

        n = check_positive_int(n, "n", minimum=2)
        return entropy_estimate(self.log_prob(self.sample(n, rng=rng)))

    # --- EM --------------------------------------------------------------------------------
    @classmethod
    def fit(cls, X, n_components, n_states=None, rng=None, max_iter=200, tol=1e-7, n_init=1,
            alpha=1.0, sample_weight=None, progress=False):
        """Fit by expectation-maximisation (MAP-EM with a Dirichlet smoothing prior).

        E-step: responsibilities r_ik = P(k | x_i) with a max-shifted logsumexp per row.
        M-step: w_k = sum_i s_i r_ik / sum_i s_i and
        c[k, j, x] = (sum_i s_i r_ik [x_ij = x] + alpha) / (sum_i s_i r_ik + alpha * C),
        where s_i are the sample weights. Each iteration never decreases the objective
        recorded in ``objective_history_`` (see the class docstring).

        Parameters
        ----------
        X : array_like of int, shape (n, d)
        n_components : int
            K.
        n_states : int, optional
            C; ``X.max() + 1`` when None.
        rng : SPEC 7 seed
            Seeds the random initial responsibilities (Dirichlet(1) rows) of each restart.
        max_iter : int
            Maximum number of E-steps per restart.
        tol : float
            Stop when the objective (per unit weight, nats) improves by less than ``tol``.
        n_init : int
            Restarts; the fit with the highest final objective is returned (first on ties).
        alpha : float >= 0
            Pseudo-count added to every component state (0: plain maximum-likelihood EM;
            a component that loses all its weight then keeps uniform tables and weight 0).
        sample_weight : array_like of float, shape (n,), optional
        progress : bool
            Show a progress bar of EM iterations (over all restarts) on stderr.

        Returns
        -------
        Mixture
        """
        X, C = check_states(X, "X", n_states=n_states)
        K = check_positive_int(n_components, "n_components")
        max_iter = check_positive_int(max_iter, "max_iter")
        n_init = check_positive_int(n_init, "n_init")
        alpha = _check_alpha(alpha)
        try:
            tol = float(tol)
        except (TypeError, ValueError):
            raise TypeError(f"tol must be a real number, got {type(tol).__name__}") from None
        if not (math.isfinite(tol) and tol >= 0):
            raise ValueError(f"tol must be finite and >= 0, got {tol}")
        w = _check_sample_weight(sample_weight, X.shape[0])
        key = make_key(rng)
        from ._rng import substream_ref  # restart r uses sub-stream r of the call's key

        best = None
        with Progress(n_init * max_iter, unit="iterations", enabled=progress, desc="fit Mixture") as bar:
            for r in range(n_init):
                fit = _em(X, C, K, w, alpha, max_iter, tol, np.uint64(substream_ref(int(key), r)), bar)
                bar.n = (r + 1) * max_iter                 # a converged restart skips its rest
                if best is None or fit[2][-1] > best[2][-1]:
                    best = fit
        lw, lc, obj, ll, converged = best
        model = cls._from_log(lw, lc)
        model.objective_history_ = obj
        model.log_likelihood_history_ = ll
        model.n_iter_ = len(obj)
        model.converged_ = converged
        return model

    def _get_params(self) -> dict:
        return {"log_weights": self.log_weights, "log_components": self.log_components}

    @classmethod
    def _from_params(cls, params):
        return cls._from_log(params["log_weights"], params["log_components"])


def _m_step(counts, nk, total, alpha, C):
    """Mixture parameters from the E-step statistics counts (K, d, C), nk (K,)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lw = np.log(nk / total)
        lc = np.log((counts + alpha) / (nk[:, None, None] + alpha * C))
    dead = ~(nk > 0)
    if alpha == 0 and dead.any():
        lc[dead] = -np.log(C)   # no data: any valid table, weight 0 makes it irrelevant
    return lw, np.ascontiguousarray(lc)


def _em(X, C, K, w, alpha, max_iter, tol, key, bar=None):
    n, d = X.shape
    total = float(w.sum()) if w.size else float(n)
    g = _pack_width(C, d)
    Xp = _pack(X, C, g)
    G, Cg = Xp.shape[1], C ** g
    work = Xp.size * K
    nc, rows = _k.n_chunks(n, G * Cg * K)
    counts = np.empty((nc, G, Cg, K))
    nk = np.empty((nc, K))
    ll = np.empty(nc)

    # initial M-step from random responsibilities (Dirichlet(1) rows), in one pass
    _k.random_resp_stats(work, Xp, K, key, w, rows, counts, nk)
    stats = _marginalize(counts.sum(axis=0), d, C, g)
    lw, lc = _m_step(np.ascontiguousarray(stats.transpose(2, 0, 1)), nk.sum(axis=0), total, alpha, C)

    obj_hist, ll_hist = [], []
    converged = False
    for it in range(max_iter):
        T = np.ascontiguousarray(_combine(np.ascontiguousarray(lc.transpose(1, 2, 0)), C, g))
        _k.mixture_em_stats(work, Xp, T, lw, w, rows, counts, nk, ll)
        loglik = float(ll.sum())
        prior = alpha * float(lc.sum()) if alpha > 0 else 0.0
        obj_hist.append((loglik + prior) / total)
        ll_hist.append(loglik / total)
        if bar is not None:
            bar.update(1)
        if it > 0 and obj_hist[-1] - obj_hist[-2] < tol:
            converged = True
            break
        if it == max_iter - 1:
            break
        stats = _marginalize(counts.sum(axis=0), d, C, g)          # (d, C, K)
        lw, lc = _m_step(np.ascontiguousarray(stats.transpose(2, 0, 1)), nk.sum(axis=0), total, alpha, C)
    return lw, lc, obj_hist, ll_hist, converged


# ---------------------------------------------------------------------------------------
# Chow-Liu tree
# ---------------------------------------------------------------------------------------
def _check_parent(parent, d=None) -> np.ndarray:
    try:
        p = np.asarray(parent)
    except Exception as exc:
        raise TypeError(f"parent must be an integer array: {exc}") from None
    if p.dtype.kind not in "iu":
        raise TypeError(f"parent must have an integer dtype, got {p.dtype}")
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"parent must be a non-empty 1-d array (d,), got shape {p.shape}")
    p = p.astype(np.int64)
    if d is not None and p.shape[0] != d:
        raise ValueError(f"parent must have {d} entries (one per variable), got {p.shape[0]}")
    d = p.shape[0]
    idx = first_bad((p < -1) | (p >= d) | (p == np.arange(d)))
    if idx is not None:
        raise ValueError(f"parent must hold -1 (the root) or another variable in [0, {d}): "
                         f"parent[{idx[0]}] = {p[idx]}")
    roots = np.flatnonzero(p == -1)
    if roots.size != 1:
        raise ValueError(f"parent must have exactly one root (entry -1), got {roots.size}")
    return p


def _tree_order(parent: np.ndarray) -> np.ndarray:
    """Breadth-first order from the root (parents before children); ValueError on a cycle."""
    d = parent.shape[0]
    root = int(np.flatnonzero(parent == -1)[0])
    children = [[] for _ in range(d)]
    for j in range(d):
        if parent[j] >= 0:
            children[parent[j]].append(j)
    order = [root]
    for j in order:
        order.extend(children[j])
    if len(order) != d:
        missing = sorted(set(range(d)) - set(order))
        raise ValueError(f"parent does not define a tree: variable {missing[0]} is on a cycle "
                         f"(parent[{missing[0]}] = {parent[missing[0]]})")
    return np.asarray(order, dtype=np.int64)


def max_spanning_tree(weights: np.ndarray, root: int = 0) -> np.ndarray:
    """Prim's maximum spanning tree of a symmetric (d, d) weight matrix, from ``root``.

    Deterministic: the next vertex is the outside vertex of largest link weight, the lowest
    index on ties; a vertex's parent changes only on a strictly larger weight (so among equal
    links the earliest-added tree vertex wins).

    Returns
    -------
    parent : ndarray, int64, shape (d,), -1 at the root
    """
    d = weights.shape[0]
    parent = np.full(d, -1, dtype=np.int64)
    in_tree = np.zeros(d, dtype=bool)
    in_tree[root] = True
    best = weights[root].astype(np.float64).copy()
    link = np.full(d, root, dtype=np.int64)
    for _ in range(d - 1):
        cand = np.where(in_tree, -np.inf, best)
        j = int(np.argmax(cand))
        in_tree[j] = True
        parent[j] = link[j]
        better = (~in_tree) & (weights[j] > best)
        best[better] = weights[j][better]
        link[better] = j
    return parent


def mutual_information_matrix(X: np.ndarray, C: int, w: np.ndarray) -> np.ndarray:
    """Empirical mutual information (nats) of every pair of columns, (d, d) float64.

    Blockwise over pairs (C x C counts per pair in flight, never (d, d, C, C)). Reads the
    columns of a transposed copy of X (same compact dtype).
    """
    n, d = X.shape
    mi = np.zeros((d, d))
    if d < 2:
        return mi
    a, b = np.triu_indices(d, k=1)
    a = a.astype(np.int64)
    b = b.astype(np.int64)
    Xt = np.ascontiguousarray(X.T)
    total = float(w.sum()) if w.size else float(n)
    vals = np.empty(a.shape[0])
    _k.pair_mutual_info(a.shape[0] * n, Xt, w, a, b, C, total, vals)
    mi[a, b] = vals
    mi[b, a] = vals
    return mi


def pairwise_counts(X, n_states=None, sample_weight=None, *, pairs=None, block_cells: int = 1 << 21):
    """(Weighted) joint counts of pairs of columns, computed in blocks of pairs.

    Parameters
    ----------
    X : array_like of int, shape (n, d)
    n_states : int, optional
    sample_weight : array_like of float, shape (n,), optional
    pairs : (P, 2) int array, optional
        The (a, b) column pairs; all ordered pairs (a, b) when None, returned as (d, d, C, C)
        (only for small d * C: that array has d^2 C^2 entries).
    block_cells : int
        At most this many count cells are computed per kernel call.

    Returns
    -------
    counts : ndarray float64, (P, C, C) or (d, d, C, C)
    """
    X, C = check_states(X, "X", n_states=n_states)
    n, d = X.shape
    w = _check_sample_weight(sample_weight, n)
    full = pairs is None
    if full:
        aa, bb = np.meshgrid(np.arange(d), np.arange(d), indexing="ij")
        pairs = np.stack([aa.ravel(), bb.ravel()], axis=1)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return _pair_counts_blocked(X, C, w, pairs[:, 0].copy(), pairs[:, 1].copy(), block_cells,
                                ).reshape((d, d, C, C) if full else (-1, C, C))


def _pair_counts_blocked(X, C, w, a, b, block_cells=1 << 21, Xt=None):
    n = X.shape[0]
    if Xt is None:
        Xt = np.ascontiguousarray(X.T)
    out = np.empty((a.shape[0], C, C))
    step = max(1, block_cells // (C * C))
    for s in range(0, a.shape[0], step):
        e = min(a.shape[0], s + step)
        _k.pair_counts((e - s) * n, Xt, w, a[s:e], b[s:e], out[s:e])
    return out


@register_model
class ChowLiuTree(Model):
    """Tree-structured model P(x) = P(x_root) prod_{j != root} P(x_j | x_parent(j)).

    :meth:`fit` finds the maximum-likelihood tree (Chow & Liu 1968): the maximum spanning
    tree of the empirical mutual informations between columns.

    Parameters
    ----------
    parent : array_like of int, shape (d,)
        parent[j] is the parent variable of j; -1 for the (single) root.
    probs : array_like of float, shape (d, C, C)
        probs[j, u, :] = P(x_j = . | x_parent(j) = u), non-negative, normalised over the last
        axis here. For the root only ``probs[root, 0]`` is used: its marginal.

    Attributes
    ----------
    parent : ndarray int64 (d,)
    root : int
    order : ndarray int64 (d,)
        Breadth-first order from the root (parents before children).
    log_cond : ndarray float64 (d, C, C)
        log P(x_j = v | x_parent(j) = u); every row of the root's table is its log marginal.
    """

    def __init__(self, parent, probs):
        parent = _check_parent(parent)
        lt = _log_table(probs, None, name_p="probs", ndim=3, shape_doc="(d, C, C)")
        d = parent.shape[0]
        if lt.shape[0] != d or lt.shape[1] != lt.shape[2]:
            raise ValueError(f"probs must have shape (d, C, C) = ({d}, C, C) to match parent, "
                             f"got {lt.shape}")
        self._set(parent, lt)

    def _set(self, parent, log_cond):
        self.parent = parent
        self.order = _tree_order(parent)
        self.root = int(self.order[0])
        lc = np.array(log_cond, dtype=np.float64, order="C")
        lc[self.root] = lc[self.root, 0][None, :]
        self.log_cond = lc
        self._kparent = np.where(parent < 0, np.arange(parent.shape[0]), parent).astype(np.int64)
        self._levels = None

    @classmethod
    def _from_log(cls, parent, log_cond):
        self = cls.__new__(cls)
        self._set(_check_parent(parent), log_cond)
        return self

    @property
    def n_dims(self) -> int:
        return self.log_cond.shape[0]

    @property
    def n_states(self) -> int:
        return self.log_cond.shape[2]

    @property
    def edges(self) -> np.ndarray:
        """(d - 1, 2) int64 array of (parent, child) pairs, in breadth-first order."""
        ch = self.order[1:]
        return np.stack([self.parent[ch], ch], axis=1)

    @classmethod
    def fit(cls, X, n_states=None, alpha=1.0, sample_weight=None):
        """Maximum-likelihood tree and its smoothed conditional tables.

        1. Empirical (weighted, unsmoothed) mutual information I(x_a; x_b) of every pair;
        2. maximum spanning tree by Prim's algorithm from variable 0 (deterministic ties,
           see :func:`max_spanning_tree`), rooted at 0;
        3. P(x_j = v | x_parent = u) = (N_uv + alpha) / (N_u + alpha * C) and the root's
           marginal (N_v + alpha) / (n + alpha * C). With ``alpha=0`` a parent state never
           seen gets a uniform conditional (it has probability 0, so it is never used).

        Parameters
        ----------
        X : array_like of int, shape (n, d)
        n_states : int, optional
        alpha : float >= 0, default 1.0
        sample_weight : array_like of float, shape (n,), optional

        Returns
        -------
        ChowLiuTree
            with ``mutual_info_`` (d, d) float64, the weights of the spanning tree.
        """
        X, C = check_states(X, "X", n_states=n_states)
        alpha = _check_alpha(alpha)
        n, d = X.shape
        w = _check_sample_weight(sample_weight, n)
        total = float(w.sum()) if w.size else float(n)
        mi = mutual_information_matrix(X, C, w)
        parent = max_spanning_tree(mi, root=0)
        root_counts = _counts(np.ascontiguousarray(X[:, :1]), C, w)[0]
        log_cond = np.empty((d, C, C))
        with np.errstate(divide="ignore", invalid="ignore"):
            log_cond[0] = np.log((root_counts + alpha) / (total + alpha * C))[None, :]
            if d > 1:
                ch = np.arange(1, d, dtype=np.int64)
                N = _pair_counts_blocked(X, C, w, parent[ch].copy(), ch)
                rows = N.sum(axis=2, keepdims=True)
                cond = (N + alpha) / (rows + alpha * C)
                cond = np.where(rows + alpha * C > 0, cond, 1.0 / C)
                log_cond[1:] = np.log(cond)
        model = cls._from_log(parent, log_cond)
        model.mutual_info_ = mi
        return model

    def log_prob(self, X) -> np.ndarray:
        """Exact log P(x) of each row, shape (n,), float64."""
        X = _check_X(X, self.n_states, self.n_dims)
        out = np.empty(X.shape[0])
        _k.tree_log_prob(X.size, X, self.log_cond, self._kparent, out)
        return out

    def sample(self, size, rng=None) -> np.ndarray:
        """Ancestral sampling: root first, then each child by thresholding its conditional
        given the parent's drawn state. (size, d), smallest unsigned dtype holding C."""
        size = _check_n_samples(size)
        key = make_key(rng)
        if self._levels is None:
            self._levels = _levels(self.log_cond)
        out = np.empty((size, self.n_dims), dtype=smallest_uint(self.n_states))
        _k.tree_sample(out.size, self._levels, self._kparent, self.order, key, out)
        return out

    def marginals(self) -> np.ndarray:
        """Exact marginal P(x_j = v) of every variable, (d, C) float64 (propagated down the tree)."""
        d, C = self.n_dims, self.n_states
        cond = np.exp(self.log_cond)
        m = np.empty((d, C))
        m[self.root] = cond[self.root, 0]
        for j in self.order[1:]:
            m[j] = m[self.parent[j]] @ cond[j]
        return m

    def entropy(self) -> float:
        """Exact entropy in nats: H(x_root) + sum_j sum_u P(x_parent = u) H(x_j | x_parent = u)."""
        m = self.marginals()
        h_rows = _entropy_terms(self.log_cond).sum(axis=2)  # (d, C) conditional entropies
        h = float(h_rows[self.root, 0])
        for j in self.order[1:]:
            h += float(m[self.parent[j]] @ h_rows[j])
        return h

    def _get_params(self) -> dict:
        return {"parent": self.parent, "log_cond": self.log_cond}

    @classmethod
    def _from_params(cls, params):
        return cls._from_log(params["parent"], params["log_cond"])
