"""The Gibbs checkpoint file: what it holds, how it is checked, and saving it on a signal.

A checkpoint is untrusted input (a file anyone may have edited): every array is checked
against the others -- shapes of ``samples``/``energy``/``state``/``final_energy`` against
``n_chains``, ``d``, ``n_sweeps``, ``thin`` and ``sweeps_done``, dtypes, finite energies, the
key's dtype, counters in range -- before any kernel sees it (:func:`read_checkpoint`); the
states are checked against the model's ``n_states`` by :func:`check_resume_states`.

A checkpoint holds the chains' states and only the samples kept so far: its size grows
with the work done, not with the run's length (files of the earlier format, with the whole
preallocated arrays, are read too).
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading

import numpy as np

from ._validation import check_states

__all__ = ["FORMAT", "SCHEDULES", "progress_counts", "read_checkpoint", "check_resume_states",
           "DeferredSignals"]

FORMAT = 2
SCHEDULES = ("chromatic", "sequential", "random")
_COUNTERS = ("sweep", "burn_in", "n_sweeps", "thin", "sweeps_done")
_MAX_COUNT = 2 ** 53


def progress_counts(sweeps_done: int, burn_in: int, n_sweeps: int, thin: int) -> tuple[int, int]:
    """Recorded sweeps and kept samples after ``sweeps_done`` sweeps of a run.

    Parameters
    ----------
    sweeps_done : int
        Sweeps done, burn-in included.
    burn_in, n_sweeps, thin : int
        The run's settings.

    Returns
    -------
    tuple of int
        ``(recorded, kept)``: rows of ``energy`` and of ``samples`` filled so far.
    """
    recorded = min(max(sweeps_done - burn_in, 0), n_sweeps)
    return recorded, recorded // thin


def _bad(path, msg):
    return ValueError(f"checkpoint {path} is not a valid Gibbs checkpoint: {msg}")


def _scalar_int(g, name, path, minimum=0):
    a = g[name]
    if a.shape != () or a.dtype.kind not in "iu":
        raise _bad(path, f"{name} must be an integer scalar, got {a.dtype} {a.shape}")
    v = int(a)
    if not minimum <= v < _MAX_COUNT:
        raise _bad(path, f"{name} must be in [{minimum}, 2**53), got {v}")
    return v


def _scalar_str(g, name, path):
    a = g[name]
    if a.shape != () or a.dtype.kind != "U":
        raise _bad(path, f"{name} must be a string, got {a.dtype} {a.shape}")
    return str(a)


def read_checkpoint(path) -> dict:
    """Read and check a checkpoint file: the arguments of ``GibbsResult(**...)``.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` file.

    Returns
    -------
    dict
        ``samples`` (kept so far), ``energy`` (recorded so far), ``state``, ``final_energy``,
        ``key``, ``sweep``, ``schedule``, ``burn_in``, ``n_sweeps``, ``thin``,
        ``sweeps_done``, ``model_id``, ``chain_start``: consistent with each other.

    Raises
    ------
    ValueError
        Naming the file and the first inconsistency found.
    """
    path = os.fspath(path)
    try:
        f = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise _bad(path, " ".join(str(exc).split()) or type(exc).__name__) from None
    if not hasattr(f, "files"):
        raise _bad(path, "it holds a single array, not an .npz checkpoint")
    with f:
        if "__gibbs__" not in f.files:
            raise ValueError(f"{path} is not a fastdgm Gibbs checkpoint")
        need = ("samples", "energy", "state", "final_energy", "key", "schedule", "model_id") + _COUNTERS
        missing = [k for k in need if k not in f.files]
        if missing:
            raise _bad(path, f"missing {missing}")
        try:
            g = {k: f[k] for k in f.files}
        except (OSError, ValueError, EOFError) as exc:
            raise _bad(path, " ".join(str(exc).split())) from None
    out = {k: _scalar_int(g, k, path, minimum=1 if k == "thin" else 0) for k in _COUNTERS}
    out["chain_start"] = _scalar_int(g, "chain_start", path) if "chain_start" in g else 0
    out["schedule"] = _scalar_str(g, "schedule", path)
    if out["schedule"] not in SCHEDULES:
        raise _bad(path, f"schedule must be one of {SCHEDULES}, got {out['schedule']!r}")
    out["model_id"] = _scalar_str(g, "model_id", path)
    key = g["key"]
    if key.shape != () or key.dtype != np.uint64:
        raise _bad(path, f"key must be a uint64 scalar, got {key.dtype} {key.shape}")
    out["key"] = np.uint64(key)
    total = out["burn_in"] + out["n_sweeps"]
    done = out["sweeps_done"]
    if done > total:
        raise _bad(path, f"sweeps_done = {done} exceeds burn_in + n_sweeps = {total}")
    if out["sweep"] < done:
        raise _bad(path, f"sweep = {out['sweep']} is less than sweeps_done = {done}")
    recorded, kept = progress_counts(done, out["burn_in"], out["n_sweeps"], out["thin"])
    if done < total and recorded % out["thin"]:
        raise _bad(path, f"an unfinished run stops at a multiple of thin = {out['thin']} recorded "
                         f"sweeps, got {recorded}")
    state = g["state"]
    if state.ndim != 2 or state.dtype.kind not in "iu" or 0 in state.shape:
        raise _bad(path, f"state must be a non-empty (n_chains, d) integer array, got {state.dtype} "
                         f"{state.shape}")
    n_chains, d = state.shape
    fe = g["final_energy"]
    if fe.dtype.kind != "f" or fe.shape != (n_chains,) or not np.all(np.isfinite(fe)):
        raise _bad(path, f"final_energy must hold {n_chains} finite floats, got {fe.dtype} {fe.shape}")
    samples, energy = g["samples"], g["energy"]
    full_kept = out["n_sweeps"] // out["thin"]
    if (samples.ndim != 3 or samples.dtype.kind not in "iu" or samples.shape[1:] != (n_chains, d)
            or samples.shape[0] not in (kept, full_kept)):
        raise _bad(path, f"samples must be an integer array of shape ({kept}, {n_chains}, {d}) after "
                         f"{done} sweeps, got {samples.dtype} {samples.shape}")
    if (energy.ndim != 2 or energy.dtype.kind != "f" or energy.shape[1:] != (n_chains,)
            or energy.shape[0] not in (recorded, out["n_sweeps"])):
        raise _bad(path, f"energy must be a float array of shape ({recorded}, {n_chains}) after {done} "
                         f"sweeps, got {energy.dtype} {energy.shape}")
    out["samples"] = samples[:kept]           # earlier format: the whole preallocated array
    out["energy"] = energy[:recorded]
    if not np.all(np.isfinite(out["energy"])):
        raise _bad(path, "energy holds NaN or infinite values")
    out["state"], out["final_energy"] = state, fe
    return out


def check_resume_states(resume, n_states: int, n_dims: int, with_samples: bool = False) -> None:
    """Check the states of a result or checkpoint against the model they resume on.

    Parameters
    ----------
    resume : GibbsResult
        What to resume.
    n_states, n_dims : int
        The model's C and d.
    with_samples : bool
        Check ``resume.samples`` too (an unfinished run whose samples the run continues).

    Raises
    ------
    ValueError
        When a state is outside [0, C) or the arrays disagree with the model's d.
    """
    X, _ = check_states(resume.state, "resume.state", n_states=n_states, n_dims=n_dims)
    n_chains = X.shape[0]
    if not with_samples:
        return
    s = np.asarray(resume.samples)
    if s.ndim != 3 or s.shape[1:] != (n_chains, n_dims):
        raise ValueError(f"resume.samples must have shape (kept, {n_chains}, {n_dims}), got {s.shape}")
    if s.size:
        check_states(s.reshape(-1, n_dims), "resume.samples", n_states=n_states, n_dims=n_dims)


class DeferredSignals:
    """Hold SIGINT and SIGTERM during a run, so that it can save before stopping.

    Installed only when ``enabled`` and in the main thread; the previous handlers are
    restored on exit. The run polls :attr:`pending` at consistent points, saves, then calls
    :meth:`reraise`, which restores the handlers and delivers the signal as it would have been
    (SIGINT: ``KeyboardInterrupt``; SIGTERM: the previous handler, by default the end).

    Parameters
    ----------
    enabled : bool
        Install the handlers at all.
    """

    _SIGNALS = ("SIGINT", "SIGTERM")

    def __init__(self, enabled: bool = True):
        self.enabled = bool(enabled) and threading.current_thread() is threading.main_thread()
        self.pending = None
        self._old: dict = {}

    def _handler(self, signum, frame):
        self.pending = signum

    def __enter__(self):
        if self.enabled:
            for name in self._SIGNALS:
                sig = getattr(signal, name, None)
                if sig is None:
                    continue
                with contextlib.suppress(ValueError, OSError):
                    if signal.getsignal(sig) is not signal.SIG_IGN:     # ignored stays ignored
                        self._old[sig] = signal.signal(sig, self._handler)
        return self

    def restore(self) -> None:
        """Put the previous handlers back."""
        for sig, old in self._old.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, old if old is not None else signal.SIG_DFL)
        self._old = {}

    def reraise(self) -> None:
        """Restore the handlers and deliver the held signal."""
        signum, self.pending = self.pending, None
        self.restore()
        if signum is not None:
            signal.raise_signal(signum)
            if signum == signal.SIGINT:        # a handler that did not raise: stop anyway
                raise KeyboardInterrupt

    def __exit__(self, *exc):
        self.restore()
        return False
