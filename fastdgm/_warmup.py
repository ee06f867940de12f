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

Never on an event loop: ``warmup(background=True)`` runs in a daemon thread and returns a
:class:`concurrent.futures.Future`; on a dask cluster :func:`warmup_workers` (also
``fastdgm.dask.warmup``) submits one task per worker, pinned to it, so the compilation runs
in each worker's task thread while its event loop keeps answering the scheduler
(``client.run`` would call it on the event loop and block heart-beats for minutes).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future

import numpy as np

__all__ = ["warmup", "warmup_workers", "model_paths", "KINDS"]

KINDS = ("sampling", "factorized", "mixture", "chowliu", "gibbs", "pairwise", "models")
"""The parts of :func:`warmup`, in the order they run (``kinds=`` selects a subset)."""


def _paths():
    """(name, function) of each public path to run once.

    Each path runs on a tiny input (below the kernels' serial threshold: their parallel
    versions on a team of one) and on one just above it, for uint8 and uint16 data; Gibbs runs in its two layouts (parallel over chains, and over sites for few
    chains on a large lattice) on a lattice and on a general graph, in each schedule.
    """
    # the public names from their own modules (importing the package here would close a cycle)
    from .mcmc import gibbs
    from .models import ChowLiuTree, Factorized, Mixture, PairwiseMRF, TreeMixture
    from .sampling import categorical

    rng = np.random.default_rng(0)
    small = rng.integers(0, 3, size=(64, 4)).astype(np.uint8)
    big = rng.integers(0, 3, size=(1 << 15, 16)).astype(np.uint8)  # above SERIAL_WORK cells
    data = [small, big, big.astype(np.uint16), big & 1]          # C = 2 has fast paths

    def sampling():
        from ._validation import _max_state

        _max_state(big, parallel_above=0)     # the parallel scan of data above 16M cells
        categorical([0.2, 0.3, 0.5], size=16, rng=0)
        categorical(np.ones((4, 3)), rng=0)

    def factorized():
        for X in data:
            m = Factorized.fit(X, n_states=int(X.max()) + 1)
            m.log_prob(X), m.sample(len(X), rng=0)

    def mixture():
        for X in data:
            m = Mixture.fit(X, n_components=4, n_states=int(X.max()) + 1, rng=0, max_iter=2)
            m.log_prob(X), m.predict_proba(X), m.sample(len(X), rng=0)

    def chowliu():
        for X in data:
            m = ChowLiuTree.fit(X, n_states=int(X.max()) + 1)
            m.log_prob(X), m.sample(len(X), rng=0)

    def mrf():
        # both layouts explicitly: the automatic choice depends on the thread count; each grid
        # kernel variant once: Ising torus, Potts torus, other grids (open sides)
        layouts = ("chains", "sites")
        grids = [PairwiseMRF.grid((64, 64), n_states=2, coupling=0.5),
                 PairwiseMRF.grid((8, 8), n_states=3, coupling=0.5),
                 PairwiseMRF.grid((8, 7), n_states=2, coupling=0.5, periodic=False)]
        for layout in layouts:
            for g in grids:
                gibbs(g, 2, 1, rng=0, _layout=layout)
        d = 4096
        e = np.stack([np.arange(d), (np.arange(d) + 1) % d], 1)   # a ring
        m = PairwiseMRF(np.zeros((d, 3)), e, np.zeros((d, 3, 3)))
        gibbs(m, 2, 1, rng=0, _layout="sites")       # the sequential and random scans have one layout
        for schedule in ("chromatic", "sequential", "random"):
            gibbs(m, 2, 1, rng=0, schedule=schedule, _layout="chains")
        m = PairwiseMRF(np.zeros((4, 3)), e[:0].tolist() + [[0, 1], [1, 2], [2, 3], [0, 3]],
                           np.zeros((4, 3, 3)))
        m.log_partition(), m.log_prob(small), m.pseudo_log_likelihood(small)
        PairwiseMRF.fit(small, edges=[[0, 1], [1, 2], [2, 3]], n_states=3, method="pll", max_iter=3)

    def pairwise():
        import scipy.sparse as sp

        from .models._cooccurrence import pairwise_count_matrix

        for X in (small, big & 1):
            C = int(X.max()) + 1
            for method in ("dense", "sparse", "pairs"):
                pairwise_count_matrix(X, C, method=method)
            pairwise_count_matrix(sp.csr_matrix(X), C, method="sparse")
            pairwise_count_matrix(X, C, np.ones(len(X)))

    def tree_mixture_pairs():
        wide = rng.integers(0, 2, size=(512, 128)).astype(np.uint8)   # the M-step's pair kernels in parallel
        TreeMixture.fit(wide, n_components=4, n_states=2, rng=0, max_iter=1)
        TreeMixture.fit(big, n_components=4, n_states=3, rng=0, max_iter=1)

    def models():
        from .models import HiddenChowLiuTree
        from .models._mrf_missing import fill

        tree_mixture_pairs()
        # the GEMM passes of a hidden tree (K >= 32), and the clamped Gibbs fill of an MRF (the
        # path of rows with too many completions to enumerate)
        h = HiddenChowLiuTree.fit(small, n_hidden=32, rng=0, max_iter=2)
        h.log_prob(small)
        mask = np.zeros((8, 4), dtype=bool)
        mask[:, 1:3] = True
        fill(PairwiseMRF.grid((2, 2), n_states=3, coupling=0.5), small[:8], mask, 0, 2, 0)
        for _, run in model_paths():      # every registered model, from the registry
            run()

    return [("sampling", sampling), ("factorized", factorized), ("mixture", mixture),
            ("chowliu", chowliu), ("gibbs", mrf), ("pairwise", pairwise), ("models", models)]


