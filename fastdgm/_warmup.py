"""``fastdgm.warmup()``: compile the numba kernels ahead of the first real call.

The numba kernels compile lazily, on first use, which costs seconds (tens of seconds for the
full set of parallel kernels on a cold machine). ``warmup()`` pays that cost at a moment of
the user's choosing by running every public model and Gibbs path once on a tiny input.

JIT cache: parallel kernels are compiled with ``cache=True``, so the machine code is written
to numba's cache — ``__pycache__`` beside the installed sources, or numba's per-user cache
directory when that is read-only, or ``NUMBA_CACHE_DIR`` when set (use it for read-only or
shared installs; point each node at a local directory on shared file systems, where
concurrent writers may race). A later process loads the cached code instead of compiling:
``warmup()`` then takes well under a second. ``fastdgm.show_config()`` prints the cache
location.
"""
from __future__ import annotations

import time

import numpy as np

__all__ = ["warmup"]


def _paths():
    """(name, function) of each public path to run once, smallest inputs that reach the kernels."""
    import fastdgm as fd

    rng = np.random.default_rng(0)
    X8 = rng.integers(0, 3, size=(64, 4)).astype(np.uint8)

    def sampling():
        fd.categorical([0.2, 0.3, 0.5], size=16, rng=0)
        fd.categorical(np.ones((4, 3)), rng=0)

    def factorized():
        m = fd.Factorized.fit(X8, n_states=3)
        m.log_prob(X8), m.log_prob(X8.astype(np.uint16)), m.sample(8, rng=0)

    def mixture():
        m = fd.Mixture.fit(X8, n_components=2, n_states=3, rng=0)
        m.log_prob(X8), m.sample(8, rng=0)

    def chowliu():
        m = fd.ChowLiuTree.fit(X8, n_states=3)
        m.log_prob(X8), m.sample(8, rng=0)

    def mrf():
        g = fd.PairwiseMRF.grid((4, 4), n_states=2, coupling=0.5)
        fd.gibbs(g, 2, 2, rng=0)
        Xg = g.sample(8, rng=0) if hasattr(g, "sample") else None
        if Xg is not None:
            g.pseudo_log_likelihood(Xg)
        e = np.array([[0, 1], [1, 2], [2, 3], [0, 3]])
        m = fd.PairwiseMRF(np.zeros((4, 3)), e, np.zeros((4, 3, 3)))
        fd.gibbs(m, 2, 2, rng=0)
        m.pseudo_log_likelihood(X8)
        fd.PairwiseMRF.fit(X8, e, n_states=3, method="pll")

    return [("sampling", sampling), ("factorized", factorized), ("mixture", mixture),
            ("chowliu", chowliu), ("mrf", mrf)]


def warmup(verbose: bool = False) -> float:
    """Compile (or load from the JIT cache) the numba kernels of the package.

    Runs each public model and Gibbs path once on a tiny input, on the current thread
    count. Parts of the package that are not installed are skipped.

    Parameters
    ----------
    verbose : bool
        Print the time of each part.

    Returns
    -------
    float
        Seconds it took.

    Examples
    --------
    >>> import fastdgm as fd
    >>> seconds = fd.warmup()     # doctest: +SKIP
    """
    t0 = time.perf_counter()
    for name, fn in _paths():
        t = time.perf_counter()
        try:
            fn()
        except ModuleNotFoundError as exc:
            # a part of the package that is not installed; anything else is a real failure
            if not (exc.name or "").startswith("fastdgm"):
                raise
            if verbose:
                print(f"warmup {name:10s} skipped ({exc})")
            continue
        if verbose:
            print(f"warmup {name:10s} {time.perf_counter() - t:7.2f} s")
    return time.perf_counter() - t0
