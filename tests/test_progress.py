"""Progress bars of the long runs: shown on request, on stderr, and never change a result."""
import numpy as np

import fastdgm as fd


def test_fit_progress_bars(capsys):
    X = np.random.default_rng(0).integers(0, 3, size=(500, 6))
    a = fd.Mixture.fit(X, 3, n_states=3, rng=1, max_iter=20, n_init=2)
    assert capsys.readouterr().err == ""
    b = fd.Mixture.fit(X, 3, n_states=3, rng=1, max_iter=20, n_init=2, progress=True)
    err = capsys.readouterr().err
    assert "fit Mixture" in err and "iterations" in err
    np.testing.assert_array_equal(a.log_components, b.log_components)

    e = [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]]
    m1 = fd.PairwiseMRF.fit(X, e, n_states=3, max_iter=30)
    assert capsys.readouterr().err == ""
    m2 = fd.PairwiseMRF.fit(X, e, n_states=3, max_iter=30, progress=True)
    assert "fit PairwiseMRF" in capsys.readouterr().err
    np.testing.assert_array_equal(m1.energy(X), m2.energy(X))


def test_gibbs_progress_bar(capsys):
    m = fd.PairwiseMRF.grid((8, 8), n_states=2, coupling=0.5)
    r1 = fd.gibbs(m, 2, 20, rng=0)
    assert capsys.readouterr().err == ""
    r2 = fd.gibbs(m, 2, 20, rng=0, progress=True)
    assert "sweeps" in capsys.readouterr().err
    np.testing.assert_array_equal(r1.samples, r2.samples)
