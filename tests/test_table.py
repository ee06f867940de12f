"""fastdgm.table: categorical tables in and out (TableEncoder, TableModel, marginal_tv)."""
import itertools
import subprocess
import sys

import numpy as np
import pytest

import fastdgm as fd

pd = pytest.importorskip("pandas")

from fastdgm.table import TableEncoder, TableModel, marginal_tv  # noqa: E402

from gof import g_test  # noqa: E402
from isolated import ROOT, isolated_env  # noqa: E402

MODELS = [(fd.Factorized, {}), (fd.ChowLiuTree, {}), (fd.Mixture, dict(n_components=2, rng=0, max_iter=20)),
          (fd.TreeMixture, dict(n_components=2, rng=0, max_iter=10)),
          (fd.HiddenChowLiuTree, dict(n_hidden=3, rng=0, max_iter=20))]


def _every_dtype():
    """One column of every supported kind, with missing cells where the dtype allows them."""
    df = pd.DataFrame({
        "str": pd.Series(["a", "b", None, "a"], dtype="str" if pd.__version__ >= "3" else object),
        "object": pd.Series(["x", None, "y", "x"], dtype=object),
        "string": pd.array(["u", pd.NA, "v", "v"], dtype="string"),
        "bool": [True, False, True, True],
        "object_bool": pd.Series([True, None, False, True], dtype=object),
        "boolean": pd.array([True, pd.NA, False, False], dtype="boolean"),
        "int": np.array([3, 1, 7, 3], dtype=np.int32),
        "uint8": np.array([0, 2, 2, 0], dtype=np.uint8),
        "int_with_nan": [1.0, np.nan, 3.0, 1.0],
        "Int64": pd.array([5, pd.NA, -2, 5], dtype="Int64"),
        "float": [0.5, 1.25, np.nan, 0.1 + 0.2],
        "cat": pd.Categorical(["lo", None, "hi", "lo"], categories=["lo", "mid", "hi"], ordered=True),
        "cat_int": pd.Categorical([10, 20, None, 10]),
        7: ["p", "q", "p", "q"],
    })
    df.index = pd.Index([10, 11, 12, 13], name="row")
    return df


def test_round_trip_keeps_names_categories_dtypes_and_missing_cells():
    df = _every_dtype()
    enc = TableEncoder().fit(df)
    X, missing = enc.transform(df)
    assert X.dtype == np.uint8 and X.shape == df.shape and missing.dtype == bool
    np.testing.assert_array_equal(missing, df.isna().to_numpy())
    assert np.all(X[missing] == 0)
    out = enc.inverse_transform(X, missing, index=df.index)
    pd.testing.assert_frame_equal(out, df, check_exact=True)
    for c in df.columns:
        assert out[c].dtype == df[c].dtype, c
    assert list(out["cat"].cat.categories) == ["lo", "mid", "hi"] and out["cat"].cat.ordered
    # states: categorical order (unused "mid" kept), sorted values, False < True
    assert enc.categories("cat") == ["lo", "mid", "hi"] and enc.categories("int") == [1, 3, 7]
    assert enc.categories("bool") == [False, True] and enc.categories("object_bool") == [False, True]
    assert enc.n_states == 3 and enc.n_categories.tolist()[enc.columns.index("cat")] == 3
    # through plain arrays, as in a model file
    params = enc.get_params(prefix="t_")
    assert all(isinstance(v, np.ndarray) and not v.dtype.hasobject for v in params.values())
    again = TableEncoder.from_params(params, prefix="t_")
    pd.testing.assert_frame_equal(again.inverse_transform(X, missing, index=df.index), df, check_exact=True)
    np.testing.assert_array_equal(again.transform(df)[0], X)


