"""Mini-batch (stepwise) EM of the EM engine (``batch_size``, ``kappa``; Cappé & Moulines
2009), on the hidden Chow-Liu tree: it raises the held-out likelihood far above the start,
approaches the full-batch fixed point as the epochs go on, and is seeded and thread-count
invariant; bad arguments are clear errors."""
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.blockfit import fit_in_blocks
from fastdgm.models.hclt import HiddenChowLiuTree as H

from test_hclt import random_model

KW = dict(n_hidden=3, rng=0, alpha=0.1, dedupe=False, init="random", init_noise=1.0)


@pytest.fixture(scope="module")
def data():
    m0 = random_model(10, 3, 2, seed=4)
    return m0.sample(4000, rng=1), m0.sample(2000, rng=2)


def test_minibatch_em_improves_and_approaches_the_full_batch_fixed_point(data):
    X, V = data
    start = H.fit(X, max_iter=1, **KW)                          # the start, no M-step
    full = H.fit(X, max_iter=1000, tol=1e-12, **KW)             # (near) the fixed point
    short = H.fit(X, max_iter=10, batch_size=250, tol=0, **KW)
    long = H.fit(X, max_iter=40, batch_size=250, tol=0, **KW)
    v0, vf, vs, vl = (m.log_prob(V).mean() for m in (start, full, short, long))
    assert vl > v0 + 0.5 and vs > v0 + 0.5                      # start -5.75, fixed point -5.013
    gap_short = full.log_prob(X).mean() - short.log_prob(X).mean()
    gap_long = full.log_prob(X).mean() - long.log_prob(X).mean()
    assert 0 <= gap_long < 0.6 * gap_short and gap_long < 0.015  # measured 0.0148 -> 0.0083
    assert abs(vl - vf) < 0.01
    # 16 batches an epoch; the epoch means rise (the stop rule, tol = 0, may end it early)
    h = long.log_likelihood_history_
    assert len(h) == long.n_iter_ and 20 <= long.n_iter_ <= 40 and h[-1] > h[0] + 0.05   # -5.155 -> -5.072


def test_minibatch_em_is_seeded_and_thread_invariant(data):
    X, _ = data
    fits = []
    for nt in (1, 2, 2):
        with fd.threads(nt):
            fits.append(H.fit(X[:1500], max_iter=3, batch_size=200, **KW))
    for f in fits[1:]:
        for k, v in fits[0].get_params().items():
            np.testing.assert_array_equal(f.get_params()[k], v)
        assert f.log_likelihood_history_ == fits[0].log_likelihood_history_
    other = H.fit(X[:1500], max_iter=3, batch_size=200, **{**KW, "rng": 1})
    assert not np.array_equal(other.emit_probs, fits[0].emit_probs)


def test_one_batch_of_everything_is_full_batch_em(data):
    """batch_size >= n: one batch an epoch in a permuted order, eta_0 = 1 then eta_t < 1:
    the first epoch is exactly the first full-batch M-step (to rounding of the row order)."""
    X, _ = data
    full = H.fit(X, max_iter=2, tol=0, **KW)
    mb = H.fit(X, max_iter=1, batch_size=len(X), tol=0, **KW)
    np.testing.assert_allclose(mb.emit_probs, full.emit_probs, rtol=1e-9)
    np.testing.assert_allclose(mb.trans_probs, full.trans_probs, rtol=1e-9)


def test_minibatch_arguments_are_checked(data):
    X, _ = data
    with pytest.raises(ValueError, match="batch_size"):
        H.fit(X[:50], batch_size=0, **KW)
    for k in (0.5, 1.5):
        with pytest.raises(ValueError, match="kappa"):
            H.fit(X[:50], batch_size=10, kappa=k, **KW)
    with pytest.raises(ValueError, match="batch_size"):
        fit_in_blocks(H, X[:50], n_states=2, n_hidden=2, batch_size=10, max_iter=2)
