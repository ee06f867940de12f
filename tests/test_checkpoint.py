"""Gibbs checkpoints: untrusted input checked before any kernel sees it, size proportional to the
work done, saved on SIGINT/SIGTERM, and resumed bit for bit."""
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import fastdgm as fd
import fastdgm.mcmc as G
from fastdgm import GibbsResult, PairwiseMRF, gibbs

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fd.__file__)))
MODEL = dict(shape=(8, 8), n_states=3, coupling=0.6)


def _model():
    return PairwiseMRF.grid(MODEL["shape"], MODEL["n_states"], MODEL["coupling"])


def _stopper(action, burn_in=4):
    """A Progress that calls ``action()`` (a signal, an exception) at the first update where
    this and the previous update both lie past the burn-in and the run is not finished."""
    class Stop(G.Progress):
        prev = None

        def update(self, n=1):
            super().update(n)
            if Stop.prev is not None and Stop.prev > burn_in and self.n < self.total:
                Stop.prev = None
                action()
            else:
                Stop.prev = self.n
    return Stop


RUN = dict(burn_in=4, thin=2)
SWEEPS = 400


def _interrupt():
    raise KeyboardInterrupt


@pytest.fixture(scope="module")
def partial(tmp_path_factory):
    """An unfinished run's checkpoint (some samples kept) and the uninterrupted reference."""
    model = _model()
    full = gibbs(model, 3, SWEEPS, **RUN, rng=7)
    ck = tmp_path_factory.mktemp("ck") / "part.npz"
    mp = pytest.MonkeyPatch()
    mp.setattr(G, "Progress", _stopper(_interrupt))
    try:
        with pytest.raises(KeyboardInterrupt):
            gibbs(model, 3, SWEEPS, **RUN, rng=7, checkpoint=ck, checkpoint_every=0.0)
    finally:
        mp.undo()
    return ck, full


