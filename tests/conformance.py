"""The model contract as checks, like scikit-learn's ``check_estimator``: each ``check_*(cls)``
takes a registered model class and asserts one promise of :mod:`fastdgm.models.base` on its
``example()``. ``tests/test_conformance.py`` runs every check on every registered model (and on
a toy model registered in the test), so a new model gets all of them by registering.

A check that does not apply to a class (a capability it does not declare) returns without
asserting anything, and says so in :func:`applicable`.
"""
import inspect
import itertools
import os
import tempfile
import textwrap
import time
import tracemalloc

import numpy as np
import pytest

import fastdgm as fd
from fastdgm._rng import make_key
from fastdgm.models.base import CAPABILITIES, load

from gof import g_test
from isolated import run_python


def has(cls, capability: str) -> bool:
    assert capability in CAPABILITIES
    return capability in cls.capabilities


def _n_outcomes(m) -> int:
    return m.n_states ** m.n_dims


def _all_states(m) -> np.ndarray:
    """Every x in {0..C-1}^d, (C^d, d), in C order (x_0 slowest)."""
    grids = np.meshgrid(*[np.arange(m.n_states)] * m.n_dims, indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1).astype(np.uint8)


def _codes(m, X) -> np.ndarray:
    """The index of each row in :func:`_all_states`."""
    return np.ravel_multi_index(np.asarray(X, dtype=np.int64).T, (m.n_states,) * m.n_dims)


def _is_vector_model(m) -> bool:
    """Categorical's samples are scalars (any shape), not rows."""
    return isinstance(m, fd.Categorical)


# --- the fit contract -------------------------------------------------------------------------
def check_fit_signature(cls):
    """``fit(X, n_states=None, *, ...)``: hyper-parameters keyword-only; a class-only method."""
    params = list(inspect.signature(cls.fit).parameters.values())
    assert [p.name for p in params[:2]][1] == "n_states", params
    assert params[1].default is None
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[2:]), params
    m, X = cls.example()
    with pytest.raises(TypeError, match="classmethod"):
        m.fit(X)


def check_fit_validates_X(cls):
    """Bad data raise ValueError/TypeError naming X before anything is fitted."""
    m, X = cls.example()
    params = cls.example_params
    bad = np.array(X, dtype=np.int64)
    bad.flat[3] = -1
    with pytest.raises(ValueError, match=r"\bx\b|\bX\b"):
        cls.fit(bad, **params)
    with pytest.raises(TypeError):
        cls.fit(np.asarray(X, dtype=np.float64) + 0.5, **params)
    with pytest.raises(ValueError):
        cls.fit(np.asarray(X)[:0], **params)


def check_oversized_refused(cls):
    """A size hyper-parameter far beyond the data or the memory is refused before allocating."""
    names = [n for n in ("n_components", "n_hidden") if n in inspect.signature(cls.fit).parameters]
    if not names:
        return
    m, X = cls.example()
    for name in names:
        tracemalloc.start()
        t0 = time.perf_counter()
        with pytest.raises(ValueError, match=name):
            cls.fit(X, n_states=m.n_states, **{**cls.example_params, name: 10 ** 9})
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 50 * 2 ** 20, f"{name}=10**9 allocated {peak} bytes before refusing"
        assert time.perf_counter() - t0 < 30


def check_legacy_positional(cls):
    """A 0.1 positional call keeps its meaning, with a FutureWarning (``fit(X, n_states)`` none)."""
    m, X = cls.example()
    sig = inspect.signature(cls.fit)
    legacy = cls.fit_legacy_args
    if legacy == ("n_states",):
        return
    first = legacy[0]
    value = cls.example_params.get(first, sig.parameters[first].default)
    rest = {k: v for k, v in cls.example_params.items() if k != first}
    with pytest.warns(FutureWarning, match="keyword-only"):
        old = cls.fit(X, value, n_states=m.n_states, **rest)
    new = cls.fit(X, n_states=m.n_states, **{first: value}, **rest)
    _assert_same_params(old, new)


