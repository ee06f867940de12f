"""Gibbs sampling of a :class:`~fastdgm.mrf.PairwiseMRF`: many chains, resumable, reproducible.

Random numbers: chain c uses ``substream(key, c)``; the update of a site in absolute sweep
s (counted from the chain's first sweep ever, burn-in included) uses the 32-bit Gibbs site
uniform of (chain key, s, site) of :mod:`fastdgm.kernels.gibbs_rng` (random scan: of (chain
key, s, step), and the site itself from a second sub-stream at counter ``s * d + step``). The key is stored in the result, so a resumed run continues the same streams
and gives bit for bit what one uninterrupted run would have given, on any thread count.
"""
from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import numpy as np

from ._atomic import check_writable
from ._checkpoint import FORMAT, DeferredSignals, check_resume_states, progress_counts, read_checkpoint
from ._config import get_num_threads
from ._progress import Progress
from ._rng import make_key
from ._typing import ArrayLike, FloatArray, IntArray, PathLike, Seed
from ._validation import check_positive_int, check_scalar, check_states, smallest_uint
from .kernels import gibbs_graph, gibbs_grid
from .kernels.gibbs_common import BLOCK, SETUP_ENERGY, SETUP_FILL, SETUP_KEYS, SETUP_NONE, chain_keys, chain_setup
from .models.base import atomic_savez

if TYPE_CHECKING:
    from .models.mrf import PairwiseMRF

__all__ = ["gibbs", "GibbsResult"]

_SCHEDULES = ("auto", "chromatic", "sequential", "random")


class GibbsResult:
    """Output of :func:`gibbs`, and everything needed to continue the chains.

    Built by :func:`gibbs` and :meth:`load`; the parameters are the attributes below.

    Parameters
    ----------
    samples, energy, state, final_energy : ndarray
        As the attributes.
    key : int or numpy.uint64
        As the attribute.
    sweep, burn_in, n_sweeps, thin, sweeps_done, chain_start : int
        As the attributes.
    schedule : str
        As the attribute.
    model_id : str
        Fingerprint of the model's parameters (resume checks it).

    Attributes
    ----------
    samples : ndarray, shape (n_sweeps // thin, n_chains, d), smallest unsigned dtype for C
        State after every ``thin``-th sweep following burn-in.
    energy : ndarray of float64, shape (n_sweeps, n_chains)
        Energy E(x) = -log of the unnormalised probability after every sweep following
        burn-in (tracked incrementally from the exact initial energy).
    state : ndarray, shape (n_chains, d)
        Final states.
    final_energy : ndarray of float64, shape (n_chains,)
        Running energy of ``state`` (carried over on resume).
    key : numpy.uint64
        Random stream key of the run (resume continues it).
    sweep : int
        Sweeps done by the chains since their start, over every resumed run.
    schedule : str
        "chromatic", "sequential" or "random".
    burn_in, n_sweeps, thin, sweeps_done : int
        This run's settings and the sweeps done so far (burn-in included).
    chain_start : int
        Global index of the first chain (chain c uses ``substream(key, c)``).
    """

    samples: IntArray
    energy: FloatArray
    state: IntArray
    final_energy: FloatArray
    key: np.uint64

    def __init__(self, samples, energy, state, final_energy, key, sweep, schedule, burn_in, n_sweeps,
                 thin, sweeps_done, model_id, chain_start=0):
        self.samples = samples
        self.energy = energy
        self.state = state
        self.final_energy = final_energy
        self.key = np.uint64(key)
        self.sweep = int(sweep)
        self.schedule = str(schedule)
        self.burn_in = int(burn_in)
        self.n_sweeps = int(n_sweeps)
        self.thin = int(thin)
        self.sweeps_done = int(sweeps_done)
        self.model_id = str(model_id)
        self.chain_start = int(chain_start)

    @property
    def n_chains(self) -> int:
        """Number of chains (rows of ``state``)."""
        return self.state.shape[0]

    @property
    def complete(self) -> bool:
        """True when the run did all its burn_in + n_sweeps sweeps."""
        return self.sweeps_done >= self.burn_in + self.n_sweeps

    def save(self, path: PathLike) -> None:
        """Write the result (a checkpoint) atomically to an ``.npz`` file.

        Only the samples kept so far and the energies recorded so far are written (with the
        states and the stream key), so a checkpoint grows with the work done.

        Parameters
        ----------
        path : str or os.PathLike
            Destination ``.npz`` file.
        """
        recorded, kept = progress_counts(self.sweeps_done, self.burn_in, self.n_sweeps, self.thin)
        atomic_savez(path, samples=self.samples[:kept], energy=self.energy[:recorded], state=self.state,
                     final_energy=self.final_energy, key=np.asarray(self.key, np.uint64),
                     sweep=np.int64(self.sweep), schedule=np.asarray(self.schedule),
                     burn_in=np.int64(self.burn_in), n_sweeps=np.int64(self.n_sweeps),
                     thin=np.int64(self.thin), sweeps_done=np.int64(self.sweeps_done),
                     model_id=np.asarray(self.model_id), chain_start=np.int64(self.chain_start),
                     complete=np.bool_(self.complete), __gibbs__=np.int64(FORMAT))

    @classmethod
    def load(cls, path: PathLike) -> GibbsResult:
        """Read a result or checkpoint written by :meth:`save` / ``gibbs(checkpoint=...)``.

        The file is untrusted input: every array is checked against the others (shapes,
        dtypes, finite energies, counters) before it is used.

        Parameters
        ----------
        path : str or os.PathLike
            The ``.npz`` file.

        Returns
        -------
        GibbsResult
            Holding the samples kept and the energies recorded so far.
        """
        return cls(**read_checkpoint(path))

    def __repr__(self) -> str:
        return (f"GibbsResult(samples={self.samples.shape}, chains={self.n_chains}, sweep={self.sweep}, "
                f"schedule={self.schedule!r}{'' if self.complete else ', incomplete'})")


