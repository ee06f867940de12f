"""``fastdgm demo``: the table is the models' own numbers, the PNG is valid, it runs end to end."""
import io
import math
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import fastdgm as fd
from fastdgm.datasets import load_digits
from fastdgm.demo import mrf_edges, run_demo

from test_png import decode_png

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fd.__file__)))


def test_mrf_edges():
    e = mrf_edges((3, 4))
    assert e.shape == (3 * 3 + 2 * 4, 2)                  # open lattice: H(W-1) + (H-1)W
    assert (e[:, 0] < e[:, 1]).all() and len(np.unique(e, axis=0)) == len(e)
    e2 = mrf_edges((3, 4), [[5, 0], [1, 0], [11, 11]])     # a new edge, a lattice edge, a self-loop
    assert len(e2) == len(e) + 1 and [0, 5] in e2.tolist()


def test_demo_numbers_are_the_models(tmp_path):
    out = io.StringIO()
    res = run_demo(tmp_path / "demo.png", quick=True, n_train=400, seed=3, quiet=True, file=out)
    X, _ = load_digits()
    perm = np.random.default_rng(3).permutation(len(X))
    n_test = len(X) // 5
    Xte, Xtr = X[perm[:n_test]], X[perm[n_test:]][:400]
    assert (res.n_train, res.n_test, res.n_dims, res.n_states) == (400, n_test, 64, 17)
    rows = {r.model.split(" (")[0]: r for r in res.rows}
    assert set(rows) == {"Uniform", "Factorized", "Mixture", "ChowLiuTree", "TreeMixture", "HiddenChowLiuTree",
                         "PairwiseMRF"}
    assert rows["Uniform"].test == pytest.approx(-64 * math.log(17))
    fac = fd.Factorized.fit(Xtr, n_states=17, alpha=1.0)
    assert rows["Factorized"].train == pytest.approx(fac.score(Xtr), rel=1e-12)
    assert rows["Factorized"].test == pytest.approx(fac.score(Xte), rel=1e-12)
    tree = fd.ChowLiuTree.fit(Xtr, n_states=17, alpha=1.0)
    assert rows["ChowLiuTree"].test == pytest.approx(tree.score(Xte), rel=1e-12)
    # every learnt model beats the uniform one on held-out digits, and the tree beats the product
    for name in ("Factorized", "Mixture", "ChowLiuTree", "TreeMixture", "HiddenChowLiuTree"):
        assert rows[name].test > rows["Uniform"].test + 20
    # the top halves' exact marginal likelihood is above the whole image's for every model
    assert set(res.observed_half) == {r.model for r in res.rows[1:-1]}
    for label, half in res.observed_half.items():
        assert rows[label.split(" (")[0]].test < half < 0
    assert rows["ChowLiuTree"].train > rows["Factorized"].train
    assert rows["PairwiseMRF"].pseudo and np.isfinite(rows["PairwiseMRF"].test)
    text = out.getvalue()
    assert "KL(P_data || P_w) + H(P_data)" in text and "bits/dim" in text
    img = decode_png(open(res.png, "rb").read())
    # data, 6 samplers, the top halves and 5 fills: 13 rows of 16 digits, 32 px + 2 px pad
    assert img.shape[0] == 13 * (32 + 2 * 2)
    assert img.shape[1] > 16 * 34 + 2                       # labels on the left


def test_demo_on_own_data_file(tmp_path):
    rng = np.random.default_rng(0)
    X = (rng.random((150, 9)) < 0.3).astype(np.int64)
    X[:, 4] = X[:, 3]
    np.save(tmp_path / "mine.npy", X)
    res = run_demo(tmp_path / "mine.png", data=str(tmp_path / "mine.npy"), quick=True, quiet=True,
                   file=io.StringIO())
    assert (res.n_dims, res.n_states, res.n_test) == (9, 2, 30)
    mrf = [r for r in res.rows if r.model == "PairwiseMRF"][0]
    assert not mrf.pseudo                                   # 2^9 states: exact log-likelihood
    assert all(r.test < 0 for r in res.rows)
    assert mrf.test > res.rows[0].test                      # better than uniform
    img = decode_png(open(res.png, "rb").read())
    assert img.shape[0] == 13 * (3 * 10 + 2 * 2)            # 13 rows of 3x3 images scaled x10


def test_demo_cli_quick(tmp_path):
    env = dict(os.environ, PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-m", "fastdgm", "demo", "--quick", "--n-train", "300",
                           "--threads", "2", "--out", str(tmp_path / "d.png")],
                          capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert time.time() - t0 < 120
    for name in ("Factorized", "Mixture", "ChowLiuTree", "PairwiseMRF", "bits/dim"):
        assert name in proc.stdout
    assert f"wrote {tmp_path / 'd.png'}" in proc.stderr
    decode_png((tmp_path / "d.png").read_bytes())
    assert sorted(os.listdir(tmp_path)) == ["d.png"]
    bad = subprocess.run([sys.executable, "-m", "fastdgm", "demo", "--data", str(tmp_path / "nope.npy")],
                         capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1


def test_warmup_compiles_every_parallel_kernel():
    seconds = fd.warmup()
    assert seconds > 0
    from fastdgm.kernels.parallel import all_kernels

    kernels = all_kernels()
    assert len(kernels) >= 10
    missing = [k.py_func.__name__ for k in kernels if not k.parallel.signatures]
    assert missing == []
