"""Fuzz ``fastdgm.load`` (issue 9, item 1): mutate the arrays of saved model files (shapes,
dtypes, values, missing entries); every file loads as a working model or raises a clean
ValueError/TypeError, and a loaded model's log_prob and sample behave. The hypothesis loop runs
in a subprocess: a crash there fails this test instead of killing pytest."""
import pytest

from isolated import assert_clean_exit, run_python

pytest.importorskip("hypothesis")

FUZZ = r'''
import os, sys, tempfile, warnings
warnings.simplefilter('ignore')
import numpy as np
from hypothesis import given, settings, strategies as st, HealthCheck
import fastdgm as fd

rng = np.random.default_rng(0)
X = rng.integers(0, 3, size=(300, 4))
MODELS = [fd.Categorical([0.2, 0.3, 0.5]), fd.Factorized.fit(X), fd.ChowLiuTree.fit(X),
          fd.Mixture.fit(X, 2, rng=0, max_iter=3), fd.PairwiseMRF.fit(X, [[0, 1], [1, 2], [2, 3]], max_iter=5),
          fd.PairwiseMRF.grid((2, 3), 3, 0.4)]
PARAMS = [{k: np.asarray(v) for k, v in m.get_params().items()} for m in MODELS]
DTYPES = ["int8", "uint16", "int64", "float32", ">f8", "<f2", "bool", "complex128", "U3"]
VALUES = [np.nan, np.inf, -np.inf, 1e308, -1e308, 0.0, -1.0, 2.0 ** 40, 5.0, 65535.0, -2.0]
tmp = tempfile.mkdtemp()
stats = {"loaded": 0, "rejected": 0}


def mutate(arr, kind, data):
    if kind == "reshape":
        shape = tuple(data.draw(st.lists(st.integers(0, 6), max_size=4)))
        return np.resize(arr, shape) if arr.size else np.zeros(shape, arr.dtype)
    if kind == "dtype":
        try:
            return arr.astype(data.draw(st.sampled_from(DTYPES)))
        except (ValueError, TypeError, OverflowError):   # e.g. "-1." as an int, "-1" as uint16
            return arr
    if kind == "value":
        if arr.size == 0:
            return arr
        out = np.array(arr, dtype=np.result_type(arr.dtype, np.float64) if arr.dtype.kind != "b" else arr.dtype)
        i = data.draw(st.integers(0, arr.size - 1))
        v = data.draw(st.sampled_from(VALUES))
        if out.dtype.kind in "iub":
            return out
        out.flat[i] = v
        return out.astype(arr.dtype) if arr.dtype.kind in "iu" and np.isfinite(v) and abs(v) < 2 ** 31 else out
    if kind == "int_value":
        if arr.size == 0 or arr.dtype.kind not in "iu":
            return arr
        out = arr.astype(np.int64)
        out.flat[data.draw(st.integers(0, arr.size - 1))] = data.draw(st.integers(-3, 2 ** 40))
        return out
    if kind == "transpose":
        return arr.T
    if kind == "scale":
        return arr * 2 + 1 if arr.dtype.kind in "fiu" else arr
    if kind == "slice":
        return arr[..., :-1] if arr.ndim else arr
    return arr


@settings(max_examples=int(sys.argv[1]), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.data())
def fuzz(data):
    i = data.draw(st.integers(0, len(MODELS) - 1))
    model, params = MODELS[i], dict(PARAMS[i])
    for _ in range(data.draw(st.integers(1, 2))):
        key = data.draw(st.sampled_from(sorted(params)))
        kind = data.draw(st.sampled_from(["reshape", "dtype", "value", "int_value", "transpose",
                                          "scale", "slice", "drop"]))
        if kind == "drop":
            del params[key]
            if not params:
                break
        else:
            params[key] = mutate(params[key], kind, data)
    path = os.path.join(tmp, "m.npz")
    np.savez(path, __model__=np.asarray(type(model).__name__), **params)
    try:
        m = fd.load(path)
    except (ValueError, TypeError):
        stats["rejected"] += 1
        return
    stats["loaded"] += 1
    d, C = m.n_dims, m.n_states
    assert type(m) is type(model)
    Xq = np.random.default_rng(1).integers(0, C, size=(7, d)) if d > 1 or not isinstance(m, fd.Categorical) \
        else np.random.default_rng(1).integers(0, C, size=7)
    if isinstance(m, fd.PairwiseMRF):
        e = m.energy(Xq)
        assert e.shape == (7,) and not np.isnan(e).any()
        if C ** d <= 4096:
            lp = m.log_prob(Xq)
            assert np.all(lp <= 1e-9 * (1 + np.abs(e))) and not np.isnan(lp).any(), (lp, e)
        s = m.sample(3, rng=0, burn_in=2)
    else:
        lp = m.log_prob(Xq)
        assert lp.shape == (7,) and np.all(lp <= 1e-6) and not np.isnan(lp).any(), lp
        s = m.sample(50, rng=0)
        assert np.all(np.isfinite(m.log_prob(s)))     # a drawn state has positive probability
    assert s.min() >= 0 and s.max() < C


fuzz()
print("OK", stats)
'''


def test_fuzz_model_files():
    proc = run_python(FUZZ, 400, timeout=900)
    assert_clean_exit(proc)
    assert "OK" in proc.stdout
    stats = eval(proc.stdout.split("OK", 1)[1])
    assert stats["loaded"] > 10 and stats["rejected"] > 100, stats     # both branches exercised
