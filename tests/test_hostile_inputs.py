"""Wrong results and traps of issue 9, items 4 and 8: NaN/inf traces, the alias promise of
Categorical, zero-column data, the cap on inferred n_states, bounded memory of broadcast
categorical draws, and ``fit`` called on an instance."""
import tracemalloc

import numpy as np
import pytest

import fastdgm as fd
from fastdgm._validation import MAX_INFERRED_STATES


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("fn", [fd.rhat, fd.ess])
def test_diagnostics_reject_nonfinite_traces(fn, bad):
    t = np.random.default_rng(0).standard_normal((100, 4))
    t[17, 2] = bad
    with pytest.raises(ValueError, match=r"trace\[17, 2\]"):
        fn(t)


@pytest.mark.parametrize("src", ["p", "logits", "float32", "zeros"])
@pytest.mark.parametrize("size", [None, 1, 1000, (20, 30)])
def test_categorical_model_alias_equals_function(src, size):
    rng = np.random.default_rng(7)
    for C in (2, 9, 100, 3000):
        w = rng.random(C) ** 4
        if src == "zeros":
            w[rng.integers(0, C, C // 3)] = 0
            w[0] = 1
        if src == "float32":
            w = w.astype(np.float32)
        kw = dict(logits=np.log(w)) if src == "logits" else dict(p=w)
        c = fd.Categorical(**kw)
        for method in ("alias", "guide", "bisect", "scan", "auto"):
            a = c.sample(size, rng=C, method=method)
            b = fd.categorical(**kw, size=size, rng=C, method=method)
            assert np.array_equal(a, b), (src, C, method)
            assert np.array_equal(fd.categorical(c.probs, size=size, rng=C, method=method), a)


@pytest.mark.parametrize("cls", ["Factorized", "ChowLiuTree", "Mixture", "PairwiseMRF"])
def test_zero_columns_rejected(cls):
    X = np.zeros((5, 0), np.int64)
    model = getattr(fd, cls)
    with pytest.raises(ValueError, match="at least one column"):
        if cls == "Mixture":
            model.fit(X, n_components=2)
        elif cls == "PairwiseMRF":
            model.fit(X, edges=np.zeros((0, 2), np.int64))
        else:
            model.fit(X)
    m = fd.Factorized(np.ones((3, 2)))
    with pytest.raises(ValueError):
        m.log_prob(X)


def test_inferred_states_are_capped():
    X = np.zeros((10, 3), np.int64)
    X[4, 1] = 2 ** 29
    for fit in (fd.Factorized.fit, fd.ChowLiuTree.fit, lambda X: fd.Mixture.fit(X, n_components=2)):
        with pytest.raises(ValueError, match=r"X\[4, 1\] = 536870912.*n_states"):
            fit(X)
    with pytest.raises(ValueError, match=r"x\[4, 0\] = 536870912.*n_states"):
        fd.Categorical.fit(X[:, 1])
    X[4, 1] = MAX_INFERRED_STATES - 1                    # C = 65536: still inferred
    assert fd.Factorized.fit(X[:2]).n_states == 1 and fd.Factorized.fit(X[4:5]).n_states == MAX_INFERRED_STATES
    X[4, 1] = 70000
    assert fd.Factorized.fit(X, n_states=70001).n_states == 70001       # explicit: allowed


def test_broadcast_categorical_memory_is_bounded():
    n, C = 20_000, 256
    P = np.random.default_rng(0).random((n, C))
    tracemalloc.start()
    try:
        out = fd.categorical(P[:, None, :], size=(n, 2), rng=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.shape == (n, 2)
    assert peak < P.nbytes / 3, (peak, P.nbytes)          # no (n, C) float64 temporary
    # and the draws are those of the per-row levels (a slow reference on a few rows)
    L = np.cumsum(P[:50], axis=1)
    L /= L[:, -1:]
    u = np.empty(2 * n)
    fd._dispatch._k.fill_uniforms(np.uint64(fd._rng.make_key(0)), np.uint64(0), u, 1)
    ref = [[int(np.searchsorted(L[i], u[2 * i + j], side="right")) for j in range(2)] for i in range(50)]
    assert np.array_equal(out[:50], ref)


# --- item 8: fit is a classmethod constructor ------------------------------------------
def _instances():
    X = np.random.default_rng(0).integers(0, 2, size=(50, 3))
    return X, [(fd.Categorical([0.5, 0.5]), (X[:, 0],), {}), (fd.Factorized.fit(X), (X,), {}),
               (fd.ChowLiuTree.fit(X), (X,), {}),
               (fd.Mixture.fit(X, n_components=2, rng=0, max_iter=3), (X,), {"n_components": 2}),
               (fd.PairwiseMRF.fit(X, edges=[[0, 1]], max_iter=3), (X,), {"edges": [[0, 1]]})]


def test_fit_on_an_instance_is_a_type_error():
    _, cases = _instances()
    for model, args, kwargs in cases:
        before = {k: np.copy(v) for k, v in model.get_params().items()}
        name = type(model).__name__
        with pytest.raises(TypeError, match=rf"fd\.{name}\.fit\(X"):
            model.fit(*args, **kwargs)
        assert all(np.array_equal(model.get_params()[k], v) for k, v in before.items())
        assert isinstance(type(model).fit(*args, **kwargs), type(model))      # on the class: a new model
        assert model.fit.__name__ == "fit" and "fit" in dir(model)    # introspection still works


def test_classonlymethod_is_importable_for_new_models():
    from fastdgm.models.base import Model, classonlymethod

    class Toy(Model):
        @classonlymethod
        def fit(cls, X):
            return cls()

    assert isinstance(Toy.fit(None), Toy)
    with pytest.raises(TypeError, match="Toy.fit"):
        Toy().fit(None)