def test_checkpoint_holds_only_the_work_done(partial):
    ck, full = partial
    with np.load(ck) as f:
        done, burn_in = int(f["sweeps_done"]), int(f["burn_in"])
        assert burn_in < done < burn_in + SWEEPS, "stop inside the recorded sweeps"
        assert f["samples"].shape == ((done - burn_in) // 2, 3, 64)       # kept so far, not 200
        assert f["energy"].shape == (done - burn_in, 3)
        assert not bool(f["complete"])
        np.testing.assert_array_equal(f["samples"], full.samples[:f["samples"].shape[0]])
        np.testing.assert_array_equal(f["energy"], full.energy[:done - burn_in])
    fin = gibbs(_model(), 3, SWEEPS, **RUN, resume=ck)
    for k in ("samples", "energy", "state", "final_energy"):
        np.testing.assert_array_equal(getattr(fin, k), getattr(full, k))


def _tampered(src, dst, **changes):
    with np.load(src) as f:
        g = {k: f[k] for k in f.files}
    for k, v in changes.items():
        if v is None:
            del g[k]
        else:
            g[k] = v(g[k]) if callable(v) else v
    np.savez(dst, **g)
    return dst


TAMPERINGS = {
    "samples shrunk": dict(samples=lambda a: a[:1]),
    "energy shrunk": dict(energy=lambda a: a[:2]),
    "samples of other chains": dict(samples=lambda a: a[:, :2]),
    "samples float": dict(samples=lambda a: a.astype(np.float64)),
    "samples out of range": dict(samples=lambda a: a + 200),
    "state out of range": dict(state=lambda a: a + 3),
    "state wrong d": dict(state=lambda a: a[:, :10]),
    "state 1-d": dict(state=lambda a: a.ravel()),
    "energy NaN": dict(energy=lambda a: np.full_like(a, np.nan)),
    "final_energy inf": dict(final_energy=lambda a: np.full_like(a, np.inf)),
    "final_energy short": dict(final_energy=lambda a: a[:1]),
    "key int64": dict(key=lambda a: np.int64(5)),
    "key array": dict(key=lambda a: np.array([a, a])),
    "sweeps_done beyond": dict(sweeps_done=np.int64(10**6)),
    "sweeps_done negative": dict(sweeps_done=np.int64(-3)),
    "sweeps_done off thin": dict(sweeps_done=lambda a: a + 1, sweep=lambda a: a + 1),
    "sweep below done": dict(sweep=np.int64(0)),
    "thin zero": dict(thin=np.int64(0)),
    "thin float": dict(thin=np.float64(2.0)),
    "schedule bogus": dict(schedule=np.asarray("metropolis")),
    "model_id missing": dict(model_id=None),
    "samples missing": dict(samples=None),
}


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_tampered_checkpoint_is_refused(partial, tmp_path, name):
    ck, _ = partial
    bad = _tampered(ck, tmp_path / "bad.npz", **TAMPERINGS[name])
    with pytest.raises(ValueError, match="checkpoint|resume|state|n_chains"):
        gibbs(_model(), 3, SWEEPS, **RUN, resume=bad)


def test_shrunk_checkpoint_cannot_crash_the_interpreter(partial, tmp_path):
    """The issue's reproduction: shrink samples/energy and resume (was a segfault)."""
    ck, _ = partial
    bad = _tampered(ck, tmp_path / "shrunk.npz", samples=lambda a: a[:1], energy=lambda a: a[:1])
    code = (f"import fastdgm as fd\n"
            f"m = fd.PairwiseMRF.grid({MODEL['shape']}, {MODEL['n_states']}, {MODEL['coupling']})\n"
            f"try:\n    fd.gibbs(m, 3, {SWEEPS}, burn_in=4, thin=2, resume={str(bad)!r})\n"
            f"except ValueError as e:\n    print('refused:', e)\n")
    env = dict(os.environ, PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=_ROOT,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "refused:" in r.stdout and "samples" in r.stdout


def test_checkpoint_not_a_checkpoint(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros(3))
    with pytest.raises(ValueError, match="single array"):
        GibbsResult.load(tmp_path / "x.npy")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="junk.npz"):
        GibbsResult.load(tmp_path / "junk.npz")


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_signal_saves_the_checkpoint_then_stops(tmp_path, signame):
    model = _model()
    full = gibbs(model, 3, SWEEPS, **RUN, rng=7)
    ck = tmp_path / "sig.npz"
    sig = getattr(signal, signame)

    class Terminated(Exception):
        pass

    def on_term(signum, frame):
        raise Terminated

    # Python's own SIGINT handler, as in a terminal: a process started in the background by a
    # non-interactive shell (a CI runner, `nohup cmd &`) inherits SIGINT ignored, and an ignored
    # signal stays ignored (DeferredSignals leaves it alone: test_ignored_sigint_stays_ignored)
    old_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    before = signal.getsignal(signal.SIGINT)
    old_term = signal.signal(signal.SIGTERM, on_term)     # stands for the process' own handling
    mp = pytest.MonkeyPatch()
    mp.setattr(G, "Progress", _stopper(lambda: signal.raise_signal(sig)))
    try:
        with pytest.raises(KeyboardInterrupt if signame == "SIGINT" else Terminated):
            # no periodic checkpoint: only the signal writes it
            gibbs(model, 3, SWEEPS, **RUN, rng=7, checkpoint=ck, checkpoint_every=1e9)
        assert signal.getsignal(signal.SIGINT) is before            # handlers restored
        assert signal.getsignal(signal.SIGTERM) is on_term
    finally:
        mp.undo()
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)
    part = GibbsResult.load(ck)
    assert 4 < part.sweeps_done < 4 + SWEEPS and not part.complete
    fin = gibbs(model, 3, SWEEPS, **RUN, resume=ck, checkpoint=ck)
    np.testing.assert_array_equal(fin.samples, full.samples)
    np.testing.assert_array_equal(fin.energy, full.energy)
    done = GibbsResult.load(ck)
    assert done.complete
    with np.load(ck) as f:
        assert bool(f["complete"])


def test_ignored_sigint_stays_ignored(tmp_path):
    """A run started with SIGINT ignored (background job of a non-interactive shell) keeps it
    ignored: a SIGINT during the run neither stops it nor leaves a handler behind."""
    model = _model()
    full = gibbs(model, 3, SWEEPS, **RUN, rng=7)
    old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    mp = pytest.MonkeyPatch()
    mp.setattr(G, "Progress", _stopper(lambda: signal.raise_signal(signal.SIGINT)))
    try:
        res = gibbs(model, 3, SWEEPS, **RUN, rng=7, checkpoint=tmp_path / "ign.npz", checkpoint_every=1e9)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        mp.undo()
        signal.signal(signal.SIGINT, old_int)
    assert res.complete
    np.testing.assert_array_equal(res.samples, full.samples)


def test_unwritable_checkpoint_is_refused_before_the_run(tmp_path):
    with pytest.raises(ValueError, match="checkpoint .*does not exist"):
        gibbs(_model(), 2, 5, rng=0, checkpoint=tmp_path / "no" / "ck.npz")
    (tmp_path / "adir.npz").mkdir()
    with pytest.raises(ValueError, match="is a directory"):
        gibbs(_model(), 2, 5, rng=0, checkpoint=tmp_path / "adir.npz")
