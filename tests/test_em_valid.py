"""Early stopping of the EM engine on held-out rows (fastdgm.models.em.validation_stop, and
fd.select(..., early_stopping=P)): the best iterate on valid is returned, exactly the iterate a
plain fit reaches after as many M-steps; the loop stops P iterations after the last gain; fits
nested in the fit are not affected; seeded and thread-count invariant."""
import numpy as np
import pytest

import fastdgm as fd
from fastdgm.models import em
from fastdgm.models._em_valid import ValidationMonitor

from test_hclt import random_model

EM_FITS = [(fd.Mixture, {"n_components": 6}), (fd.TreeMixture, {"n_components": 3}),
           (fd.HiddenChowLiuTree, {"n_hidden": 6}), (fd.HCLTMixture, {"n_trees": 2, "n_hidden": 4})]


@pytest.fixture(scope="module")
def data():
    m0 = random_model(8, 3, 2, seed=3)
    return m0.sample(120, rng=1), m0.sample(400, rng=2)        # few rows: EM over-fits them


def params(m):
    return [np.asarray(v) for v in m.get_params().values()]


@pytest.mark.parametrize("cls,size", EM_FITS)
def test_early_stopping_returns_the_best_iterate_on_valid(data, cls, size):
    X, V = data
    with em.validation_stop(V, patience=3, tol=0.0):
        m = cls.fit(X, rng=0, alpha=0.01, max_iter=60, tol=0, **size)
    h = m.valid_history_
    b = int(np.argmax(h))                                      # first of the best
    assert m.n_iter_ == b + 1 == len(m.objective_history_) == len(m.log_likelihood_history_)
    assert m.score(V) == h[b] == max(h)
    # the stop: 3 iterations without a gain (else max_iter, or the stop rule with tol = 0)
    assert len(h) == b + 4 or len(h) == 60 or m.converged_
    assert all(v <= h[b] for v in h[b + 1:])
    plain = cls.fit(X, rng=0, alpha=0.01, max_iter=b + 1, tol=0, **size)    # b M-steps
    for p, q in zip(params(plain), params(m)):
        np.testing.assert_array_equal(p, q)
    assert plain.objective_history_ == m.objective_history_
    # each recorded score is that of the plain fit stopped there
    for t in sorted({0, b // 2, len(h) - 1}):
        assert cls.fit(X, rng=0, alpha=0.01, max_iter=t + 1, tol=0, **size).score(V) == h[t]


def test_early_stopping_stops_on_an_over_fitting_curve(data):
    X, V = data
    with em.validation_stop(V, patience=2, tol=0.0):
        m = fd.HiddenChowLiuTree.fit(X, n_hidden=8, rng=0, alpha=1e-3, max_iter=200, tol=0)
    h = m.valid_history_
    assert len(h) < 200 and len(h) == m.n_iter_ + 2          # the curve turned down: stopped
    assert h[-1] < h[m.n_iter_ - 1] and h[-2] <= h[m.n_iter_ - 1]


def test_relative_tolerance_of_a_gain():
    mon = ValidationMonitor(np.zeros((1, 1), int), patience=2, tol=1e-2)

    class Fixed:
        def __init__(self, v):
            self.v = v

        def score(self, V):
            return self.v

    seq = [-10.0, -9.0, -8.95, -8.92, -8.91]    # gains of 1e-1, then < 1e-2 relative
    stops = [mon.seen(Fixed(v)) for v in seq]
    assert stops == [False, False, False, True, True]
    assert mon.best == 4 and mon.gain == 1      # the best iterate is still the highest score
    with pytest.raises(ValueError, match="early_stopping"):
        ValidationMonitor(np.zeros((1, 1), int), patience=0)


def test_nested_fits_do_not_see_the_monitor(data):
    """The mixture start of a hidden Chow-Liu tree runs to its own stop rule: the first iterate
    (the start, no M-step) is the same with and without early stopping."""
    X, V = data
    plain = fd.HiddenChowLiuTree.fit(X, n_hidden=5, rng=3, alpha=0.01, max_iter=1)
    with em.validation_stop(V, patience=50, tol=0.0):
        m = fd.HiddenChowLiuTree.fit(X, n_hidden=5, rng=3, alpha=0.01, max_iter=1)
    for p, q in zip(params(plain), params(m)):
        np.testing.assert_array_equal(p, q)
    assert m.valid_history_ == [plain.score(V)]
    assert not hasattr(fd.HiddenChowLiuTree.fit(X, n_hidden=5, rng=3, max_iter=1), "valid_history_")


def test_minibatch_and_restarts_stop_on_valid(data):
    X, V = data
    with em.validation_stop(V, patience=2, tol=0.0):
        m = fd.HiddenChowLiuTree.fit(X, n_hidden=6, rng=0, alpha=0.01, max_iter=40, tol=0, batch_size=30,
                                     dedupe=False, n_init=2)
    assert m.score(V) == max(m.valid_history_) and m.n_iter_ == int(np.argmax(m.valid_history_)) + 1
    firsts = []
    for r in (1, 2):
        with em.validation_stop(V, patience=2, tol=0.0):
            firsts.append(fd.HiddenChowLiuTree.fit(X, n_hidden=6, rng=0, alpha=0.01, max_iter=40, tol=0,
                                                   batch_size=30, dedupe=False, n_init=r).score(V))
    assert m.score(V) == max(firsts) == firsts[1]               # restarts compare on valid


def test_select_with_early_stopping_is_seeded_and_thread_invariant(data):
    X, V = data
    runs = []
    for n in (1, 2):
        with fd.threads(n):
            runs.append(fd.select(fd.HiddenChowLiuTree, X, V, {"n_hidden": [2, 6]}, rng=0, alpha=0.01,
                                  max_iter=60, early_stopping=3))
    a, b = runs
    assert [r["valid"] for r in a.table] == [r["valid"] for r in b.table]
    assert [r["n_iter"] for r in a.table] == [r["n_iter"] for r in b.table]
    for p, q in zip(params(a.best), params(b.best)):
        np.testing.assert_array_equal(p, q)
    assert a.best_params == a.table[int(np.argmax([r["valid"] for r in a.table]))]["params"]
    for row in a.table:
        with em.validation_stop(V, 3):
            m = fd.HiddenChowLiuTree.fit(X, n_states=2, rng=0, alpha=0.01, max_iter=60, **row["params"])
        assert m.score(V) == row["valid"] and m.n_iter_ == row["n_iter"]
    # models not fitted by EM ignore it
    sel = fd.select(fd.ChowLiuTree, X, V, {"alpha": [0.1, 1.0]}, early_stopping=3)
    assert "n_iter" not in sel.table[0]
    with pytest.raises(ValueError, match="early_stopping"):
        fd.select(fd.Mixture, X, V, {"n_components": [2]}, early_stopping=0)
    # ... but a bad value is an error for them too, before any fit
    with pytest.raises(ValueError, match="early_stopping"):
        fd.select(fd.ChowLiuTree, X, V, {"alpha": [0.1]}, early_stopping=0)
