"""Estimators: exact KL against closed forms and enumeration, Monte-Carlo estimates within a
few standard errors, standard errors calibrated (coverage over repeats), plug-in entropy."""
import math
import pickle

import numpy as np
import pytest
from scipy import stats

import fastdgm as fd
from fastdgm.slow import likelihood as slow


def kl_closed_form(P, Q):
    """sum_j sum_x P log(P/Q) for (d, C) tables, by loops."""
    total = 0.0
    for p_row, q_row in zip(np.atleast_2d(P), np.atleast_2d(Q)):
        for p, q in zip(p_row, q_row):
            if p > 0:
                total += math.inf if q == 0 else p * math.log(p / q)
    return total


# ---------------------------------------------------------------------------------------
# Estimate
# ---------------------------------------------------------------------------------------
def test_estimate_works_as_a_float():
    e = fd.Estimate(1.5, 0.1, 100)
    assert float(e) == 1.5 and e.value == 1.5 and e.stderr == 0.1 and e.n == 100
    assert e + 1 == 2.5 and 2 * e == 3.0 and e / 3 == 0.5 and -e == -1.5
    assert e > 1 and e < 2 and e == 1.5 and abs(e - 1.5) == 0
    assert np.isclose(e, 1.5) and math.isfinite(e) and f"{e:.2f}" == "1.50"
    value, se, n = e
    assert (value, se, n) == (1.5, 0.1, 100)
    lo, hi = e.ci()
    assert lo == pytest.approx(1.5 - 1.96 * 0.1, rel=1e-3) and hi == pytest.approx(1.5 + 1.96 * 0.1, rel=1e-3)
    assert "stderr=0.1" in repr(e) and "n=100" in repr(e)
    e2 = pickle.loads(pickle.dumps(e))
    assert (float(e2), e2.stderr, e2.n) == (1.5, 0.1, 100)
    assert fd.Estimate(2.0).exact and not e.exact


# ---------------------------------------------------------------------------------------
# exact KL
# ---------------------------------------------------------------------------------------
def test_kl_factorized_closed_form_and_enumeration():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(4), size=5)
    Q = rng.dirichlet(np.ones(4), size=5)
    P[2, 1] = 0.0
    P[2] /= P[2].sum()
    p, q = fd.Factorized(P), fd.Factorized(Q)
    kl = fd.kl_divergence(p, q)
    assert kl.exact
    assert kl == pytest.approx(kl_closed_form(P, Q), rel=1e-12)
    assert fd.kl_divergence(p, q, method="enumerate") == pytest.approx(kl, rel=1e-10)
    assert fd.kl_divergence(p, p) == 0.0
    assert fd.kl_divergence(q, p) == math.inf          # q gives mass where p has none
    assert not np.isnan(fd.kl_divergence(p, q))


def test_kl_categorical_pairs():
    a = fd.Categorical([0.2, 0.3, 0.5])
    b = fd.Categorical([0.5, 0.0, 0.5])
    assert fd.kl_divergence(b, a) == pytest.approx(kl_closed_form([0.5, 0.0, 0.5], [0.2, 0.3, 0.5]))
    assert fd.kl_divergence(a, b) == math.inf
    f = fd.Factorized([[0.1, 0.1, 0.8]])
    assert fd.kl_divergence(a, f) == pytest.approx(kl_closed_form([0.2, 0.3, 0.5], [0.1, 0.1, 0.8]))
    assert fd.kl_divergence(a, f, method="enumerate") == pytest.approx(fd.kl_divergence(a, f))


def test_kl_enumeration_tree_and_mixture():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 3, size=(400, 4))
    X[:, 1] = X[:, 0]
    t = fd.ChowLiuTree.fit(X, 3)
    m = fd.Mixture.fit(X, n_components=2, n_states=3, rng=0, max_iter=10)
    Xall = slow.all_states(4, 3)
    lt, lm = t.log_prob(Xall), m.log_prob(Xall)
    exact = np.sum(np.exp(lt) * (lt - lm))
    kl = fd.kl_divergence(t, m)
    assert kl.exact and kl == pytest.approx(exact, rel=1e-10)
    # Monte Carlo agrees within a few standard errors
    mc = fd.kl_divergence(t, m, method="mc", n=50_000, rng=2)
    assert mc.n == 50_000 and abs(mc - exact) < 4 * mc.stderr
    # too big to enumerate: Monte Carlo automatically
    big_t = fd.ChowLiuTree.fit(rng.integers(0, 2, size=(300, 25)), 2)
    big_f = fd.Factorized.fit(rng.integers(0, 2, size=(300, 25)), 2)
    auto = fd.kl_divergence(big_t, big_f, n=2000, rng=3)
    assert auto.n == 2000 and auto.stderr > 0


def test_kl_divergence_errors():
    a = fd.Factorized(np.ones((2, 3)))
    with pytest.raises(ValueError, match="same"):
        fd.kl_divergence(a, fd.Factorized(np.ones((3, 3))))
    with pytest.raises(TypeError, match="q_model"):
        fd.kl_divergence(a, np.ones((2, 3)))
    with pytest.raises(ValueError, match="method"):
        fd.kl_divergence(a, a, method="magic")
    t = fd.ChowLiuTree.fit(np.zeros((3, 2), dtype=int) + [0, 1], 3)
    with pytest.raises(ValueError, match="exact"):
        fd.kl_divergence(t, a, method="exact")


