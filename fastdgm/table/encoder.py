"""The :class:`TableEncoder`: categories of each column <-> states, missing cells <-> a mask."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

try:
    import pandas as pd
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("fastdgm.table needs pandas: pip install 'fastdgm[table]'") from exc

from .._validation import smallest_uint
from ._columns import (DTYPES, INT_NAMES, KINDS, MAX_CATEGORIES, as_frame, pandas_dtype, from_text, to_text,
                       value_kind, nullable_int)

__all__ = ["TableEncoder"]


class TableEncoder:
    """Map the categories of each column of a table to states 0 .. C_j - 1, and back.

    Fit on a pandas DataFrame (or an Arrow table); see the module documentation for the
    column types and the order of the states. The encoder keeps each column's name, dtype,
    categories (and ``ordered``), so :meth:`inverse_transform` rebuilds a DataFrame of the
    same schema.

    Attributes
    ----------
    columns : list
        Column names, in order.
    n_categories : ndarray of int64, shape (d,)
        C_j, the number of categories of each column.
    n_states : int
        ``max_j C_j``, the number of states of a model of the encoded data.

    Examples
    --------
    >>> import pandas as pd
    >>> from fastdgm.table import TableEncoder
    >>> df = pd.DataFrame({"colour": ["red", "blue", None], "n": [1, 3, 3]})
    >>> enc = TableEncoder().fit(df)
    >>> X, missing = enc.transform(df)
    >>> X.tolist(), missing.tolist()
    ([[1, 0], [0, 1], [0, 1]], [[False, False], [False, False], [True, False]])
    >>> enc.inverse_transform(X, missing).equals(df)
    True
    """

    def __init__(self) -> None:
        self._fitted = False
        self._columns: list = []

    # --- fitting -------------------------------------------------------------------------
    def fit(self, df) -> TableEncoder:
        """Learn the columns, dtypes and categories of a table.

        Parameters
        ----------
        df : pandas.DataFrame or pyarrow.Table
            The table; missing cells (NaN, None, ``pd.NA``) are allowed and are no category.

        Returns
        -------
        TableEncoder
            ``self``.

        Raises
        ------
        TypeError
            A column of an unsupported type (dates, mixed strings and numbers, ...).
        ValueError
            An empty table, duplicate column names, a column with no observed cell or with
            more than 65536 categories.
        """
        df = as_frame(df)
        if df.shape[1] == 0 or df.shape[0] == 0:
            raise ValueError(f"df must have at least one row and one column, got shape {df.shape}")
        if not df.columns.is_unique:
            raise ValueError(f"df has duplicate column names: {sorted(set(df.columns[df.columns.duplicated()]))}")
        for c in df.columns:
            if not isinstance(c, (str, int, np.integer)) or isinstance(c, (bool, np.bool_)):
                raise TypeError(f"column names must be strings or ints, got {c!r}")
        columns, dtypes, kinds, cat_dtypes, ordered, cats = [], [], [], [], [], []
        for name in df.columns:
            s = df[name]
            dtype = s.dtype
            if isinstance(dtype, pd.CategoricalDtype):
                values = list(dtype.categories)
                cat_dtype = str(dtype.categories.dtype)
                if cat_dtype not in DTYPES - {"category"}:
                    raise TypeError(f"column {name!r}: categories of dtype {cat_dtype} are not supported")
                is_ordered = bool(dtype.ordered)
            else:
                cat_dtype, is_ordered = "", False
                if str(dtype) not in DTYPES:
                    raise TypeError(f"column {name!r}: dtype {dtype} is not supported; convert the column to "
                                    f"strings, integers or a categorical")
                uniques = pd.unique(s.dropna())
                if str(dtype) in ("bool", "boolean"):
                    values = [False, True]
                else:
                    values = list(uniques)
                    kind = value_kind(values, name)
                    values = sorted(values) if kind != "b" else [False, True]
            kind = value_kind(values, name)
            if not values:
                raise ValueError(f"column {name!r} has no observed cell: there is nothing to learn about it "
                                 f"(drop it, or make it a categorical with its categories)")
            if len(values) > MAX_CATEGORIES:
                raise ValueError(f"column {name!r} has {len(values)} categories, more than {MAX_CATEGORIES} "
                                 f"(an identifier column? drop it)")
            columns.append(name.item() if isinstance(name, np.integer) else name)
            dtypes.append(str(dtype))
            kinds.append(kind)
            cat_dtypes.append(cat_dtype)
            ordered.append(is_ordered)
            cats.append([from_text(to_text(v, kind), kind, name) for v in values])
        self._set(columns, dtypes, kinds, cat_dtypes, ordered, cats)
        return self

    def _set(self, columns, dtypes, kinds, cat_dtypes, ordered, cats) -> None:
        self._fitted = True
        self._columns = list(columns)
        self._dtypes = list(dtypes)
        self._kinds = list(kinds)
        self._cat_dtypes = list(cat_dtypes)
        self._ordered = list(ordered)
        self._cats = [list(c) for c in cats]
        self._index = [pd.Index(c, dtype=object) for c in cats]

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise ValueError("this TableEncoder is not fitted yet: call fit(df) first")

    # --- properties ----------------------------------------------------------------------
    @property
    def columns(self) -> list:
        """Column names, in the order of the state columns."""
        self._check_fitted()
        return list(self._columns)

    @property
    def n_categories(self) -> np.ndarray:
        """C_j, the number of categories of each column, int64 of shape (d,)."""
        self._check_fitted()
        return np.array([len(c) for c in self._cats], dtype=np.int64)

    @property
    def n_states(self) -> int:
        """``max_j C_j``: the number of states of a model of the encoded data."""
        return int(self.n_categories.max())

    def categories(self, column) -> list:
        """The categories of one column, in state order.

        Parameters
        ----------
        column : str or int
            A column name.

        Returns
        -------
        list
            Category of state 0, 1, ...
        """
        self._check_fitted()
        if column not in self._columns:
            raise KeyError(f"no column {column!r}; columns: {self._columns}")
        return list(self._cats[self.columns.index(column)])

    # --- encoding ------------------------------------------------------------------------
    def transform(self, df) -> tuple[np.ndarray, np.ndarray]:
        """States and missing mask of a table with the fitted columns.

        Parameters
        ----------
        df : pandas.DataFrame or pyarrow.Table
            Every fitted column (in any order; other columns are an error), any number of rows.

        Returns
        -------
        X : ndarray of uint8 or uint16, shape (n, d)
            State of each cell (0 where the cell is missing).
        missing : ndarray of bool, shape (n, d)
            True where the cell is missing (NaN, None, ``pd.NA``).

        Raises
        ------
        ValueError
            A missing or unexpected column, or a value that is no category of its column (the
            message names the column and the value).
        """
        self._check_fitted()
        df = as_frame(df)
        cols = list(df.columns)
        absent = [c for c in self._columns if c not in cols]
        extra = [c for c in cols if c not in self._columns]
        if absent or extra:
            raise ValueError(f"df must have the fitted columns {self._columns}: "
                             + (f"missing {absent}" if absent else "") + ("; " if absent and extra else "")
                             + (f"unexpected {extra}" if extra else ""))
        n, d = len(df), len(self._columns)
        X = np.zeros((n, d), dtype=smallest_uint(self.n_states))
        missing = np.zeros((n, d), dtype=bool)
        for j, name in enumerate(self._columns):
            codes, uniques = pd.factorize(df[name], use_na_sentinel=True)
            uniques = np.asarray(uniques, dtype=object)
            mapping = self._index[j].get_indexer(uniques) if len(uniques) else np.zeros(0, np.intp)
            if np.any(mapping < 0):
                bad = uniques[np.flatnonzero(mapping < 0)[0]]
                known = self._cats[j] if len(self._cats[j]) <= 10 else self._cats[j][:10] + ["..."]
                raise ValueError(f"column {name!r}: unknown category {bad!r} (not seen at fit; known: {known})")
            codes = np.asarray(codes)
            missing[:, j] = codes < 0
            X[:, j] = np.where(codes < 0, 0, mapping[np.maximum(codes, 0)] if len(mapping) else 0)
        return X, missing

    def fit_transform(self, df) -> tuple[np.ndarray, np.ndarray]:
        """``fit(df)`` then ``transform(df)``.

        Parameters
        ----------
        df : pandas.DataFrame or pyarrow.Table
            The table.

        Returns
        -------
        X : ndarray of uint8 or uint16, shape (n, d)
            States.
        missing : ndarray of bool, shape (n, d)
            Missing cells.
        """
        return self.fit(df).transform(df)

    def inverse_transform(self, X, missing=None, index=None) -> pd.DataFrame:
        """The table of the states X: original column names, categories and dtypes.

        Parameters
        ----------
        X : array_like of int, shape (n, d)
            State of each cell, in [0, C_j) for column j (where not missing).
        missing : array_like of bool, shape (n, d), optional
            Cells to leave missing (NaN for float columns, None for object columns, ``pd.NA``
            for nullable ones). A missing cell in a column whose dtype cannot hold one
            (``bool``, ``int64``) makes that column the nullable twin (``boolean``,
            ``Int64``).
        index : pandas.Index, optional
            Index of the result (default: a RangeIndex).

        Returns
        -------
        pandas.DataFrame
            n rows, the fitted columns.
        """
        self._check_fitted()
        try:
            X = np.asarray(X)
        except Exception as exc:
            raise TypeError(f"X must be an integer array: {exc}") from None
        d = len(self._columns)
        if X.ndim != 2 or X.shape[1] != d:
            raise ValueError(f"X must have shape (n, {d}), got {X.shape}")
        if X.dtype.kind not in "iu":
            raise TypeError(f"X must have an integer dtype, got {X.dtype}")
        if missing is None:
            M = np.zeros(X.shape, dtype=bool)
        else:
            M = np.asarray(missing)
            if M.dtype != bool or M.shape != X.shape:
                raise ValueError(f"missing must be a boolean array of X's shape {X.shape}, got {M.dtype} {M.shape}")
        out_of_range = X >= self.n_categories if X.dtype.kind == "u" else (X < 0) | (X >= self.n_categories)
        bad = out_of_range & ~M
        if bad.any():
            i, j = (int(k[0]) for k in np.nonzero(bad))
            raise ValueError(f"X[{i}, {j}] = {X[i, j]} is no state of column {self._columns[j]!r} "
                             f"(it has {len(self._cats[j])} categories)")
        cols = {}
        for j, name in enumerate(self._columns):
            codes = X[:, j].astype(np.intp)
            codes[M[:, j]] = -1
            cols[name] = self._decode(j, codes)
        out = pd.DataFrame(cols)            # Series keep their dtypes (an object array would not)
        if index is not None:
            out.index = index
        return out

    def _decode(self, j: int, codes: np.ndarray) -> pd.Series:
        """Column j of the result from its codes (-1 = missing): a take from the categories,
        held in the column's own dtype (no per-cell conversion)."""
        dtype, cats = self._dtypes[j], self._cats[j]
        if dtype == "category":
            cat_index = pd.Index(cats, dtype=pandas_dtype(self._cat_dtypes[j]))
            return pd.Series(pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(cat_index, self._ordered[j])))
        has_missing = bool((codes < 0).any())
        if has_missing and dtype == "bool":
            dtype = "boolean"
        elif has_missing and dtype in INT_NAMES:
            dtype = nullable_int(dtype)
        if dtype == "object":
            table = np.empty(len(cats), dtype=object)
            table[:] = cats
            return pd.Series(pd.api.extensions.take(table, codes, allow_fill=True, fill_value=None), dtype=object)
        table = pd.array(cats, dtype=pandas_dtype(dtype))
        return pd.Series(table.take(codes, allow_fill=True))

    # --- persistence ---------------------------------------------------------------------
    def get_params(self, prefix: str = "") -> dict[str, np.ndarray]:
        """The encoder as plain numpy arrays (no pickles), for a model file.

        Parameters
        ----------
        prefix : str
            Prepended to every key (to store the encoder beside a model's own arrays).

        Returns
        -------
        dict of str to ndarray
            ``columns`` (str, d), ``column_is_int`` (bool, d), ``dtypes`` (str, d: the pandas
            dtype name of each column), ``kinds`` (str, d: how categories are written, one of
            U b i f), ``category_dtypes`` (str, d: dtype of a categorical's categories, else
            empty), ``ordered`` (bool, d), ``n_categories`` (int64, d) and ``categories`` (str,
            sum of C_j: every column's categories as text, in state order).
        """
        self._check_fitted()
        text = [to_text(v, k) for c, k in zip(self._cats, self._kinds) for v in c]
        return {prefix + "columns": np.array([str(c) for c in self._columns], dtype=str),
                prefix + "column_is_int": np.array([isinstance(c, int) for c in self._columns], dtype=bool),
                prefix + "dtypes": np.array(self._dtypes, dtype=str),
                prefix + "kinds": np.array(self._kinds, dtype=str),
                prefix + "category_dtypes": np.array(self._cat_dtypes, dtype=str),
                prefix + "ordered": np.array(self._ordered, dtype=bool),
                prefix + "n_categories": self.n_categories,
                prefix + "categories": np.array(text, dtype=str)}

    @classmethod
    def from_params(cls, params: Mapping[str, np.ndarray], prefix: str = "") -> TableEncoder:
        """The encoder saved by :meth:`get_params`, validated array by array.

        Parameters
        ----------
        params : mapping of str to ndarray
            As :meth:`get_params` returns them (e.g. read from a file).
        prefix : str
            The prefix given to :meth:`get_params`.

        Returns
        -------
        TableEncoder
            A fitted encoder.

        Raises
        ------
        ValueError
            A missing array, wrong shapes or dtypes, an unknown dtype name, counts that do not
            add up, or a category that does not parse or repeats.
        """
        def get(key, kinds, ndim=1):
            if prefix + key not in params:
                raise ValueError(f"table encoder: no array {prefix + key!r}")
            a = np.asarray(params[prefix + key])
            if a.dtype.kind not in kinds or a.ndim != ndim:
                raise ValueError(f"table encoder: {prefix + key!r} must be a {ndim}-d array of kind "
                                 f"{kinds!r}, got {a.dtype} {a.shape}")
            return a

        names, is_int = get("columns", "U"), get("column_is_int", "b")
        dtypes, kinds, cat_dtypes = get("dtypes", "U"), get("kinds", "U"), get("category_dtypes", "U")
        ordered, counts, text = get("ordered", "b"), get("n_categories", "iu"), get("categories", "U")
        d = names.shape[0]
        for key, a in (("column_is_int", is_int), ("dtypes", dtypes), ("kinds", kinds),
                       ("category_dtypes", cat_dtypes), ("ordered", ordered), ("n_categories", counts)):
            if a.shape != (d,):
                raise ValueError(f"table encoder: {prefix + key!r} must have shape ({d},) like "
                                 f"{prefix + 'columns'!r}, got {a.shape}")
        if d == 0:
            raise ValueError("table encoder: no column")
        if np.any(counts < 1) or np.any(counts > MAX_CATEGORIES):
            raise ValueError(f"table encoder: n_categories must lie in [1, {MAX_CATEGORIES}], got {counts.tolist()}")
        if int(counts.sum()) != text.shape[0]:
            raise ValueError(f"table encoder: categories holds {text.shape[0]} entries, n_categories adds up to "
                             f"{int(counts.sum())}")
        columns = []
        for name, flag in zip(names.tolist(), is_int.tolist()):
            try:
                columns.append(int(name) if flag else name)
            except ValueError:
                raise ValueError(f"table encoder: column name {name!r} is marked int") from None
        if len(set(columns)) != d:
            raise ValueError("table encoder: duplicate column names")
        cats, start = [], 0
        for j in range(d):
            dtype, kind, cat_dtype = str(dtypes[j]), str(kinds[j]), str(cat_dtypes[j])
            if dtype not in DTYPES:
                raise ValueError(f"table encoder: column {columns[j]!r} has unknown dtype {dtype!r}")
            if kind not in KINDS:
                raise ValueError(f"table encoder: column {columns[j]!r} has unknown kind {kind!r}")
            if (dtype == "category") != (cat_dtype != "") or cat_dtype not in DTYPES - {"category"} | {""}:
                raise ValueError(f"table encoder: column {columns[j]!r} has category dtype {cat_dtype!r} "
                                 f"with dtype {dtype!r}")
            c = [from_text(s, kind, columns[j]) for s in text[start:start + counts[j]].tolist()]
            start += int(counts[j])
            if len(set(c)) != len(c):
                raise ValueError(f"table encoder: column {columns[j]!r} repeats a category")
            cats.append(c)
        enc = cls()
        enc._set(columns, dtypes.tolist(), kinds.tolist(), cat_dtypes.tolist(), ordered.tolist(), cats)
        return enc

    def __repr__(self) -> str:
        if not self._fitted:
            return "TableEncoder()"
        return f"TableEncoder(columns={self._columns}, n_categories={self.n_categories.tolist()})"
