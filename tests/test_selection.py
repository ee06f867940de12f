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


def test_select_stop_on_decline_skips_the_settings_past_the_peak():
    rng = np.random.default_rng(3)
    X = (rng.random((400, 6)) < np.linspace(0.05, 0.5, 6)).astype(np.int8)
    train, valid = X[:300], X[300:]
    scores = {a: fd.Factorized.fit(train, n_states=2, alpha=a).score(valid) for a in (1000.0, 100.0, 1.0, 500.0)}
    assert scores[1000.0] < scores[100.0] < scores[1.0] and scores[500.0] < scores[1.0]
    grid = {"alpha": [1000.0, 100.0, 1.0, 500.0, 0.5]}       # rises, falls at 500: 0.5 is never fitted
    sel = fd.select(fd.Factorized, train, valid, grid, n_states=2, stop_on_decline=True)
    assert [r["params"]["alpha"] for r in sel.table] == [1000.0, 100.0, 1.0, 500.0]
    assert sel.best_params == {"alpha": 1.0} and sel.best.score(valid) == scores[1.0]
    full = fd.select(fd.Factorized, train, valid, grid, n_states=2)
    assert len(full.table) == 5 and [r["valid"] for r in full.table[:4]] == [r["valid"] for r in sel.table]
    rising = fd.select(fd.Factorized, train, valid, {"alpha": [1000.0, 100.0, 1.0]}, stop_on_decline=True)
    assert len(rising.table) == 3                                # never declines: every setting fitted
    with pytest.raises(TypeError, match="stop_on_decline"):
        fd.select(fd.Factorized, train, valid, grid, stop_on_decline="yes")


def test_select_takes_a_list_of_grids():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 2, (300, 6))
    grid = [{"n_components": [1], "alpha": [0.1, 1.0]}, {"n_components": [3], "shrink": [0.0, 5.0]}]
    sel = fd.select(fd.TreeMixture, X[:200], X[200:], grid, rng=0, max_iter=5)
    assert [r["params"] for r in sel.table] == [
        {"n_components": 1, "alpha": 0.1}, {"n_components": 1, "alpha": 1.0},
        {"n_components": 3, "shrink": 0.0}, {"n_components": 3, "shrink": 5.0}]
    assert sel.best_params == sel.table[int(np.argmax([r["valid"] for r in sel.table]))]["params"]
    text = sel.format()
    assert "shrink" in text.splitlines()[0] and "-" in text.splitlines()[1]
    with pytest.raises(ValueError, match="both in grid"):
        fd.select(fd.TreeMixture, X, X, grid, shrink=1.0)
    with pytest.raises(TypeError, match="grid"):
        fd.select(fd.TreeMixture, X, X, [{}])


def test_hidden_grid_rule(monkeypatch):
    from fastdgm.models import hclt

    # K grows with n: {8, 16, 32} below 5,000 rows ... {64, 128, 256} from 100,000 on
    assert hclt.hidden_grid(1_000, 50) == [8, 16, 32]
    assert hclt.hidden_grid(4_999, 50) == [8, 16, 32]
    assert hclt.hidden_grid(5_000, 50) == [16, 32, 64]
    assert hclt.hidden_grid(20_000, 50) == [32, 64, 128]
    assert hclt.hidden_grid(100_000, 50) == [64, 128, 256]
    # the work cap n d K^2 drops the largest values, else keeps the largest power of two under it
    assert hclt.hidden_grid(10_000, 100, work=10_000 * 100 * 32 ** 2) == [16, 32]
    assert hclt.hidden_grid(200_000, 64, work=200_000 * 64 * 40 ** 2) == [32]
    # and so does the memory estimate of the fit
    need = {K: hclt.HiddenChowLiuTree._fit_bytes((10_000, 100), 2, {"n_hidden": K})[0] for K in (4, 16, 32, 64)}
    monkeypatch.setattr("fastdgm._memory.available_memory", lambda: int(need[32]))
    assert hclt.hidden_grid(10_000, 100) == [16, 32]
    monkeypatch.setattr("fastdgm._memory.available_memory", lambda: int(need[4]))
    assert hclt.hidden_grid(10_000, 100) == [4]
    # the density benchmark's grid is the rule under its work cap
    grid, fixed = fd.HiddenChowLiuTree.density_grid(17_412, 69)
    assert grid == {"n_hidden": hclt.hidden_grid(17_412, 69, work=hclt.GRID_WORK)}
    assert fixed["stop_on_decline"] is True             # K grows along it: no fit past the valid peak


def test_hclt_mixture_density_grid_is_two_trees_of_half_the_largest_k():
    from fastdgm.models import hclt

    for n, d in ((1_000, 50), (17_412, 69), (11_293, 910)):
        grid, fixed = fd.HCLTMixture.density_grid(n, d)
        top = hclt.hidden_grid(n, d, work=hclt.GRID_WORK)[-1]
        assert grid == {"n_trees": [2], "n_hidden": [top // 2]} and fixed["alpha"] == 0.02
    assert fd.HCLTMixture.density_grid(10, 3)[0]["n_hidden"][0] >= 2


def test_treemix_density_grid_contains_the_chow_liu_grid():
    # K = 1 with ChowLiuTree's alphas: the selected TreeMixture is never worse on valid
    for n, d in [(16_181, 16), (11_293, 910), (2_000, 800)]:
        grids, fixed = fd.TreeMixture.density_grid(n, d)
        clt = fd.ChowLiuTree.density_grid(n, d)[0]
        assert {"n_components": [1], **clt} in grids
        assert "alpha" not in fixed


def test_select_dedupe_fits_the_distinct_rows_with_their_counts():
    rng = np.random.default_rng(3)
    base = rng.integers(0, 2, (40, 6))
    train = base[rng.integers(0, 40, 500)]                  # many repeats
    valid = base[rng.integers(0, 40, 100)]
    grid = {"alpha": [0.1, 1.0]}
    plain = fd.select(fd.ChowLiuTree, train, valid, grid)
    dd = fd.select(fd.ChowLiuTree, train, valid, grid, dedupe=True)
    for a, b in zip(plain.table, dd.table):
        assert a["params"] == b["params"]
        np.testing.assert_allclose([b["train"], b["valid"]], [a["train"], a["valid"]], rtol=1e-12)
    assert dd.best_params == plain.best_params
    # the fit is that of the distinct rows weighted by their counts
    from fastdgm.models._tables import distinct_rows

    rows, counts = distinct_rows(train, np.empty(0))
    assert rows.shape[0] < 40 + 1 and counts.sum() == 500
    sel = fd.select(fd.Mixture, train, valid, {"n_components": [3]}, rng=0, max_iter=20, dedupe=True)
    ref = fd.Mixture.fit(rows, n_states=2, n_components=3, rng=0, max_iter=20, sample_weight=counts)
    np.testing.assert_array_equal(sel.best.log_components, ref.log_components)
    assert sel.table[0]["train"] == pytest.approx(ref.score(train), rel=1e-12)
    # rows already distinct: fitted as they are; a fixed sample_weight is kept
    distinct = rng.integers(0, 2, (200, 12))
    a = fd.select(fd.Factorized, distinct, valid[:, :1].repeat(12, 1), grid, dedupe=True)
    b = fd.select(fd.Factorized, distinct, valid[:, :1].repeat(12, 1), grid)
    assert [r["train"] for r in a.table] == [r["train"] for r in b.table]
    w = rng.random(500)
    c = fd.select(fd.Factorized, train, valid, grid, dedupe=True, sample_weight=w)
    assert c.table[0]["train"] == fd.Factorized.fit(train, alpha=0.1, sample_weight=w).score(train)
