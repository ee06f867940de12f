"""Tables and scikit-learn wrappers vs what a user would write by hand.

- ``table-transform``: :meth:`fastdgm.table.TableEncoder.transform` (categories -> states and
  missing mask) vs one ``pd.Categorical(column, categories=...).codes`` per column;
- ``table-inverse``: :meth:`TableEncoder.inverse_transform` vs one
  ``pd.Categorical.from_codes`` per column;
- ``sklearn-score_samples``: the estimator's input validation on top of ``model_.log_prob``
  (``fastdgm``) vs ``model_.log_prob`` alone (``model``).

Full size: ``pytest benchmarks/bench_table.py --benchmark-enable``.
"""
import numpy as np
import pytest

import fastdgm as fd
from conftest import pick

pd = pytest.importorskip("pandas")


def _table(n, d=8, C=12, seed=0):
    rng = np.random.default_rng(seed)
    cats = [f"category {k}" for k in range(C)]
    cols = {}
    for j in range(d):
        codes = rng.integers(0, C, n)
        codes[rng.random(n) < 0.1] = -1
        col = pd.Categorical.from_codes(codes, cats)
        cols[f"c{j}"] = col if j % 2 else pd.Series(col).astype(object)   # half categorical, half strings
    return pd.DataFrame(cols)


@pytest.mark.parametrize("impl", ["fastdgm", "pandas"])
def test_table_transform(measure, full_size, impl):
    from fastdgm.table import TableEncoder

    n = pick(full_size, 10**6, 1000)
    df = _table(n)
    enc = TableEncoder().fit(df)
    cats = {c: enc.categories(c) for c in enc.columns}

    def by_hand():
        X = np.empty(df.shape, dtype=np.uint8)
        M = np.empty(df.shape, dtype=bool)
        for j, c in enumerate(df.columns):
            codes = pd.Categorical(df[c], categories=cats[c]).codes
            M[:, j] = codes < 0
            X[:, j] = np.maximum(codes, 0)
        return X, M

    np.testing.assert_array_equal(enc.transform(df)[0], by_hand()[0])
    measure(f"table-transform-{n:.0e}x8", impl, {"fastdgm": lambda: enc.transform(df), "pandas": by_hand},
            n=n, d=8, C=12, kernel="table-transform")


@pytest.mark.parametrize("impl", ["fastdgm", "pandas"])
def test_table_inverse_transform(measure, full_size, impl):
    from fastdgm.table import TableEncoder

    n = pick(full_size, 10**6, 1000)
    df = _table(n)
    enc = TableEncoder().fit(df)
    X, M = enc.transform(df)
    cats = {c: enc.categories(c) for c in enc.columns}

    def by_hand():
        out = {}
        for j, c in enumerate(df.columns):
            col = pd.Categorical.from_codes(np.where(M[:, j], -1, X[:, j].astype(np.int16)), cats[c])
            out[c] = col if isinstance(df[c].dtype, pd.CategoricalDtype) else pd.Series(col).astype(object)
        return pd.DataFrame(out)

    measure(f"table-inverse-{n:.0e}x8", impl, {"fastdgm": lambda: enc.inverse_transform(X, M), "pandas": by_hand},
            n=n, d=8, C=12, kernel="table-inverse")


@pytest.mark.parametrize("impl", ["fastdgm", "model"])
def test_sklearn_score_samples(measure, full_size, impl):
    pytest.importorskip("sklearn")
    from fastdgm.sklearn import ChowLiuTreeDensity

    n = pick(full_size, 10**6, 1000)
    X = np.random.default_rng(0).integers(0, 4, (n, 32)).astype(np.uint8)
    est = ChowLiuTreeDensity().fit(X[:10000])
    with fd.threads(1):
        measure(f"sklearn-score_samples-{n:.0e}x32", impl,
                {"fastdgm": lambda: est.score_samples(X), "model": lambda: est.model_.log_prob(X)},
                n=n, d=32, C=4, kernel="sklearn-score_samples")
