"""Categorical tables in and out: pandas DataFrames (and Arrow tables) of categorical columns
(optional extra: ``pip install 'fastdgm[table]'``).

- :class:`TableEncoder` maps each column's categories to states 0 .. C_j - 1 and back, turns
  missing cells into a boolean ``missing`` mask, and saves itself as plain arrays.
- :class:`TableModel` is a fitted fastdgm model with its encoder: ``log_prob``, ``score``,
  ``fill`` and ``sample`` take and return DataFrames with the original column names,
  categories and dtypes; ``save``/``load`` keep both in one model file.
- :func:`marginal_tv` compares two tables column by column and pair by pair (total variation
  of every one- and two-column marginal), the usual fidelity score of a synthetic table.

Example: a synthetic copy of a table with missing cells::

    import fastdgm as fd
    from fastdgm.table import TableModel, marginal_tv

    tm = TableModel.fit(fd.HiddenChowLiuTree, train, n_hidden=8, rng=0)  # missing cells allowed
    completed = tm.fill(train, rng=1)          # the missing cells drawn given the observed ones
    synthetic = tm.sample(len(train), rng=2)   # same columns, categories and dtypes
    print(tm.score(test))                      # mean log-likelihood of held-out rows (nats)
    print(marginal_tv(test, synthetic).groupby("order")["tv"].max())

Columns: pandas categorical (the states follow the order of its categories, unused categories
included, ``ordered`` kept), strings (``object``, ``str`` or ``string`` dtype; states in sorted
order), booleans (``bool``, ``boolean``, or ``object`` holding bools: False = 0, True = 1),
integers and floats (numpy or nullable dtypes; sorted distinct values). Missing cells (NaN,
None, ``pd.NA``) are missing states, never a category. An Arrow table is read through its
pandas view (``Table.to_pandas``; integer and boolean columns without pandas metadata become
nullable ``Int64``/``boolean`` so that nulls keep their type); results are DataFrames
(``pyarrow.Table.from_pandas`` turns them back).

States: a model has one number of states C for every column, ``C = max_j C_j``. A column with
fewer categories gives states >= C_j no probability: after fitting, :class:`TableModel` sets
the model's tables to zero there and renormalises, so the model is a distribution over the
tables the schema allows (samples and fills never leave it, and ``log_prob`` sums to one over
them).

Importing :mod:`fastdgm` never imports pandas; importing this module does.

Layout: ``_columns.py`` (column kinds, dtypes, how categories are written to a file),
``encoder.py`` (:class:`TableEncoder`), ``model.py`` (:class:`TableModel`), ``compare.py``
(:func:`marginal_tv`).
"""
from .compare import marginal_tv
from .encoder import TableEncoder
from .model import TableModel

__all__ = ["TableEncoder", "TableModel", "marginal_tv"]