# ---------------------------------------------------------------------------------------
# Monte-Carlo estimators: accuracy and calibration of the standard errors
# ---------------------------------------------------------------------------------------
def _coverage(estimates, exact):
    values = np.array([float(e) for e in estimates])
    se = np.array([e.stderr for e in estimates])
    return np.mean(np.abs(values - exact) <= 1.959964 * se), values, se


def _check_calibrated(estimates, exact, repeats):
    cover, values, se = _coverage(estimates, exact)
    # 95% nominal; a binomial(repeats, 0.95) falls below lo with probability < 1e-4
    lo = stats.binom.ppf(1e-4, repeats, 0.95) / repeats
    assert cover >= lo, f"coverage {cover:.3f} < {lo:.3f}"
    assert cover < 1.0 - 1e-12 or repeats < 100  # not trivially wide intervals
    # the standard error matches the spread of the estimates across repeats
    assert np.std(values, ddof=1) == pytest.approx(np.mean(se), rel=0.2)


def test_entropy_and_kl_estimates_calibrated():
    rng = np.random.default_rng(4)
    p = fd.Factorized(rng.dirichlet(np.ones(3), size=4))
    q = fd.Factorized(rng.dirichlet(np.ones(3), size=4))
    repeats, n = 200, 400
    S = p.sample(repeats * n, rng=5)
    lp = p.log_prob(S).reshape(repeats, n)
    lq = q.log_prob(S).reshape(repeats, n)
    h = [fd.entropy_estimate(r) for r in lp]
    kl = [fd.kl_estimate(a, b) for a, b in zip(lp, lq)]
    ce = [fd.cross_entropy(b) for b in lq]
    _check_calibrated(h, p.entropy(), repeats)
    _check_calibrated(kl, fd.kl_divergence(p, q), repeats)
    _check_calibrated(ce, p.entropy() + fd.kl_divergence(p, q), repeats)
    # all samples together: within a few standard errors of the truth
    allh = fd.entropy_estimate(lp.ravel())
    assert allh.n == repeats * n and abs(allh - p.entropy()) < 4 * allh.stderr
    # a standard error too small by 2x would be caught
    half = [fd.Estimate(float(e), e.stderr / 2, e.n) for e in h]
    assert _coverage(half, p.entropy(), )[0] < stats.binom.ppf(1e-4, repeats, 0.95) / repeats


def test_cross_entropy_is_negative_score():
    rng = np.random.default_rng(6)
    X = rng.integers(0, 3, size=(500, 4))
    m = fd.Factorized.fit(X, 3)
    assert fd.cross_entropy(m.log_prob(X)) == pytest.approx(-m.score(X), rel=1e-12)


def test_estimator_input_errors():
    with pytest.raises(ValueError, match=r"log_p\[2\] = nan"):
        fd.entropy_estimate([0.1, -1.0, np.nan])
    with pytest.raises(ValueError, match=r"log_p\[1\] = -inf"):
        fd.kl_estimate([-1.0, -np.inf], [-1.0, -2.0])
    with pytest.raises(ValueError, match=r"log_q\[0\] = inf"):
        fd.kl_estimate([-1.0, -1.0], [np.inf, -2.0])
    with pytest.raises(ValueError, match="same shape"):
        fd.kl_estimate([-1.0, -1.0], [-1.0])
    with pytest.raises(ValueError, match="empty"):
        fd.entropy_estimate([])
    with pytest.raises(TypeError):
        fd.entropy_estimate(["a"])
    inf = fd.kl_estimate([-1.0, -1.0], [-np.inf, -2.0])
    assert inf == math.inf and inf.stderr == math.inf
    assert fd.cross_entropy([-np.inf, -1.0]) == math.inf


# ---------------------------------------------------------------------------------------
# plug-in entropy of data
# ---------------------------------------------------------------------------------------
def test_empirical_entropy_plug_in_and_miller_madow():
    X = np.array([[0, 1], [0, 1], [1, 0], [2, 2]])
    h = -(0.5 * np.log(0.5) + 2 * 0.25 * np.log(0.25))
    assert fd.empirical_entropy(X) == pytest.approx(h)
    assert fd.empirical_entropy(X, correction="miller-madow") == pytest.approx(h + (3 - 1) / (2 * 4))
    assert fd.empirical_entropy(np.array([3, 3, 3])) == 0.0
    assert fd.empirical_entropy(X.astype(np.uint16)) == pytest.approx(h)
    with pytest.raises(ValueError, match="correction"):
        fd.empirical_entropy(X, correction="jackknife")
    with pytest.raises(ValueError, match=r"X\[0, 0\] = -1"):
        fd.empirical_entropy(np.array([[-1, 0]]))


def test_empirical_entropy_converges_and_miller_madow_reduces_bias():
    rng = np.random.default_rng(7)
    p = fd.Factorized(rng.dirichlet(np.ones(3), size=3))
    exact = p.entropy()
    S = p.sample(200 * 100, rng=8).reshape(200, 100, 3)
    plain = np.mean([fd.empirical_entropy(s) for s in S])
    mm = np.mean([fd.empirical_entropy(s, correction="miller-madow") for s in S])
    assert plain < exact                                 # plug-in is biased low
    assert abs(mm - exact) < abs(plain - exact) / 2       # Miller-Madow removes most of it
    big = fd.empirical_entropy(p.sample(200_000, rng=9))
    assert big == pytest.approx(exact, abs=2e-3)
