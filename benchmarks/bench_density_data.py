"""Parsing the density-benchmark text format vs numpy's text readers.

Full size: ``FASTDGM_BENCH_FULL=1 pytest benchmarks/bench_density_data.py --benchmark-enable``.
The shapes are those of the largest standard sets (msnbc train 291,326 x 17, kdd train
180,092 x 64, c20ng train 11,293 x 910, ad train 2,461 x 1556), with random 0/1 values (the
parse time does not depend on them). ``extra_info['speedup']`` = ``np.loadtxt`` median /
``parse_binary_rows`` median, ``speedup_fromstring`` the same for ``np.fromstring(sep=',')``,
measured in the same run.
"""
import io

import numpy as np
import pytest

from fastdgm.density_data import parse_binary_rows
from conftest import pick

SHAPES = [(291326, 17), (180092, 64), (11293, 910), (2461, 1556)]


def _text(n, d, seed=0):
    X = (np.random.default_rng(seed).random((n, d)) < 0.2).astype(np.uint8)
    return X, "\n".join(",".join(map(str, row)) for row in X).encode() + b"\n"


@pytest.mark.parametrize("impl", ["fastdgm", "numpy", "numpy_fromstring"])
@pytest.mark.parametrize("n, d", SHAPES)
def test_parse(measure, full_size, n, d, impl):
    n = pick(full_size, n, 200)
    X, raw = _text(n, d)

    def loadtxt():
        return np.loadtxt(io.BytesIO(raw), delimiter=",", dtype=np.uint8, ndmin=2)

    def fromstring():
        return np.fromstring(raw.replace(b"\n", b",").decode(), sep=",", dtype=np.uint8).reshape(n, d)

    np.testing.assert_array_equal(parse_binary_rows(raw), X)
    np.testing.assert_array_equal(loadtxt(), X)
    np.testing.assert_array_equal(fromstring(), X)
    measure(f"density-parse-{n}x{d}", impl, {"fastdgm": lambda: parse_binary_rows(raw), "numpy": loadtxt,
                                              "numpy_fromstring": fromstring},
            n=n, d=d, MB=len(raw) / 1e6, kernel="density-parse")