def test_transform_takes_columns_in_any_order_and_other_dtypes_of_the_same_values():
    df = _every_dtype()
    enc = TableEncoder().fit(df)
    X, M = enc.transform(df)
    shuffled = df[list(reversed(df.columns))]
    np.testing.assert_array_equal(enc.transform(shuffled)[0], X)
    complete = pd.DataFrame({"n": [1.0, 2.0, 2.0]})
    enc = TableEncoder().fit(complete)
    np.testing.assert_array_equal(enc.transform(pd.DataFrame({"n": [2, 1]}))[0], [[1], [0]])


def test_a_missing_cell_in_a_non_nullable_column_gives_the_nullable_twin():
    df = pd.DataFrame({"b": [True, False], "i": np.array([4, 5], dtype=np.int64)})
    enc = TableEncoder().fit(df)
    X, _ = enc.transform(df)
    out = enc.inverse_transform(X, np.array([[True, False], [False, True]]))
    assert str(out["b"].dtype) == "boolean" and str(out["i"].dtype) == "Int64"
    assert out["b"].isna().tolist() == [True, False] and out["i"].tolist()[0] == 4


def test_unknown_categories_and_bad_tables_are_errors():
    df = pd.DataFrame({"colour": ["red", "blue"], "size": [1, 2]})
    enc = TableEncoder().fit(df)
    with pytest.raises(ValueError, match=r"column 'colour': unknown category 'green'"):
        enc.transform(pd.DataFrame({"colour": ["red", "green"], "size": [1, 1]}))
    with pytest.raises(ValueError, match=r"column 'size': unknown category 3"):
        enc.transform(pd.DataFrame({"colour": ["red"], "size": [3]}))
    with pytest.raises(ValueError, match=r"missing \['size'\]"):
        enc.transform(df[["colour"]])
    with pytest.raises(ValueError, match=r"unexpected \['extra'\]"):
        enc.transform(df.assign(extra=1))
    with pytest.raises(TypeError, match="pandas DataFrame"):
        enc.transform(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="not fitted"):
        TableEncoder().transform(df)
    with pytest.raises(TypeError, match=r"column 'when'.*datetime64"):
        TableEncoder().fit(pd.DataFrame({"when": pd.to_datetime(["2020-01-01", "2021-01-01"])}))
    with pytest.raises(TypeError, match=r"column 'mixed' mixes integers and strings"):
        TableEncoder().fit(pd.DataFrame({"mixed": pd.Series([1, "a"], dtype=object)}))
    with pytest.raises(ValueError, match=r"column 'empty' has no observed cell"):
        TableEncoder().fit(pd.DataFrame({"empty": [None, None], "x": [1, 2]}))
    with pytest.raises(ValueError, match="duplicate column"):
        TableEncoder().fit(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    with pytest.raises(ValueError, match=r"X\[1, 0\] = 2 is no state of column 'colour'"):
        enc.inverse_transform(np.array([[0, 0], [2, 0]]))
    with pytest.raises(TypeError, match="integer dtype"):
        enc.inverse_transform(np.zeros((1, 2)))


@pytest.mark.parametrize("edit,match", [
    (lambda p: p.pop("columns"), "no array 'columns'"),
    (lambda p: p.__setitem__("dtypes", np.array(["int64", "datetime64[ns]"])), "unknown dtype"),
    (lambda p: p.__setitem__("kinds", np.array(["U", "q"])), "unknown kind"),
    (lambda p: p.__setitem__("n_categories", np.array([2, 5])), "adds up"),
    (lambda p: p.__setitem__("n_categories", np.array([0, 4])), "n_categories"),
    (lambda p: p.__setitem__("ordered", np.array([True])), "shape"),
    (lambda p: p.__setitem__("categories", np.array(["blue", "blue", "1", "2"])), "repeats a category"),
    (lambda p: p.__setitem__("categories", np.array(["blue", "red", "1", "two"])), "'two' is not one of integers"),
    (lambda p: p.__setitem__("categories", np.array([1.0, 2.0, 1.0, 2.0])), "kind 'U'"),
    (lambda p: p.__setitem__("category_dtypes", np.array(["str", ""])), "category dtype"),
])
def test_from_params_validates_every_array(edit, match):
    enc = TableEncoder().fit(pd.DataFrame({"colour": ["red", "blue"], "size": [1, 2]}))
    params = enc.get_params()
    edit(params)
    with pytest.raises(ValueError, match=match):
        TableEncoder.from_params(params)


def test_arrow_tables_are_read_natively():
    pa = pytest.importorskip("pyarrow")
    t = pa.table({"x": pa.array([1, None, 3]), "y": pa.array(["a", "b", None]), "z": pa.array([True, None, False]),
                  "d": pa.array(["u", "v", "u"]).dictionary_encode()})
    enc = TableEncoder().fit(t)
    X, M = enc.transform(t)
    np.testing.assert_array_equal(M, [[0, 0, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0]])
    out = enc.inverse_transform(X, M)
    assert [str(out[c].dtype) for c in "xzd"] == ["Int64", "boolean", "category"]
    assert out["x"].tolist()[::2] == [1, 3] and out["d"].tolist() == ["u", "v", "u"]
    # a table written from pandas comes back with its pandas dtypes
    df = _every_dtype().drop(columns=[7]).reset_index(drop=True)
    enc = TableEncoder().fit(pa.Table.from_pandas(df, preserve_index=False))
    X, M = enc.transform(df)
    assert enc.inverse_transform(X, M)["cat"].dtype == df["cat"].dtype


def _random_table(n, seed, counts=(2, 3, 4)):
    """A table from a random Chow-Liu tree, column j with counts[j] categories."""
    rng = np.random.default_rng(seed)
    cols = {}
    prev = rng.integers(0, counts[0], n)
    cols["a"] = np.array(["no", "yes"])[prev] if counts[0] == 2 else prev
    for j, c in enumerate(counts[1:], 1):
        table = rng.dirichlet(np.ones(c) * 0.3, size=counts[j - 1])
        cur = (rng.random(n)[:, None] > np.cumsum(table[prev], axis=1)).sum(axis=1)
        cols["abcdefgh"[j]] = pd.Categorical.from_codes(cur, [f"{'abcdefgh'[j]}{k}" for k in range(c)])
        prev = cur
    return pd.DataFrame(cols)


@pytest.mark.parametrize("cls,kw", MODELS)
def test_columns_with_fewer_states_get_no_probability(cls, kw):
    df = _random_table(400, 1)
    tm = TableModel.fit(cls, df, **kw)
    assert tm.model.n_states == 4
    grid = pd.DataFrame(list(itertools.product(*(tm.encoder.categories(c) for c in tm.columns))), columns=tm.columns)
    grid = grid.astype({c: df[c].dtype for c in df.columns})
    p = np.exp(tm.log_prob(grid))
    assert p.sum() == pytest.approx(1.0, abs=1e-10)           # a distribution over the allowed tables
    sample = tm.sample(3000, rng=5)                            # never a state outside a column
    X, M = tm.encoder.transform(sample)
    assert not M.any()
    Xg = tm.encoder.transform(grid)[0]
    index = {tuple(r): i for i, r in enumerate(Xg.tolist())}
    counts = np.bincount([index[tuple(r)] for r in X.tolist()], minlength=len(grid))
    g_test(counts, p)
    pd.testing.assert_frame_equal(sample, tm.encoder.inverse_transform(tm.model.sample(3000, rng=5)))
    assert list(sample.dtypes) == list(df.dtypes)


@pytest.mark.parametrize("cls,kw", MODELS)
def test_complete_table_fit_is_the_model_fit(cls, kw):
    df = _random_table(300, 2, counts=(2, 2, 2))                # every column with C states: no restriction
    tm = TableModel.fit(cls, df, **kw)
    X, _ = tm.encoder.transform(df)
    model = cls.fit(X, **kw)
    np.testing.assert_array_equal(tm.log_prob(df), model.log_prob(X))
    assert tm.score(df) == pytest.approx(model.score(X), rel=1e-14)
    assert TableModel.fit(cls.__name__, df, **kw).score(df) == tm.score(df)


def test_fill_keeps_observed_cells_and_fills_every_missing_one():
    df = _random_table(500, 3)
    masked = df.mask(np.random.default_rng(4).random(df.shape) < 0.25)
    tm = TableModel.fit(fd.ChowLiuTree, masked, rng=0)
    filled = tm.fill(masked, rng=6)
    assert not filled.isna().any().any() and list(filled.index) == list(masked.index)
    observed = masked.notna()
    for c in df.columns:
        assert (filled[c][observed[c]] == masked[c][observed[c]]).all(), c
        assert filled[c].dtype == masked[c].dtype
    X, M = tm.encoder.transform(masked)
    pd.testing.assert_frame_equal(filled, tm.encoder.inverse_transform(tm.model.fill(X, M, rng=6), index=masked.index))
    # log_prob of rows with missing cells is the exact marginal: the sum over their completions
    row = masked[masked.isna().sum(axis=1) == 1].iloc[:1]
    col = row.columns[row.isna().to_numpy()[0]][0]
    completions = pd.concat([row.assign(**{col: v}) for v in tm.encoder.categories(col)])
    completions = completions.astype(masked.dtypes.to_dict())
    assert tm.log_prob(row)[0] == pytest.approx(np.logaddexp.reduce(tm.log_prob(completions)), abs=1e-12)


def test_fit_with_missing_cells_recovers_the_full_data_fit():
    df = _random_table(4000, 5, counts=(2, 3, 4, 3, 4, 2))
    train, test = df.iloc[:3000], df.iloc[3000:]
    masked = train.mask(np.random.default_rng(6).random(train.shape) < 0.3)     # 30% of cells MCAR
    full = TableModel.fit(fd.ChowLiuTree, train).score(test)
    imputed = TableModel.fit(fd.ChowLiuTree, masked, rng=0).score(test)
    complete_rows = TableModel.fit(fd.ChowLiuTree, masked.dropna()).score(test)   # ~12% of the rows
    independent = TableModel.fit(fd.Factorized, train).score(test)
    # 30% of the cells lost cost less than 0.02 nats; the complete rows alone lose 0.045
    assert full - 0.02 < imputed and imputed > complete_rows + 0.02 and imputed > independent + 1.0


def test_save_and_load(tmp_path):
    df = _every_dtype().reset_index(drop=True)
    tm = TableModel.fit("hclt", df, n_hidden=2, rng=0, max_iter=5)
    path = tmp_path / "table_model.npz"
    tm.save(path)
    back = TableModel.load(path)
    assert type(back.model) is fd.HiddenChowLiuTree and back.columns == tm.columns
    np.testing.assert_array_equal(back.log_prob(df), tm.log_prob(df))
    pd.testing.assert_frame_equal(back.sample(20, rng=1), tm.sample(20, rng=1), check_exact=True)
    plain = tmp_path / "plain.npz"
    tm.model.save(plain)
    with pytest.raises(ValueError, match="plain.npz: the arrays hold a HiddenChowLiuTree without a table encoder"):
        TableModel.load(plain)
    params = tm.get_params()
    assert all(isinstance(v, np.ndarray) and not v.dtype.hasobject for v in params.values())
    np.testing.assert_array_equal(TableModel.from_params(params).log_prob(df), tm.log_prob(df))
    with pytest.raises(ValueError, match="must name a fastdgm model class"):
        TableModel.from_params({**params, "__model__": np.asarray("Nope")})
    params["emit_probs"] = params["emit_probs"][:, :1]          # the model's own checks run too
    with pytest.raises(ValueError):
        TableModel.from_params(params)


def test_table_model_errors():
    df = _random_table(50, 7)
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        TableModel.fit("nope", df)
    with pytest.raises(TypeError, match="model class"):
        TableModel.fit(3, df)
    with pytest.raises(ValueError, match="n_states = 2 is below"):
        TableModel.fit(fd.Factorized, df, n_states=2)
    tm = TableModel.fit(fd.Factorized, df, n_states=6)
    assert tm.model.n_states == 6 and np.exp(tm.log_prob(tm.sample(5, rng=0))).max() < 1
    with pytest.raises(ValueError, match="does not fit the encoder"):
        TableModel(fd.Factorized.fit(np.zeros((3, 2), int), n_states=4), tm.encoder)
    with pytest.raises(ValueError, match="column 'c': unknown category 'c9'"):
        tm.log_prob(df.astype({"c": str}).assign(c="c9"))


def test_marginal_tv_against_crosstabs():
    a, b = _random_table(300, 8), _random_table(200, 9)
    b = b.mask(np.random.default_rng(1).random(b.shape) < 0.1)
    tv = marginal_tv(a, b)
    assert list(tv["order"]) == [1, 1, 1, 2, 2, 2]
    for _, row in tv.iterrows():
        cols = list(row["columns"])
        pa_ = a[cols].dropna().value_counts(normalize=True)
        pb_ = b[cols].dropna().value_counts(normalize=True)
        slow = 0.5 * pa_.sub(pb_, fill_value=0).abs().sum()
        assert row["tv"] == pytest.approx(slow, abs=1e-12), cols
    assert marginal_tv(a, a)["tv"].max() == 0.0
    assert len(marginal_tv(a, b, max_order=1)) == 3


README_EXAMPLE = '''
import numpy as np
import pandas as pd
import fastdgm as fd
from fastdgm.table import TableModel, marginal_tv

# a table of categorical columns: 3000 people
rng = np.random.default_rng(0)
n = 3000
age = rng.choice(["18-30", "31-50", "51-70", "70+"], n, p=[0.3, 0.35, 0.25, 0.1])
old = np.isin(age, ["51-70", "70+"])
table = pd.DataFrame({
    "age": pd.Categorical(age),
    "smoker": rng.random(n) < np.where(old, 0.15, 0.3),
    "children": np.minimum(rng.poisson(np.where(old, 2.0, 0.8)), 4),
    "region": rng.choice(["north", "south", "east", "west"], n),
    "income": pd.Categorical(np.where(rng.random(n) < 0.7, np.where(old, "high", "low"), "mid"),
                             categories=["low", "mid", "high"], ordered=True),
})
# train on 2000 rows with 20% of their cells missing; hold out 1000 complete rows
train = table.iloc[:2000].mask(rng.random((2000, 5)) < 0.2)
test = table.iloc[2000:]

model = TableModel.fit(fd.HiddenChowLiuTree, train, n_hidden=4, rng=0)  # missing cells allowed
completed = model.fill(train, rng=1)        # each missing cell drawn given its row's observed cells
synthetic = model.sample(len(test), rng=2)  # a new table: same columns, categories and dtypes
print(f"held-out log-likelihood: {model.score(test):.3f} nats per row")
tv = marginal_tv(test, synthetic)           # total variation of every 1- and 2-column marginal
print(tv.groupby("order")["tv"].max())
'''


def test_readme_example_synthetic_table():
    ns = {"__name__": "__main__"}
    exec(compile(README_EXAMPLE, "README_EXAMPLE", "exec"), ns)
    train, completed, synthetic, model = ns["train"], ns["completed"], ns["synthetic"], ns["model"]
    test, tv = ns["test"], ns["tv"]
    assert train.isna().to_numpy().mean() == pytest.approx(0.2, abs=0.01)
    assert not completed.isna().any().any()
    for c in train.columns:
        observed = train[c].notna()
        assert (completed[c][observed] == train[c][observed]).all(), c
    assert list(synthetic.columns) == list(train.columns) and list(synthetic.dtypes) == list(train.dtypes)
    assert list(synthetic["income"].cat.categories) == ["low", "mid", "high"]
    # the latent tree learns the dependence the independent model misses ...
    indep = TableModel.fit(fd.Factorized, train)
    assert model.score(test) > indep.score(test) + 0.2
    # ... and its synthetic table is about as close to the held-out marginals as real rows are
    # (mean TV within twice that of 1000 real training rows), unlike the independent model's
    real = marginal_tv(test, ns["table"].iloc[:1000]).groupby("order")["tv"]
    synth = tv.groupby("order")["tv"]
    assert np.all(synth.mean() < 2 * real.mean()), (synth.mean(), real.mean())
    indep_tv = marginal_tv(test, indep.sample(len(test), rng=2)).groupby("order")["tv"]
    assert synth.max()[2] < 0.5 * indep_tv.max()[2]


def test_importing_fastdgm_does_not_import_pandas():
    code = "import sys, fastdgm, fastdgm.models; print('pandas' in sys.modules, 'pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=isolated_env(), cwd=ROOT)
    assert out.stdout.strip() == "False False"
    code = "import sys, fastdgm.table; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=isolated_env(), cwd=ROOT)
    assert out.stdout.strip() == "True"       # the probe can fail


@pytest.mark.parametrize("name", ["fastdgm.table.TableEncoder", "fastdgm.table.TableModel", "fastdgm.table.marginal_tv"]
                         + [f"fastdgm.table.TableEncoder.{m}" for m in
                            ("fit", "transform", "fit_transform", "inverse_transform", "get_params", "from_params",
                             "categories", "columns", "n_categories", "n_states")]
                         + [f"fastdgm.table.TableModel.{m}" for m in
                            ("fit", "log_prob", "score", "fill", "sample", "get_params", "from_params", "save", "load",
                             "columns")])
def test_numpydoc_complete(name):
    validate = pytest.importorskip("numpydoc.validate").validate
    errors = [f"{c}: {m}" for c, m in validate(name)["errors"] if c in {"GL08", "SS01", "PR01", "PR02", "RT01"}]
    assert not errors, errors


def test_same_seed_same_table_model_on_one_and_two_threads():
    df = _random_table(600, 11)
    masked = df.mask(np.random.default_rng(2).random(df.shape) < 0.2)
    out = []
    for n in (1, 2):
        with fd.threads(n):
            tm = TableModel.fit(fd.HiddenChowLiuTree, masked, n_hidden=3, rng=4, max_iter=10)
            out.append((tm.get_params(), tm.fill(masked, rng=5), tm.sample(100, rng=6)))
    (p1, f1, s1), (p2, f2, s2) = out
    assert p1.keys() == p2.keys() and all(np.array_equal(p1[k], p2[k]) for k in p1)
    pd.testing.assert_frame_equal(f1, f2)
    pd.testing.assert_frame_equal(s1, s2)


def test_model_fit_dispatches_tables_and_load_keeps_the_encoder(tmp_path):
    """``Model.fit(df)`` fits through the table layer; ``fd.load`` of its file returns the table
    model, encoder included; numpy input is unchanged."""
    import fastdgm as fd
    from fastdgm.table import TableModel

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": pd.Categorical(rng.choice(["x", "y", "z"], 300)),
                       "b": rng.random(300) < 0.3, "c": rng.choice(["u", "v"], 300)})
    m = fd.HiddenChowLiuTree.fit(df, n_hidden=2, rng=0, max_iter=5)
    assert isinstance(m, TableModel)
    direct = TableModel.fit(fd.HiddenChowLiuTree, df, n_hidden=2, rng=0, max_iter=5)
    np.testing.assert_array_equal(m.log_prob(df), direct.log_prob(df))
    m.save(tmp_path / "t.npz")
    back = fd.load(tmp_path / "t.npz")
    assert isinstance(back, TableModel)
    np.testing.assert_array_equal(back.log_prob(df), m.log_prob(df))
    assert list(back.sample(5, rng=0).columns) == ["a", "b", "c"]
    assert isinstance(fd.HiddenChowLiuTree.fit(np.zeros((10, 3), int), n_hidden=2, max_iter=2),
                      fd.HiddenChowLiuTree)
