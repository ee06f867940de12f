"""How close two tables are: total variation of their one- and two-column marginals."""
from __future__ import annotations

import numpy as np

try:
    import pandas as pd
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("fastdgm.table needs pandas: pip install 'fastdgm[table]'") from exc

from ._columns import as_frame
from .encoder import TableEncoder

__all__ = ["marginal_tv"]


def marginal_tv(real, synthetic, encoder: TableEncoder | None = None, max_order: int = 2) -> pd.DataFrame:
    """Total variation distance between the one- and two-column marginals of two tables.

    TV(p, q) = 1/2 sum abs(p - q) over the categories (pairs of categories) of the columns; rows
    with a missing cell in the columns of a marginal are left out of it.

    Parameters
    ----------
    real, synthetic : pandas.DataFrame or pyarrow.Table
        Two tables with the same columns.
    encoder : TableEncoder, optional
        Encoder of the columns (default: fitted on ``real`` and ``synthetic`` together).
    max_order : {1, 2}
        1: single columns only; 2: also every pair of columns.

    Returns
    -------
    pandas.DataFrame
        One row per marginal: ``order`` (1 or 2), ``columns`` (a tuple of names) and ``tv``
        (in [0, 1]).
    """
    if max_order not in (1, 2):
        raise ValueError(f"max_order must be 1 or 2, got {max_order!r}")
    a, b = as_frame(real, "real"), as_frame(synthetic, "synthetic")
    if encoder is None:
        encoder = TableEncoder().fit(pd.concat([a, b[list(a.columns)]], ignore_index=True)
                                     if set(a.columns) == set(b.columns) else a)
    (Xa, Ma), (Xb, Mb) = encoder.transform(a), encoder.transform(b)
    counts = encoder.n_categories
    names = encoder.columns
    rows: list[tuple[int, tuple, float]] = []

    def tv(keys_a, keys_b, size):
        p = np.bincount(keys_a, minlength=size) / max(len(keys_a), 1)
        q = np.bincount(keys_b, minlength=size) / max(len(keys_b), 1)
        return 0.5 * float(np.abs(p - q).sum())

    d = len(names)
    for j in range(d):
        rows.append((1, (names[j],), tv(Xa[~Ma[:, j], j], Xb[~Mb[:, j], j], counts[j])))
    if max_order == 2:
        for j in range(d):
            for k in range(j + 1, d):
                oa, ob = ~(Ma[:, j] | Ma[:, k]), ~(Mb[:, j] | Mb[:, k])
                ka = Xa[oa, j].astype(np.int64) * counts[k] + Xa[oa, k]
                kb = Xb[ob, j].astype(np.int64) * counts[k] + Xb[ob, k]
                rows.append((2, (names[j], names[k]), tv(ka, kb, int(counts[j] * counts[k]))))
    return pd.DataFrame(rows, columns=["order", "columns", "tv"])
