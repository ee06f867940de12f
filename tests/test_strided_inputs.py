"""Arrays of any memory layout give the same results as their compact copies (issue 9,
item 3): fields of structured arrays (byte stride not a multiple of the item size),
negative strides, non-contiguous slices, Fortran order, big-endian and unaligned data."""
import numpy as np
import pytest

import fastdgm as fd


def _field(a):
    """``a`` as a field of a packed record array: stride itemsize + 2 bytes."""
    dt = np.dtype([("w", a.dtype), ("flag", "<i2")])
    rec = np.zeros(a.shape, dtype=dt)
    rec["w"] = a
    return rec["w"]


def _unaligned(a):
    buf = np.zeros(a.nbytes + 1, np.uint8)
    out = buf[1:].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def _reversed(a):
    r = np.ascontiguousarray(a[..., ::-1])
    return r[..., ::-1]


def _sliced(a):
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
    big[..., ::2] = a
    return big[..., ::2]


LAYOUTS = {
    "field": _field,
    "reversed": _reversed,
    "sliced": _sliced,
    "fortran": np.asfortranarray,
    "bigendian": lambda a: a.astype(a.dtype.newbyteorder(">")),
    "unaligned": _unaligned,
}


def _check_layout(a, layout):
    b = LAYOUTS[layout](a)
    assert np.array_equal(b, a)
    if layout == "field" and b.itemsize > 1:
        assert b.strides[-1] % b.itemsize != 0
    return b


@pytest.fixture(params=sorted(LAYOUTS))
def layout(request):
    return request.param


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_categorical_1d(layout, dtype):
    w = np.random.default_rng(0).random(37).astype(dtype)
    w[5] = 0
    b = _check_layout(w, layout)
    for method in ("auto", "scan", "bisect", "guide", "alias"):
        assert np.array_equal(fd.categorical(b, size=2000, rng=1, method=method),
                              fd.categorical(w, size=2000, rng=1, method=method))
        assert np.array_equal(fd.categorical(logits=np.log(b), size=50, rng=1, method=method),
                              fd.categorical(logits=np.log(w), size=50, rng=1, method=method))
    assert np.array_equal(fd.Categorical(b).sample(100, rng=2), fd.Categorical(w).sample(100, rng=2))


def test_structured_field_is_read_at_the_right_bytes():
    """The reported case: rec["w"] of a (100000, 4) record array."""
    rec = np.zeros((100_000, 4), dtype=[("w", "<f8"), ("flag", "<i4")])
    rec["w"][:, 2] = 1.0
    rec["flag"] = -1                           # garbage in the bytes a stride bug would read
    out = fd.categorical(rec["w"], rng=0)
    assert out.shape == (100_000,) and np.all(out == 2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_categorical_batched(layout, dtype):
    P = np.random.default_rng(1).random((300, 12)).astype(dtype)
    b = _check_layout(P, layout)
    for method in ("auto", "alias", "guide"):
        assert np.array_equal(fd.categorical(b, rng=3, method=method), fd.categorical(P, rng=3, method=method))
        assert np.array_equal(fd.categorical(b, size=(4, 300), rng=3, method=method),
                              fd.categorical(P, size=(4, 300), rng=3, method=method))
        assert np.array_equal(fd.categorical(logits=np.log(b), size=(2, 300), rng=3, method=method),
                              fd.categorical(logits=np.log(P), size=(2, 300), rng=3, method=method))
    assert np.array_equal(fd.categorical(b[:, None, :], size=(300, 3), rng=4),
                          fd.categorical(P[:, None, :], size=(300, 3), rng=4))


def test_levels_and_threshold(layout):
    rng = np.random.default_rng(2)
    P = rng.random((50, 9))
    b = _check_layout(P, layout)
    assert np.array_equal(fd.cumulative_levels(b), fd.cumulative_levels(P))
    assert np.array_equal(fd.cumulative_levels(b, axis=0), fd.cumulative_levels(P, axis=0))
    L = fd.cumulative_levels(P)
    u = rng.random(50)
    assert np.array_equal(fd.threshold(_check_layout(u[:, None], layout)[:, 0], _check_layout(L, layout)),
                          fd.threshold(u, L))


def test_sample_joint_and_densities(layout):
    rng = np.random.default_rng(3)
    T = rng.random((4, 5))
    b = _check_layout(T, layout)
    assert np.array_equal(fd.sample_joint(b, size=100, rng=0), fd.sample_joint(T, size=100, rng=0))
    x = np.linspace(-1, 2, 11)
    f = rng.random(11) + 0.1
    bx, bf = _check_layout(x, layout), _check_layout(f, layout)
    assert np.array_equal(fd.sample_density(bx, bf, size=100, rng=0), fd.sample_density(x, f, size=100, rng=0))
    z = rng.standard_normal(30)
    assert np.array_equal(fd.gaussian_transport(_check_layout(z, layout), bx, bf),
                          fd.gaussian_transport(z, x, f))


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.int32])
def test_models_fit_and_log_prob(layout, dtype):
    X = np.random.default_rng(4).integers(0, 3, size=(400, 6)).astype(dtype)
    b = _check_layout(X, layout)
    for cls in (fd.Factorized, fd.ChowLiuTree):
        m, mb = cls.fit(X), cls.fit(b)
        assert np.array_equal(m.log_prob(X), mb.log_prob(b))
    m = fd.Mixture.fit(X, n_components=2, rng=0, max_iter=5)
    assert np.array_equal(m.log_prob(b), m.log_prob(X))
    w = np.random.default_rng(5).random(400)
    bw = _check_layout(w, layout)
    assert np.array_equal(fd.Factorized.fit(X, sample_weight=bw).log_probs,
                          fd.Factorized.fit(X, sample_weight=w).log_probs)
    mrf = fd.PairwiseMRF(np.zeros((6, 3)), [[0, 1], [2, 3]], np.eye(3))
    assert np.array_equal(mrf.energy(b), mrf.energy(X))
    m = fd.Factorized(_check_layout(np.random.default_rng(6).random((6, 3)), layout))
    assert np.allclose(m.probs.sum(axis=1), 1)
