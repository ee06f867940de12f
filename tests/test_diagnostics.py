"""rhat / ess against a slow, loop-based transcription of the published formulas.

References: Gelman et al., Bayesian Data Analysis 3rd ed. §11.4-11.5 (split R-hat, ESS with
Geyer's initial monotone sequence); Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021),
"Rank-normalization, folding, and localization: an improved R-hat" (rank-normalised bulk /
folded tail R-hat, bulk and tail ESS), as implemented by ArviZ. Traces are (draws, chains).
"""
import math

import numpy as np
import pytest
from scipy.special import ndtri
from scipy.stats import rankdata

import fastdgm as fd


# --- slow reference (chains as a list of 1-D arrays, direct sums) -------------------------
def ref_split(a):
    n = a.shape[0] // 2
    return [a[:n, c] for c in range(a.shape[1])] + [a[a.shape[0] - n:, c] for c in range(a.shape[1])]


def ref_rhat_basic(chains):
    n = len(chains[0])
    means = [sum(x) / n for x in chains]
    W = sum(sum((v - mu) ** 2 for v in x) / (n - 1) for x, mu in zip(chains, means)) / len(chains)
    grand = sum(means) / len(means)
    B = n * sum((mu - grand) ** 2 for mu in means) / (len(means) - 1)
    var_plus = (n - 1) / n * W + B / n
    return math.sqrt(var_plus / W)


def ref_autocov(x, t):
    n = len(x)
    mu = sum(x) / n
    return sum((x[i] - mu) * (x[i + t] - mu) for i in range(n - t)) / n


def ref_ess_basic(chains):
    m, n = len(chains), len(chains[0])
    allv = np.concatenate(chains)
    if allv.max() - allv.min() < np.finfo(float).resolution:
        return float(m * n)
    acov = lambda t: np.mean([ref_autocov(x, t) for x in chains])  # noqa: E731
    mean_var = acov(0) * n / (n - 1)
    var_plus = mean_var * (n - 1) / n
    if m > 1:
        var_plus += np.var([np.mean(x) for x in chains], ddof=1)
    rho = np.zeros(n)
    rho[0] = 1.0
    rho_even, rho_odd = 1.0, 1.0 - (mean_var - acov(1)) / var_plus
    rho[1] = rho_odd
    t = 1
    while t < n - 3 and rho_even + rho_odd > 0:
        rho_even = 1.0 - (mean_var - acov(t + 1)) / var_plus
        rho_odd = 1.0 - (mean_var - acov(t + 2)) / var_plus
        if rho_even + rho_odd >= 0:
            rho[t + 1], rho[t + 2] = rho_even, rho_odd
        t += 2
    max_t = t - 2
    if rho_even > 0:
        rho[max_t + 1] = rho_even
    t = 1
    while t <= max_t - 2:
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = (rho[t - 1] + rho[t]) / 2
        t += 2
    tau = -1 + 2 * rho[: max_t + 1].sum() + rho[max_t + 1: max_t + 2].sum()
    tau = max(tau, 1 / math.log10(m * n))
    return m * n / tau


def ref_z(a):
    return ndtri((rankdata(a, method="average").reshape(a.shape) - 0.375) / (a.size + 0.25))


def ref_zsplit(a):
    """Rank-normalise the split chains (the middle draw of an odd trace is left out)."""
    return [np.asarray(x) for x in ref_z(np.array(ref_split(a)))]


def ref_rhat_rank(a):
    bulk = ref_rhat_basic(ref_zsplit(a))
    tail = ref_rhat_basic(ref_zsplit(np.abs(a - np.median(a))))
    return max(bulk, tail)


def ref_ess_tail(a):
    lo = ref_ess_basic(ref_split((a <= np.quantile(a, 0.05)).astype(float)))
    hi = ref_ess_basic(ref_split((a <= np.quantile(a, 0.95)).astype(float)))
    return min(lo, hi)


def _ar1(n, chains, rho, seed, shift=None):
    gen = np.random.default_rng(seed)
    x = np.empty((n, chains))
    x[0] = gen.normal(size=chains) / math.sqrt(1 - rho ** 2)
    for t in range(1, n):
        x[t] = rho * x[t - 1] + gen.normal(size=chains)
    if shift is not None:
        x += shift
    return x


TRACES = {
    "iid": lambda: np.random.default_rng(0).normal(size=(200, 4)),
    "ar1_0.9": lambda: _ar1(301, 3, 0.9, 1),  # odd draws: the middle one is dropped by splitting
    "ar1_neg": lambda: _ar1(120, 2, -0.5, 2),
    "shifted": lambda: _ar1(150, 4, 0.5, 3, shift=np.array([0, 0, 0, 2.0])),
    "ties": lambda: np.random.default_rng(4).integers(0, 3, size=(100, 4)).astype(float),
    "one_chain": lambda: _ar1(100, 1, 0.3, 5),
}


@pytest.mark.parametrize("name", sorted(TRACES))
def test_against_reference(name):
    a = TRACES[name]()
    assert fd.rhat(a, method="split") == pytest.approx(ref_rhat_basic(ref_split(a)), rel=1e-10)
    assert fd.rhat(a) == pytest.approx(ref_rhat_rank(a), rel=1e-10)
    assert fd.ess(a, method="mean") == pytest.approx(ref_ess_basic(ref_split(a)), rel=1e-8)
    assert fd.ess(a) == pytest.approx(ref_ess_basic(ref_zsplit(a)), rel=1e-8)
    assert fd.ess(a, method="tail") == pytest.approx(ref_ess_tail(a), rel=1e-8)


def test_known_behaviour():
    iid = np.random.default_rng(0).normal(size=(2000, 4))
    assert abs(fd.rhat(iid) - 1) < 0.01
    assert 0.8 * 8000 < fd.ess(iid) < 1.2 * 8000
    # AR(1): ESS ~ N (1 - rho) / (1 + rho)
    ar = _ar1(4000, 4, 0.8, 7)
    assert 0.75 < fd.ess(ar, method="mean") / (16000 * 0.2 / 1.8) < 1.3
    bad = _ar1(500, 4, 0.5, 3, shift=np.array([0, 0, 0, 3.0]))
    assert fd.rhat(bad) > 1.1
    # a 1-D trace is one chain; extra trailing axes are vectorised
    assert fd.rhat(iid[:, 0]) == fd.rhat(iid[:, :1])
    stacked = np.stack([iid, bad[:2000] if len(bad) >= 2000 else iid * 2], axis=-1)
    out = fd.rhat(stacked)
    assert out.shape == (2,) and out[0] == fd.rhat(iid)
    # constant trace: ESS is the number of draws
    assert fd.ess(np.ones((10, 2))) == 20


def test_energy_trace_of_gibbs():
    m = fd.PairwiseMRF.grid((8, 8), 2, 0.4)
    res = fd.gibbs(m, 4, 200, burn_in=50, rng=0)
    assert fd.rhat(res.energy) < 1.05
    assert 50 < fd.ess(res.energy) <= 4 * 200 * 2


def test_errors():
    with pytest.raises(ValueError, match="at least 4 draws"):
        fd.rhat(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="method"):
        fd.ess(np.zeros((10, 2)), method="median")
    with pytest.raises(TypeError):
        fd.rhat(np.array(["a"] * 10))