def model_paths():
    """(class name, function) per registered model: its :meth:`~fastdgm.models.base.Model.example`
    fitted, then log_prob, missing values and sampling as its capabilities declare them."""
    from .models.base import registered_models

    def run(cls):
        model, small = cls.example()
        # the example's rows, and as many again as select the parallel version of each kernel
        for X in (small, np.tile(small, (256,) + (1,) * (np.ndim(small) - 1))):
            if "exact_log_prob" in cls.capabilities:
                model.log_prob(X)
            if "missing" in cls.capabilities:
                mask = np.zeros(np.shape(X), dtype=bool)
                mask[..., ::2] = True
                model.log_prob(X, missing=mask), model.fill(X, mask, rng=0)
            if "exact_sampler" in cls.capabilities:
                model.sample(len(X), rng=0)

    return [(name, (lambda cls=cls: run(cls))) for name, cls in registered_models().items()]


def _check_kinds(kinds: Iterable[str] | None) -> tuple[str, ...]:
    if kinds is None:
        return KINDS
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in KINDS]
    if bad or not all(isinstance(k, str) for k in kinds):
        raise ValueError(f"kinds must be names among {KINDS}, got {bad or kinds}")
    return kinds


def warmup(verbose: bool = False, *, kinds: Iterable[str] | None = None,
           background: bool = False) -> float | Future:
    """Compile (or load from the JIT cache) the numba kernels of the package.

    Runs each public model and Gibbs path once on a tiny input, on at least two threads (so
    that the parallel version of every kernel is compiled even when the adaptive default
    count is 1 on a busy machine). Parts of the package that are not installed are skipped.

    Parameters
    ----------
    verbose : bool
        Print the time of each part.
    kinds : iterable of str, optional
        The parts to warm up, among ``fastdgm._warmup.KINDS``: ``"sampling"``,
        ``"factorized"``, ``"mixture"``, ``"chowliu"``, ``"gibbs"``, ``"pairwise"``,
        ``"models"`` (every registered model's example: its likelihood, missing values and
        sampler); all by default.
    background : bool
        Run in a daemon thread and return at once (the kernels release the GIL only while
        they run, the compiler mostly holds it: an event loop in this process stays
        responsive, though slower).

    Returns
    -------
    float or concurrent.futures.Future
        Seconds it took; with ``background=True`` a Future of them (``.result()`` waits and
        re-raises an error of the warm-up).

    Examples
    --------
    >>> import fastdgm as fd
    >>> seconds = fd.warmup()     # doctest: +SKIP
    >>> done = fd.warmup(kinds=["factorized"], background=True)   # doctest: +SKIP
    """
    kinds = _check_kinds(kinds)
    if background:
        fut: Future = Future()

        def run():
            if fut.set_running_or_notify_cancel():
                try:
                    fut.set_result(_run(verbose, kinds))
                except BaseException as exc:   # noqa: BLE001 - handed to the caller
                    fut.set_exception(exc)

        threading.Thread(target=run, name="fastdgm-warmup", daemon=True).start()
        return fut
    return _run(verbose, kinds)


def _warm_task(kinds: tuple[str, ...]) -> float:
    """One worker's warm-up (a dask task; module-level so it pickles by reference)."""
    return _run(False, _check_kinds(kinds))


def warmup_workers(client, kinds: Iterable[str] | None = None, workers: Iterable[str] | None = None,
                   timeout: float | None = None) -> dict:
    """Warm up every worker of a dask cluster without blocking its event loop.

    Submits one task per worker (``workers=[address]``, ``allow_other_workers=False``,
    ``pure=False``) that runs :func:`warmup` in the worker's task thread, and waits for all.

    Parameters
    ----------
    client : distributed.Client
        The cluster's client.
    kinds : iterable of str, optional
        The parts to warm up (see :func:`warmup`); all by default.
    workers : iterable of str, optional
        Worker addresses; all current workers by default.
    timeout : float, optional
        Seconds to wait for the tasks (None: no limit).

    Returns
    -------
    dict
        Worker address -> seconds its warm-up took.
    """
    kinds = _check_kinds(kinds)
    addrs = list(workers) if workers is not None else sorted(client.scheduler_info()["workers"])
    futures = [client.submit(_warm_task, kinds, workers=[a], allow_other_workers=False, pure=False)
               for a in addrs]
    return dict(zip(addrs, client.gather(futures) if timeout is None else
                    [f.result(timeout=timeout) for f in futures]))


def _run(verbose: bool, kinds: tuple[str, ...]) -> float:
    from ._config import threads
    from .kernels.threads import max_threads

    t0 = time.perf_counter()
    for name, fn in _paths():
        if name not in kinds:
            continue
        t = time.perf_counter()
        try:
            with threads(max(2, max_threads())):
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
