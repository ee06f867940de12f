"""fastdgm over dask arrays and dask clusters (optional extra: ``pip install 'fastdgm[dask]'``).

Same seed, same result as on one machine:

- :func:`log_prob` / :func:`score` of any model over a dask array X (n, d) chunked by rows:
  each block is scored by ``model.log_prob`` on a worker; ``log_prob`` equals the
  single-machine result bit for bit (every row is computed alone), ``score`` up to the order
  of the final float64 sum.
- :func:`sample` returns a dask array whose blocks are exactly the rows
  ``model.sample(n, rng)`` would have produced: every random number is
  ``uniform(key, counter)`` with a counter fixed by the output row, so block ``[a, b)`` is
  drawn on its own from (key, a). Models provide this through their public hook
  ``model.sample_rows(key, start, n_rows)``.
- :func:`fit` fits every model with the ``"statistics"`` capability (Factorized, ChowLiuTree,
  BayesianNetwork given ``parents=``, and through the EM engine Mixture, TreeMixture,
  HiddenChowLiuTree) by statistics reduced
  over the blocks of X (one pass, or one pass per EM iteration): equal to the one-machine fit,
  bit for bit for the first three (integer counts), to rounding for the EM models.
- :func:`gibbs` spreads chains over workers: chain c always uses the sub-stream
  ``substream(key, c)``, so its result does not depend on which worker ran it
  (``fastdgm.gibbs(..., key=key, chain_start=c0)`` runs a block of chains).

Only public names of the rest of the package are used here: models travel as
``(class name, model.get_params())`` and are rebuilt with ``Model.from_params``.

Workers: prefer processes with one thread each and set ``NUMBA_NUM_THREADS`` to the cores a
worker may use. With several threads per worker, numba's default ``workqueue`` threading
layer cannot run parallel kernels from two threads at once; fastdgm detects this and runs
the serial twin of the kernel in the second thread (see :func:`fastdgm.kernels.threads.numba_threads`),
so results stay identical and nothing aborts.

:func:`warmup` (``fastdgm.dask.warmup(client)``) compiles the numba kernels on every worker
by one task per worker, so no worker's event loop is blocked (``client.run`` would block it).

Importing :mod:`fastdgm` never imports dask; importing this module does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

try:
    import dask
    import dask.array as da
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("fastdgm.dask needs dask: pip install 'fastdgm[dask]' "
                      "(dask[array] and distributed)") from exc

from ._rng import make_key
from ._validation import check_positive_int, check_states, smallest_uint
from ._warmup import warmup_workers as warmup   # one task per worker, never on the event loop

__all__ = ["log_prob", "score", "sample", "gibbs", "fit", "warmup", "DaskGibbsResult"]


# ---------------------------------------------------------------------------------------
# shipping models to workers: by their parameters, rebuilt with _from_params
# ---------------------------------------------------------------------------------------
def _freeze(model):
    try:
        params = {k: np.asarray(v) for k, v in model.get_params().items()}
    except NotImplementedError:
        return model
    return (type(model).__name__, params)


def _thaw(frozen):
    if not isinstance(frozen, tuple):
        return frozen
    from .models.base import registered_models

    name, params = frozen
    return registered_models()[name].from_params(params)


# ---------------------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------------------
def _as_dask_rows(X, n_dims):
    if not isinstance(X, da.Array):
        X = da.from_array(np.asarray(X), chunks=(max(1, min(100_000, len(X))), -1))
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D dask array (n, d), got {X.ndim} dimensions")
    if n_dims is not None and X.shape[1] != n_dims:
        raise ValueError(f"X must have d = {n_dims} columns for this model, got {X.shape[1]}")
    if X.dtype.kind not in "iu":
        raise TypeError(f"X must hold integer states, got dtype {X.dtype}")
    if len(X.chunks[1]) != 1:
        X = X.rechunk({1: -1})  # rows are scored whole
    return X


def _as_dask_weights(sample_weight, X):
    """``sample_weight`` as a 1-d float dask array chunked like the rows of X."""
    if not isinstance(sample_weight, da.Array):
        sample_weight = np.asarray(sample_weight)
        if sample_weight.dtype.kind not in "fiu":
            raise TypeError(f"sample_weight must have a real numeric dtype, got {sample_weight.dtype}")
    if sample_weight.ndim != 1 or sample_weight.shape[0] != X.shape[0]:
        raise ValueError(f"sample_weight must have one entry per row of X ({X.shape[0]}), got shape "
                         f"{sample_weight.shape}")
    if isinstance(sample_weight, da.Array):
        if sample_weight.dtype.kind not in "fiu":
            raise TypeError(f"sample_weight must have a real numeric dtype, got {sample_weight.dtype}")
        return sample_weight.astype(np.float64).rechunk((X.chunks[0],))
    return da.from_array(sample_weight.astype(np.float64), chunks=(X.chunks[0],))


def _log_prob_block(block, frozen):
    model = _thaw(frozen)
    return np.asarray(model.log_prob(block), dtype=np.float64)


def log_prob(model, X):
    """Per-row log-probabilities of a dask array, computed block by block on the workers.

    Parameters
    ----------
    model : fastdgm model
        Any model with ``log_prob`` (Factorized, Mixture, ChowLiuTree, PairwiseMRF, ...).
    X : dask.array.Array or array_like of int, shape (n, d)
        Chunked along rows (column chunks are merged).

    Returns
    -------
    dask.array.Array, float64, shape (n,)
        Equal, bit for bit, to ``model.log_prob(X.compute())``.
    """
    X = _as_dask_rows(X, getattr(model, "n_dims", None))
    frozen = _freeze(model)
    return X.map_blocks(_log_prob_block, frozen, drop_axis=1, dtype=np.float64,
                        meta=np.empty((0,), dtype=np.float64))


def score(model, X):
    """Mean log-likelihood per sample (nats) of a dask array X, as a lazy dask scalar.

    Parameters
    ----------
    model : fastdgm model
    X : dask.array.Array or array_like of int, shape (n, d)

    Returns
    -------
    dask.array.Array, float64, shape ()
        ``log_prob(model, X).mean()``; equal to ``model.score(X)`` up to float64 rounding
        of the sum (the blocks are summed in a tree).
    """
    return log_prob(model, X).mean(dtype=np.float64)


# ---------------------------------------------------------------------------------------
# sampling
# ---------------------------------------------------------------------------------------
def _sample_block(frozen, key, start, n_rows):
    return _thaw(frozen).sample_rows(np.uint64(key), int(start), int(n_rows))


def _block_samplable(model) -> bool:
    return "exact_sampler" in type(model).capabilities


def _normalize_chunks(n, chunks):
    if isinstance(chunks, (int, np.integer)):
        c = check_positive_int(chunks, "chunks")
        sizes = [c] * (n // c) + ([n % c] if n % c else [])
    else:
        sizes = [int(c) for c in chunks]
        if any(c < 1 for c in sizes) or sum(sizes) != n:
            raise ValueError(f"chunks must be positive and add up to n = {n}, got {sizes}")
    return sizes


def sample(model, n, *, chunks=100_000, rng=None):
    """Draw ``n`` samples of a model as a dask array, block by block on the workers.

    Parameters
    ----------
    model : fastdgm model
        Any model with the block-sampling hook ``sample_rows`` (Categorical, Factorized,
        Mixture, ChowLiuTree, ...).
    n : int
        Number of samples.
    chunks : int or sequence of int
        Rows per block (an int, or the block sizes adding up to n).
    rng : SPEC 7 seed
        Its key is drawn once here, on the client.

    Returns
    -------
    dask.array.Array, shape (n, d) (or (n,) for Categorical)
        Equal, bit for bit, to ``model.sample(n, rng=rng)`` for the same ``rng`` (an int or
        SeedSequence; a Generator is advanced here, as by ``model.sample``).

    Raises
    ------
    TypeError
        If the model has no block-sampling hook (its rows could not be drawn independently).
    """
    from .models.categorical import Categorical

    n = check_positive_int(n, "n")
    is_cat = isinstance(model, Categorical)
    if not _block_samplable(model):
        raise TypeError(f"{type(model).__name__} cannot be sampled block by block (no sample_rows "
                        "hook): use model.sample on one machine")
    sizes = _normalize_chunks(n, chunks)
    key = make_key(rng)
    frozen = dask.delayed(_freeze(model), pure=True)
    if is_cat:
        tail, dtype = (), np.dtype(np.int64)
    else:
        tail, dtype = (model.n_dims,), smallest_uint(model.n_states)
    blocks, start = [], 0
    for size in sizes:
        part = dask.delayed(_sample_block, pure=True)(frozen, int(key), start, size)
        blocks.append(da.from_delayed(part, shape=(size,) + tail, dtype=dtype))
        start += size
    return da.concatenate(blocks, axis=0)


# ---------------------------------------------------------------------------------------
# Gibbs chains over workers
# ---------------------------------------------------------------------------------------
@dataclass
class DaskGibbsResult:
    """Chains gathered from the workers (numpy arrays, chains in their global order).

    Attributes
    ----------
    samples : ndarray, shape (kept, chains, d), smallest unsigned dtype holding C
    energy : ndarray, float64, shape (sweeps, chains)
    state : ndarray, shape (chains, d)
    """

    samples: np.ndarray
    energy: np.ndarray
    state: np.ndarray


def _gibbs_block(frozen, key, chain_start, n_chains, n_sweeps, burn_in, thin, init, schedule):
    """Chains [chain_start, chain_start + n_chains) of the run with key ``key``."""
    from .mcmc import gibbs as _gibbs

    res = _gibbs(_thaw(frozen), n_chains, n_sweeps, burn_in=burn_in, thin=thin, init=init,
                 schedule=schedule, key=np.uint64(key), chain_start=chain_start)
    return np.asarray(res.samples), np.asarray(res.energy), np.asarray(res.state)


def gibbs(model, n_chains, n_sweeps, *, burn_in=0, thin=1, init=None, rng=None, schedule="auto",
          client=None, chains_per_task=None):
    """Run Gibbs chains of a Markov random field spread over the workers of a dask cluster.

    Parameters
    ----------
    model : PairwiseMRF
    n_chains, n_sweeps, burn_in, thin, init, schedule
        As in :func:`fastdgm.gibbs`; ``init`` is "random", None or an array (n_chains, d).
    rng : SPEC 7 seed
        The run's key is drawn from it once, here, as ``fastdgm.gibbs`` does: the result
        equals ``fastdgm.gibbs(model, n_chains, n_sweeps, ..., rng=rng)`` bit for bit.
    client : distributed.Client or "threads", optional
        Where to run; default: the current client if there is one, else dask's local
        threaded scheduler ("threads" forces the latter).
    chains_per_task : int, optional
        Chains per task (default: n_chains spread evenly over the workers).

    Returns
    -------
    DaskGibbsResult
        samples (kept, chains, d), energy (sweeps, chains), state (chains, d).
    """
    n_chains = check_positive_int(n_chains, "n_chains")
    if isinstance(client, str):
        if client != "threads":
            raise ValueError(f"client must be a distributed.Client, 'threads' or None, got {client!r}")
        client = None
    elif client is None:
        try:
            from distributed import default_client

            client = default_client()
        except (ImportError, ValueError):
            client = None
    if chains_per_task is None:
        workers = len(client.scheduler_info()["workers"]) if client is not None else 2
        chains_per_task = max(1, math.ceil(n_chains / max(1, workers)))
    chains_per_task = check_positive_int(chains_per_task, "chains_per_task")
    from .models.mrf import PairwiseMRF

    if not isinstance(model, PairwiseMRF):
        raise TypeError(f"model must be a PairwiseMRF, got {type(model).__name__}")
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps", minimum=0)
    burn_in = check_positive_int(burn_in, "burn_in", minimum=0)
    thin = check_positive_int(thin, "thin")
    if schedule not in ("auto", "chromatic", "sequential", "random"):
        raise ValueError(f"schedule must be 'auto', 'chromatic', 'sequential' or 'random', got {schedule!r}")
    if isinstance(init, str):
        if init != "random":
            raise ValueError(f"init must be None, 'random' or an array (n_chains, d), got {init!r}")
    elif init is not None:
        init, _ = check_states(init, "init", n_states=model.n_states, n_dims=model.n_dims)
        if init.shape[0] != n_chains:
            raise ValueError(f"init must have shape (n_chains, d) = ({n_chains}, {model.n_dims}), "
                             f"got {init.shape}")
    seed = int(make_key(rng))
    frozen = _freeze(model)
    args = []
    for a in range(0, n_chains, chains_per_task):
        b = min(n_chains, a + chains_per_task)
        part = init[a:b] if isinstance(init, np.ndarray) else init
        args.append((seed, a, b - a, n_sweeps, burn_in, thin, part, schedule))
    if client is not None:
        fz = client.scatter(frozen, broadcast=True) if not isinstance(frozen, tuple) else frozen
        futures = [client.submit(_gibbs_block, fz, *a, pure=False) for a in args]
        parts = client.gather(futures)
    else:
        parts = dask.compute(*[dask.delayed(_gibbs_block)(frozen, *a) for a in args],
                             scheduler="threads")
    samples = np.concatenate([p[0] for p in parts], axis=1)
    energy = np.concatenate([p[1] for p in parts], axis=1)
    state = np.concatenate([p[2] for p in parts], axis=0)
    return DaskGibbsResult(samples, energy, state)


# ---------------------------------------------------------------------------------------
# fits by sufficient statistics
# ---------------------------------------------------------------------------------------
def fit(model_cls, X, *, n_states=None, sample_weight=None, **hyper):
    """Fit a model to a dask array by reducing statistics over its row blocks.

    Parameters
    ----------
    model_cls : type
        A model with the ``"statistics"`` capability (:func:`fastdgm.blockfit.block_fittable`):
        ``Factorized``, ``ChowLiuTree``, ``Mixture``, ``TreeMixture``, ``HiddenChowLiuTree``,
        ``BayesianNetwork`` (the tables of a DAG given as ``parents=``).
    X : dask.array.Array or array_like of int, shape (n, d)
        Chunked along rows (column chunks are merged); each block's statistics are computed
        where the block lives, and summed in block order on the client.
    n_states : int, optional
        C; by default ``X.max() + 1`` (one extra pass).
    sample_weight : dask.array.Array or array_like of float, shape (n,), optional
        Non-negative row weights, as in ``model_cls.fit``; rechunked to the row blocks of X, each
        block's weights travel with its rows and are checked where the block is computed.
    **hyper
        Keywords of ``model_cls.fit`` with the same defaults (``alpha``, ``n_components``,
        ``rng``, ``max_iter``, ``tol``, ``n_init``, ``progress``...; not ``dedupe``).

    Returns
    -------
    Model
        Factorized / ChowLiuTree / BayesianNetwork: equal to ``model_cls.fit(X.compute())`` bit for bit; the EM
        models (one pass per iteration through :mod:`fastdgm.models.em`): to rounding (block
        sums are added in another order), same iterations; HiddenChowLiuTree as
        ``fit(X, dedupe=False)``.
    """
    from .blockfit import block_task, fit_from_blocks

    X = _as_dask_rows(X, None)
    if n_states is None:
        n_states = int(X.max().compute()) + 1
    starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(np.int64)
    blocks = X.to_delayed().ravel()
    weights = [None] * len(blocks)
    if sample_weight is not None:
        weights = _as_dask_weights(sample_weight, X).to_delayed().ravel()

    def map_blocks(task):
        parts = [dask.delayed(block_task, pure=True)(task, b, int(s), w)
                 for b, s, w in zip(blocks, starts, weights)]
        return list(dask.compute(*parts))

    return fit_from_blocks(model_cls, map_blocks, n_states, **hyper)
