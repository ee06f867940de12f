"""A model file is untrusted input (issue 9, item 1): ``fastdgm.load`` validates every array
through the checks the constructors use, before any kernel sees it. The reported crashes run in
a subprocess, so a regression fails the test instead of killing pytest."""
import os
import re
import zipfile

import numpy as np
import pytest

import fastdgm as fd
from fastdgm.models.base import MAX_FILE_BYTES
from isolated import assert_clean_exit, run_python

LOG3 = np.log(np.full(3, 1 / 3))


def _save(path, name, **arrays):
    np.savez(path, __model__=np.asarray(name), **arrays)
    return str(path)


def _uniform(shape):
    return np.full(shape, -np.log(shape[-1]))


# --- the reported crashes, each in a fresh interpreter ----------------------------------
CRASHES = {
    "tree_65536": ("ChowLiuTree", dict(parent=np.array([-1, 0]), log_cond=_uniform((2, 1, 65536))),
                   "np.array([[65535, 65535]])", "log_cond"),
    "mixture_2_22_weights": ("Mixture", dict(log_weights=_uniform((2 ** 22,)),
                                             log_components=_uniform((1, 3, 2))),
                             "np.zeros((4, 3), np.uint8)", "log_weights"),
    "tree_short_tables": ("ChowLiuTree", dict(parent=np.array([-1, 4, 0, 0, 0]), log_cond=_uniform((5, 1, 3))),
                          "np.zeros((4, 5), np.uint8)", "log_cond"),
    "tree_cycle": ("ChowLiuTree", dict(parent=np.array([-1, 2, 1]), log_cond=_uniform((3, 3, 3))),
                   "np.zeros((4, 3), np.uint8)", "cycle"),
}


@pytest.mark.parametrize("case", sorted(CRASHES))
def test_reported_crashes_are_value_errors(case, tmp_path):
    name, arrays, X, needle = CRASHES[case]
    path = _save(tmp_path / "bad.npz", name, **arrays)
    proc = run_python(f"""
        import sys, numpy as np, fastdgm as fd
        try:
            m = fd.load(sys.argv[1])
        except ValueError as exc:
            print("ValueError:", exc)
            sys.exit(0)
        m.log_prob({X}); m.sample(200, rng=0)
        sys.exit(5)
    """, path)
    assert_clean_exit(proc)
    assert needle in proc.stdout


@pytest.mark.parametrize("command", ["score", "sample"])
def test_cli_bad_model_is_an_error_message(command, tmp_path):
    name, arrays, _, _ = CRASHES["tree_65536"]
    path = _save(tmp_path / "bad.npz", name, **arrays)
    data = tmp_path / "X.npy"
    np.save(data, np.full((2, 2), 65535, np.int64))
    extra = ["--data", data] if command == "score" else ["--size", 5, "--out", tmp_path / "o.npy"]
    proc = run_python("", command, "--model", path, *extra, module="fastdgm")
    assert proc.returncode > 0, (proc.returncode, proc.stderr)      # not 139 / a signal
    assert "bad.npz" in proc.stderr and "log_cond" in proc.stderr and "Traceback" not in proc.stderr


# --- array by array ------------------------------------------------------------------
def _good_params():
    return {
        "Categorical": dict(probs=np.array([0.2, 0.3, 0.5])),
        "Factorized": dict(log_probs=_uniform((4, 3))),
        "Mixture": dict(log_weights=np.log([0.25, 0.75]), log_components=_uniform((2, 4, 3))),
        "ChowLiuTree": dict(parent=np.array([-1, 0, 0, 1]), log_cond=_uniform((4, 3, 3))),
        "PairwiseMRF": fd.PairwiseMRF(np.zeros((3, 2)), [[0, 1], [1, 2]], np.eye(2)).get_params(),
    }


BAD = [
    ("Factorized", "log_probs", np.full((4, 3), np.nan), "NaN"),
    ("Factorized", "log_probs", np.full((4, 3), np.inf), "+inf"),
    ("Factorized", "log_probs", np.zeros((4, 3)), "normalised"),            # positive total
    ("Factorized", "log_probs", np.full((4, 3), -np.inf), "-inf"),
    ("Factorized", "log_probs", _uniform((4, 3))[None], "shape"),
    ("Factorized", "log_probs", np.array([["a", "b"]]), "dtype"),
    ("Factorized", "log_probs", np.zeros((4, 3), bool), "dtype"),
    ("Factorized", "log_probs", np.zeros((0, 3)), "empty"),
    ("Mixture", "log_weights", np.log([0.5, 0.25, 0.25]), "must match"),
    ("Mixture", "log_components", _uniform((2, 4, 3)) + 1e-3, "normalised"),
    ("ChowLiuTree", "parent", np.array([-1, 0, 0]), "to match parent"),
    ("ChowLiuTree", "parent", np.array([-1, -1, 0, 1]), "one root"),
    ("ChowLiuTree", "parent", np.array([-1, 0, 3, 2]), "cycle"),
    ("ChowLiuTree", "parent", np.array([-1, 0, 0, 9]), "parent[3]"),
    ("ChowLiuTree", "parent", np.array([-1.0, 0, 0, 1]), "integer"),
    ("ChowLiuTree", "log_cond", _uniform((4, 3, 4)), "shape"),
    ("Categorical", "probs", np.array([0.2, 0.3, 0.6]), "sum 1"),
    ("Categorical", "probs", np.array([0.2, np.nan, 0.5]), "finite"),
    ("Categorical", "probs", np.array([1.5, -0.5]), "non-negative"),
    ("PairwiseMRF", "unary", np.full((3, 2), np.nan), "finite"),
    ("PairwiseMRF", "tables", np.zeros((1, 3, 3)), "shape"),
    ("PairwiseMRF", "etab", np.array([0, 1]), "etab"),
    ("PairwiseMRF", "edges", np.array([[0, 1], [1, 7]]), "edges"),
    ("PairwiseMRF", "shared", np.array([True, False]), "shared"),
]


