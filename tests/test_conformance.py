"""The conformance suite: every check of ``tests/conformance.py`` on every registered model, and
on a toy model registered here (what a new model gets by registering: the CLI, the warm-up,
block and dask fits, the checks)."""
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.models.base import Model, classonlymethod, fit_data, register_model, registered_models, unregister_model
from fastdgm._validation import check_log_probs, check_sample_weight, param

import conformance

MODELS = sorted(registered_models())


@pytest.mark.parametrize("check", conformance.CHECKS, ids=lambda c: c.__name__[len("check_"):])
@pytest.mark.parametrize("name", MODELS)
def test_conformance(name, check):
    check(registered_models()[name])


# --- a toy model: one table shared by every column ------------------------------------------------
class SharedTable(Model):
    """P(x) = prod_j p[x_j]: d columns drawn from one categorical p (a toy for the contract)."""

    kind = "shared"
    capabilities = frozenset({"exact_log_prob", "exact_sampler", "missing", "statistics"})

    def __init__(self, log_p, n_dims):
        self.log_p = log_p
        self._d = int(n_dims)

    n_dims = property(lambda self: self._d)
    n_states = property(lambda self: self.log_p.shape[0])

    @classonlymethod
    def fit(cls, X, n_states=None, *, alpha=1.0, sample_weight=None):
        """Counts of every entry, smoothed by ``alpha``."""
        X, C = fit_data(X, n_states)
        return cls.from_statistics(cls.sufficient_statistics(X, C, sample_weight), alpha=alpha)

    @staticmethod
    def sufficient_statistics(X, n_states=None, sample_weight=None):
        X, C = fd.models.base.check_states(X, "X", n_states=n_states)
        w = check_sample_weight(sample_weight, X.shape[0])
        w = w if w.size else np.ones(X.shape[0])
        return {"counts": np.stack([np.bincount(col, weights=w, minlength=C) for col in X.T])}   # (d, C)

    @classmethod
    def from_statistics(cls, stats, alpha=1.0):
        counts = stats["counts"].sum(axis=0) + alpha
        return cls(np.log(counts / counts.sum()), stats["counts"].shape[0])

    def _log_prob(self, X):
        X = fd._validation.check_model_X(X, self.n_states, self.n_dims)
        return self.log_p[X].sum(axis=1)

    def _missing_form(self):
        T = np.ascontiguousarray(np.broadcast_to(self.log_p[None, :, None], (self.n_dims, self.n_states, 1)))
        lev = fd.models._tables.levels(np.broadcast_to(self.log_p, (self.n_dims, self.n_states)))
        return ("mixture", T, np.zeros(1), lev[None])

    def sample_rows(self, key, start, n):
        x = fd.Categorical(logits=self.log_p).sample_rows(key, start * self.n_dims, n * self.n_dims)
        return x.reshape(n, self.n_dims).astype(np.uint8)

    def get_params(self):
        return {"log_p": self.log_p, "d": np.int64(self.n_dims)}

    @classmethod
    def from_params(cls, params):
        d = np.asarray(param(params, "d", "SharedTable"))
        if d.shape != () or d.dtype.kind not in "iu" or not 1 <= int(d) <= 10 ** 6:
            raise ValueError(f"d must be an integer in [1, 10**6], got {d!r}")
        return cls(check_log_probs(param(params, "log_p", "SharedTable"), "log_p", ndim=1, shape_doc="(C,)"),
                   int(d))


@pytest.fixture
def toy():
    register_model(SharedTable)
    try:
        yield SharedTable
    finally:
        unregister_model("SharedTable")


@pytest.mark.parametrize("check", conformance.CHECKS, ids=lambda c: c.__name__[len("check_"):])
def test_toy_model_conformance(toy, check):
    if check is conformance.check_crafted_files_rejected:
        pytest.skip("the toy class lives in this test module: a subprocess cannot load its files")
    check(toy)


def test_toy_model_everywhere(toy, tmp_path):
    """Registered, the toy is a CLI kind, part of the warm-up, fitted in blocks and on dask."""
    from fastdgm._fit import block_kinds, fit_kinds
    from fastdgm._warmup import model_paths
    from fastdgm.cli import main

    assert fit_kinds()["shared"] is toy
    assert "shared" in block_kinds()
    assert "SharedTable" in [name for name, _ in model_paths()]
    m, X = toy.example()
    data = tmp_path / "x.npy"
    np.save(data, X)
    assert main(["fit", "shared", "--data", str(data), "--out", str(tmp_path / "m.npz"), "--alpha", "0.5",
                 "--quiet"]) == 0
    back = fd.load(tmp_path / "m.npz")
    np.testing.assert_allclose(back.log_p, toy.fit(X, alpha=0.5).log_p)
    assert main(["fit", "shared", "--data", str(data), "--out", str(tmp_path / "b.npz"), "--block-rows", "50",
                 "--quiet"]) == 0
    np.testing.assert_allclose(fd.load(tmp_path / "b.npz").log_p, toy.fit(X).log_p, rtol=1e-12)
    dask_fit = pytest.importorskip("fastdgm.dask").fit
    pytest.importorskip("dask.array")
    np.testing.assert_allclose(dask_fit(toy, X, n_states=3).log_p, toy.fit(X, n_states=3).log_p, rtol=1e-12)
