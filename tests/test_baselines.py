"""The numpy benchmark baselines sample the right conditionals (a fast baseline must be a correct one)."""
import numpy as np
import pytest

from fastdgm.slow import baselines as base
from gof import g_test

N = 20_000  # identical chains


def _one_sweep_colour0(run, init, n_chains):
    """After one sweep from identical states, each colour-0 site was drawn from its exact
    conditional given the (unchanged) colour-1 neighbours of ``init``; return the draws."""
    H, W = init.shape
    out = run(np.repeat(init[None], n_chains, 0))
    ii, jj = np.indices((H, W))
    return out[:, (ii + jj) % 2 == 0], init[(ii + jj) % 2 == 0], [
        (np.roll(init, 1, 0), np.roll(init, -1, 0), np.roll(init, 1, 1), np.roll(init, -1, 1))]


def test_ising_checkerboard_conditionals():
    beta = 0.7
    init = (2 * np.random.default_rng(0).integers(0, 2, (4, 6)) - 1).astype(np.int8)
    gen = np.random.default_rng(1)
    draws, _, (nbs,) = _one_sweep_colour0(lambda s: base.ising_checkerboard(s, beta, 1, gen), init, N)
    H, W = init.shape
    ii, jj = np.indices((H, W))
    h = sum(nb.astype(int) for nb in nbs)[(ii + jj) % 2 == 0]
    for site in range(draws.shape[1]):
        p_up = 1 / (1 + np.exp(-2 * beta * h[site]))
        g_test(np.bincount((draws[:, site] > 0).astype(int), minlength=2), [1 - p_up, p_up])


@pytest.mark.parametrize("q", [3, 7])
def test_potts_checkerboard_conditionals(q):
    beta = 0.9
    init = np.random.default_rng(q).integers(0, q, (4, 6)).astype(np.uint8)
    gen = np.random.default_rng(2)
    draws, _, (nbs,) = _one_sweep_colour0(lambda s: base.potts_checkerboard(s, beta, q, 1, gen), init, N)
    H, W = init.shape
    ii, jj = np.indices((H, W))
    sel = (ii + jj) % 2 == 0
    for site in range(draws.shape[1]):
        counts = np.array([sum(int(nb[sel][site] == k) for nb in nbs) for k in range(q)])
        p = np.exp(beta * counts)
        g_test(np.bincount(draws[:, site], minlength=q), p / p.sum())


def test_categorical_rows_idioms():
    P = np.random.default_rng(0).random((5000, 6))
    P /= P.sum(1, keepdims=True)
    u = np.random.default_rng(1).random(5000)
    k = base.categorical_rows(P, u)
    assert np.array_equal(k, (np.cumsum(P, 1) <= u[:, None]).sum(1).clip(max=5))
    L = np.log(P) + 3.0
    assert np.array_equal(base.categorical_logits(L, u), k)
