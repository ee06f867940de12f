"""Columns of a table: the dtypes and value kinds :class:`fastdgm.table.TableEncoder` supports,
how a category is written to a model file as text and read back, and Arrow tables as pandas."""
from __future__ import annotations

from typing import Any

import numpy as np

try:
    import pandas as pd
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("fastdgm.table needs pandas: pip install 'fastdgm[table]'") from exc

MAX_CATEGORIES = 65536
"""Most categories of one column (states are stored as uint8 or uint16)."""

INT_NAMES = [f"{p}int{b}" for p in ("", "u") for b in (8, 16, 32, 64)]


def nullable_int(name: str) -> str:
    """The pandas nullable twin of a numpy integer dtype name (``int64`` -> ``Int64``)."""
    return name.capitalize() if name[0] == "i" else "UInt" + name[4:]


DTYPES = frozenset(["object", "str", "string", "category", "bool", "boolean", "float32", "float64",
                     "Float32", "Float64", *INT_NAMES, *map(nullable_int, INT_NAMES)])
"""Column dtypes a saved encoder may name (file contents are checked against this list)."""
KINDS = {"U": "strings", "b": "booleans", "i": "integers", "f": "floats"}
"""Value kinds: how a category is written as a string in a file and read back."""
PANDAS3 = int(pd.__version__.split(".")[0]) >= 3


def as_frame(df, name: str = "df") -> pd.DataFrame:
    """A pandas DataFrame from a DataFrame or an Arrow table / record batch."""
    if isinstance(df, pd.DataFrame):
        return df
    if type(df).__module__.split(".")[0] == "pyarrow" and hasattr(df, "to_pandas") and hasattr(df, "schema"):
        meta = df.schema.metadata or {}
        if b"pandas" in meta:
            return df.to_pandas()
        import pyarrow as pa

        def nullable(t):
            if pa.types.is_boolean(t):
                return pd.BooleanDtype()
            if pa.types.is_integer(t):
                return pd.api.types.pandas_dtype(str(t).replace("int", "Int").replace("uInt", "UInt"))
            return None

        return df.to_pandas(types_mapper=nullable)
    raise TypeError(f"{name} must be a pandas DataFrame or a pyarrow Table, got {type(df).__name__}")


def value_kind(values, column) -> str:
    """The kind ('U', 'b', 'i', 'f') shared by every value of a column; TypeError otherwise."""
    kinds = set()
    for v in values:
        if isinstance(v, str):
            kinds.add("U")
        elif isinstance(v, (bool, np.bool_)):
            kinds.add("b")
        elif isinstance(v, (int, np.integer)):
            kinds.add("i")
        elif isinstance(v, (float, np.floating)):
            kinds.add("f")
        else:
            raise TypeError(f"column {column!r}: values of type {type(v).__name__} (e.g. {v!r}) are not "
                            f"supported; convert the column to strings or to a categorical")
    if kinds == {"i", "f"}:
        return "f"
    if len(kinds) > 1:
        raise TypeError(f"column {column!r} mixes {' and '.join(sorted(KINDS[k] for k in kinds))}; "
                        f"convert it to one type (e.g. .astype(str))")
    return kinds.pop() if kinds else "U"


def to_text(v, kind: str) -> str:
    return repr(float(v)) if kind == "f" else str(bool(v)) if kind == "b" else str(v)


def from_text(s: str, kind: str, column) -> Any:
    try:
        if kind == "U":
            return s
        if kind == "b":
            return {"True": True, "False": False}[s]
        return int(s) if kind == "i" else float(s)
    except (KeyError, ValueError):
        raise ValueError(f"column {column!r}: category {s!r} is not one of {KINDS[kind]}") from None


def pandas_dtype(name: str):
    """The pandas dtype of a saved dtype name (the allowlisted names only)."""
    if name == "str" and not PANDAS3:          # pandas < 3 has no str dtype: object
        return np.dtype(object)
    return pd.api.types.pandas_dtype(name)
