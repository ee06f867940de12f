"""Goodness-of-fit helpers shared by the sampler tests."""
import numpy as np
from scipy import stats

ALPHA = 1e-4   # a correct sampler fails a test with probability 1e-4 at most (fixed seeds: never)


def g_test_pvalue(counts, probs):
    """G-test p-value of observed counts against exact probabilities.

    Bins with expected count < 5 are merged (smallest first). A category of probability
    zero must have a zero count (asserted)."""
    counts = np.asarray(counts, dtype=np.float64).ravel()
    probs = np.asarray(probs, dtype=np.float64).ravel()
    assert counts.shape == probs.shape
    zero = probs <= 0
    assert counts[zero].sum() == 0, "a zero-probability category was drawn"
    counts, exp = counts[~zero], probs[~zero] / probs[~zero].sum() * counts.sum()
    c_m, e_m, ac, ae = [], [], 0.0, 0.0
    for i in np.argsort(exp):
        ac += counts[i]
        ae += exp[i]
        if ae >= 5:
            c_m.append(ac)
            e_m.append(ae)
            ac = ae = 0.0
    if ae > 0:
        if e_m:
            c_m[-1] += ac
            e_m[-1] += ae
        else:
            c_m.append(ac)
            e_m.append(ae)
    if len(c_m) < 2:
        return 1.0
    c_m, e_m = np.array(c_m), np.array(e_m)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = 2 * np.sum(np.where(c_m > 0, c_m * np.log(c_m / e_m), 0.0))
    return stats.chi2.sf(g, len(c_m) - 1)


def g_test(counts, probs, alpha=ALPHA):
    """Assert that the G-test does not reject at level ``alpha``; return the p-value."""
    pval = g_test_pvalue(counts, probs)
    assert pval > alpha, f"G-test rejects: p={pval:.2e}"
    return pval
