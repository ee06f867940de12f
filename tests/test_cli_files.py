"""Files and messages of the command line: errors name the user's file, killed runs leave no
litter, outputs honour the umask, odd inputs are reported as they were."""
import errno
import os
import subprocess
import sys

import numpy as np
import pytest

import fastdgm as fd
from fastdgm._atomic import atomic_output
from fastdgm._io import atomic_save_npy
from fastdgm.cli import main


def _err(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_write_errors_name_the_users_file(tmp_path):
    dest = tmp_path / "out.npy"
    with pytest.raises(OSError) as info:
        with atomic_output(dest) as tmp:
            raise OSError(errno.ENOSPC, "No space left on device", tmp)     # as a full disk does
    assert info.value.filename == str(dest) and ".tmp-" not in str(info.value)
    assert os.listdir(tmp_path) == []                        # the temporary file is gone


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".out.npy.tmp-{dead.pid}-abcd1234"
    live = tmp_path / f".out.npy.tmp-{os.getppid()}-abcd1234"    # a running writer's file stays
    other = tmp_path / f".other.npy.tmp-{dead.pid}-abcd1234"      # another file's, not ours to judge
    for p in (stale, live, other):
        p.write_bytes(b"half")
    atomic_save_npy(tmp_path / "out.npy", np.arange(3))
    assert not stale.exists() and live.exists() and other.exists()
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), np.arange(3))


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_outputs_honour_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        atomic_save_npy(tmp_path / "x.npy", np.arange(3))
        fd.Factorized.fit(np.zeros((4, 2), int), n_states=2).save(tmp_path / "m.npz")
    finally:
        os.umask(old)
    for name in ("x.npy", "m.npz"):
        assert (os.stat(tmp_path / name).st_mode & 0o777) == (0o666 & ~mask), name


def test_csv_overflow_is_reported_as_written(tmp_path, capsys):
    (tmp_path / "big.csv").write_text("0,1\n1,99999999999999999999\n")
    assert main(["fit", "factorized", "--data", str(tmp_path / "big.csv"), "--out", str(tmp_path / "m.npz")]) == 1
    line = _err(capsys)
    assert "X[1, 1] = 99999999999999999999" in line and "big.csv" in line
    (tmp_path / "neg.csv").write_text("0,1\n-1e30,1\n")
    assert main(["fit", "factorized", "--data", str(tmp_path / "neg.csv"), "--out", str(tmp_path / "m.npz")]) == 1
    assert "X[1, 0] = -1e30" in _err(capsys)
    assert not (tmp_path / "m.npz").exists()


def test_load_of_an_npy_says_it_expects_a_model(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((3, 2), int))
    with pytest.raises(ValueError, match="expects a model file"):
        fd.load(tmp_path / "x.npy")
    assert main(["score", "--model", str(tmp_path / "x.npy"), "--data", str(tmp_path / "x.npy")]) == 1
    assert "expected a model file" in _err(capsys)


def test_bench_unknown_kernel_is_an_error(capsys):
    assert main(["bench", "--quick", "--source", "embedded", "--kernels", "nonsense"]) == 1
    line = _err(capsys)
    assert "unknown kernel 'nonsense'" in line and "categorical-single" in line


def test_gibbs_outputs_checked_before_the_run(tmp_path, capsys):
    base = ["gibbs", "--grid", "4x4", "--states", "2", "--coupling", "0.3", "--chains", "2", "--sweeps", "5"]
    same = str(tmp_path / "a.npz")
    assert main(base + ["--checkpoint", same, "--out", same]) == 1
    assert "same file" in _err(capsys)
    assert main(base + ["--out", str(tmp_path / "missing" / "a.npz")]) == 1
    assert "does not exist" in _err(capsys)
    (tmp_path / "d.npz").mkdir()
    assert main(base + ["--out", str(tmp_path / "d.npz")]) == 1
    assert "is a directory" in _err(capsys)
    assert main(base + ["--checkpoint", str(tmp_path / "d.npz"), "--out", str(tmp_path / "o.npz")]) == 1
    assert "--checkpoint" in _err(capsys)
    assert not (tmp_path / "o.npz").exists()


@pytest.mark.parametrize("kind,extra", [("factorized", []), ("chowliu", []), ("mixture", ["--components", "2"]),
                                        ("mrf", ["--grid", "2x3"])])
def test_fit_progress_reaches_every_model(tmp_path, capsys, kind, extra):
    X = np.random.default_rng(0).integers(0, 3, size=(200, 6))
    np.save(tmp_path / "X.npy", X)
    args = ["fit", kind, "--data", str(tmp_path / "X.npy"), "--out", str(tmp_path / "m.npz"), "-q", *extra]
    assert main(args + ["--no-progress"]) == 0
    assert capsys.readouterr().err == ""
    assert main(args + ["--progress"]) == 0
    err = capsys.readouterr().err
    assert "fit " in err and "[" + "#" * 30 + "]" in err, err


def test_model_sample_takes_a_shape():
    m = fd.ChowLiuTree.fit(np.random.default_rng(0).integers(0, 3, size=(100, 4)), n_states=3)
    a = m.sample(6, rng=1)
    np.testing.assert_array_equal(m.sample((6,), rng=1), a)
    b = m.sample((2, 3), rng=1)
    assert b.shape == (2, 3, 4)
    np.testing.assert_array_equal(b.reshape(6, 4), a)
    assert m.sample((0,), rng=1).shape == (0, 4)
    with pytest.raises(ValueError, match="size"):
        m.sample((-1,))
    with pytest.raises(TypeError, match="size"):
        m.sample(None)
    mrf = fd.PairwiseMRF.grid((2, 2), 2, 0.3)
    np.testing.assert_array_equal(mrf.sample((3,), rng=0, burn_in=5), mrf.sample(3, rng=0, burn_in=5))