@pytest.mark.parametrize("model,key,value,needle", BAD, ids=[f"{m}-{k}-{i}" for i, (m, k, _, _) in enumerate(BAD)])
def test_bad_array_is_rejected(model, key, value, needle, tmp_path):
    params = _good_params()[model]
    params[key] = value
    path = _save(tmp_path / "m.npz", model, **params)
    with pytest.raises((ValueError, TypeError), match=re.escape(needle)):
        fd.load(path)


@pytest.mark.parametrize("model", sorted(_good_params()))
def test_missing_array_is_a_value_error(model, tmp_path):
    params = _good_params()[model]
    key = sorted(params)[0] if model != "PairwiseMRF" else "unary"
    del params[key]
    with pytest.raises(ValueError, match=repr(key)):
        fd.load(_save(tmp_path / "m.npz", model, **params))


def test_grid_mrf_file_must_match_its_lattice(tmp_path):
    m = fd.PairwiseMRF.grid((3, 4), 2, 0.3)
    path = str(tmp_path / "g.npz")
    m.save(path)
    m2 = fd.load(path)
    X = m.sample(5, rng=0, burn_in=2)
    assert np.array_equal(m2.energy(X), m.energy(X)) and m2.grid_shape == (3, 4)
    p = m.get_params()
    for key, value, needle in [("grid_shape", np.array([4, 4]), "cover"),
                               ("grid_shape", np.array([4, 3]), "lattice"),
                               ("grid_periodic", np.array([True]), "grid_periodic"),
                               ("grid_shape", np.array([3.0, 4.0]), "grid_shape")]:
        q = dict(p, **{key: value})
        with pytest.raises(ValueError, match=needle):
            fd.load(_save(tmp_path / "bad.npz", "PairwiseMRF", **q))


def test_every_model_round_trips_bit_for_bit(tmp_path):
    X = np.random.default_rng(0).integers(0, 3, size=(200, 4))
    models = [fd.Categorical([0.1, 0.2, 0.7]), fd.Factorized.fit(X), fd.ChowLiuTree.fit(X),
              fd.Mixture.fit(X, n_components=2, rng=0, max_iter=5), fd.PairwiseMRF.fit(X, edges=[[0, 1], [1, 2], [2, 3]])]
    for m in models:
        path = str(tmp_path / f"{type(m).__name__}.npz")
        m.save(path)
        m2 = fd.load(path)
        assert type(m2) is type(m)
        for k, v in m.get_params().items():
            assert np.array_equal(m2.get_params()[k], v), (type(m).__name__, k)


# --- not a model file ------------------------------------------------------------------
def test_not_a_model_file(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    np.savez(tmp_path / "b.npz", x=np.zeros(3))
    (tmp_path / "c.npz").write_bytes(b"not a zip at all")
    for name in ("a.npy", "b.npz", "c.npz"):
        with pytest.raises(ValueError, match="fastdgm model file"):
            fd.load(tmp_path / name)
    _save(tmp_path / "d.npz", "NoSuchModel", x=np.zeros(3))
    with pytest.raises(ValueError, match="unknown model type 'NoSuchModel'"):
        fd.load(tmp_path / "d.npz")
    np.savez(tmp_path / "e.npz", __model__=np.array(["Factorized", "x"]), log_probs=_uniform((2, 2)))
    with pytest.raises(ValueError, match="'__model__' must be a string"):
        fd.load(tmp_path / "e.npz")
    with pytest.raises(FileNotFoundError):
        fd.load(tmp_path / "missing.npz")


def test_object_arrays_are_refused(tmp_path):
    arr = np.empty(2, dtype=object)
    arr[:] = [np.zeros(3), "x"]
    _save(tmp_path / "o.npz", "Factorized", log_probs=arr)
    with pytest.raises(ValueError, match="Python objects"):
        fd.load(tmp_path / "o.npz")


def test_declared_size_is_bounded_before_reading(tmp_path):
    """A header declaring a huge array (a zip bomb, a lying header) is refused unread."""
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as z:
        with z.open("__model__.npy", "w") as f:
            np.lib.format.write_array(f, np.asarray("Factorized"))
        with z.open("log_probs.npy", "w") as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f8", "fortran_order": False, "shape": (2 ** 20, 2 ** 20)})
    with pytest.raises(ValueError, match=str(MAX_FILE_BYTES)):
        fd.load(path)


def test_load_accepts_pathlike(tmp_path):
    m = fd.Factorized(np.ones((2, 3)))
    m.save(tmp_path / "f.npz")
    assert np.array_equal(fd.load(os.fspath(tmp_path / "f.npz")).log_probs, m.log_probs)
