"""The ``fastdgm`` command line, end to end in subprocesses (``python -m fastdgm``)."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import fastdgm as fd

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fd.__file__)))


def run(*args, check=True, timeout=300):
    """Run ``python -m fastdgm ARGS``; return the CompletedProcess (text)."""
    env = dict(os.environ, PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "fastdgm", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=_ROOT)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def assert_one_line_error(proc, *needles):
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr                  # one clear line, no traceback
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("fastdgm ")
    for s in needles:
        assert s in lines[0], lines[0]


def test_help_on_each_command():
    out = run("--help").stdout
    for cmd in ("demo", "bench", "info", "sample", "gibbs", "fit", "score"):
        assert cmd in out
        h = run(cmd, "--help").stdout
        assert "--seed" in h and "--threads" in h and "--quiet" in h and "--no-progress" in h


def test_info():
    out = run("info").stdout
    assert f"fastdgm        {fd.__version__}" in out and "JIT cache" in out


def test_sample_probs_equals_api(tmp_path):
    p = np.array([0.1, 0.0, 0.6, 0.3])
    np.save(tmp_path / "p.npy", p)
    run("sample", "--probs", tmp_path / "p.npy", "--size", 5000, "--seed", 7, "--threads", 2,
        "--out", tmp_path / "x.npy")
    x = np.load(tmp_path / "x.npy")
    np.testing.assert_array_equal(x, fd.categorical(p, size=5000, rng=7))
    P = np.random.default_rng(0).random((50, 6))
    np.save(tmp_path / "P.npy", np.log(P))
    run("sample", "--logits", tmp_path / "P.npy", "--seed", 3, "--dtype", "uint8", "--quiet",
        "--out", tmp_path / "y.npy")
    y = np.load(tmp_path / "y.npy")
    np.testing.assert_array_equal(y, fd.categorical(logits=np.log(P), rng=3, dtype=np.uint8))
    assert y.dtype == np.uint8


def test_bad_inputs_give_one_line(tmp_path):
    np.save(tmp_path / "bad.npy", np.array([0.5, -0.1, 0.6]))
    proc = run("sample", "--probs", tmp_path / "bad.npy", "--size", 3, "--out", tmp_path / "o.npy",
               check=False)
    assert_one_line_error(proc, "p[1]", "-0.1")
    (tmp_path / "garbage.npy").write_bytes(b"not a numpy file at all")
    proc = run("sample", "--probs", tmp_path / "garbage.npy", "--out", tmp_path / "o.npy", check=False)
    assert_one_line_error(proc, "garbage.npy")
    proc = run("sample", "--probs", tmp_path / "missing.npy", "--out", tmp_path / "o.npy", check=False)
    assert_one_line_error(proc, "no such file")
    proc = run("score", "--model", tmp_path / "garbage.npy", "--data", tmp_path / "garbage.npy",
               check=False)
    assert_one_line_error(proc, "garbage.npy")
    assert not (tmp_path / "o.npy").exists()
    assert sorted(os.listdir(tmp_path)) == ["bad.npy", "garbage.npy"]   # nothing half-written
    # --debug shows the traceback
    proc = run("sample", "--probs", tmp_path / "bad.npy", "--out", tmp_path / "o.npy", "--debug",
               check=False)
    assert proc.returncode != 0 and "Traceback" in proc.stderr
    # usage errors: argparse's exit code 2
    assert run("sample", "--size", "3", check=False).returncode == 2
    assert run("gibbs", "--chains", "0", "--sweeps", "1", "--out", "x.npz", check=False).returncode == 2


def test_fit_score_sample_roundtrip(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.integers(0, 3, size=(400, 6)).astype(np.uint8)
    X[:, 1] = X[:, 0]                                     # a dependency for the tree
    np.save(tmp_path / "X.npy", X)
    for kind, cls, extra in [("factorized", fd.Factorized, {}), ("chowliu", fd.ChowLiuTree, {}),
                             ("mixture", fd.Mixture, {"n_components": 3, "rng": 4})]:
        path = tmp_path / f"{kind}.npz"
        args = ["fit", kind, "--data", tmp_path / "X.npy", "--out", path, "--states", 3, "-q"]
        if kind == "mixture":
            args += ["--components", 3, "--seed", 4]
        run(*args)
        model = fd.load(path)
        ref = cls.fit(X, n_states=3, **extra)
        np.testing.assert_allclose(model.log_prob(X), ref.log_prob(X), rtol=0, atol=1e-12)
        out = run("score", "--model", path, "--data", tmp_path / "X.npy", "--out",
                  tmp_path / f"{kind}_lp.npy").stdout
        mean = float(out.split("log_likelihood")[1].split()[0])
        assert mean == pytest.approx(ref.score(X), abs=1e-5)
        np.testing.assert_allclose(np.load(tmp_path / f"{kind}_lp.npy"), ref.log_prob(X), atol=1e-12)
        run("sample", "--model", path, "--size", 100, "--seed", 9, "--out", tmp_path / f"{kind}_s.npy")
        np.testing.assert_array_equal(np.load(tmp_path / f"{kind}_s.npy"), ref.sample(100, rng=9))
    # data out of range for the model: one line naming the position
    np.save(tmp_path / "Xbad.npy", np.full((3, 6), 5, dtype=np.int64))
    proc = run("score", "--model", tmp_path / "factorized.npz", "--data", tmp_path / "Xbad.npy",
               check=False)
    assert_one_line_error(proc, "5")


def test_fit_mrf_and_gibbs_from_model(tmp_path):
    X = fd.gibbs(fd.PairwiseMRF.grid((3, 3), n_states=2, coupling=0.5), 200, 1, burn_in=20,
                 rng=0).samples[-1]
    np.save(tmp_path / "X.npy", X)
    run("fit", "mrf", "--data", tmp_path / "X.npy", "--grid", "3x3", "--states", 2, "--out",
        tmp_path / "mrf.npz", "-q")
    model = fd.load(tmp_path / "mrf.npz")
    ref = fd.PairwiseMRF.fit(X, edges=(3, 3), n_states=2, method="pll")
    np.testing.assert_allclose(model.pseudo_log_likelihood(X), ref.pseudo_log_likelihood(X), atol=1e-9)
    out = run("score", "--model", tmp_path / "mrf.npz", "--data", tmp_path / "X.npy", "--pseudo").stdout
    assert float(out.split("pseudo_log_lik")[1].split()[0]) == pytest.approx(
        ref.pseudo_log_likelihood(X).mean(), abs=1e-5)
    np.save(tmp_path / "e.npy", np.array([[0, 1], [1, 2], [4, 8]]))
    run("fit", "mrf", "--data", tmp_path / "X.npy", "--edges", tmp_path / "e.npy", "--pairwise", "potts",
        "--out", tmp_path / "mrf2.npz", "-q")
    ref2 = fd.PairwiseMRF.fit(X, edges=np.array([[0, 1], [1, 2], [4, 8]]), n_states=2, pairwise="potts")
    np.testing.assert_allclose(fd.load(tmp_path / "mrf2.npz").log_prob(X), ref2.log_prob(X), atol=1e-9)
    run("gibbs", "--model", tmp_path / "mrf.npz", "--chains", 3, "--sweeps", 5, "--seed", 2,
        "--out", tmp_path / "g.npz", "-q")
    with np.load(tmp_path / "g.npz") as f:
        res = fd.gibbs(ref, 3, 5, rng=2)
        np.testing.assert_array_equal(f["samples"], res.samples)


def _gibbs_args(tmp_path, sweeps, *extra):
    return ["gibbs", "--grid", "48x48", "--states", 3, "--coupling", 0.7, "--chains", 4,
            "--sweeps", sweeps, "--thin", 50, "--seed", 11, "--threads", 1, *extra]


def test_gibbs_grid_equals_api(tmp_path):
    run(*_gibbs_args(tmp_path, 100), "--out", tmp_path / "g.npz", "-q")
    res = fd.gibbs(fd.PairwiseMRF.grid((48, 48), n_states=3, coupling=0.7), 4, 100, thin=50, rng=11)
    with np.load(tmp_path / "g.npz") as f:
        np.testing.assert_array_equal(f["samples"], res.samples)
        np.testing.assert_array_equal(f["energy"], res.energy)
        np.testing.assert_array_equal(f["state"], res.state)


def test_gibbs_killed_and_resumed(tmp_path):
    """SIGKILL a run once its checkpoint exists; the same command again finishes the same run."""
    sweeps = 8000                                          # ~3 s on one thread
    ck, out = tmp_path / "ck.npz", tmp_path / "out.npz"
    env = dict(os.environ, PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    resumable = ["--checkpoint", ck, "--checkpoint-every", 0.2, "--out", out]
    args = [sys.executable, "-m", "fastdgm", *map(str, _gibbs_args(tmp_path, sweeps, *resumable))]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=_ROOT)
    try:
        deadline = time.time() + 120
        while not ck.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert ck.exists(), "no checkpoint written"
        assert proc.poll() is None, "finished before it could be killed: raise sweeps"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not out.exists()                                # no half-written output
    with np.load(ck) as f:                                 # the checkpoint is whole
        assert len(f.files) > 0
    with np.load(ck) as f:
        done = int(f["sweeps_done"])
    assert 0 < done < sweeps
    r = run(*_gibbs_args(tmp_path, sweeps, *resumable))
    assert f"resuming from checkpoint {ck} ({done} of {sweeps} sweeps done)" in r.stderr
    run(*_gibbs_args(tmp_path, sweeps, "--out", tmp_path / "ref.npz", "-q"))
    with np.load(out) as a, np.load(tmp_path / "ref.npz") as b:
        for k in ("samples", "energy", "state"):
            np.testing.assert_array_equal(a[k], b[k])
    # a finished checkpoint is written out as is; other settings or seed are refused
    os.unlink(out)
    r = run(*_gibbs_args(tmp_path, sweeps, *resumable))
    assert "finished run" in r.stderr
    with np.load(out) as a, np.load(tmp_path / "ref.npz") as b:
        np.testing.assert_array_equal(a["samples"], b["samples"])
    proc = run(*_gibbs_args(tmp_path, sweeps + 1, *resumable), check=False)
    assert_one_line_error(proc, "same settings")
    proc = run(*_gibbs_args(tmp_path, sweeps, *resumable), "--seed", 12, check=False)
    assert_one_line_error(proc, "another --seed")


def test_bench_quick_json(tmp_path):
    r = run("bench", "--quick", "--source", "embedded", "--kernels", "categorical-single,sample-joint",
            "--json", tmp_path / "b.json")
    data = json.loads((tmp_path / "b.json").read_text())
    kernels = {rec["kernel"] for rec in data["records"]}
    assert kernels == {"categorical-single", "sample-joint"}
    for rec in data["records"]:
        assert rec["median_s"] > 0 and rec["baseline_s"] > 0 and rec["speedup"] > 0
    assert set(data["exponents"]["categorical-single"]) >= {"n", "C"}
    assert "categorical-single" in r.stdout and "growth: time" in r.stdout
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        proc = run("bench", "--quick", "--plot", tmp_path / "p.png", check=False)
        assert_one_line_error(proc, "matplotlib")
    else:
        run("bench", "--quick", "--source", "embedded", "--kernels", "sample-joint", "--plot",
            tmp_path / "p.png", "-q")
        assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fit_selects_on_validation_data(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.integers(0, 2, (400, 6)).astype(np.uint8)
    X[:, 1] = X[:, 0]
    np.save(tmp_path / "train.npy", X[:300])
    np.save(tmp_path / "valid.npy", X[300:])
    r = run("fit", "chowliu", "--data", tmp_path / "train.npy", "--valid", tmp_path / "valid.npy",
            "--grid", "alpha=0.01,0.1,1", "--out", tmp_path / "m.npz")
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    assert len(lines) == 4 and lines[0].split()[:3] == ["alpha", "train", "valid"]
    best = [ln for ln in lines if ln.endswith("*")]
    assert len(best) == 1
    sel = fd.select(fd.ChowLiuTree, X[:300], X[300:], {"alpha": [0.01, 0.1, 1.0]})
    np.testing.assert_array_equal(fd.load(tmp_path / "m.npz").log_cond, sel.best.log_cond)
    bad = run("fit", "chowliu", "--data", tmp_path / "train.npy", "--search", "alpha=x", "--valid",
              tmp_path / "valid.npy", "--out", tmp_path / "m2.npz", check=False)
    assert bad.returncode != 0 and "not a number" in bad.stderr


@pytest.mark.parametrize("kind, extra", [("treemix", ["--components", "2"]), ("hclt", ["--hidden", "3"])])
def test_fit_new_models_and_score(tmp_path, kind, extra):
    X = np.random.default_rng(4).integers(0, 2, (300, 6)).astype(np.uint8)
    X[:, 2] = X[:, 1]
    np.save(tmp_path / "x.npy", X)
    run("fit", kind, "--data", tmp_path / "x.npy", "--out", tmp_path / "m.npz", "--seed", "1", *extra)
    m = fd.load(tmp_path / "m.npz")
    assert type(m).__name__ == {"treemix": "TreeMixture", "hclt": "HiddenChowLiuTree"}[kind]
    r = run("score", "--model", tmp_path / "m.npz", "--data", tmp_path / "x.npy")
    assert f"log_likelihood     {m.score(X):.6f} nats" in r.stdout
