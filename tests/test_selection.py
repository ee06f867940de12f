"""fastdgm.select: every setting fitted, the best on the validation split kept."""
import numpy as np
import pytest

import fastdgm as fd


def test_select_picks_the_best_validation_score():
    rng = np.random.default_rng(0)
    true = fd.Mixture(np.ones(3), rng.dirichlet(np.ones(2), size=(3, 8)))
    train, valid = true.sample(600, rng=1), true.sample(400, rng=2)
    sel = fd.select(fd.Mixture, train, valid, {"n_components": [1, 3], "alpha": [0.1, 1.0]}, rng=0,
                    max_iter=50)
    assert len(sel.table) == 4
    assert [r["params"] for r in sel.table] == [
        {"n_components": 1, "alpha": 0.1}, {"n_components": 1, "alpha": 1.0},
        {"n_components": 3, "alpha": 0.1}, {"n_components": 3, "alpha": 1.0}]
    scores = [r["valid"] for r in sel.table]
    assert sel.best_params == sel.table[int(np.argmax(scores))]["params"]
    assert sel.best.score(valid) == max(scores)
    refit = fd.Mixture.fit(train, n_states=2, rng=0, max_iter=50, **sel.best_params)
    np.testing.assert_array_equal(refit.log_components, sel.best.log_components)
    assert "*" in sel.format()


def test_select_shares_the_number_of_states():
    train = np.array([[0, 1], [1, 0], [0, 0]])
    valid = np.array([[2, 1]])                   # a state only the validation split has
    sel = fd.select(fd.Factorized, train, valid, {"alpha": [0.5]})
    assert sel.best.n_states == 3 and np.isfinite(sel.table[0]["valid"])


def test_select_errors():
    X = np.zeros((4, 2), int)
    with pytest.raises(TypeError, match="grid"):
        fd.select(fd.Factorized, X, X, [])
    with pytest.raises(ValueError, match="empty"):
        fd.select(fd.Factorized, X, X, {"alpha": []})
    with pytest.raises(ValueError, match="both in grid"):
        fd.select(fd.Factorized, X, X, {"alpha": [1.0]}, alpha=2.0)
    with pytest.raises(ValueError, match="columns"):
        fd.select(fd.Factorized, X, np.zeros((4, 3), int), {"alpha": [1.0]})