# --- parameters and files ---------------------------------------------------------------------
def _assert_same_params(a, b):
    pa, pb = a.get_params(), b.get_params()
    assert pa.keys() == pb.keys()
    for k in pa:
        np.testing.assert_array_equal(np.asarray(pa[k]), np.asarray(pb[k]), err_msg=k)


def check_parameters_read_only(cls):
    """Every public array attribute is read-only: writing cannot desynchronise cached tables."""
    m, X = cls.example()
    arrays = {k: v for k, v in vars(m).items() if isinstance(v, np.ndarray) and not k.startswith("_")}
    for name, a in arrays.items():
        assert not a.flags.writeable, name
        if a.size:
            with pytest.raises(ValueError, match="read-only"):
                a.flat[0] = a.flat[0]


def check_save_load_bit_for_bit(cls):
    m, X = cls.example()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.npz")
        m.save(path)
        back = load(path)
    assert type(back) is cls
    _assert_same_params(m, back)
    rows = X[:50]
    if not _is_vector_model(m) and not has(cls, "exact_log_prob"):
        return
    np.testing.assert_array_equal(back.log_prob(rows), m.log_prob(rows))


def _mutations(params: dict):
    """(label, params) with one array made invalid: NaN, a negative, a wrong shape, a wrong dtype,
    a missing entry."""
    for key, value in params.items():
        a = np.asarray(value)
        if a.dtype.kind == "f" and a.size:
            for label, v in (("nan", np.nan), ("inf", np.inf), ("neg", -0.5 if a.min() >= 0 else np.inf)):
                b = a.copy()
                b.flat[a.size // 2] = v
                yield f"{key}:{label}", {**params, key: b}
        if a.dtype.kind in "iu" and a.size:
            b = a.astype(np.int64)
            b.flat[a.size // 2] = 10 ** 6
            yield f"{key}:range", {**params, key: b}
        if a.ndim and a.size:
            yield f"{key}:shape", {**params, key: a.reshape(-1)[:-1]}
            yield f"{key}:object", {**params, key: a.astype(str)}
        rest = dict(params)
        rest.pop(key)
        yield f"{key}:absent", rest


def check_crafted_files_rejected(cls):
    """Each mutated model file loads to a ValueError (or TypeError), in a subprocess: never a
    crash, and the loaded model (if any) never reads out of bounds."""
    m, X = cls.example()
    params = {k: np.asarray(v) for k, v in m.get_params().items()}
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, (label, p) in enumerate(_mutations(params)):
            path = os.path.join(tmp, f"{i}.npz")
            np.savez(path, __model__=np.asarray(cls.__name__), **p)
            paths.append((label, path))
        code = textwrap.dedent(f"""
            import sys, numpy as np
            import fastdgm as fd
            from fastdgm.models.base import load
            X = np.load(sys.argv[1])
            for label, path in zip(sys.argv[2::2], sys.argv[3::2]):
                try:
                    model = load(path)
                except (ValueError, TypeError):
                    continue
                # accepted: it must then behave (a mutation can be harmless, e.g. a NaN in an
                # unused entry is renormalised away) -- no crash, finite or -inf output
                lp = model.log_prob(X) if {has(cls, "exact_log_prob")!r} else None
                if lp is not None and np.isnan(lp).any():
                    print("NaN log_prob after", label); sys.exit(3)
            print("ok")
        """)
        xpath = os.path.join(tmp, "X.npy")
        np.save(xpath, X[:20])
        proc = run_python(code, xpath, *itertools.chain.from_iterable(paths), timeout=900)
    assert proc.returncode == 0, (proc.returncode, proc.stdout[-2000:], proc.stderr[-3000:])
    assert proc.stdout.strip().endswith("ok")


# --- likelihood and sampling ------------------------------------------------------------------
def check_log_prob_normalised(cls):
    """sum over every x of P(x) = 1 (exact likelihoods, enumerated)."""
    if not has(cls, "exact_log_prob"):
        return
    m, X = cls.example()
    if _is_vector_model(m):
        lp = m.log_prob(np.arange(m.n_states))
    else:
        assert _n_outcomes(m) <= 4096
        lp = m.log_prob(_all_states(m))
    assert lp.shape[0] == (m.n_states if _is_vector_model(m) else _n_outcomes(m))
    np.testing.assert_allclose(np.exp(lp).sum(), 1.0, rtol=1e-10)


def check_sampler_exact(cls):
    """G-test of n = 60000 samples against the exact probabilities (fixed seed, p > 1e-4)."""
    if not (has(cls, "exact_sampler") and has(cls, "exact_log_prob")):
        return
    m, X = cls.example()
    n = 60_000
    S = m.sample(n, rng=1234)
    if _is_vector_model(m):
        g_test(np.bincount(S, minlength=m.n_states), np.exp(m.log_prob(np.arange(m.n_states))))
        return
    assert S.shape == (n, m.n_dims)
    assert S.dtype == np.uint8
    counts = np.bincount(_codes(m, S), minlength=_n_outcomes(m))
    g_test(counts, np.exp(m.log_prob(_all_states(m))))


def check_sample_rows_agree(cls):
    """``sample(n, rng)`` equals ``sample_rows(make_key(rng), 0, n)``, and any block of rows
    equals the same rows of the whole sample."""
    if not has(cls, "exact_sampler"):
        return
    m, X = cls.example()
    whole = m.sample(257, rng=7)
    key = make_key(7)
    np.testing.assert_array_equal(m.sample_rows(key, 0, 257), whole)
    np.testing.assert_array_equal(m.sample_rows(key, 100, 57), whole[100:157])
    np.testing.assert_array_equal(m.sample(257, rng=7), whole)


def check_threads_same_result(cls):
    """Fit, log_prob and sample give the same bits on 1 and 2 threads."""
    out = []
    for t in (1, 2):
        with fd.threads(t):
            m, X = cls.example()
            r = [m.get_params()]
            if has(cls, "exact_log_prob"):
                r.append(m.log_prob(X))
            if has(cls, "exact_sampler"):
                r.append(m.sample(300, rng=3))
            out.append(r)
    _params_a, *rest_a = out[0]
    _params_b, *rest_b = out[1]
    for k in _params_a:
        np.testing.assert_array_equal(np.asarray(_params_a[k]), np.asarray(_params_b[k]), err_msg=k)
    for a, b in zip(rest_a, rest_b):
        np.testing.assert_array_equal(a, b)


# --- missing values -----------------------------------------------------------------------------
def _missing_rows(m, X, rng):
    X = np.array(X[:40])
    M = rng.random(X.shape) < 0.35
    M[0] = True                    # a row with everything missing
    M[1] = False                   # and one with nothing missing
    X[M] = 200 % m.n_states if rng.random() < 0.5 else 0      # values under the mask are ignored
    return X, M


def check_missing_marginal(cls):
    """log_prob(X, missing) equals log of the sum of P over every completion of the row."""
    if not has(cls, "missing"):
        with pytest.raises(TypeError, match="missing"):
            m, X = cls.example()
            m.log_prob(X, missing=np.zeros(np.shape(X), bool))
        return
    m, X = cls.example()
    Xm, M = _missing_rows(m, X, np.random.default_rng(5))
    got = m.log_prob(Xm, missing=M)
    if _is_vector_model(m):
        np.testing.assert_allclose(got, np.where(M, 0.0, m.log_prob(np.where(M, 0, Xm))), rtol=1e-12)
        return
    full = m.log_prob(_all_states(m))
    allx = _all_states(m)
    for i in range(Xm.shape[0]):
        obs = ~M[i]
        keep = np.all(allx[:, obs] == Xm[i, obs], axis=1)
        want = np.logaddexp.reduce(full[keep])
        np.testing.assert_allclose(got[i], want, rtol=1e-9, atol=1e-12, err_msg=f"row {i}")


def check_fill_exact_conditional(cls):
    """fill keeps the observed entries and draws the missing ones from P(x_mis | x_obs): G-test
    of 30000 fills of one row with two missing entries against the enumerated conditional."""
    if not has(cls, "missing"):
        return
    m, X = cls.example()
    n = 30_000
    if _is_vector_model(m):
        x = np.zeros(n, dtype=np.int64)
        M = np.ones(n, dtype=bool)
        M[::2] = False
        x[~M] = 1
        f = m.fill(x, M, rng=11)
        assert np.all(f[~M] == 1)
        g_test(np.bincount(f[M], minlength=m.n_states), np.exp(m.log_prob(np.arange(m.n_states))))
        return
    row = np.array(X[3])
    M1 = np.zeros(m.n_dims, dtype=bool)
    M1[[0, m.n_dims - 1]] = True
    Xr = np.repeat(row[None], n, axis=0)
    M = np.repeat(M1[None], n, axis=0)
    f = m.fill(Xr, M, rng=11)
    np.testing.assert_array_equal(f[:, ~M1], Xr[:, ~M1])
    allx = _all_states(m)
    keep = np.all(allx[:, ~M1] == row[~M1], axis=1)
    cond = np.exp(m.log_prob(allx[keep]))
    C = m.n_states
    codes = f[:, 0].astype(np.int64) * C + f[:, -1]
    want_codes = allx[keep][:, 0].astype(np.int64) * C + allx[keep][:, -1]
    probs = np.zeros(C * C)
    probs[want_codes] = cond
    g_test(np.bincount(codes, minlength=C * C), probs)
    again = m.fill(Xr[:100], M[:100], rng=11)
    np.testing.assert_array_equal(again, f[:100])


# --- fits beyond memory -------------------------------------------------------------------------
def check_block_fit_equal(cls):
    """A fit from blocks of rows equals the one-machine fit (to 1e-12 relative)."""
    if not has(cls, "statistics"):
        return
    from fastdgm.blockfit import fit_in_blocks

    m, X, params = _block_example(cls)
    blocks = fit_in_blocks(cls, X, block_rows=64, n_states=m.n_states, **params)
    whole = fit_in_blocks(cls, X, block_rows=10 ** 6, n_states=m.n_states, **params)
    Y = X[:100]
    np.testing.assert_array_equal(whole.log_prob(Y), m.log_prob(Y))          # one block: the same bits
    np.testing.assert_allclose(blocks.log_prob(Y), m.log_prob(Y), rtol=1e-12, atol=1e-12)
    if cls.block_fit_requires:         # without what blocks cannot learn: a clear error naming it
        with pytest.raises(ValueError, match=cls.block_fit_requires[0]):
            fit_in_blocks(cls, X, block_rows=64, n_states=m.n_states, **cls.example_params)


def _block_example(cls):
    """(the one-machine fit a block fit must equal, X, the block fit's keywords): the example's
    params plus what the class declares a block fit requires, taken from the fitted example."""
    m, X = cls.example()
    params = {**cls.example_params, **{k: getattr(m, k) for k in cls.block_fit_requires}}
    if "dedupe" in inspect.signature(cls.fit).parameters:    # blocks cannot merge repeated rows across
        m = cls.fit(X, n_states=m.n_states, dedupe=False, **params)
    elif cls.block_fit_requires:
        m = cls.fit(X, n_states=m.n_states, **params)
    return m, X, params


def check_dask_fit_equal(cls):
    """A dask fit (threaded scheduler, chunks of 64 rows) equals the one-machine fit (1e-12)."""
    if not has(cls, "statistics"):
        return
    fdd = pytest.importorskip("fastdgm.dask")
    da = pytest.importorskip("dask.array")
    m, X, params = _block_example(cls)
    dist = fdd.fit(cls, da.from_array(X, chunks=(64, -1)), n_states=m.n_states, **params)
    Y = X[:100]
    np.testing.assert_allclose(dist.log_prob(Y), m.log_prob(Y), rtol=1e-12, atol=1e-12)


CHECKS = [check_fit_signature, check_fit_validates_X, check_oversized_refused, check_legacy_positional,
          check_parameters_read_only, check_save_load_bit_for_bit, check_crafted_files_rejected,
          check_log_prob_normalised, check_sampler_exact, check_sample_rows_agree, check_threads_same_result,
          check_missing_marginal, check_fill_exact_conditional, check_block_fit_equal, check_dask_fit_equal]
"""Every check, in the order the suite runs them."""