def gibbs(model: PairwiseMRF, n_chains: int, n_sweeps: int, *, burn_in: int = 0, thin: int = 1,
          init: str | ArrayLike | None = None, rng: Seed = None, schedule: str = "auto",
          progress: bool = False, checkpoint: PathLike | None = None,
          resume: GibbsResult | PathLike | None = None, checkpoint_every: float = 60.0,
          key: int | None = None, chain_start: int = 0, _layout: str | None = None) -> GibbsResult:
    """Run ``n_chains`` Gibbs chains on a pairwise MRF.

    Parameters
    ----------
    model : PairwiseMRF
        The Markov random field to sample.
    n_chains : int
        Independent chains (updated in parallel).
    n_sweeps : int
        Sweeps after burn-in; one sweep updates every site once (random scan: d random sites).
    burn_in : int
        Sweeps run first and not recorded.
    thin : int
        Keep the state after every ``thin``-th recorded sweep (``n_sweeps // thin`` kept).
    init : None, "random" or array_like of int, shape (n_chains, d)
        Initial states; "random" (the default) draws them uniformly from ``rng``.
    rng : SPEC 7 rng
        Seeds the run; not allowed with ``resume`` (the stream continues from its key).
    schedule : {"auto", "chromatic", "sequential", "random"}
        "chromatic" (the default): colour by colour, sites of a colour in parallel; the same
        chain as a sequential scan in colour order. "sequential": sites 0..d-1 in order.
        "random": random scan. "auto" is "chromatic", or the schedule of ``resume``.
    progress : bool
        Progress bar on stderr with sweeps/s and the time left (resumed sweeps count towards
        the bar, not the rate).
    checkpoint : str or os.PathLike, optional
        File rewritten atomically about every ``checkpoint_every`` seconds, on SIGINT (Ctrl-C,
        then ``KeyboardInterrupt`` is raised) and SIGTERM (then the signal takes its course),
        and at the end; it holds the states, the stream key and only the samples kept so far.
        At the end it holds the whole result, marked ``complete``: resuming from it continues
        the chains, and ``fastdgm gibbs`` writes it out again when rerun; delete it when done.
        Its directory must be writable (checked before the run).
    resume : GibbsResult, or str or os.PathLike of a checkpoint, optional
        Continue those chains: the states are exactly those an uninterrupted run would give.
        A checkpoint file of an unfinished run, resumed with the same ``burn_in``,
        ``n_sweeps`` and ``thin``, finishes that run (the result holds all its samples);
        otherwise a new run of ``burn_in + n_sweeps`` sweeps continues from its final state.
    checkpoint_every : float
        Seconds between checkpoint writes.
    key : int or numpy.uint64, optional
        The run's 64-bit stream key itself, instead of ``rng`` (``make_key(rng)`` is what
        ``rng`` gives): with ``chain_start``, it lets a worker run some chains of a larger run.
    chain_start : int
        Global index of the first chain: the chains are ``[chain_start, chain_start +
        n_chains)`` of the run with this key, chain c on ``substream(key, c)``. Chains of a
        run split into such blocks equal the chains of the whole run, bit for bit.

    _layout : {None, "chains", "sites"}
        Internal: the kernel's memory layout (None chooses).

    Returns
    -------
    GibbsResult
        Samples, energies, final states and the stream key of the run.
    """
    from .models._registry import registered_class      # not models.mrf: its sample() calls gibbs

    if not isinstance(model, registered_class("PairwiseMRF") or ()):
        raise TypeError(f"model must be a PairwiseMRF, got {type(model).__name__}")
    n_chains = check_positive_int(n_chains, "n_chains")
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps", minimum=0)
    burn_in = check_positive_int(burn_in, "burn_in", minimum=0)
    thin = check_positive_int(thin, "thin")
    if schedule not in _SCHEDULES:
        raise ValueError(f"schedule must be one of {_SCHEDULES}, got {schedule!r}")
    if _layout not in (None, "chains", "sites"):
        raise ValueError(f"_layout must be None, 'chains' or 'sites', got {_layout!r}")
    checkpoint_every = check_scalar(checkpoint_every, "checkpoint_every", minimum=0.0)
    chain_start = check_positive_int(chain_start, "chain_start", minimum=0)
    if key is not None and rng is not None:
        raise ValueError("give at most one of rng and key")
    if checkpoint is not None:
        check_writable(checkpoint, "checkpoint")     # before the run, not after an hour of it
    d, C = model.n_dims, model.n_states
    if d >= 2 ** 32:
        raise ValueError(f"gibbs supports fewer than 2**32 sites (the site uniforms hash a 32-bit site index), "
                         f"got {d}")
    dtype = smallest_uint(C)
    model_id = model.fingerprint

    total = burn_in + n_sweeps
    kept = n_sweeps // thin
    prev = None
    if resume is not None:
        if rng is not None or key is not None:
            raise ValueError(f"{'rng' if rng is not None else 'key'} must be None with resume (the random "
                             "stream continues from resume's key)")
        if init is not None:
            raise ValueError("init must be None with resume (the chains continue from resume's state)")
        from_file = not isinstance(resume, GibbsResult)
        if from_file:
            try:
                path = os.fspath(resume)
            except TypeError:
                raise TypeError(f"resume must be a GibbsResult or a checkpoint path, got "
                                f"{type(resume).__name__}") from None
            resume = GibbsResult.load(path)
        if resume.model_id != model_id:
            raise ValueError("resume comes from a different model (parameters differ)")
        if resume.n_chains != n_chains:
            raise ValueError(f"n_chains must equal resume's number of chains {resume.n_chains}, got {n_chains}")
        if schedule == "auto":
            schedule = resume.schedule
        key = np.uint64(resume.key)
        chain_start = resume.chain_start
        check_resume_states(resume, C, d)
        X = np.array(resume.state, dtype=dtype, order="C")
        e_now = np.array(resume.final_energy, dtype=np.float64).reshape(-1)
        if e_now.shape != (n_chains,) or not np.all(np.isfinite(e_now)):
            raise ValueError(f"resume.final_energy must hold {n_chains} finite values, got shape {e_now.shape}")
        sweep_abs = resume.sweep
        setup = SETUP_KEYS
        if not 0 <= resume.sweeps_done <= sweep_abs:
            raise ValueError(f"resume.sweeps_done must be in [0, resume.sweep={sweep_abs}], got "
                             f"{resume.sweeps_done}")
        if from_file and not resume.complete:
            same = (resume.burn_in, resume.n_sweeps, resume.thin) == (burn_in, n_sweeps, thin)
            if not same:
                raise ValueError(
                    f"the checkpoint holds an unfinished run (burn_in={resume.burn_in}, n_sweeps="
                    f"{resume.n_sweeps}, thin={resume.thin}; {resume.sweeps_done} sweeps done): call with "
                    f"the same burn_in, n_sweeps and thin to finish it, or pass GibbsResult.load(path) "
                    f"as resume to start a new run from its state")
            check_resume_states(resume, C, d, with_samples=True)
            prev = resume
    else:
        key = make_key(rng) if key is None else np.uint64(key)
        sweep_abs = 0
        fill = init is None or (isinstance(init, str) and init == "random")
        if fill:
            X = np.empty((n_chains, d), dtype=dtype)
        elif isinstance(init, str):
            raise ValueError(f"init must be None, 'random' or an array of shape ({n_chains}, {d}), got {init!r}")
        else:
            X, _ = check_states(init, "init", n_states=C, n_dims=d)
            if X.shape[0] != n_chains:
                raise ValueError(f"init must have shape (n_chains, d) = ({n_chains}, {d}), got {X.shape}")
            X = np.array(X, dtype=dtype, order="C")
        e_now = np.empty(n_chains)
        setup = SETUP_FILL if fill else SETUP_ENERGY
    if schedule == "auto":
        schedule = "chromatic"

    samples = np.empty((kept, n_chains, d), dtype=dtype)   # every slot is written by the run
    energy = np.zeros((n_sweeps, n_chains))
    done = 0
    if prev is not None:      # an unfinished run: its samples so far, then the rest
        done = prev.sweeps_done
        rec_done, kept_done = progress_counts(done, burn_in, n_sweeps, thin)
        e_shape = np.shape(prev.energy)
        if np.shape(prev.samples)[0] < kept_done or len(e_shape) != 2 or e_shape[0] < rec_done \
                or e_shape[1] != n_chains:
            raise ValueError(f"resume holds {np.shape(prev.samples)[0]} samples and energies of shape "
                             f"{np.shape(prev.energy)} after {done} sweeps: expected {kept_done} and "
                             f"({rec_done}, {n_chains})")
        e_prev = np.asarray(prev.energy[:rec_done], dtype=np.float64)
        if not np.all(np.isfinite(e_prev)):
            raise ValueError("resume.energy holds NaN or infinite values")
        samples[:kept_done] = prev.samples[:kept_done]
        energy[:rec_done] = e_prev
    empty_s = np.zeros((0, n_chains, d), dtype=dtype)
    empty_e = np.zeros((0, n_chains))

    run, pos, site_of, in_kernel = _chunk_runner(model, schedule, n_chains, _layout, key, chain_start)
    if in_kernel:       # keys, random states, energies: in the first call's parallel region
        keys = np.empty(n_chains, dtype=np.uint64)
    else:               # in site order, before the kernel's relabelling; one parallel region
        keys = chain_keys(key, chain_start, n_chains)
        if setup >= SETUP_ENERGY:       # (X is valid: drawn or checked)
            chain_setup(keys, X, setup == SETUP_FILL, C, model._unary, model._edges, model._etab, model._tables,
                        e_now)
        setup = SETUP_NONE
    Xk = X if site_of is None else np.ascontiguousarray(X[:, site_of])  # the kernel's layout

    def result(done_now):
        state = Xk.copy() if pos is None else np.ascontiguousarray(Xk[:, pos])
        return GibbsResult(samples, energy, state, e_now.copy(), key, sweep_abs + done_now - (
            prev.sweeps_done if prev is not None else 0), schedule, burn_in, n_sweeps, thin, done_now, model_id, chain_start)

    base_sweep = sweep_abs - (prev.sweeps_done if prev is not None else 0)  # absolute sweep of run start
    adaptive = bool(progress) or checkpoint is not None
    chunk = 1
    t_ck = time.perf_counter()
    with DeferredSignals(enabled=checkpoint is not None) as held, \
            Progress(total, unit="sweeps", enabled=bool(progress), desc="gibbs", initial=done) as bar:
        while done < total:
            t0 = time.perf_counter()
            if done < burn_in:
                n = min(burn_in - done, chunk) if adaptive else burn_in - done
                run(Xk, keys, base_sweep + done, n, 1, False, empty_s, empty_e, e_now, setup)
            else:
                t = done - burn_in
                n = min(n_sweeps - t, thin * max(1, chunk // thin)) if adaptive else n_sweeps - t
                run(Xk, keys, base_sweep + done, n, thin, True, samples[t // thin:], energy[t:t + n], e_now, setup)
            setup = SETUP_NONE
            done += n
            bar.update(n)
            if adaptive:
                dt = time.perf_counter() - t0
                chunk = max(1, int(n * min(4.0, 0.25 / dt))) if dt > 0 else chunk * 4
            if checkpoint is not None and (held.pending is not None or done >= total
                                           or time.perf_counter() - t_ck >= checkpoint_every):
                result(done).save(checkpoint)       # the samples kept so far, not the whole run
                t_ck = time.perf_counter()
            if held.pending is not None:            # Ctrl-C / SIGTERM: saved above, now stop
                bar.close(finished=False)
                held.reraise()
    if setup != SETUP_NONE:         # no sweep: the set-up alone
        run(Xk, keys, base_sweep, 0, 1, False, empty_s, empty_e, e_now, setup)
    if checkpoint is not None and total == 0:
        result(done).save(checkpoint)
    return result(done)


def _chunk_runner(model, schedule, n_chains, layout, key, chain_start):
    """The kernel call ``run(X, keys, sweep0, n, thin, record, samples, energies, e_now, setup)``.

    Returns ``(run, pos, site_of, in_kernel)``: graph kernels keep each chain relabelled (site
    ``site_of[t]`` at position t; ``pos`` the inverse), grid kernels in site order (None).
    ``in_kernel``: the kernel does the run's set-up itself (``setup``, see
    :func:`fastdgm.kernels.gibbs_common.setup_chain`; the grid kernels); otherwise ``setup``
    must be SETUP_NONE.
    """
    plan = model.gibbs_plan
    C, d = model.n_states, model.n_dims
    if layout is None:
        layout = "sites" if (n_chains < get_num_threads() and d >= 16 * BLOCK) else "chains"
    if schedule == "chromatic" and plan.grid is not None:
        grid = plan.grid
        kern = gibbs_grid.grid_kernel(grid.geom, C, layout)
        tail = (key, chain_start, model._unary, model._edges, model._etab, model._tables, grid.geom, grid.beta,
                grid.ising, grid.ising_int, grid.expb, C)

        def run(X, keys, sweep0, n_sw, thin, record, samples, energies, e_now, setup):
            kern(X, keys, sweep0, n_sw, thin, record, samples, energies, e_now, setup, *tail)
        return run, None, None, True
    graph = plan.graph_args()
    site_of, pos = plan.order, plan.pos
    if schedule == "random":
        def run(X, keys, sweep0, n_sw, thin, record, samples, energies, e_now, setup):
            gibbs_graph.graph_sweeps_random(X, keys, sweep0, n_sw, thin, record, samples, energies, e_now, pos,
                                            site_of, *graph)
        return run, pos, site_of, False
    if schedule == "sequential":
        visit = pos  # sites 0..d-1 in order
        cptr = np.array([0, d], np.int64)
        kern = gibbs_graph.graph_sweeps_chains
    else:
        visit = np.arange(d, dtype=np.int64)
        cptr = plan.cptr
        kern = gibbs_graph.graph_sweeps_sites if layout == "sites" else gibbs_graph.graph_sweeps_chains

    def run(X, keys, sweep0, n_sw, thin, record, samples, energies, e_now, setup):
        kern(X, keys, sweep0, n_sw, thin, record, samples, energies, e_now, visit, site_of, cptr, *graph)
    return run, pos, site_of, False
