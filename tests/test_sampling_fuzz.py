"""Arbitrary arrays and shapes: a correct result or a clean ValueError/TypeError, never a crash."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastdgm as fd

floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, 1.0, -0.0, 1e-300, 1e300, -1.0, np.inf, -np.inf, np.nan]),
)
arrays = hnp.arrays(
    dtype=st.sampled_from([np.float64, np.float32, np.int64, np.uint8, np.bool_, np.complex128]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
    elements=None,
)
sizes = st.one_of(st.none(), st.integers(-2, 20), st.tuples(st.integers(0, 5)),
                  st.tuples(st.integers(0, 4), st.integers(0, 6)), st.just(2.5))
methods = st.sampled_from(["auto", "scan", "bisect", "guide", "alias", "nope"])


def _valid_rows(p, logits):
    p = np.asarray(p)
    if p.dtype.kind not in "fiu" or p.ndim == 0 or p.size == 0:
        return None
    p = p.astype(np.float64)
    if logits:
        if np.isnan(p).any() or (p == np.inf).any() or not np.isfinite(p).any(axis=-1).all():
            return None
        return np.exp(p - p.max(axis=-1, keepdims=True))
    if not np.isfinite(p).all() or (p < 0).any():
        return None
    s = p.sum(axis=-1)
    if not (s > 0).all() or not np.isfinite(s).all():
        return None
    return p


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(p=arrays, size=sizes, method=methods, logits=st.booleans(), seed=st.integers(0, 2**32))
def test_categorical_fuzz(p, size, method, logits, seed):
    kw = {"logits": p} if logits else {"p": p}
    try:
        x = fd.categorical(**kw, size=size, rng=seed, method=method)
    except (ValueError, TypeError):
        return
    w = _valid_rows(p, logits)
    assert w is not None, "accepted invalid input"
    x = np.asarray(x)
    C = w.shape[-1]
    assert x.dtype == np.int64
    assert ((x >= 0) & (x < C)).all()
    if w.ndim == 1:
        assert (w[x] > 0).all()
    else:
        rows = np.broadcast_to(np.arange(int(np.prod(w.shape[:-1]))).reshape(w.shape[:-1]), x.shape)
        assert (w.reshape(-1, C)[rows, x] > 0).all()


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(u=hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=2, max_side=5), elements=floats),
       lev=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=5), elements=floats))
def test_threshold_fuzz(u, lev):
    try:
        k = np.asarray(fd.threshold(u, lev))
    except (ValueError, TypeError):
        return
    C = lev.shape[-1]
    assert ((k >= 0) & (k < C)).all()
    widths = np.diff(lev, axis=-1, prepend=0.0)
    rows = np.broadcast_to(np.arange(int(np.prod(lev.shape[:-1]))).reshape(lev.shape[:-1]), k.shape)
    assert (widths.reshape(-1, C)[rows, k] > 0).all()


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(grid=hnp.arrays(np.float64, st.integers(0, 6), elements=floats),
       dens=hnp.arrays(np.float64, st.integers(0, 6), elements=floats))
def test_density_fuzz(grid, dens):
    try:
        y = fd.sample_density(grid, dens, size=50, rng=0)
    except (ValueError, TypeError):
        return
    assert np.all(np.isfinite(y)) and y.min() >= grid[0] and y.max() <= grid[-1]
